"""The reminder and escalation ladder, rung by rung, and run over two weeks."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.calendar import WorkingCalendar
from bot.domain.ladder import (
    Action,
    ActionKind,
    CaseSnapshot,
    Decision,
    LadderPolicy,
    after_actions,
    first_contact_due,
    next_action,
    ombudsman_due,
)

TZ = ZoneInfo("Europe/Stockholm")
CAL = WorkingCalendar(
    tz=TZ, country="SE", start=time(8, 0), end=time(16, 30), working_days=frozenset({1, 2, 3, 4, 5})
)
POLICY = LadderPolicy()
STAFF = "U0STAFF1"


def at(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=TZ)


# Monday 2 March 2026, an ordinary week.
MONDAY_9 = at(2026, 3, 2, 9, 0)


def case(**changes: object) -> CaseSnapshot:
    base = CaseSnapshot(status="acknowledged", received_at=MONDAY_9)
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def decide(c: CaseSnapshot, now: datetime, policy: LadderPolicy = POLICY) -> Decision:
    return next_action(c, now, policy, CAL)


def kinds(d: Decision) -> list[ActionKind]:
    return [a.kind for a in d.actions]


# -- nothing to do --------------------------------------------------------------------


@pytest.mark.parametrize(
    "settled",
    [
        case(status="closed"),
        case(status="contacted", first_contact_at=at(2026, 3, 2, 10)),
        case(status="claimed", assignee=STAFF, first_contact_at=at(2026, 3, 2, 10)),
        case(historical=True),
        case(historical=True, serious=True, ack_bounced=True, has_phone=False),
    ],
)
def test_contacted_closed_and_historical_cases_are_left_alone(settled: CaseSnapshot) -> None:
    assert decide(settled, at(2026, 3, 20, 10)) == Decision((), None)


# -- unclaimed: the triage channel ------------------------------------------------------


def test_unclaimed_case_reminds_triage_every_two_working_hours() -> None:
    c = case()
    early = decide(c, at(2026, 3, 2, 10, 59))
    assert early.actions == ()
    assert early.next_check_at == at(2026, 3, 2, 11, 0)

    due = decide(c, at(2026, 3, 2, 11, 0))
    assert due.actions == (Action(ActionKind.REMIND_TRIAGE, None, due.actions[0].reason),)
    assert due.next_check_at == at(2026, 3, 2, 13, 0)


def test_reminder_falling_due_after_closing_waits_for_the_next_opening() -> None:
    # Received 15:00: 1.5 h left today, so the reminder is due at 08:30 tomorrow.
    c = case(received_at=at(2026, 3, 2, 15, 0))
    evening = decide(c, at(2026, 3, 2, 20, 0))
    assert evening.actions == ()
    assert evening.next_check_at == at(2026, 3, 3, 8, 30)


def test_overdue_reminder_is_not_sent_at_night() -> None:
    # The sweep did not run during the afternoon; the reminder due at 11:00 is
    # overdue at 18:00 but staff hear about it when they come in.
    c = case()
    night = decide(c, at(2026, 3, 2, 18, 0))
    assert night.actions == ()
    assert night.next_check_at == at(2026, 3, 3, 8, 0)
    morning = decide(c, at(2026, 3, 3, 8, 0))
    assert kinds(morning) == [ActionKind.REMIND_TRIAGE]


def test_friday_afternoon_complaint_before_easter() -> None:
    # Thursday 2 April 2026 15:00; Good Friday and Easter Monday are closed.
    c = case(received_at=at(2026, 4, 2, 15, 0))
    assert decide(c, at(2026, 4, 3, 10, 0)) == Decision((), at(2026, 4, 7, 8, 30))
    assert kinds(decide(c, at(2026, 4, 7, 8, 30))) == [ActionKind.REMIND_TRIAGE]


# -- claimed: the assignee --------------------------------------------------------------


def test_claimed_case_reminds_the_assignee_counting_from_the_claim() -> None:
    c = case(status="claimed", assignee=STAFF, claimed_at=at(2026, 3, 2, 10, 30))
    assert decide(c, at(2026, 3, 2, 11, 0)) == Decision((), at(2026, 3, 2, 12, 30))
    due = decide(c, at(2026, 3, 2, 12, 30))
    assert [(a.kind, a.to) for a in due.actions] == [(ActionKind.REMIND_ASSIGNEE, STAFF)]
    assert due.next_check_at == at(2026, 3, 2, 14, 30)


def test_claim_after_a_triage_reminder_counts_from_the_claim() -> None:
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 11, 30),
        last_reminder_at=at(2026, 3, 2, 11, 0),
        reminders_sent=1,
    )
    assert decide(c, at(2026, 3, 2, 13, 0)).next_check_at == at(2026, 3, 2, 13, 30)


def test_later_reminders_count_from_the_last_reminder() -> None:
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 9, 30),
        last_reminder_at=at(2026, 3, 2, 15, 0),
        reminders_sent=2,
    )
    # 15:00 + 2 working hours = 1.5 h today + 0.5 h tomorrow.
    assert decide(c, at(2026, 3, 2, 15, 1)).next_check_at == at(2026, 3, 3, 8, 30)


# -- snooze -----------------------------------------------------------------------------


def test_snooze_holds_reminders_until_it_ends() -> None:
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 10, 30),
        snoozed_until=at(2026, 3, 3, 10, 0),
    )
    assert decide(c, at(2026, 3, 2, 12, 30)) == Decision((), at(2026, 3, 3, 10, 0))
    assert decide(c, at(2026, 3, 3, 9, 59)).actions == ()
    assert kinds(decide(c, at(2026, 3, 3, 10, 0))) == [ActionKind.REMIND_ASSIGNEE]


def test_snooze_ending_in_the_evening_reminds_next_morning() -> None:
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 10, 30),
        snoozed_until=at(2026, 3, 2, 18, 0),
    )
    assert decide(c, at(2026, 3, 2, 12, 30)) == Decision((), at(2026, 3, 3, 8, 0))
    assert decide(c, at(2026, 3, 2, 18, 0)).actions == ()
    assert kinds(decide(c, at(2026, 3, 3, 8, 0))) == [ActionKind.REMIND_ASSIGNEE]


def test_short_snooze_does_not_bring_the_reminder_forward() -> None:
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 10, 30),
        snoozed_until=at(2026, 3, 2, 11, 0),
    )
    assert decide(c, at(2026, 3, 2, 11, 0)) == Decision((), at(2026, 3, 2, 12, 30))


def test_snooze_does_not_hold_back_an_escalation() -> None:
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 10, 30),
        snoozed_until=at(2026, 3, 9, 8, 0),
        serious=True,
    )
    d = decide(c, at(2026, 3, 2, 11, 0))
    assert kinds(d) == [ActionKind.ESCALATE]
    assert d.actions[0].escalation_reason == "serious"


# -- failed contact attempts ------------------------------------------------------------


def test_no_answer_brings_a_retry_reminder() -> None:
    policy = LadderPolicy(retry_after_no_answer_working_hours=1.0)
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 9, 30),
        failed_attempts=1,
        last_failed_attempt_at=at(2026, 3, 2, 10, 0),
    )
    assert decide(c, at(2026, 3, 2, 10, 30), policy) == Decision((), at(2026, 3, 2, 11, 0))
    retry = decide(c, at(2026, 3, 2, 11, 0), policy)
    assert [(a.kind, a.to) for a in retry.actions] == [(ActionKind.RETRY_REMINDER, STAFF)]
    # Afterwards the ordinary interval applies again.
    assert retry.next_check_at == at(2026, 3, 2, 13, 0)
    later = after_actions(c, retry.actions, at(2026, 3, 2, 11, 0))
    assert kinds(decide(later, at(2026, 3, 2, 13, 0), policy)) == [ActionKind.REMIND_ASSIGNEE]


def test_no_answer_after_a_reminder_restarts_the_clock() -> None:
    c = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 9, 0),
        last_reminder_at=at(2026, 3, 2, 11, 0),
        reminders_sent=1,
        failed_attempts=1,
        last_failed_attempt_at=at(2026, 3, 2, 12, 0),
    )
    assert decide(c, at(2026, 3, 2, 13, 0)) == Decision((), at(2026, 3, 2, 14, 0))


def test_three_failed_attempts_offer_the_number_request_email_once() -> None:
    two = case(
        status="claimed",
        assignee=STAFF,
        claimed_at=at(2026, 3, 2, 9, 0),
        failed_attempts=2,
        last_failed_attempt_at=at(2026, 3, 3, 9, 0),
    )
    assert ActionKind.OFFER_NUMBER_REQUEST not in kinds(decide(two, at(2026, 3, 3, 9, 5)))

    three = dataclasses.replace(
        two, failed_attempts=3, last_failed_attempt_at=at(2026, 3, 3, 14, 0)
    )
    now = at(2026, 3, 3, 14, 5)
    d = decide(three, now)
    assert [(a.kind, a.to) for a in d.actions] == [(ActionKind.OFFER_NUMBER_REQUEST, STAFF)]
    offered = after_actions(three, d.actions, now)
    assert offered.number_request_offered
    assert decide(offered, now).actions == ()
    # Calls are still the aim: the retry reminder keeps coming.
    retry = decide(offered, at(2026, 3, 3, 16, 0))
    assert kinds(retry) == [ActionKind.RETRY_REMINDER]
    reminded = after_actions(offered, retry.actions, at(2026, 3, 3, 16, 0))
    assert decide(reminded, at(2026, 3, 4, 8, 0)).actions == ()


# -- escalation -------------------------------------------------------------------------


def test_deadline_escalates_once_and_reminders_go_on() -> None:
    # Received Monday 09:00; two working days (17 h) later is Wednesday 09:00.
    assert ombudsman_due(MONDAY_9, POLICY, CAL) == at(2026, 3, 4, 9, 0)
    c = case(last_reminder_at=at(2026, 3, 4, 8, 0), reminders_sent=8)
    assert decide(c, at(2026, 3, 4, 8, 59)) == Decision((), at(2026, 3, 4, 9, 0))

    now = at(2026, 3, 4, 9, 0)
    d = decide(c, now)
    assert [(a.kind, a.to, a.escalation_reason) for a in d.actions] == [
        (ActionKind.ESCALATE, None, "deadline")
    ]
    escalated = after_actions(c, d.actions, now)
    assert escalated.escalated_at == now
    assert escalated.escalation_reasons == {"deadline"}
    assert decide(escalated, now) == Decision((), at(2026, 3, 4, 10, 0))
    assert kinds(decide(escalated, at(2026, 3, 4, 10, 0))) == [ActionKind.REMIND_TRIAGE]
    assert kinds(decide(escalated, at(2026, 3, 20, 10, 0))) == [ActionKind.REMIND_TRIAGE]


def test_deadline_escalation_comes_with_a_due_reminder() -> None:
    d = decide(case(), at(2026, 3, 4, 9, 0))
    assert kinds(d) == [ActionKind.ESCALATE, ActionKind.REMIND_TRIAGE]


def test_earlier_escalation_for_another_reason_does_not_hide_the_deadline() -> None:
    c = case(
        escalated_at=at(2026, 3, 2, 9, 30),
        escalation_reasons=frozenset({"staff"}),
        last_reminder_at=at(2026, 3, 4, 8, 0),
    )
    d = decide(c, at(2026, 3, 4, 9, 0))
    assert [a.escalation_reason for a in d.actions] == ["deadline"]
    assert after_actions(c, d.actions, at(2026, 3, 4, 9, 0)).escalated_at == at(2026, 3, 2, 9, 30)


def test_deadline_on_closing_time_is_looked_at_next_morning() -> None:
    # Received Monday 08:00: the 17 working hours run out Tuesday at closing.
    c = case(received_at=at(2026, 3, 2, 8, 0), last_reminder_at=at(2026, 3, 3, 16, 0))
    assert ombudsman_due(c.received_at, POLICY, CAL) == at(2026, 3, 3, 16, 30)
    assert decide(c, at(2026, 3, 3, 16, 1)).next_check_at == at(2026, 3, 4, 8, 0)
    assert kinds(decide(c, at(2026, 3, 4, 8, 0))) == [ActionKind.ESCALATE]


def test_first_contact_target_is_one_working_day() -> None:
    assert first_contact_due(MONDAY_9, POLICY, CAL) == at(2026, 3, 3, 9, 0)
    assert first_contact_due(at(2026, 4, 2, 15, 0), POLICY, CAL) == at(2026, 4, 7, 15, 0)


def test_serious_case_escalates_at_once_even_at_night() -> None:
    saturday_night = at(2026, 3, 7, 3, 0)
    c = case(received_at=saturday_night, serious=True)
    d = decide(c, saturday_night)
    assert [(a.kind, a.escalation_reason) for a in d.actions] == [(ActionKind.ESCALATE, "serious")]
    assert d.next_check_at == at(2026, 3, 9, 10, 0)  # first reminder, Monday 08:00 + 2 h
    assert decide(after_actions(c, d.actions, saturday_night), saturday_night).actions == ()


def test_bounced_acknowledgement_without_phone_escalates() -> None:
    now = at(2026, 3, 2, 9, 10)
    no_phone = case(ack_bounced=True, has_phone=False)
    d = decide(no_phone, now)
    assert [(a.kind, a.escalation_reason) for a in d.actions] == [
        (ActionKind.ESCALATE, "ack_bounced")
    ]
    assert decide(after_actions(no_phone, d.actions, now), now).actions == ()
    # With a number to call, staff can still reach the complainant.
    assert decide(case(ack_bounced=True, has_phone=True), now).actions == ()
    # Without a phone but with a delivered acknowledgement, the citizen was asked for one.
    assert decide(case(has_phone=False), now).actions == ()


def test_serious_and_bounced_escalate_together() -> None:
    d = decide(case(serious=True, ack_bounced=True, has_phone=False), at(2026, 3, 2, 9, 5))
    assert [a.escalation_reason for a in d.actions] == ["serious", "ack_bounced"]


def test_rejects_a_naive_now() -> None:
    with pytest.raises(ValueError, match="aware"):
        decide(case(), datetime(2026, 3, 2, 9, 0))


# -- the ladder over two weeks -----------------------------------------------------------


def run(
    c: CaseSnapshot,
    start: datetime,
    end: datetime,
) -> tuple[CaseSnapshot, list[tuple[datetime, Action]]]:
    """Sweep as the scheduler would: look at next_check_at, record what was done."""
    log: list[tuple[datetime, Action]] = []
    now: datetime | None = start
    while now is not None and now < end:
        d = decide(c, now)
        log += [(now, a) for a in d.actions]
        c = after_actions(c, d.actions, now)
        assert d.next_check_at is None or d.next_check_at > now
        now = d.next_check_at
    return c, log


def test_two_unanswered_weeks_over_summer_time_and_easter() -> None:
    # Thursday 26 March 09:00 to Thursday 9 April 09:30: clocks go forward on
    # 29 March, Good Friday (3 April) and Easter Monday (6 April) are closed.
    start, end = at(2026, 3, 26, 9, 0), at(2026, 4, 9, 9, 30)
    open_hours = CAL.working_hours_between(start, end)
    assert open_hours == pytest.approx(7.5 + 8.5 + 4 * 8.5 + 2 * 8.5 + 1.5)  # 68.5
    final, log = run(case(received_at=start), start, end)

    reminders = [(t, a) for t, a in log if a.kind is ActionKind.REMIND_TRIAGE]
    escalations = [(t, a) for t, a in log if a.kind is ActionKind.ESCALATE]
    assert len(reminders) == 34 == final.reminders_sent
    assert [a.escalation_reason for _, a in escalations] == ["deadline"]
    # 17 working hours after Thursday 09:00 is Monday 09:00, after the clock change.
    assert escalations[0][0] == at(2026, 3, 30, 9, 0)
    for k, (t, _) in enumerate(reminders, start=1):
        assert CAL.is_open(t)
        assert CAL.working_hours_between(start, t) == pytest.approx(2 * k)
    assert not any(
        t.astimezone(TZ).date().isoformat() in ("2026-04-03", "2026-04-06") for t, _ in log
    )


def test_claimed_case_with_failed_attempts_over_a_week() -> None:
    start = MONDAY_9
    claimed = case(status="claimed", assignee=STAFF, claimed_at=at(2026, 3, 2, 9, 30))
    c, log = run(claimed, start, at(2026, 3, 2, 12, 0))
    assert [a.kind for _, a in log] == [ActionKind.REMIND_ASSIGNEE]  # 11:30
    # Three calls go unanswered at 12:00, 13:00 and 14:00.
    c = dataclasses.replace(c, failed_attempts=3, last_failed_attempt_at=at(2026, 3, 2, 14, 0))
    c, log = run(c, at(2026, 3, 2, 14, 0), at(2026, 3, 9, 9, 0))
    sent = [(t, a.kind) for t, a in log]
    assert sent[:3] == [
        (at(2026, 3, 2, 14, 0), ActionKind.OFFER_NUMBER_REQUEST),
        (at(2026, 3, 2, 16, 0), ActionKind.RETRY_REMINDER),
        (at(2026, 3, 3, 9, 30), ActionKind.REMIND_ASSIGNEE),
    ]
    assert (at(2026, 3, 4, 9, 0), ActionKind.ESCALATE) in sent
    assert sum(k is ActionKind.OFFER_NUMBER_REQUEST for _, k in sent) == 1
    # Tuesday 09:30, then every 2 working hours until Monday 09:00 (33.5 h later).
    assert sum(k is ActionKind.REMIND_ASSIGNEE for _, k in sent) == 1 + 33.5 // 2


# -- properties ---------------------------------------------------------------------------

moments = st.datetimes(
    min_value=datetime(2026, 3, 1), max_value=datetime(2026, 11, 30), timezones=st.just(UTC)
)
offsets = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=12))
maybe_offset = st.none() | offsets


@st.composite
def snapshots(draw: st.DrawFn) -> tuple[CaseSnapshot, datetime]:
    received = draw(moments)

    def later() -> datetime | None:
        o = draw(maybe_offset)
        return None if o is None else received + o

    assignee = draw(st.sampled_from([None, STAFF]))
    failed = draw(st.integers(0, 5))
    c = CaseSnapshot(
        status=draw(st.sampled_from(["new", "acknowledged", "claimed"])),
        received_at=received,
        assignee=assignee,
        claimed_at=later() if assignee else None,
        escalation_reasons=frozenset(
            draw(st.sets(st.sampled_from(["deadline", "serious", "ack_bounced", "staff"])))
        ),
        last_reminder_at=later(),
        snoozed_until=later(),
        failed_attempts=failed,
        last_failed_attempt_at=later() if failed else None,
        serious=draw(st.booleans()),
        ack_bounced=draw(st.booleans()),
        has_phone=draw(st.booleans()),
        number_request_offered=draw(st.booleans()),
    )
    return c, received + draw(offsets)


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_asking_again_after_recording_gives_nothing(drawn: tuple[CaseSnapshot, datetime]) -> None:
    c, now = drawn
    d = decide(c, now)
    recorded = after_actions(c, d.actions, now)
    again = decide(recorded, now)
    assert again.actions == ()
    assert again.next_check_at == d.next_check_at


@settings(max_examples=300, deadline=None)
@given(snapshots())
def test_next_check_is_a_later_opening(drawn: tuple[CaseSnapshot, datetime]) -> None:
    c, now = drawn
    d = decide(c, now)
    assert d.next_check_at is not None
    assert d.next_check_at > now
    assert CAL.is_open(d.next_check_at)
    # Nothing would happen before then: a sweep just before it finds nothing.
    recorded = after_actions(c, d.actions, now)
    just_before = d.next_check_at - timedelta(seconds=1)
    if just_before > now:
        assert decide(recorded, just_before).actions == ()


@settings(max_examples=200, deadline=None)
@given(snapshots())
def test_reminders_only_in_working_hours(drawn: tuple[CaseSnapshot, datetime]) -> None:
    c, now = drawn
    d = decide(c, now)
    if not CAL.is_open(now):
        assert not {
            ActionKind.REMIND_TRIAGE,
            ActionKind.REMIND_ASSIGNEE,
            ActionKind.RETRY_REMINDER,
        } & set(kinds(d))
