"""Delivering the outbox: emails to citizens, posts to staff.

Entries are claimed with a lease (``FOR UPDATE SKIP LOCKED`` on PostgreSQL,
the write lock on SQLite) so that several instances never send the same entry
at once, and one chat entry per case is in flight at a time so a prompt is
posted before it is updated. After a crash, an entry whose lease ran out is
retried: the only window for a duplicate is between the server accepting the
message and the commit that records it (milliseconds).
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
from bot.actions.cases import get_case_by_id
from bot.actions.citizen_mail import email_delivered, email_rejected
from bot.config import Config
from bot.domain.vocabulary import ChatOp
from bot.errors import PermanentDeliveryError, TemporaryDeliveryError
from bot.ports import Chat, ChatPost, ChatRef, Mailer
from bot.presenters.chat import (
    PRESENTERS,
    About,
    BlocksBuilder,
    Presentation,
    ReviewBlocksBuilder,
    review_erased_post,
    review_marker,
)
from bot.presenters.render import Renderer
from bot.presenters.staff_messages import case_view
from bot.store.db import session_scope
from bot.store.models import Case, Escalation, Outbox, OutboxKind, OutboxStatus, Quarantine

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
IN_FLIGHT = "sending"  # ``result`` while an entry is being sent (a crash leaves it there)
FIND_MARGIN = timedelta(minutes=2)  # clock skew between us and the chat server
POSTED = "posted"  # receipt prefix of a chat message newly posted (not updated, not found)
MAX_BACKOFF = timedelta(hours=1)

# A chat entry's effect once it is out (e.g. remembering where a post went).
Effect = Callable[[Session, Outbox], None]


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Outlets:
    """Where side effects go, and how staff messages are rendered (by the presenters)."""

    cfg: Config
    mailer: Mailer
    chat: Chat
    renderer: Renderer
    blocks: BlocksBuilder | None = None
    review_blocks: ReviewBlocksBuilder | None = None

    @property
    def presentation(self) -> Presentation:
        return Presentation(self.cfg, self.renderer, self.blocks, self.review_blocks)


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
            .where(older.c.case_id == box.c.case_id, older.c.kind == chat,
                   older.c.status == pending, older.c.id < box.c.id)
            .exists()
        )
        q = (
            sa.select(box.c.id)
            .where(box.c.status == pending, box.c.next_try_at <= now,
                   sa.or_(box.c.lease_until.is_(None), box.c.lease_until < now))
            .where(sa.or_(box.c.kind != chat, box.c.case_id.is_(None), ~busy_same_case))
            .order_by(box.c.id)
            .limit(limit)
        )
        if engine.dialect.name == "postgresql":
            q = q.with_for_update(skip_locked=True, of=box)
        ids = list(session.execute(q).scalars().all())
        if ids:
            session.execute(sa.update(Outbox).where(col(Outbox.id).in_(ids))
                            .values(lease_until=now + LEASE, lease_owner=owner))
        return [int(i) for i in ids if i is not None]


def deliver_due(engine: Engine, outlets: Outlets, clock: Callable[[], datetime], owner: str,
                limit: int = 200) -> DeliveryReport:
    """Send everything that is due; one failure never stops the others."""
    report = DeliveryReport()
    # Loop until nothing is claimable: an entry held back behind an earlier one for the
    # same case becomes claimable once that one is out. Failed entries move their
    # next_try_at into the future (or leave "pending"), so this ends.
    while ids := claim_due(engine, clock(), owner, limit):
        for entry_id in ids:
            _deliver_one(engine, outlets, clock, owner, entry_id, report)
    return report


def _deliver_one(engine: Engine, outlets: Outlets, clock: Callable[[], datetime], owner: str,
                 entry_id: int, report: DeliveryReport) -> None:
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
        log.warning("outbox %s: an earlier attempt was interrupted mid-send; it may have "
                    "gone out already", entry_id)
    try:
        if kind == OutboxKind.EMAIL.value:
            receipt = _send_email_and_record(engine, outlets, clock, entry_id, payload)
        else:
            receipt, effect = _send_chat(engine, outlets, payload, clock(),
                                         interrupted_since=created_at if interrupted else None)
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
                email_rejected(session, outlets.cfg, payload.get("case_id"),
                               payload.get("purpose"), clock())
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


def _mark_sent(session: Session, clock: Callable[[], datetime], entry_id: int, receipt: str,
               effect: Callable[[Session, Outbox], None]) -> None:
    entry = session.get(Outbox, entry_id)
    assert entry is not None
    entry.status = OutboxStatus.SENT.value
    entry.sent_at = clock()
    entry.attempts += 1
    entry.result = receipt[:500]
    entry.lease_until = None
    effect(session, entry)


def _record_sent(engine: Engine, clock: Callable[[], datetime], entry_id: int, receipt: str,
                 effect: Callable[[Session, Outbox], None]) -> None:
    with session_scope(engine) as session:
        _mark_sent(session, clock, entry_id, receipt, effect)


def _send_email_and_record(engine: Engine, outlets: Outlets, clock: Callable[[], datetime],
                           entry_id: int, payload: dict[str, Any]) -> str:
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


# --- chat ------------------------------------------------------------------


def _no_effect(_s: Session, _e: Outbox) -> None:
    return None


@dataclass(frozen=True)
class _Target:
    """Where a case's chat entry goes: what it is about and where its prompt is."""

    payload: dict[str, Any]
    about: About
    prompt: ChatRef | None
    interrupted_since: datetime | None


