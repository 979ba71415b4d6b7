"""A test bot reading a real Dovecot mailbox over IMAP (the harness's Bot with an
ImapMailbox in place of the Maildir)."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.adapters.imap import ImapMailbox
from bot.clock import FixedClock
from bot.config import Secrets
from tests.conftest import make_config
from tests.harness import Bot
from tests.support.dovecot import Dovecot, ImapUser


def imap_bot(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    dovecot: Dovecot,
    user: ImapUser,
    clock: FixedClock,
    **mailbox: object,
) -> Bot:
    cfg = make_config(
        tmp_path,
        db_url,
        mailbox={
            "kind": "imap",
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": user.name,
            "password_env": "IMAP_PASSWORD",
            **mailbox,
        },
    )
    box = ImapMailbox(
        cfg.mailbox, Secrets(imap_password=SecretStr(user.password)), engine, clock=clock
    )
    return Bot(cfg, engine, clock, tmp_path, mailbox=box)
