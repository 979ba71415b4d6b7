"""The reminder and escalation ladder: when does a case need a nudge?

One pure function, :func:`next_action`, decides from a plain snapshot of the
case and the time what the bot should do now and when to look again. The
sweep loads due cases, asks, carries out the actions, records them (as
:func:`after_actions` describes) and stores ``next_check_at``.

The rungs, until a call (or meeting) with the complainant is logged:

* nobody claimed the case: remind the triage channel every
  ``reminder_every_working_hours`` after receipt;
* claimed: remind the assignee every ``reminder_every_working_hours``,
  counted from the later of the claim and the last reminder, not before the
  end of a snooze;
* a failed contact attempt (no answer, voicemail, wrong number) was logged:
  a retry reminder ``retry_after_no_answer_working_hours`` after it;
* ``failed_attempts_before_email`` failed attempts: offer, once, to email the
  complainant asking for another number or a good time to call;
* escalate to the ombudsman, once per reason: at once when the case is
  serious, at once when the acknowledgement bounced and no phone number is
  known, and when ``ombudsman_after_working_hours`` passed without a call.
  Reminders go on after an escalation.

Reminders reach staff only in working hours; a reminder that falls due in
the evening goes out at the next opening. Escalations and the number-request
offer go out as soon as they are due: they answer an event (a serious
complaint, a bounce, a logged attempt) or a deadline that itself only runs
in working time (a deadline that ends exactly at closing time is alerted at
the next opening).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from bot.domain.calendar import WorkingCalendar
from bot.domain.vocabulary import EscalationReason  # the same words as the escalation rows

if TYPE_CHECKING:
    from bot.config import PolicyConfig

__all__ = [
    "Action",
    "ActionKind",
    "CaseSnapshot",
    "Decision",
    "EscalationReason",
    "LadderPolicy",
    "after_actions",
    "first_contact_due",
    "is_settled",
    "next_action",
    "ombudsman_due",
]

SETTLED_STATUSES = frozenset({"contacted", "closed"})


class ActionKind(StrEnum):
    """What the sweep should do. ``NONE`` never appears in a :class:`Decision`;
    it is there for callers that need a value for "nothing" (logs, reports)."""

    NONE = "none"
    REMIND_TRIAGE = "remind_triage"
    REMIND_ASSIGNEE = "remind_assignee"
    RETRY_REMINDER = "retry_reminder"
    OFFER_NUMBER_REQUEST = "offer_number_request"
    ESCALATE = "escalate"


REMINDERS = frozenset(
    {ActionKind.REMIND_TRIAGE, ActionKind.REMIND_ASSIGNEE, ActionKind.RETRY_REMINDER}
)


@dataclass(frozen=True)
class CaseSnapshot:
    """The facts about a case that the ladder looks at, copied from the case row.

    All datetimes are timezone-aware. ``failed_attempts`` counts logged
    contact attempts with outcome no answer, voicemail or wrong number.
    """

    status: str
    received_at: datetime
    historical: bool = False
    assignee: str | None = None
    claimed_at: datetime | None = None
    first_contact_at: datetime | None = None
    escalated_at: datetime | None = None
    escalation_reasons: frozenset[str] = frozenset()
    last_reminder_at: datetime | None = None
    reminders_sent: int = 0
    snoozed_until: datetime | None = None
    failed_attempts: int = 0
    last_failed_attempt_at: datetime | None = None
    serious: bool = False
    ack_bounced: bool = False
    has_phone: bool = True
    number_request_offered: bool = False


@dataclass(frozen=True)
class LadderPolicy:
    """How often and how soon; the defaults are PRODUCT.md's."""

    first_contact_working_hours: float = 8.5  # one working day
    reminder_every_working_hours: float = 2.0
    retry_after_no_answer_working_hours: float = 2.0
    failed_attempts_before_email: int = 3
    ombudsman_after_working_hours: float = 17.0  # two working days

    @classmethod
    def from_policy(cls, policy: PolicyConfig) -> LadderPolicy:
        """The ladder configured in the ``[policy]`` section."""
        return cls(
            first_contact_working_hours=policy.first_contact_working_hours,
            reminder_every_working_hours=policy.reminder_every_working_hours,
            retry_after_no_answer_working_hours=policy.retry_after_no_answer_working_hours,
            failed_attempts_before_email=policy.failed_attempts_before_email,
            ombudsman_after_working_hours=policy.ombudsman_after_working_hours,
        )