def _send_chat(engine: Engine, outlets: Outlets, payload: dict[str, Any], now: datetime,
               interrupted_since: datetime | None = None) -> tuple[str, Effect]:
    """Render from the case as it is now, then post. Returns a receipt and the effect.

    ``interrupted_since``: an earlier attempt (of an entry made then) died mid-send.
    A prompt is then first looked up in the triage channel, so that it is not
    posted twice (chats that cannot look up post again).
    """
    try:
        op = ChatOp(payload["op"])
    except ValueError:
        raise PermanentDeliveryError(f"unknown chat operation {payload['op']!r}") from None
    if op is ChatOp.MONTHLY_CHART:
        return _send_monthly_chart(engine, outlets, payload, now), _no_effect
    if op is ChatOp.REVIEW:
        return _send_review(engine, outlets, payload, now, interrupted_since)
    with session_scope(engine) as session:
        case = get_case_by_id(session, payload["case_id"]) if payload.get("case_id") else None
        view = case_view(session, outlets.cfg, case, now) if case else None
        prompt = ChatRef(case.prompt_channel, case.prompt_ts) if (
            case and case.prompt_channel and case.prompt_ts) else None
        escalation = (session.get(Escalation, payload["escalation_id"])
                      if payload.get("escalation_id") else None)
        about = About(payload, view, escalation_id=escalation.id if escalation else None,
                      escalation_reason=escalation.reason if escalation else None,
                      escalation_note=escalation.note if escalation else "")
    post = PRESENTERS[op](outlets.presentation, about)
    return _DELIVERIES[op](outlets, post, _Target(payload, about, prompt, interrupted_since))


def _posted(ref: ChatRef) -> str:
    return f"{POSTED} {ref.channel}:{ref.ts}"


