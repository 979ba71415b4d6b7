"""The outbox: retries with backoff, permanent failures kept and acted on, no doubles."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.actions.trail import authorize
from bot.clock import FixedClock
from bot.config import Config
from bot.errors import PermanentDeliveryError, TemporaryDeliveryError
from bot.runners.outbox import claim_due
from bot.store.db import session_scope
from bot.store.models import Outbox
from tests.harness import Bot, email


class FlakyMailer:
    """A Mailer that fails as told, then records what it delivers."""

    def __init__(self) -> None:
        self.failures: list[Exception] = []
        self.sent: list[EmailMessage] = []

    def send(self, message: EmailMessage) -> str:
        if self.failures:
            raise self.failures.pop(0)
        self.sent.append(message)
        return "250 ok"

    def close(self) -> None:
        return None


@pytest.fixture
def mailer() -> FlakyMailer:
    return FlakyMailer()


@pytest.fixture
def bot(cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path, mailer: FlakyMailer) -> Bot:
    return Bot(cfg, engine, clock, tmp_path, mailer=mailer)


def test_temporary_failure_retries_later_and_sends_once(bot: Bot, mailer: FlakyMailer) -> None:
    mailer.failures = [
        TemporaryDeliveryError("421 try later"),
        TemporaryDeliveryError("connection refused"),
    ]
    bot.deliver(email())
    bot.ingest()
    assert bot.flush().retried == 1
    assert bot.flush().sent == 0  # not due yet: backoff
    bot.clock.advance(seconds=31)
    assert bot.flush().retried == 1
    bot.clock.advance(seconds=61)
    assert bot.flush().sent == 1
    assert len(mailer.sent) == 1
    assert bot.cases()[0]["ack_sent_at"] is not None
    assert bot.flush().sent == 0
    assert len(mailer.sent) == 1


def test_permanent_failure_marks_the_case_and_blocks_the_address(
    bot: Bot, mailer: FlakyMailer
) -> None:
    mailer.failures = [PermanentDeliveryError("550 no such user")]
    bot.deliver(email(body="Ingen kom i går. Inget nummer."))
    bot.run_once()
    [case] = bot.cases()
    assert case["ack_sent_at"] is None and case["ack_bounced_at"] is not None
    # no phone and the ack bounced: nobody can reach the person -> ombudsman now
    assert case["escalated_at"] is not None
    with session_scope(bot.engine) as s:
        [row] = s.exec(select(Outbox).where(Outbox.kind == "email")).all()
        assert row.status == "failed" and "550" in (row.last_error or "")
    # a later complaint from the same address opens a case but gets no ack
    bot.clock.advance(days=2)
    bot.deliver(email(msgid="<again@x.se>", subject="Igen"))
    bot.run_once()
    assert len(bot.cases()) == 2 and mailer.sent == []


def test_lease_keeps_two_senders_apart_and_expires_after_a_crash(bot: Bot) -> None:
    bot.deliver(email())
    bot.ingest()
    now = bot.clock()
    first = claim_due(bot.engine, now, "instance-a", 100)
    assert first
    assert claim_due(bot.engine, now, "instance-b", 100) == []  # leased to a
    # instance a dies holding the lease; after it runs out, b takes over
    later = claim_due(bot.engine, now + timedelta(minutes=6), "instance-b", 100)
    assert sorted(later) == sorted(first)


def test_chat_entries_for_one_case_go_out_in_order(bot: Bot) -> None:
    bot.deliver(email())
    bot.ingest()
    with session_scope(bot.engine) as s:
        chat_ids = s.exec(select(Outbox.id).where(Outbox.kind == "chat")).all()
    from bot.actions.cases import claim, get_case

    with session_scope(bot.engine) as s:
        claim(
            s, bot.cfg, get_case(s, "KL-2026-000001"), authorize(bot.cfg, "cli:anna"), bot.clock()
        )
    ids = claim_due(bot.engine, bot.clock(), "x", 100)
    # only the first chat entry of the case is handed out; the refresh waits for it
    assert [i for i in ids if i in chat_ids] == [min(i for i in chat_ids if i is not None)]
    assert len([i for i in ids if i not in chat_ids]) == 1  # the email goes out meanwhile


def test_flush_drains_entries_held_back_behind_an_earlier_one(bot: Bot) -> None:
    from bot.actions.cases import claim, get_case

    bot.deliver(email())
    bot.ingest()
    with session_scope(bot.engine) as s:
        claim(
            s, bot.cfg, get_case(s, "KL-2026-000001"), authorize(bot.cfg, "cli:anna"), bot.clock()
        )
    report = bot.flush()
    assert report.sent == 3  # ack, prompt, then the prompt refresh that waited for it
    with session_scope(bot.engine) as s:
        assert {o.status for o in s.exec(select(Outbox)).all()} == {"sent"}


def test_enqueue_reports_whether_the_entry_was_new(engine: Engine, clock: FixedClock) -> None:
    from bot.actions.trail import enqueue
    from bot.store.models import OutboxKind

    with session_scope(engine) as s:
        assert (
            enqueue(s, kind=OutboxKind.CHAT, dedupe_key="k1", payload={}, case=None, now=clock())
            is True
        )
        assert (
            enqueue(s, kind=OutboxKind.CHAT, dedupe_key="k1", payload={}, case=None, now=clock())
            is False
        )
