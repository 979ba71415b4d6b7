"""The review lane: messages that might be a person's, kept for a human to decide.

A pipeline step raises :class:`bot.errors.NeedsReview`; the message is kept
whole (a ``review`` lane row in the quarantine table) and a post with a
redacted summary goes to the triage channel (see
:func:`bot.runners.pipeline.keep_for_review`). Staff then decide, once:

* "open as case" runs the message through the pipeline again as a complaint
  from a person (:func:`open_as_case`), with the normal call-back prompt;
* "not a complaint" resolves it (:func:`dismiss`).

Both are audited, both re-render the post (the decision, no buttons), and
both act at most once: the row is locked and resolved with a conditional
UPDATE, so a second press or a replayed request changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions.trail import Actor, audit, enqueue, unique_key
from bot.config import Config
from bot.errors import Discard, InvalidAction
from bot.ports import InboundMail
from bot.redact import redact, redact_email_address
from bot.runners.pipeline import REVIEW_OP, InboundContext, Services, run_steps
from bot.store.db import session_scope
from bot.store.models import Lane, OutboxKind, Quarantine, ReviewDecision

if TYPE_CHECKING:
    from bot.mail.parse import ParsedEmail


class ReviewNotFound(InvalidAction, LookupError):
    """No review item with that id (or the id is a quarantined input, not a review item)."""


@dataclass(frozen=True)
class ReviewResult:
    """What became of a review item; ``changed`` is False when it had been decided before
    (a second press, a replayed request) and nothing was done now."""

    review_id: int
    decision: str
    decided_by: str
    case_ref: str | None
    changed: bool


def review_items(session: Session, include_resolved: bool = False) -> list[Quarantine]:
    query = select(Quarantine).where(Quarantine.lane == Lane.REVIEW.value)
    if not include_resolved:
        query = query.where(col(Quarantine.resolved_at).is_(None))
    return list(session.exec(query.order_by(col(Quarantine.id))).all())


def _locked(session: Session, review_id: int) -> Quarantine:
    """The review item, locked until the transaction ends (PostgreSQL ``FOR UPDATE``;
    SQLite transactions hold the write lock from ``BEGIN IMMEDIATE``)."""
    q = session.exec(select(Quarantine).where(Quarantine.id == review_id).with_for_update()).first()
    if q is None or q.lane != Lane.REVIEW.value:
        raise ReviewNotFound(f"no review item with id {review_id}")
    return q


def _result(q: Quarantine, changed: bool) -> ReviewResult:
    assert q.id is not None
    return ReviewResult(q.id, q.decision or "", q.decided_by or "", q.case_ref, changed)


class _DecidedMeanwhile(Exception):
    """Another transaction resolved the item first: roll back everything done here."""


def _resolve(
    session: Session,
    q: Quarantine,
    decision: ReviewDecision,
    actor: str,
    now: datetime,
    case_ref: str | None = None,
) -> None:
    """Resolve the item only if it is still open (a conditional UPDATE); queue the post's
    re-rendering in the same transaction."""
    table = Quarantine.__table__  # type: ignore[attr-defined]
    done = session.execute(
        sa.update(table)
        .where(table.c.id == q.id, table.c.resolved_at.is_(None))
        .values(resolved_at=now, decision=decision.value, decided_by=actor, case_ref=case_ref)
        .returning(table.c.id)
    ).first()
    if done is None:
        raise _DecidedMeanwhile()
    session.refresh(q)
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=unique_key(f"review-refresh:{q.id}"),
        payload={"op": REVIEW_OP, "review_id": q.id},
        case=None,
        now=now,
    )


def _already(engine: Engine, review_id: int) -> ReviewResult:
    with session_scope(engine) as session:
        q = session.get(Quarantine, review_id)
        assert q is not None
        return _result(q, changed=False)


def open_as_case(engine: Engine, services: Services, review_id: int, actor: Actor) -> ReviewResult:
    """Staff say the message is a person's complaint: run it through the pipeline as one.

    No classification sends it to review or away as robot mail again; the case
    gets the normal call-back prompt. It is acknowledged only when the classifier
    itself took it for a complaint and ``can_acknowledge`` allows. The case and the
    decision commit together; raises :class:`InvalidAction` (nothing changes) when
    the pipeline still cannot open a case (a duplicate of a message handled since).
    """
    now = services.clock()
    try:
        with session_scope(engine) as session:
            q = _locked(session, review_id)
            if q.resolved_at is not None:
                return _result(q, changed=False)
            if not q.raw:
                raise InvalidAction("the message was erased; it can only be dismissed")
            mail = InboundMail(
                raw=bytes(q.raw),
                received_at=q.received_at or q.at,
                mailbox=q.source,
                position=q.source_key,
                historical=q.historical,
            )
            ctx = InboundContext(
                session=session, services=services, mail=mail, now=now, forced_by=actor
            )
            try:
                run_steps(ctx)
            except Discard as d:
                raise InvalidAction(f"not opened as a case: {d.reason}") from None
            if ctx.case is None:
                raise InvalidAction("not opened as a case")
            _resolve(session, q, ReviewDecision.OPENED, actor, now, case_ref=ctx.case.ref)
            audit(
                session,
                ctx.case,
                actor,
                "review_opened",
                now,
                review_id=q.id,
                new_case=ctx.new_case,
            )
            return _result(q, changed=True)
    except _DecidedMeanwhile:
        return _already(engine, review_id)


def dismiss(
    engine: Engine, cfg: Config, review_id: int, actor: Actor, now: datetime
) -> ReviewResult:
    """Staff say the message is not a complaint: the item is resolved, the message kept."""
    try:
        with session_scope(engine) as session:
            q = _locked(session, review_id)
            if q.resolved_at is not None:
                return _result(q, changed=False)
            _resolve(session, q, ReviewDecision.DISMISSED, actor, now)
            audit(session, None, actor, "review_dismissed", now, review_id=q.id)
            return _result(q, changed=True)
    except _DecidedMeanwhile:
        return _already(engine, review_id)


# --- what staff see ------------------------------------------------------------


@dataclass(frozen=True)
class ReviewView:
    """Everything a review post shows, as plain, redacted data (no full text, no name)."""

    review_id: int
    reason: str
    source: str
    received: str
    age_hours: float
    sender: str  # a***@example.org, or "" when no address could be read
    subject: str
    summary: str
    historical: bool
    decision: str  # "" while open
    decided_by: str
    decided_at: str
    case_ref: str


def _parsed(raw: bytes) -> ParsedEmail | None:
    from bot.mail.parse import parse_email

    try:
        return parse_email(raw)
    except Exception:  # kept for review because it is odd: show what can be shown
        return None


def review_view(cfg: Config, q: Quarantine, now: datetime) -> ReviewView:
    # The summary helper the case prompt uses, so both read alike.
    from bot.mail.extract import summarise
    from bot.presenters.staff_messages import local_when

    lang = cfg.chat.staff_language
    p = _parsed(bytes(q.raw))
    address = (p.reply_to_address or p.from_address) if p else None
    received = q.received_at or q.at
    return ReviewView(
        review_id=q.id or 0,
        reason=q.reason.removeprefix("review: "),
        source="email",
        received=local_when(received, cfg, lang),
        age_hours=max(0.0, (now - received).total_seconds() / 3600),
        sender=redact_email_address(address) if address else "",
        subject=" ".join(redact(p.subject).split())[:300] if p else "",
        summary=summarise(p.summary_text or p.body_text) if p else "",
        historical=q.historical,
        decision=q.decision or "",
        decided_by=q.decided_by or "",
        decided_at=local_when(q.resolved_at, cfg, lang) if q.decision else "",
        case_ref=q.case_ref or "",
    )
