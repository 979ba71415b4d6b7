"""The reminder and escalation sweep: what is due, from the cases table alone.

Finding due work is one indexed range scan on ``case.next_check_at``, so a
sweep costs what is due, not what is open. Each due case is handled in its own
transaction with its row locked (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the
write lock on SQLite): two instances never remind twice, and one failing case
never stops the others. The decision itself is the pure
:func:`bot.domain.ladder.next_action`.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.actions.cases import enqueue_prompt_refresh, escalate
from bot.actions.trail import SYSTEM_ACTOR, audit, enqueue, slack_user
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


def snapshot(session: Session, case: Case) -> CaseSnapshot:
    """The case as plain data for the ladder."""
    attempts = session.exec(
        select(ContactAttempt)
        .where(ContactAttempt.case_id == case.id)
        .order_by(col(ContactAttempt.at))
    ).all()
    failed = [a for a in attempts if not Outcome(a.outcome).is_contact]
    reasons = session.exec(select(Escalation.reason).where(Escalation.case_id == case.id)).all()
    return CaseSnapshot(
        status=case.status,
        received_at=case.received_at,
        historical=case.historical,
        assignee=case.assignee,
        claimed_at=case.claimed_at,
        first_contact_at=case.first_contact_at,
        escalated_at=case.escalated_at,
        escalation_reasons=frozenset(reasons),
        last_reminder_at=case.last_reminder_at,
        reminders_sent=case.reminders_sent,
        snoozed_until=case.snoozed_until,
        failed_attempts=len(failed),
        last_failed_attempt_at=failed[-1].at if failed else None,
        serious=case.serious,
        ack_bounced=case.ack_bounced_at is not None,
        has_phone=bool(case.phone),
        number_request_offered=case.number_request_offered_at is not None,
    )


def apply_decision(
    session: Session,
    cfg: Config,
    case: Case,
    now: datetime,
    calendar: WorkingCalendar,
    policy: LadderPolicy,
) -> int:
    """Decide for one (locked) case and record what was done. Returns actions taken."""
    decision = next_action(snapshot(session, case), now, policy, calendar)
    for action in decision.actions:
        if action.kind in (
            ActionKind.REMIND_TRIAGE,
            ActionKind.REMIND_ASSIGNEE,
            ActionKind.RETRY_REMINDER,
        ):
            case.reminders_sent += 1
            case.last_reminder_at = now
            user = slack_user(case.assignee) if action.kind != ActionKind.REMIND_TRIAGE else None
            enqueue(
                session,
                kind=OutboxKind.CHAT,
                dedupe_key=f"reminder:{case.id}:{case.reminders_sent}",
                payload={
                    "op": ChatOp.REMINDER,
                    "case_id": case.id,
                    "rung": action.kind.value,
                    "user": user,
                },
                case=case,
                now=now,
            )
            audit(
                session,
                case,
                SYSTEM_ACTOR,
                "reminder",
                now,
                rung=action.kind.value,
                to=user or cfg.chat.triage_channel,
            )
        elif action.kind == ActionKind.OFFER_NUMBER_REQUEST:
            case.number_request_offered_at = now
            audit(session, case, SYSTEM_ACTOR, "number_request_offered", now)
            enqueue_prompt_refresh(session, case, now)
        elif action.kind == ActionKind.ESCALATE:
            escalate(
                session,
                cfg,
                case,
                SYSTEM_ACTOR,
                now,
                reason=EscalationReason(action.escalation_reason or "deadline"),
                note=action.reason,
            )
    case.next_check_at = decision.next_check_at
    if decision.actions:
        case.updated_at = now
    return len(decision.actions)


def _claim_one(session: Session, now: datetime, skip: set[int]) -> Case | None:
    q = (
        select(Case)
        .where(col(Case.next_check_at) <= now)
        .order_by(col(Case.next_check_at), col(Case.id))
        .limit(1)
    )
    if skip:
        q = q.where(col(Case.id).not_in(skip))
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return session.exec(q).first()


def run(rt: Runtime, limit: int = 10_000) -> int:
    """Act on every case that is due at the runtime's clock."""
    cfg, now = rt.cfg, rt.clock()
    calendar = WorkingCalendar.from_policy(cfg.policy)
    policy = LadderPolicy.from_policy(cfg.policy)
    acted, failed = 0, set[int]()
    for _ in range(limit):
        case_id: int | None = None
        try:
            with session_scope(rt.db) as session:
                case = _claim_one(session, now, failed)
                if case is None:
                    break
                case_id = case.id
                acted += apply_decision(session, cfg, case, now, calendar, policy)
        except Exception:
            log.exception("reminder sweep: case id %s failed; trying again later", case_id)
            if case_id is None:
                raise
            failed.add(case_id)
            with session_scope(rt.db) as session:
                session.execute(
                    sa.update(Case)
                    .where(col(Case.id) == case_id)
                    .values(next_check_at=now + RETRY_FAILED_CASE)
                )
    return acted
