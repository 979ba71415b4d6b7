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
from bot.actions.cases import audit, get_case_by_id, mark_ack_bounced
from bot.config import Config
from bot.errors import PermanentDeliveryError, TemporaryDeliveryError
from bot.ports import Chat, ChatPost, ChatRef, Mailer
from bot.presenters.render import Renderer, mrkdwn_escape
from bot.presenters.staff_messages import CaseView, case_view, render_staff
from bot.store.db import session_scope
from bot.store.models import Case, Escalation, Outbox, OutboxKind, OutboxStatus, Quarantine, Status

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
IN_FLIGHT = "sending"  # ``result`` while an entry is being sent (a crash leaves it there)
FIND_MARGIN = timedelta(minutes=2)  # clock skew between us and the chat server
POSTED = "posted"  # receipt prefix of a chat message newly posted (not updated, not found)
MAX_BACKOFF = timedelta(hours=1)

ESCALATION_REASON_TEXT = {
    "deadline": "tidsfristen för första kontakt har passerat",
    "serious": "ärendet är flaggat som allvarligt",
    "ack_bounced": "kvittensen studsade och inget telefonnummer finns",
    "reopened": "den klagande skrev igen efter att ärendet avslutats",
    "staff": "personalen bad om det",
}

# Block Kit builders for Slack (filled in by the Slack adapter); the console shows text.
BlocksBuilder = Callable[[str, CaseView, dict[str, Any]], list[dict[str, Any]]]
# The review lane's post is about a message, not a case (see bot.runners.review.ReviewView).
ReviewBlocksBuilder = Callable[[Any, dict[str, Any]], list[dict[str, Any]]]


@dataclass
class DeliveryReport:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


@dataclass
class Outlets:
    """Where side effects go, and how staff messages are rendered."""

    cfg: Config
    mailer: Mailer
    chat: Chat
    renderer: Renderer
    blocks: BlocksBuilder | None = None
    review_blocks: ReviewBlocksBuilder | None = None


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
                _email_rejected(session, outlets.cfg, payload, clock())
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


def _email_sent(outlets: Outlets, payload: dict[str, Any]) -> Callable[[Session, Outbox], None]:
    def effect(session: Session, entry: Outbox) -> None:
        case_id = payload.get("case_id")
        if not case_id:
            return
        case = get_case_by_id(session, case_id)
        now = entry.sent_at
        assert now is not None
        if payload.get("purpose") == "ack" and case.ack_sent_at is None:
            case.ack_sent_at = now
            if case.status == Status.NEW.value:
                case.status = Status.ACKNOWLEDGED.value
            case.updated_at = now
        audit(session, case, "system", "email_sent", now, purpose=payload.get("purpose"))
    return effect


def _email_rejected(session: Session, cfg: Config, payload: dict[str, Any], now: datetime
                    ) -> None:
    case_id = payload.get("case_id")
    if not case_id:
        return
    case = get_case_by_id(session, case_id)
    audit(session, case, "system", "email_rejected", now, purpose=payload.get("purpose"))
    mark_ack_bounced(session, cfg, case, now)


# --- chat ------------------------------------------------------------------


def _post(outlets: Outlets, kind: str, view: CaseView, context: dict[str, Any]) -> ChatPost:
    post = render_staff(outlets.renderer, outlets.cfg, kind, view=view,
                        cli=outlets.cfg.chat.kind == "console", **context)
    if outlets.blocks is not None:
        # The builder has no config of its own: tell it the staff language.
        blocks = outlets.blocks(kind, view, {**context, "lang": outlets.cfg.chat.staff_language})
        # Slack parses the fallback text for mentions and links too: all of it inert.
        return ChatPost(text=mrkdwn_escape(post.text), blocks=blocks)
    return post