def _to_user_or_channel(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    if t.payload.get("user"):
        return _posted(outlets.chat.direct(t.payload["user"], post)), _no_effect
    return _posted(outlets.chat.post(t.payload["channel"], post,
                                     t.payload.get("thread_ts"))), _no_effect


def _to_user(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    return _posted(outlets.chat.direct(t.payload["user"], post)), _no_effect


def _prompt_in_triage(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    """Update the case's prompt in place, or post it (found again after a crash)."""
    if t.prompt is not None:
        outlets.chat.update(t.prompt, post)
        return f"updated {t.prompt.channel}:{t.prompt.ts}", _no_effect
    cfg, view = outlets.cfg, t.about.case
    found = None
    find = getattr(outlets.chat, "find", None)
    if t.interrupted_since is not None and find is not None:
        found = find(cfg.chat.triage_channel, view.ref, t.interrupted_since - FIND_MARGIN)
    ref = found or outlets.chat.post(cfg.chat.triage_channel, post)

    def store_ref(session: Session, _e: Outbox) -> None:
        c = session.get(Case, view.case_id)
        assert c is not None
        c.prompt_channel, c.prompt_ts = ref.channel, ref.ts
    return f"{'found' if found else POSTED} {ref.channel}:{ref.ts}", store_ref


def _replace_all(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    """The case was anonymised: every staff message about it becomes the neutral stub."""
    replaced = 0
    for channel, ts in t.payload.get("refs") or []:
        try:
            outlets.chat.update(ChatRef(str(channel), str(ts)), post)
            replaced += 1
        except PermanentDeliveryError as exc:  # deleted meanwhile: nothing left to replace
            log.warning("outbox: case %s: a chat message could not be replaced: %s",
                        t.about.case.ref, exc)
    return f"replaced {replaced} message(s)", _no_effect


def _in_prompt_thread(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    ref = outlets.chat.post(t.prompt.channel if t.prompt else outlets.cfg.chat.triage_channel,
                            post, t.prompt.ts if t.prompt else None)
    return _posted(ref), _no_effect


def _to_ombudsman(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    refs = [outlets.chat.direct(u, post) for u in outlets.cfg.chat.ombudsman_users] or [
        outlets.chat.post(outlets.cfg.chat.triage_channel, post)]
    return POSTED + " " + ", ".join(f"{r.channel}:{r.ts}" for r in refs), _no_effect


def _reminder(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    if t.payload.get("user"):
        return _posted(outlets.chat.direct(t.payload["user"], post)), _no_effect
    return _posted(outlets.chat.post(outlets.cfg.chat.triage_channel, post,
                                     t.prompt.ts if t.prompt else None)), _no_effect


Delivery = Callable[[Outlets, ChatPost, _Target], tuple[str, Effect]]

# How each operation about a case (or none, for RAW) goes out; REVIEW and
# MONTHLY_CHART load what they are about themselves (below).
_DELIVERIES: dict[ChatOp, Delivery] = {
    ChatOp.RAW: _to_user_or_channel,
    ChatOp.OFFER: _to_user,
    ChatOp.PROMPT: _prompt_in_triage,
    ChatOp.ERASED: _replace_all,
    ChatOp.CASE_MESSAGE: _in_prompt_thread,
    ChatOp.ESCALATION: _to_ombudsman,
    ChatOp.REMINDER: _reminder,
}


def _send_review(engine: Engine, outlets: Outlets, payload: dict[str, Any], now: datetime,
                 interrupted_since: datetime | None) -> tuple[str, Effect]:
    """Post a review item to the triage channel, or update its post in place, rendered
    from the item as it is now (open with buttons, or decided without)."""
    from bot.runners.review import review_view

    cfg = outlets.cfg
    review_id = int(payload["review_id"])
    with session_scope(engine) as session:
        q = session.get(Quarantine, review_id)
        if q is None:  # erased meanwhile: its post, if any, becomes a neutral stub
            erased = payload.get("erased_post")
            if not erased:
                return "gone", _no_effect
            stub = review_erased_post(outlets.presentation, About(payload))
            try:
                outlets.chat.update(ChatRef(str(erased[0]), str(erased[1])), stub)
            except PermanentDeliveryError as exc:  # deleted meanwhile: nothing to replace
                log.warning("outbox: review %s: the post could not be replaced: %s",
                            review_id, exc)
            return "replaced 1 message(s)", _no_effect
        view = review_view(cfg, q, now)
        posted = ChatRef(q.post_channel, q.post_ts) if q.post_channel and q.post_ts else None
    post = PRESENTERS[ChatOp.REVIEW](outlets.presentation, About(payload, extra={"review": view}))
    if posted is not None:
        outlets.chat.update(posted, post)
        return f"updated {posted.channel}:{posted.ts}", _no_effect
    found = None
    find = getattr(outlets.chat, "find", None)
    if interrupted_since is not None and find is not None:
        found = find(cfg.chat.triage_channel, review_marker(review_id),
                     interrupted_since - FIND_MARGIN)
    ref = found or outlets.chat.post(cfg.chat.triage_channel, post)

    def store_ref(session: Session, _e: Outbox) -> None:
        item = session.get(Quarantine, review_id)
        if item is not None:
            item.post_channel, item.post_ts = ref.channel, ref.ts
    return f"{'found' if found else POSTED} {ref.channel}:{ref.ts}", store_ref


def _send_monthly_chart(engine: Engine, outlets: Outlets, payload: dict[str, Any],
                        now: datetime) -> str:
    """Draw the month's chart now (from the database as it is) and share it."""
    from datetime import date

    from bot.presenters.charts import ChartsUnavailable
    from bot.presenters.reports import monthly_summary

    month = date.fromisoformat(f"{payload['month']}-01")
    with session_scope(engine) as session:
        try:
            summary = monthly_summary(session, outlets.cfg, month, now, chart=True)
        except ChartsUnavailable as exc:
            raise PermanentDeliveryError(f"no chart: {exc}") from exc
    if summary.chart_png is None:
        raise PermanentDeliveryError("no chart: matplotlib is not installed (extra 'charts')")
    return outlets.chat.upload(payload["user"], f"klagomal-{summary.month}.png",
                               summary.chart_png, f"Klagomål {summary.month}")


def backlog(session: Session) -> int:
    return int(session.execute(sa.select(sa.func.count()).select_from(Outbox)
                               .where(col(Outbox.status) == OutboxStatus.PENDING.value))
               .scalar_one())