@dataclass(frozen=True)
class Action:
    """One thing to do now.

    ``to`` is the Slack user to address (the assignee), or None for the
    configured destination: the triage channel for ``REMIND_TRIAGE``, the
    ombudsman users for ``ESCALATE``. ``reason`` is a short English phrase for
    logs and the audit trail; staff-facing text is built from ``kind``.
    """

    kind: ActionKind
    to: str | None
    reason: str
    escalation_reason: str | None = None


@dataclass(frozen=True)
class Decision:
    """What to do now, and when the case could next need something.

    ``next_check_at`` is always an opening moment (inside working hours), or
    None when the case needs nothing ever again (contacted, closed, historical).
    """

    actions: tuple[Action, ...]
    next_check_at: datetime | None


def first_contact_due(
    received_at: datetime, policy: LadderPolicy, calendar: WorkingCalendar
) -> datetime:
    """The target time for the first call: by default one working day after receipt."""
    return calendar.add_working_time(received_at, policy.first_contact_working_hours)


def ombudsman_due(
    received_at: datetime, policy: LadderPolicy, calendar: WorkingCalendar
) -> datetime:
    """When the ombudsman is alerted if no call is logged: by default two working days."""
    return calendar.add_working_time(received_at, policy.ombudsman_after_working_hours)


def is_settled(case: CaseSnapshot) -> bool:
    """True if the ladder has nothing more to do: a call was logged, or the case
    is closed, or it is historical mail that never starts reminders."""
    return case.historical or case.status in SETTLED_STATUSES or case.first_contact_at is not None


@dataclass(frozen=True)
class _Reminder:
    kind: ActionKind
    to: str | None
    reason: str
    due: datetime  # may fall outside working hours; it goes out at the next opening


def _pending_reminder(
    case: CaseSnapshot, policy: LadderPolicy, calendar: WorkingCalendar
) -> _Reminder:
    """The next reminder this case will get, and from when it is due."""
    if case.assignee is not None:
        kind, to, reason = ActionKind.REMIND_ASSIGNEE, case.assignee, "claimed, no call logged"
        anchor = case.claimed_at or case.received_at
    else:
        kind, to, reason = ActionKind.REMIND_TRIAGE, None, "not claimed, no call logged"
        anchor = case.received_at
    interval = policy.reminder_every_working_hours
    if case.last_reminder_at is not None and case.last_reminder_at > anchor:
        anchor = case.last_reminder_at
    # A failed attempt after the last reminder restarts the clock with the
    # (usually shorter) retry interval; "no answer" does not stop the deadline.
    if case.last_failed_attempt_at is not None and case.last_failed_attempt_at >= anchor:
        anchor = case.last_failed_attempt_at
        interval = policy.retry_after_no_answer_working_hours
        kind, reason = ActionKind.RETRY_REMINDER, "retry after a failed contact attempt"
    due = calendar.add_working_time(anchor, interval)
    if case.snoozed_until is not None and case.snoozed_until > due:
        due = case.snoozed_until
    return _Reminder(kind, to, reason, due)


def _deadline_alert_at(
    case: CaseSnapshot, policy: LadderPolicy, calendar: WorkingCalendar
) -> datetime:
    """When the deadline alert goes out: at the ombudsman deadline, or, when that
    falls on closing time, at the next opening, when someone is there to read it."""
    return calendar.next_opening(ombudsman_due(case.received_at, policy, calendar))


