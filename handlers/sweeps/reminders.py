"""The reminder and escalation sweep: what is due, from the cases table alone.

Finding due work is one indexed range scan on ``case.next_check_at``, so a
sweep costs what is due, not what is open. Due cases are handled in chunks of
:data:`CHUNK`, each in one transaction with its rows locked (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL, the write lock on SQLite), so two instances never
remind twice: one claim, two ``IN`` reads (contact attempts, escalation
reasons), batched writes (outbox and audit inserts, case updates; :class:`Writes`) and one
commit per chunk, whatever its size. If anything in a chunk fails, the chunk is
rolled back and its cases are done again one transaction each, so one failing
case never stops the others. The decision itself is the pure
:func:`bot.domain.ladder.next_action`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.actions.cases import escalate
from bot.actions.trail import (
    SYSTEM_ACTOR,
    audit_many,
    audit_row,
    enqueue_many,
    outbox_row,
    slack_user,
    unique_key,
)
from bot.config import Config
from bot.domain.calendar import WorkingCalendar
from bot.domain.ladder import ActionKind, CaseSnapshot, LadderPolicy, next_action
from bot.domain.vocabulary import ChatOp
from bot.store.db import session_scope
from bot.store.models import Case, ContactAttempt, Escalation, EscalationReason, OutboxKind, Outcome

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

RETRY_FAILED_CASE = timedelta(minutes=5)
#: Due cases claimed, read and written together in one transaction.
CHUNK = 500

REMINDERS = (ActionKind.REMIND_TRIAGE, ActionKind.REMIND_ASSIGNEE, ActionKind.RETRY_REMINDER)


class History:
    """What the ladder needs besides the case row, for a set of cases: two ``IN`` reads."""

    def __init__(self, session: Session, case_ids: Sequence[int]) -> None:
        self.failed: dict[int, list[datetime]] = defaultdict(list)
        self.reasons: dict[int, set[str]] = defaultdict(set)
        if not case_ids:
            return
        attempts = session.exec(
            select(ContactAttempt.case_id, ContactAttempt.at, ContactAttempt.outcome)
            .where(col(ContactAttempt.case_id).in_(case_ids))
            .order_by(col(ContactAttempt.case_id), col(ContactAttempt.at))
        ).all()
        for case_id, at, outcome in attempts:
            if not Outcome(outcome).is_contact:
                self.failed[case_id].append(at)
        for case_id, reason in session.exec(
            select(Escalation.case_id, Escalation.reason).where(
                col(Escalation.case_id).in_(case_ids)
            )
        ).all():
            self.reasons[case_id].add(reason)


def snapshot(session: Session, case: Case, history: History | None = None) -> CaseSnapshot:
    """The case as plain data for the ladder (its history read now unless given)."""
    if history is None:
        history = History(session, [case.id or 0])
    failed = history.failed.get(case.id or 0, [])
    return CaseSnapshot(
        status=case.status,
        received_at=case.received_at,
        historical=case.historical,
        assignee=case.assignee,
        claimed_at=case.claimed_at,
        first_contact_at=case.first_contact_at,
        escalated_at=case.escalated_at,
        escalation_reasons=frozenset(history.reasons.get(case.id or 0, ())),
        last_reminder_at=case.last_reminder_at,
        reminders_sent=case.reminders_sent,
        snoozed_until=case.snoozed_until,
        failed_attempts=len(failed),
        last_failed_attempt_at=failed[-1] if failed else None,
        serious=case.serious,
        ack_bounced=case.ack_bounced_at is not None,
        has_phone=bool(case.phone),
        number_request_offered=case.number_request_offered_at is not None,
    )


class Writes:
    """Outbox and audit entries of a chunk, written in one statement each (in order)."""

    def __init__(self) -> None:
        self.outbox: list[dict[str, Any]] = []
        self.audit: list[dict[str, Any]] = []

    def write(self, session: Session) -> None:
        enqueue_many(session, self.outbox)
        audit_many(session, self.audit)
        self.outbox, self.audit = [], []


def apply_decision(
    session: Session,
    cfg: Config,
    case: Case,
    now: datetime,
    calendar: WorkingCalendar,
    policy: LadderPolicy,
    history: History | None = None,
    writes: Writes | None = None,
) -> int:
    """Decide for one (locked) case and record what was done. Returns actions taken.

    Outbox and audit entries go to ``writes`` (written by the caller) when given, else
    at once. An escalation writes what it writes at once, after what ``writes`` holds
    so far, so that entries keep the order of a case-by-case sweep.
    """
    out = Writes() if writes is None else writes
    decision = next_action(snapshot(session, case, history), now, policy, calendar)
    for action in decision.actions:
        if action.kind in REMINDERS:
            case.reminders_sent += 1
            case.last_reminder_at = now
            user = slack_user(case.assignee) if action.kind != ActionKind.REMIND_TRIAGE else None
            payload = {"op": ChatOp.REMINDER, "case_id": case.id, "rung": action.kind.value}
            key = f"reminder:{case.id}:{case.reminders_sent}"
            out.outbox.append(
                outbox_row(OutboxKind.CHAT, key, {**payload, "user": user}, case, now)
            )
            to = user or cfg.chat.triage_channel
            out.audit.append(
                audit_row(case, "system", "reminder", now, rung=payload["rung"], to=to)
            )
        elif action.kind == ActionKind.OFFER_NUMBER_REQUEST:
            case.number_request_offered_at = now
            out.audit.append(audit_row(case, "system", "number_request_offered", now))
            refresh = {"op": ChatOp.PROMPT, "case_id": case.id}
            key = unique_key(f"prompt-refresh:{case.id}")
            out.outbox.append(outbox_row(OutboxKind.CHAT, key, refresh, case, now))
        elif action.kind == ActionKind.ESCALATE:
            out.write(session)
            escalate(
                session,
                cfg,
                case,
                SYSTEM_ACTOR,
                now,
                reason=EscalationReason(action.escalation_reason or "deadline"),
                note=action.reason,
            )
    if writes is None:
        out.write(session)
    case.next_check_at = decision.next_check_at
    if decision.actions:
        case.updated_at = now
    return len(decision.actions)


def _claim(session: Session, now: datetime, skip: set[int], size: int) -> list[Case]:
    """Up to ``size`` due cases, oldest due first, locked for this transaction."""
    q = (
        select(Case)
        .where(col(Case.next_check_at) <= now)
        .order_by(col(Case.next_check_at), col(Case.id))
        .limit(size)
    )
    if skip:
        q = q.where(col(Case.id).not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return list(session.exec(q).all())


def run(rt: Runtime, limit: int = 10_000) -> int:
    """Act on every case that is due at the runtime's clock (at most ``limit`` cases)."""
    cfg, now = rt.cfg, rt.clock()
    calendar = WorkingCalendar.from_policy(cfg.policy)
    policy = LadderPolicy.from_policy(cfg.policy)
    acted, done, failed = 0, 0, set[int]()
    while done < limit:
        size = min(CHUNK, limit - done)
        ids: list[int] = []
        try:
            with session_scope(rt.db) as session:
                cases = _claim(session, now, failed, size)
                ids = [c.id or 0 for c in cases]
                history = History(session, ids)
                writes = Writes()
                for case in cases:
                    acted += apply_decision(
                        session, cfg, case, now, calendar, policy, history, writes
                    )
                writes.write(session)
        except Exception:
            if not ids:
                raise
            log.exception("reminder sweep: a chunk of %d cases failed; one by one", len(ids))
            acted += _one_by_one(rt, ids, now, calendar, policy, failed)
        done += len(ids)
        if len(ids) < size:
            break
    return acted


def _one_by_one(
    rt: Runtime,
    ids: list[int],
    now: datetime,
    calendar: WorkingCalendar,
    policy: LadderPolicy,
    failed: set[int],
) -> int:
    """A failed chunk again, one transaction per case; a case that fails again waits."""
    acted = 0
    for case_id in ids:
        try:
            with session_scope(rt.db) as session:
                q = select(Case).where(Case.id == case_id, col(Case.next_check_at) <= now)
                if session.get_bind().dialect.name == "postgresql":
                    q = q.with_for_update(skip_locked=True)
                case = session.exec(q).first()
                if case is not None:
                    acted += apply_decision(session, rt.cfg, case, now, calendar, policy)
        except Exception:
            log.exception("reminder sweep: case id %s failed; trying again later", case_id)
            failed.add(case_id)
            with session_scope(rt.db) as session:
                session.execute(
                    sa.update(Case)
                    .where(col(Case.id) == case_id)
                    .values(next_check_at=now + RETRY_FAILED_CASE)
                )
    return acted
