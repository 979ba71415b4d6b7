"""Delivering the outbox: emails to citizens, posts to staff.

Entries are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
the write lock on SQLite) so that several instances never send the same entry
at once, and one chat entry per case is in flight at a time so a prompt is
posted before it is updated. After a crash, an entry whose lease ran out is
retried: the only window for a duplicate is between the server accepting the
message and the commit that records it (milliseconds).

The outbox only delivers: chat entries go through :mod:`bot.runners.chat_delivery`
(one presenter per operation, :mod:`bot.presenters.chat`); what a delivery changes
on a case is an action (:func:`bot.actions.citizen_mail.email_delivered`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_string, policy
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col

from bot import metrics
from bot.actions.citizen_mail import email_delivered, email_rejected
from bot.errors import PermanentDeliveryError, TemporaryDeliveryError
from bot.runners.chat_delivery import send_chat
from bot.runners.outlets import POSTED, Effect, Outlets
from bot.store.db import session_scope
from bot.store.models import Case, Outbox, OutboxKind, OutboxStatus

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
IN_FLIGHT = "sending"  # ``result`` while an entry is being sent (a crash leaves it there)
MAX_BACKOFF = timedelta(hours=1)


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def backoff(attempts: int, retry_after: float | None = None) -> timedelta:
    if retry_after is not None and retry_after > 0:
        return timedelta(seconds=min(retry_after, MAX_BACKOFF.total_seconds()))
    return min(timedelta(seconds=30 * 2 ** max(0, attempts - 1)), MAX_BACKOFF)


def claim_due(engine: Engine, now: datetime, owner: str, limit: int) -> list[int]:
    """Lease up to ``limit`` due entries to ``owner``; return their ids, oldest first."""
    box = Outbox.__table__  # type: ignore[attr-defined]
    older = box.alias("older")
    chat = OutboxKind.CHAT.value
    pending = OutboxStatus.PENDING.value
    with session_scope(engine) as session:
        busy_same_case = (
            sa.select(older.c.id)
            .where(
                older.c.case_id == box.c.case_id,
                older.c.kind == chat,
                older.c.status == pending,
                older.c.id < box.c.id,
            )
            .exists()
        )
        q = (
            sa.select(box.c.id)
            .where(
                box.c.status == pending,
                box.c.next_try_at <= now,
                sa.or_(box.c.lease_until.is_(None), box.c.lease_until < now),
            )
            .where(sa.or_(box.c.kind != chat, box.c.case_id.is_(None), ~busy_same_case))
            .order_by(box.c.id)
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=box)
        ids = list(session.execute(q).scalars().all())
        if ids:
            session.execute(
                sa.update(Outbox)
                .where(col(Outbox.id).in_(ids))
                .values(lease_until=now + LEASE, lease_owner=owner)
            )
        return [int(i) for i in ids if i is not None]


def deliver_due(
    engine: Engine,
    outlets: Outlets,
    clock: Callable[[], datetime],
    owner: str,
    limit: int = 200,
    keep_going: Callable[[], bool] | None = None,
) -> DeliveryReport:
    """Send everything that is due; one failure never stops the others.

    ``keep_going`` is asked before each entry: once it says no (a shutdown), the entries
    this call leased but did not try are released at once, so whoever delivers next
    (the final flush, another instance) takes them without waiting for the lease.
    """
    report = DeliveryReport()
    # Loop until nothing is claimable: an entry held back behind an earlier one for the
    # same case becomes claimable once that one is out. Failed entries move their
    # next_try_at into the future (or leave "pending"), so this ends.
    while ids := claim_due(engine, clock(), owner, limit):
        for n, entry_id in enumerate(ids):
            if keep_going is not None and not keep_going():
                release(engine, owner, ids[n:])
                return report
            _deliver_one(engine, outlets, clock, owner, entry_id, report)
    return report


def release(engine: Engine, owner: str, ids: list[int]) -> None:
    """Give back the leases ``owner`` holds on the untried entries ``ids``."""
    with session_scope(engine) as session:
        session.execute(
            sa.update(Outbox)
            .where(
                col(Outbox.id).in_(ids),
                col(Outbox.lease_owner) == owner,
                col(Outbox.status) == OutboxStatus.PENDING.value,
            )
            .values(lease_until=None, lease_owner=None)
        )


def _deliver_one(
    engine: Engine,
    outlets: Outlets,
    clock: Callable[[], datetime],
    owner: str,
    entry_id: int,
    report: DeliveryReport,
) -> None:
    with session_scope(engine) as session:
        entry = session.get(Outbox, entry_id)
        if entry is None or entry.lease_owner != owner or entry.status != "pending":
            return
        payload = json.loads(entry.payload)
        kind = entry.kind
        # An earlier attempt died between marking and recording: it may have been sent.
        interrupted = (entry.result or "").startswith(IN_FLIGHT)
        entry.result = f"{IN_FLIGHT} by {owner} at {clock().isoformat()}"[:500]
        created_at = entry.created_at
    if interrupted:
        log.warning(
            "outbox %s: an earlier attempt was interrupted mid-send; it may have gone out already",
            entry_id,
        )
    try:
        if kind == OutboxKind.EMAIL.value:
            receipt = _send_email_and_record(engine, outlets, clock, entry_id, payload)
        else:
            receipt, effect = send_chat(
                engine,
                outlets,
                payload,
                clock(),
                interrupted_since=created_at if interrupted else None,
            )
            _record_sent(engine, clock, entry_id, receipt, effect)
    except TemporaryDeliveryError as exc:
        with session_scope(engine) as session:
            entry = session.get(Outbox, entry_id)
            assert entry is not None
            entry.attempts += 1
            entry.last_error = str(exc)[:2000]
            entry.next_try_at = clock() + backoff(entry.attempts, exc.retry_after)
            entry.lease_until = None
            entry.result = None
        report.retried += 1
        metrics.DELIVERY_FAILURES.labels(kind=kind, permanent="no").inc()
        log.warning("outbox %s: temporary failure, retry later: %s", entry_id, exc)
        return
    except Exception as exc:
        with session_scope(engine) as session:
            entry = session.get(Outbox, entry_id)
            assert entry is not None
            entry.attempts += 1
            entry.status = OutboxStatus.FAILED.value
            entry.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            entry.lease_until = None
            entry.result = None
            if isinstance(exc, PermanentDeliveryError) and kind == OutboxKind.EMAIL.value:
                email_rejected(
                    session, outlets.cfg, payload.get("case_id"), payload.get("purpose"), clock()
                )
        report.failed += 1
        report.errors.append(f"outbox {entry_id}: {type(exc).__name__}: {exc}")
        metrics.DELIVERY_FAILURES.labels(kind=kind, permanent="yes").inc()
        log.error("outbox %s: permanent failure: %s", entry_id, exc)
        return
    report.sent += 1
    if kind == OutboxKind.EMAIL.value:
        metrics.count_email_delivery(payload.get("purpose"))
    else:
        metrics.count_chat_delivery(payload.get("op", ""), receipt.startswith(POSTED))


def _mark_sent(
    session: Session,
    clock: Callable[[], datetime],
    entry_id: int,
    receipt: str,
    effect: Callable[[Session, Outbox], None],
) -> None:
    entry = session.get(Outbox, entry_id)
    assert entry is not None
    entry.status = OutboxStatus.SENT.value
    entry.sent_at = clock()
    entry.attempts += 1
    entry.result = receipt[:500]
    entry.lease_until = None
    effect(session, entry)


def _record_sent(
    engine: Engine,
    clock: Callable[[], datetime],
    entry_id: int,
    receipt: str,
    effect: Callable[[Session, Outbox], None],
) -> None:
    with session_scope(engine) as session:
        _mark_sent(session, clock, entry_id, receipt, effect)


def _send_email_and_record(
    engine: Engine,
    outlets: Outlets,
    clock: Callable[[], datetime],
    entry_id: int,
    payload: dict[str, Any],
) -> str:
    """Send with the transaction that records it already open and holding the entry.

    The commit then follows the server's "250" at once, without waiting for a
    lock, which keeps the window for a second copy (a crash between the two)
    to the commit itself. On SQLite the write lock is held during the send,
    so other writers wait for one SMTP conversation (``timeout_seconds`` at most).
    """
    with session_scope(engine) as session:
        box = Outbox.__table__  # type: ignore[attr-defined]
        lock = sa.select(box.c.id).where(box.c.id == entry_id)
        if engine.dialect.name == "postgresql":
            lock = lock.with_for_update()
        # (On SQLite the transaction begins with BEGIN IMMEDIATE: the write lock.)
        session.execute(lock)
        # Load now what recording needs, so that after the "250" only the commit is left.
        session.get(Outbox, entry_id)
        if payload.get("case_id"):
            session.get(Case, payload["case_id"])
        receipt = _send_email(outlets, payload)
        _mark_sent(session, clock, entry_id, receipt, _email_sent(outlets, payload))
    return receipt


# --- email -----------------------------------------------------------------


def _send_email(outlets: Outlets, payload: dict[str, Any]) -> str:
    msg = message_from_string(payload["eml"], policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return outlets.mailer.send(msg)


def _email_sent(outlets: Outlets, payload: dict[str, Any]) -> Effect:
    def effect(session: Session, entry: Outbox) -> None:
        assert entry.sent_at is not None
        email_delivered(session, payload.get("case_id"), payload.get("purpose"), entry.sent_at)

    return effect


def backlog(session: Session) -> int:
    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(Outbox)
            .where(col(Outbox.status) == OutboxStatus.PENDING.value)
        ).scalar_one()
    )
