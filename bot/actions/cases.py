"""What can happen to a case: the actions staff, the ombudsman and the pipeline take.

Each function changes the case inside the caller's transaction, appends to the
audit trail and queues its side effects in the outbox, so that either all of
it happens or none of it does. Slack listeners and the ``case`` commands call
the same functions; they differ only in who the actor is. A staff action takes an
:class:`~bot.actions.trail.Actor`, which only ``authorize()`` makes: the caller
authorised it once, so the action does not check again.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.actions.care import after_hard_call, tell_taken_over
from bot.actions.trail import (
    CHAT_ACTOR_PREFIXES,
    CLI_ACTOR_PREFIX,
    SYSTEM_ACTOR,
    Actor,
    audit,
    enqueue,
    unique_key,
)
from bot.config import Config
from bot.domain.vocabulary import ChatOp
from bot.errors import AlreadyClaimed, CaseNotFound, InvalidAction
from bot.store.db import insert_row
from bot.store.models import (
    ActionPlan,
    Case,
    ContactAttempt,
    Escalation,
    EscalationReason,
    OutboxKind,
    Outcome,
    Resolution,
    Status,
)
from bot.store.queries import complainant_of

log = logging.getLogger(__name__)


def enqueue_prompt_refresh(session: Session, case: Case, now: datetime) -> None:
    """Re-render the staff prompt in place (or post it, if it was never posted)."""
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=unique_key(f"prompt-refresh:{case.id}"),
        payload={"op": ChatOp.PROMPT, "case_id": case.id},
        case=case,
        now=now,
    )


# --- finding cases ---------------------------------------------------------


def get_case(session: Session, ref: str) -> Case:
    case = session.exec(select(Case).where(Case.ref == ref.strip().upper())).first()
    if case is None:
        raise CaseNotFound(f"no case with reference {ref!r}")
    return case


def get_case_by_id(session: Session, case_id: int) -> Case:
    case = session.get(Case, case_id)
    if case is None:
        raise CaseNotFound(f"no case with id {case_id}")
    return case


def set_case_phone(
    session: Session, case: Case, phone: str | None, now: datetime, actor: str, via: str
) -> bool:
    """The number to call on this case is now ``phone``; the one before is kept as an
    alternative. Only the complainant (a later message of theirs on this case) and staff
    may change it: callers make sure of that. Returns True when something changed."""
    if not phone or phone == case.phone:
        return False
    action = "phone_changed" if case.phone else "phone_added"
    if case.phone:
        earlier = [p for p in case.previous_phones.split() if p != phone]
        case.previous_phones = " ".join([*earlier, case.phone])[:400]
    case.phone = phone
    complainant = complainant_of(session, case)
    if not complainant.phone:
        complainant.phone = phone
    _touch(case, now)
    audit(session, case, actor, action, now, via=via)  # never the number itself
    enqueue_prompt_refresh(session, case, now)
    return True


# --- staff actions ---------------------------------------------------------


def _touch(case: Case, now: datetime) -> None:
    """Mark the case changed; the next sweep looks at it again (the ladder decides)."""
    case.updated_at = now
    if case.status != Status.CLOSED.value and not case.historical:
        case.next_check_at = now


def _require_open(case: Case) -> None:
    if case.status == Status.CLOSED.value:
        raise InvalidAction(f"case {case.ref} is closed")


def _person(actor: str) -> str:
    """``slack:U1`` and ``cli:U1`` (the command line with ``--by U1``) are one person."""
    for prefix in (*CHAT_ACTOR_PREFIXES, CLI_ACTOR_PREFIX):
        if actor.startswith(prefix):
            return actor[len(prefix) :]
    return actor


def claim(
    session: Session,
    cfg: Config,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    take_over: bool = False,
    tell_previous: bool = True,
) -> None:
    """``actor`` says "I'll call".

    A case someone else has is not taken silently: without ``take_over`` this
    raises :class:`AlreadyClaimed` naming the assignee. A take-over is audited
    (``taken_over_from``) and the previous assignee gets a direct message
    (unless ``tell_previous`` is False: they asked for it themselves). The case
    row is locked first, so two claims at the same moment cannot both win.
    Claiming one's own case again changes nothing.
    """
    session.flush()
    session.refresh(case, with_for_update=True)
    _require_open(case)
    previous = case.assignee
    if previous is not None and _person(previous) == _person(actor):
        return
    if previous is not None and not take_over:
        raise AlreadyClaimed(case.ref, previous)
    case.assignee = actor
    case.claimed_at = now
    if case.status in (Status.NEW.value, Status.ACKNOWLEDGED.value):
        case.status = Status.CLAIMED.value
    _touch(case, now)
    if previous is None:
        audit(session, case, actor, "claimed", now)
    else:
        audit(session, case, actor, "claimed", now, taken_over_from=previous)
        if tell_previous:
            tell_taken_over(session, cfg, case, previous, actor, now)
    enqueue_prompt_refresh(session, case, now)


def log_contact(
    session: Session,
    cfg: Config,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    outcome: Outcome,
    note: str = "",
    remedy: str | None = None,
    next_step: str | None = None,
    hard: bool = False,
    at: datetime | None = None,
) -> ContactAttempt:
    """Record a call (or meeting) attempt. Reaching the person stops the first-contact clock."""
    _require_open(case)
    attempt = ContactAttempt(
        case_id=case.id or 0,
        at=at or now,
        by=actor,
        outcome=outcome.value,
        note=note,
        remedy=remedy or None,
        next_step=next_step or None,
        hard=hard,
    )
    session.add(attempt)
    if case.assignee is None:
        case.assignee = actor
        case.claimed_at = now
    if outcome.is_contact:
        if case.first_contact_at is None:
            case.first_contact_at = at or now
        case.status = Status.CONTACTED.value
    elif case.status in (Status.NEW.value, Status.ACKNOWLEDGED.value):
        case.status = Status.CLAIMED.value
    _touch(case, now)
    audit(
        session,
        case,
        actor,
        "contact_logged",
        now,
        outcome=outcome.value,
        hard=hard,
        remedy=remedy or None,
    )
    if hard:  # thank the caller, offer a debrief (imported here: it imports this module)
        after_hard_call(session, cfg, case, actor, now)
    enqueue_prompt_refresh(session, case, now)
    return attempt


def close_case(
    session: Session,
    cfg: Config,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    resolution: Resolution,
    lesson: str | None = None,
) -> None:
    _require_open(case)
    case.status = Status.CLOSED.value
    case.closed_at = now
    case.resolution = resolution.value
    case.next_check_at = None
    _touch(case, now)
    audit(
        session, case, actor, "closed", now, resolution=resolution.value, lesson_shared=bool(lesson)
    )
    if lesson:
        audit(session, case, actor, "lesson", now, lesson=lesson[:1000])
    enqueue_prompt_refresh(session, case, now)


def escalate(
    session: Session,
    cfg: Config,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    reason: EscalationReason,
    note: str = "",
    new_case: bool = False,
) -> Escalation | None:
    """Raise the case to the ombudsman. Once per reason; returns None if already done.

    ``new_case``: the case was opened in this transaction, so it has no escalation yet
    (the inbound pipeline escalates a serious complaint as it opens it)."""
    _require_open(case)
    if not new_case:
        existing = session.exec(
            select(Escalation).where(
                Escalation.case_id == case.id, Escalation.reason == reason.value
            )
        ).first()
        if existing is not None and reason != EscalationReason.STAFF:
            return None
    esc = insert_row(
        session,
        Escalation,
        {
            "case_id": case.id or 0,
            "at": now,
            "reason": reason.value,
            "by": actor,
            "to": ",".join(cfg.chat.ombudsman_users) or "ombudsman",
            "note": note[:2000],
            "acknowledged_at": None,
        },
    )
    if case.escalated_at is None:
        case.escalated_at = now
    _touch(case, now)
    audit(session, case, actor, "escalated", now, reason=reason.value)
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"escalation:{esc.id}",
        payload={"op": ChatOp.ESCALATION, "case_id": case.id, "escalation_id": esc.id},
        case=case,
        now=now,
    )
    enqueue_prompt_refresh(session, case, now)
    return esc


def mark_ack_bounced(session: Session, cfg: Config, case: Case, now: datetime) -> None:
    """Our acknowledgement could not be delivered: block the address, tell staff, and
    escalate at once when there is no phone number either (nobody can reach them)."""
    if case.ack_bounced_at is not None:
        return
    case.ack_bounced_at = now
    _touch(case, now)
    complainant = complainant_of(session, case)
    complainant.email_bounced_at = now
    audit(session, case, SYSTEM_ACTOR, "ack_bounced", now)
    enqueue_prompt_refresh(session, case, now)
    if not case.phone and case.status != Status.CLOSED.value and not case.historical:
        escalate(
            session,
            cfg,
            case,
            SYSTEM_ACTOR,
            now,
            reason=EscalationReason.ACK_BOUNCED,
            note="the acknowledgement bounced and no phone number is known",
        )


def snooze(
    session: Session, cfg: Config, case: Case, actor: Actor, now: datetime, minutes: int
) -> None:
    _require_open(case)
    if not 1 <= minutes <= 7 * 24 * 60:
        raise InvalidAction("snooze must be between 1 minute and 7 days")
    case.snoozed_until = now + timedelta(minutes=minutes)
    _touch(case, now)
    audit(session, case, actor, "snoozed", now, minutes=minutes)


def reopen(
    session: Session, cfg: Config, case: Case, now: datetime, actor: str = SYSTEM_ACTOR
) -> None:
    """A complainant wrote again after closing: the case is open again and flagged."""
    case.status = Status.CLAIMED.value if case.assignee else Status.ACKNOWLEDGED.value
    if case.first_contact_at is not None:
        case.status = Status.CONTACTED.value
    case.closed_at = None
    case.resolution = None
    case.reopened_count += 1
    _touch(case, now)
    audit(session, case, actor, "reopened", now)


def add_action_plan(
    session: Session,
    cfg: Config,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    owner: str,
    steps: str,
    due_at: datetime,
) -> ActionPlan:
    """The manager's plan when the unit could not resolve it; the ombudsman follows it up."""
    _require_open(case)
    if due_at <= now:
        raise InvalidAction("the action plan's due date must be in the future")
    plan = ActionPlan(
        case_id=case.id or 0, owner=owner, steps=steps[:5000], due_at=due_at, created_at=now
    )
    session.add(plan)
    session.flush()
    _touch(case, now)
    audit(
        session,
        case,
        actor,
        "action_plan_added",
        now,
        plan_id=plan.id,
        owner=owner,
        due_at=due_at.isoformat(),
    )
    return plan


def complete_action_plan(
    session: Session,
    cfg: Config,
    case: Case,
    actor: Actor,
    now: datetime,
    *,
    note: str = "",
    plan_id: int | None = None,
) -> ActionPlan:
    """The ombudsman's follow-up: an open plan on this case (``plan_id``, else the
    oldest) is done."""
    q = select(ActionPlan).where(ActionPlan.case_id == case.id, col(ActionPlan.done_at).is_(None))
    if plan_id is not None:
        q = q.where(ActionPlan.id == plan_id)
    plan = session.exec(q.order_by(col(ActionPlan.id))).first()
    if plan is None:
        raise InvalidAction(f"{case.ref} has no open action plan")
    plan.done_at = plan.followed_up_at = now
    plan.follow_up_note = note[:2000]
    _touch(case, now)
    audit(session, case, actor, "action_plan_done", now, plan_id=plan.id)
    return plan