def _due_escalations(
    case: CaseSnapshot, now: datetime, policy: LadderPolicy, calendar: WorkingCalendar
) -> list[Action]:
    reasons = case.escalation_reasons
    actions = []
    if case.serious and EscalationReason.SERIOUS not in reasons:
        actions.append(
            Action(ActionKind.ESCALATE, None, "flagged serious", EscalationReason.SERIOUS)
        )
    if case.ack_bounced and not case.has_phone and EscalationReason.ACK_BOUNCED not in reasons:
        actions.append(
            Action(
                ActionKind.ESCALATE,
                None,
                "acknowledgement bounced and no phone number is known",
                EscalationReason.ACK_BOUNCED,
            )
        )
    deadline_passed = now >= _deadline_alert_at(case, policy, calendar)
    if deadline_passed and EscalationReason.DEADLINE not in reasons:
        actions.append(
            Action(
                ActionKind.ESCALATE,
                None,
                "no call logged by the deadline",
                EscalationReason.DEADLINE,
            )
        )
    return actions


def next_action(
    case: CaseSnapshot, now: datetime, policy: LadderPolicy, calendar: WorkingCalendar
) -> Decision:
    """What the bot should do about ``case`` at ``now``, and when to look again.

    Pure: the caller carries out the actions and records them (see
    :func:`after_actions`); asked again at the same ``now`` with the recorded
    state, it returns no actions.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    if is_settled(case):
        return Decision((), None)

    actions = _due_escalations(case, now, policy, calendar)
    if (
        case.failed_attempts >= policy.failed_attempts_before_email
        and not case.number_request_offered
    ):
        actions.append(
            Action(
                ActionKind.OFFER_NUMBER_REQUEST,
                case.assignee,
                f"{case.failed_attempts} failed contact attempts",
            )
        )
    reminder = _pending_reminder(case, policy, calendar)
    if now >= reminder.due and calendar.is_open(now):
        actions.append(Action(reminder.kind, reminder.to, reminder.reason))

    recorded = after_actions(case, actions, now)
    return Decision(tuple(actions), _next_check(recorded, now, policy, calendar))


def _next_check(
    case: CaseSnapshot, now: datetime, policy: LadderPolicy, calendar: WorkingCalendar
) -> datetime:
    """The earliest opening at which the recorded ``case`` could need an action."""
    reminder = _pending_reminder(case, policy, calendar)
    # A reminder already due but held back by closed hours goes out at the next opening.
    candidates = [calendar.next_opening(max(reminder.due, now))]
    if EscalationReason.DEADLINE not in case.escalation_reasons:
        candidates.append(_deadline_alert_at(case, policy, calendar))
    return min(candidates)


def after_actions(
    case: CaseSnapshot, actions: tuple[Action, ...] | list[Action], now: datetime
) -> CaseSnapshot:
    """The case as the caller records it after carrying out ``actions`` at ``now``.

    Reminders set ``last_reminder_at`` and count in ``reminders_sent``; an
    escalation adds its reason and sets ``escalated_at`` the first time; the
    number-request offer is made once.
    """
    reminders = sum(1 for a in actions if a.kind in REMINDERS)
    new_reasons = frozenset(
        str(a.escalation_reason)
        for a in actions
        if a.kind is ActionKind.ESCALATE and a.escalation_reason is not None
    )
    offered = any(a.kind is ActionKind.OFFER_NUMBER_REQUEST for a in actions)
    return dataclasses.replace(
        case,
        last_reminder_at=now if reminders else case.last_reminder_at,
        reminders_sent=case.reminders_sent + reminders,
        escalation_reasons=case.escalation_reasons | new_reasons,
        escalated_at=case.escalated_at or (now if new_reasons else None),
        number_request_offered=case.number_request_offered or offered,
    )
