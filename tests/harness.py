"""An embedded bot for tests: real Maildir, real folder outbox, console chat
captured in memory, a fixed clock, the test's database."""

from __future__ import annotations

import io
import os
import time
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from bot.actions.case_records import case_to_dict, list_cases
from bot.adapters.console import ConsoleChat
from bot.adapters.folder import FolderMailer
from bot.adapters.maildir import MaildirMailbox
from bot.clock import FixedClock
from bot.config import Config, Secrets
from bot.runners.outbox import DeliveryReport, deliver_due
from bot.runners.pipeline import Outcome, ingest
from bot.store.db import session_scope
from bot.wiring import Runtime


class Bot:
    def __init__(
        self, cfg: Config, engine: Engine, clock: FixedClock, root: Path, **overrides: Any
    ) -> None:
        self.cfg, self.engine, self.clock, self.root = cfg, engine, clock, root
        self.console = io.StringIO()
        self.inbox = root / "inbox"
        self.outbox = root / "outbox"
        base = {
            "mailbox": MaildirMailbox(self.inbox, poll_interval=0.05),
            "mailer": FolderMailer(self.outbox),
            "chat": ConsoleChat(stream=self.console),
        }
        base.update(overrides)
        self.rt = Runtime(cfg, clock=clock, secrets=Secrets(), engine=engine, overrides=base)
        self._n = 0

    def deliver(self, raw: bytes, name: str | None = None) -> Path:
        """Deliver ``raw`` into the Maildir the way an MTA does (tmp/ then rename into new/)."""
        self._n += 1
        name = name or f"{time.time_ns()}.{self._n}.test"
        tmp = self.inbox / "tmp" / name
        tmp.write_bytes(raw)
        # The Maildir adapter takes a message's arrival time from the file's
        # mtime; stamp it with the test's clock, never the real one.
        arrived = self.clock().timestamp()
        os.utime(tmp, (arrived, arrived))
        os.replace(tmp, self.inbox / "new" / name)
        return self.inbox / "new" / name

    def ingest(self) -> list[Outcome]:
        return ingest(self.engine, self.rt.services, self.rt.mailbox)

    def flush(self) -> DeliveryReport:
        return deliver_due(self.engine, self.rt.outlets, self.clock, self.rt.owner)

    def run_once(self) -> list[Outcome]:
        out = self.ingest()
        self.flush()
        return out

    def cases(self, include_closed: bool = True) -> list[dict[str, Any]]:
        with session_scope(self.engine) as s:
            return [case_to_dict(s, self.cfg, c) for c in list_cases(s, include_closed)]

    def case(self, ref: str) -> dict[str, Any]:
        return next(c for c in self.cases() if c["ref"] == ref)

    def sent_emails(self) -> list[EmailMessage]:
        if not self.outbox.exists():
            return []
        out = []
        for f in sorted(self.outbox.glob("*.eml")):
            msg = message_from_bytes(f.read_bytes(), policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out

    def staff_text(self) -> str:
        return self.console.getvalue()


def email(
    *,
    frm: str = "Anna Andersson <anna@example.se>",
    subject: str = "Hemtjänsten",
    body: str = "Hej, hemtjänsten kom inte i går. Ring mig på 070-123 45 67.",
    msgid: str | None = "<m1@example.se>",
    headers: dict[str, str] | None = None,
    to: str = "synpunkter@example.org",
) -> bytes:
    """A small, well-formed complaint email."""
    lines = [
        f"From: {frm}",
        f"To: {to}",
        f"Subject: {subject}",
        "Date: Mon, 23 Nov 2026 10:00:00 +0100",
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8",
        "Content-Transfer-Encoding: 8bit",
    ]
    if msgid:
        lines.append(f"Message-ID: {msgid}")
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    return ("\r\n".join(lines) + "\r\n\r\n" + body + "\r\n").encode("utf-8")


def body_text(msg: EmailMessage, kind: str = "plain") -> str:
    """The text of an email's ``kind`` ("plain" or "html") body; fails if it has none."""
    body = msg.get_body((kind,))
    assert body is not None, f"no text/{kind} body"
    return str(body.get_content())