def _send_chat(engine: Engine, outlets: Outlets, payload: dict[str, Any], now: datetime,
               interrupted_since: datetime | None = None
               ) -> tuple[str, Callable[[Session, Outbox], None]]:
    """Render from the case as it is now, then post. Returns a receipt and the effect.

    ``interrupted_since``: an earlier attempt (of an entry made then) died mid-send.
    A prompt is then first looked up in the triage channel, so that it is not
    posted twice (chats that cannot look up post again).
    """
    cfg = outlets.cfg
    op = payload["op"]
    with session_scope(engine) as session:
        case = get_case_by_id(session, payload["case_id"]) if payload.get("case_id") else None
        view = case_view(session, cfg, case, now) if case else None
        prompt = ChatRef(case.prompt_channel, case.prompt_ts) if (
            case and case.prompt_channel and case.prompt_ts) else None
        escalation = (session.get(Escalation, payload["escalation_id"])
                      if payload.get("escalation_id") else None)

    def no_effect(_s: Session, _e: Outbox) -> None:
        return None

    if op == "monthly_chart":
        return _send_monthly_chart(engine, outlets, payload, now), no_effect
    if op == "review":
        return _send_review(engine, outlets, payload, now, interrupted_since)
    if op == "raw":
        post = ChatPost(text=payload["text"], blocks=payload.get("blocks") or [])
        if payload.get("user"):
            ref = outlets.chat.direct(payload["user"], post)
        else:
            ref = outlets.chat.post(payload["channel"], post, payload.get("thread_ts"))
        return f"{POSTED} {ref.channel}:{ref.ts}", no_effect
    assert view is not None and case is not None
    if op == "offer":
        # The text was rendered when the offer was made; the chat adds its answer buttons.
        post = ChatPost(text=payload["text"])
        if outlets.blocks is not None:
            post = ChatPost(text=payload["text"], blocks=outlets.blocks("offer", view, {
                "text": payload["text"], "offer_id": payload.get("offer_id"),
                "offer_kind": payload.get("offer_kind", ""),
                "lang": cfg.chat.staff_language}))
        ref = outlets.chat.direct(payload["user"], post)
        return f"{POSTED} {ref.channel}:{ref.ts}", no_effect
    if op == "prompt":
        post = _post(outlets, "prompt", view, {})
        if prompt is not None:
            outlets.chat.update(prompt, post)
            return f"updated {prompt.channel}:{prompt.ts}", no_effect
        found = None
        find = getattr(outlets.chat, "find", None)
        if interrupted_since is not None and find is not None:
            found = find(cfg.chat.triage_channel, view.ref, interrupted_since - FIND_MARGIN)
        ref = found or outlets.chat.post(cfg.chat.triage_channel, post)

        def store_ref(session: Session, _e: Outbox) -> None:
            c = session.get(Case, view.case_id)
            assert c is not None
            c.prompt_channel, c.prompt_ts = ref.channel, ref.ts
        return f"{'found' if found else POSTED} {ref.channel}:{ref.ts}", store_ref
    if op == "erased":
        # The case was anonymised: every staff message about it becomes a neutral stub.
        post = _post(outlets, "prompt", view, {})
        replaced = 0
        for channel, ts in payload.get("refs") or []:
            try:
                outlets.chat.update(ChatRef(str(channel), str(ts)), post)
                replaced += 1
            except PermanentDeliveryError as exc:  # deleted meanwhile: nothing left to replace
                log.warning("outbox: case %s: a chat message could not be replaced: %s",
                            view.ref, exc)
        return f"replaced {replaced} message(s)", no_effect
    if op == "case_message":
        post = _post(outlets, "case_message", view, {
            "reopened": bool(payload.get("reopened")),
            "other_sender": bool(payload.get("other_sender"))})
        ref = outlets.chat.post(prompt.channel if prompt else cfg.chat.triage_channel, post,
                                prompt.ts if prompt else None)
        return f"{POSTED} {ref.channel}:{ref.ts}", no_effect
    if op == "escalation":
        reason = escalation.reason if escalation else "staff"
        post = _post(outlets, "escalation", view, {
            "reason": reason, "reason_text": ESCALATION_REASON_TEXT.get(reason, reason),
            "note": escalation.note if escalation else "",
            # The ombudsman's buttons say which escalation they acknowledge.
            "escalation_id": escalation.id if escalation else None})
        targets = list(cfg.chat.ombudsman_users)
        refs = [outlets.chat.direct(u, post) for u in targets] or [
            outlets.chat.post(cfg.chat.triage_channel, post)]
        return POSTED + " " + ", ".join(f"{r.channel}:{r.ts}" for r in refs), no_effect
    if op == "reminder":
        post = _post(outlets, "reminder", view, {"rung": payload.get("rung", "")})
        if payload.get("user"):
            ref = outlets.chat.direct(payload["user"], post)
        else:
            ref = outlets.chat.post(cfg.chat.triage_channel, post,
                                    prompt.ts if prompt else None)
        return f"{POSTED} {ref.channel}:{ref.ts}", no_effect
    raise PermanentDeliveryError(f"unknown chat operation {op!r}")


def review_marker(review_id: int) -> str:
    """In every review post's text, so a post that may have gone out can be found again."""
    return f"[R-{review_id}]"


def _send_review(engine: Engine, outlets: Outlets, payload: dict[str, Any], now: datetime,
                 interrupted_since: datetime | None
                 ) -> tuple[str, Callable[[Session, Outbox], None]]:
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
                return "gone", lambda _s, _e: None
            stub = render_staff(outlets.renderer, cfg, "review_erased",
                                marker=review_marker(review_id))
            try:
                outlets.chat.update(ChatRef(str(erased[0]), str(erased[1])), stub)
            except PermanentDeliveryError as exc:  # deleted meanwhile: nothing to replace
                log.warning("outbox: review %s: the post could not be replaced: %s",
                            review_id, exc)
            return "replaced 1 message(s)", lambda _s, _e: None
        view = review_view(cfg, q, now)
        posted = ChatRef(q.post_channel, q.post_ts) if q.post_channel and q.post_ts else None
    post = render_staff(outlets.renderer, cfg, "review", view=view,
                        marker=review_marker(review_id), cli=cfg.chat.kind == "console")
    if outlets.review_blocks is not None:
        post = ChatPost(text=mrkdwn_escape(post.text), blocks=outlets.review_blocks(
            view, {"lang": cfg.chat.staff_language}))
    if posted is not None:
        outlets.chat.update(posted, post)
        return f"updated {posted.channel}:{posted.ts}", lambda _s, _e: None
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
