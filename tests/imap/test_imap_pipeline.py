"""The whole inbound path from a real Dovecot: cases, acknowledgements, threading."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.runners.service import watch_mailbox
from tests.harness import email
from tests.support.dovecot import arrival
from tests.support.imap_bot import imap_bot

if TYPE_CHECKING:
    from tests.support.dovecot import Dovecot, ImapUser

pytestmark = pytest.mark.dovecot


def test_new_mail_becomes_cases_old_mail_is_silent(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
    clock: FixedClock,
) -> None:
    old = clock() - timedelta(days=30)
    for n in range(3):
        dovecot.append(
            imap_user,
            email(msgid=f"<old{n}@x.se>", frm=f"o{n}@example.se"),
            internaldate=old + timedelta(minutes=n),
        )
    bot = imap_bot(tmp_path, db_url, engine, dovecot, imap_user, clock)
    bot.run_once()
    assert len(bot.cases()) == 3
    assert all(c["historical"] and c["ack_sent_at"] is None for c in bot.cases())
    assert bot.sent_emails() == [] and bot.staff_text() == ""

    clock.advance(minutes=5)
    dovecot.append(
        imap_user, email(msgid="<new@x.se>", frm="new@example.se"), internaldate=arrival(clock)
    )
    dovecot.append(
        imap_user,
        email(msgid="<new@x.se>", frm="new@example.se"),  # duplicate
        internaldate=arrival(clock),
    )
    outcomes = bot.run_once()
    assert [o.new_case for o in outcomes] == [True, False]
    new = [c for c in bot.cases() if "new@x.se" in c["message_ids"]]
    assert len(new) == 1 and new[0]["ack_sent_at"] and not new[0]["historical"]
    assert len(bot.sent_emails()) == 1
    assert dovecot.message_count(imap_user) == 5  # nothing deleted


def test_reply_to_ack_threads_and_restart_does_not_repeat(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
    clock: FixedClock,
) -> None:
    bot = imap_bot(tmp_path, db_url, engine, dovecot, imap_user, clock)
    bot.run_once()  # first connection: empty mailbox
    dovecot.append(
        imap_user,
        email(msgid="<q1@x.se>", body="Ingen kom. Inget nummer här."),
        internaldate=arrival(clock),
    )
    bot.run_once()
    [ack] = bot.sent_emails()
    dovecot.append(
        imap_user,
        email(
            msgid="<q2@x.se>",
            subject=f"Re: {ack['Subject']}",
            body="Ring 070-123 45 67.",
            headers={"In-Reply-To": ack["Message-ID"]},
        ),
        internaldate=arrival(clock),
    )
    bot.run_once()
    [case] = bot.cases()
    assert {"q1@x.se", "q2@x.se"} <= set(case["message_ids"])
    assert case["complainant"]["phone"] == "+46701234567"
    bot.rt.mailbox.close()

    again = imap_bot(tmp_path, db_url, engine, dovecot, imap_user, clock)  # a restart
    assert again.run_once() == []
    assert len(again.cases()) == 1 and len(again.sent_emails()) == 1


def test_push_opens_case_within_a_second(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
    clock: FixedClock,
) -> None:
    bot = imap_bot(tmp_path, db_url, engine, dovecot, imap_user, clock)
    stop = threading.Event()
    watcher = threading.Thread(target=watch_mailbox, args=(bot.rt, stop, 5.0), daemon=True)
    watcher.start()
    try:
        time.sleep(1.0)  # in IDLE now
        dovecot.append(imap_user, email(msgid="<push@x.se>"), internaldate=arrival(clock))
        sent = time.monotonic()
        while time.monotonic() - sent < 10 and not bot.cases():
            time.sleep(0.05)
        assert bot.cases(), "pushed mail did not become a case"
        assert time.monotonic() - sent < 5
    finally:
        stop.set()
        watcher.join(timeout=15)
