"""Who a message belongs to, from a real Dovecot: one Message-ID from two senders is two
complaints, and a stranger's reference in the subject opens a case of its own."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from tests.conftest import FIXTURES
from tests.support.imap_bot import imap_bot

if TYPE_CHECKING:
    from tests.support.dovecot import Dovecot, ImapUser

pytestmark = pytest.mark.dovecot

EML = FIXTURES / "eml"


def test_reused_message_id_and_a_strangers_reference_over_imap(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
    clock: FixedClock,
) -> None:
    bot = imap_bot(tmp_path, db_url, engine, dovecot, imap_user, clock=clock)
    bot.run_once()  # first connection: an empty mailbox, nothing is historical after it
    for name in (
        "sv_complaint_phone.eml",
        "identity_same_msgid_karin.eml",
        "identity_same_msgid_olof.eml",
        "identity_same_msgid_karin.eml",
    ):
        dovecot.append(imap_user, (EML / name).read_bytes(), internaldate=clock())
    outcomes = bot.run_once()
    assert [o.new_case for o in outcomes] == [True, True, True, False]
    anna = outcomes[0].case or ""

    dovecot.append(
        imap_user,
        (EML / "identity_hijack_reference.eml")
        .read_bytes()
        .replace(b"KL-2026-000001", anna.encode()),
        internaldate=clock(),
    )
    [stranger] = bot.run_once()

    assert stranger.new_case and stranger.case != anna
    assert bot.case(anna)["complainant"]["phone"] == "+46701234567"
    assert bot.case(stranger.case or "")["complainant"]["email"] == "eve.stranger@example.net"
    assert sorted(len(c["message_ids"]) for c in bot.cases()) == [2, 2, 2, 2]  # each + ack
    assert dovecot.message_count(imap_user) == 5  # nothing deleted
