"""The working calendar: which days are open, and how working time adds up."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import PolicyConfig
from bot.domain.calendar import WorkingCalendar, _is_working_day, closed_days, midsummer_eve

STOCKHOLM = ZoneInfo("Europe/Stockholm")
OSLO = ZoneInfo("Europe/Oslo")


def calendar(country: str = "SE", **overrides: object) -> WorkingCalendar:
    policy = PolicyConfig.model_validate(
        {
            "country": country,
            "timezone": "Europe/Oslo" if country == "NO" else "Europe/Stockholm",
            **overrides,
        }
    )
    return WorkingCalendar.from_policy(policy)


SE = calendar("SE")
NO = calendar("NO")


def se(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=STOCKHOLM)


def no(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=OSLO)


# -- which days are closed -------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "what"),
    [
        (date(2026, 1, 1), "New Year's Day"),
        (date(2026, 1, 6), "Epiphany"),
        (date(2026, 4, 3), "Good Friday"),
        (date(2026, 4, 6), "Easter Monday"),
        (date(2026, 5, 1), "May Day"),
        (date(2026, 5, 14), "Ascension Day"),
        (date(2026, 6, 19), "Midsummer Eve (de facto)"),
        (date(2026, 12, 24), "Christmas Eve (de facto)"),
        (date(2026, 12, 25), "Christmas Day"),
        (date(2026, 12, 31), "New Year's Eve (de facto)"),
        (date(2027, 6, 25), "Midsummer Eve 2027"),
    ],
)
def test_swedish_closed_weekdays(day: date, what: str) -> None:
    assert day.isoweekday() <= 5, "the test should be about a weekday"
    assert not SE.is_working_day(day), what


@pytest.mark.parametrize(
    "day",
    [
        date(2026, 1, 2),
        date(2026, 1, 5),
        date(2026, 4, 2),
        date(2026, 4, 7),
        date(2026, 6, 18),
        date(2026, 6, 22),
        date(2026, 12, 23),
        date(2026, 12, 28),
        date(2026, 12, 30),
    ],
)
def test_swedish_ordinary_weekdays_are_open(day: date) -> None:
    assert SE.is_working_day(day)


def test_weekends_are_closed() -> None:
    assert not SE.is_working_day(date(2026, 3, 7))  # Saturday
    assert not SE.is_working_day(date(2026, 3, 8))  # Sunday


def test_midsummer_eve_is_the_friday_before_midsummer_day() -> None:
    assert midsummer_eve(2026) == date(2026, 6, 19)
    assert midsummer_eve(2025) == date(2025, 6, 20)
    assert midsummer_eve(2027) == date(2027, 6, 25)
    assert midsummer_eve(2032) == date(2032, 6, 25)


def test_norwegian_holidays() -> None:
    # 17 May 2027 is a Monday (in 2026 it falls on a Sunday).
    assert not NO.is_working_day(date(2027, 5, 17))
    assert not NO.is_working_day(date(2026, 4, 2))  # Maundy Thursday is a holiday in Norway
    assert SE.is_working_day(date(2026, 4, 2))  # but not in Sweden
    assert not NO.is_working_day(date(2026, 5, 25))  # Whit Monday
    assert SE.is_working_day(date(2026, 5, 25))
    assert NO.is_working_day(date(2026, 1, 6))  # no Epiphany holiday in Norway
    assert NO.is_working_day(date(2026, 6, 19))  # no Midsummer Eve off in Norway


def test_norwegian_christmas_and_new_years_eve_closed_by_default_only() -> None:
    assert not NO.is_working_day(date(2026, 12, 24))
    assert not NO.is_working_day(date(2026, 12, 31))
    strict = WorkingCalendar(
        tz=OSLO,
        country="NO",
        start=time(8),
        end=time(16),
        working_days=frozenset({1, 2, 3, 4, 5}),
        de_facto_closed=False,
    )
    assert strict.is_working_day(date(2026, 12, 24))
    assert strict.is_working_day(date(2026, 12, 31))
    assert not strict.is_working_day(date(2026, 12, 25))


def test_extra_closed_days_from_the_config() -> None:
    cal = calendar("SE", extra_closed_days=["2026-05-15"])  # the squeeze day after Ascension
    assert not cal.is_working_day(date(2026, 5, 15))
    assert SE.is_working_day(date(2026, 5, 15))
    # Thursday 14 is Ascension Day, so Wednesday 15:30 + 2 h lands on Monday.
    due = cal.add_working_time(se(2026, 5, 13, 15, 30), 2)
    assert due == se(2026, 5, 18, 9, 0)


def test_holiday_lookups_are_computed_once_per_year() -> None:
    closed_days.cache_clear()
    _is_working_day.cache_clear()  # the per-day answers built on top
    for day in range(1, 29):
        SE.is_working_day(date(2026, 2, day))
        SE.is_working_day(date(2027, 2, day))
    assert closed_days.cache_info().misses == 2


def test_seven_day_service_and_custom_hours() -> None:
    cal = calendar(
        "SE", working_days=[1, 2, 3, 4, 5, 6, 7], working_hours={"start": "10:00", "end": "14:00"}
    )
    assert cal.is_open(se(2026, 3, 8, 10, 0))  # a Sunday
    assert not cal.is_open(se(2026, 3, 8, 9, 59))
    assert not cal.is_open(se(2026, 3, 8, 14, 0))  # closing time is closed
    assert not cal.is_working_day(date(2026, 4, 5))  # Easter Sunday still closed


def test_rejects_naive_datetimes_and_impossible_calendars() -> None:
    with pytest.raises(ValueError, match="aware"):
        SE.is_open(datetime(2026, 3, 2, 9, 0))
    with pytest.raises(ValueError):
        WorkingCalendar(
            tz=STOCKHOLM, country="SE", start=time(8), end=time(16), working_days=frozenset()
        )
    with pytest.raises(ValueError):
        WorkingCalendar(
            tz=STOCKHOLM, country="DK", start=time(8), end=time(16), working_days=frozenset({1})
        )


# -- instants and adding time ------------------------------------------------------


def test_is_open_and_next_opening() -> None:
    monday = se(2026, 3, 2, 10, 0)
    assert SE.is_open(monday)
    assert SE.next_opening(monday) == monday
    assert SE.next_opening(monday).tzinfo == UTC
    assert SE.next_opening(se(2026, 3, 2, 7, 0)) == se(2026, 3, 2, 8, 0)
    assert SE.next_opening(se(2026, 3, 2, 16, 30)) == se(2026, 3, 3, 8, 0)
    assert SE.next_opening(se(2026, 3, 6, 17, 0)) == se(2026, 3, 9, 8, 0)  # Friday evening


def test_complaint_on_the_afternoon_before_easter() -> None:
    # Thursday 2 April 2026, 15:00; Good Friday 3 April and Easter Monday 6 April are closed.
    received = se(2026, 4, 2, 15, 0)
    assert SE.add_working_time(received, 2) == se(2026, 4, 7, 8, 30)
    assert SE.add_working_time(received, 8.5) == se(2026, 4, 7, 15, 0)  # one working day
    assert SE.working_hours_between(received, se(2026, 4, 7, 8, 0)) == pytest.approx(1.5)


def test_complaint_before_midsummer() -> None:
    # Thursday 18 June 2026 15:00; Midsummer Eve (Fri 19) is closed.
    assert SE.add_working_time(se(2026, 6, 18, 15, 0), 2) == se(2026, 6, 22, 8, 30)


def test_complaint_before_christmas_and_new_year() -> None:
    # Wednesday 23 Dec 15:00 -> 24, 25, 26, 27 closed -> Monday 28 Dec 08:30.
    assert SE.add_working_time(se(2026, 12, 23, 15, 0), 2) == se(2026, 12, 28, 8, 30)
    # Wednesday 30 Dec 15:00 -> 31 Dec and 1 Jan closed -> Monday 4 Jan 2027.
    assert SE.add_working_time(se(2026, 12, 30, 15, 0), 2) == se(2027, 1, 4, 8, 30)


def test_result_on_closing_time_stays_there() -> None:
    # A deadline "one working day after Monday 08:00" is Monday at closing time.
    assert SE.add_working_time(se(2026, 3, 2, 8, 0), 8.5) == se(2026, 3, 2, 16, 30)
    assert SE.add_working_time(se(2026, 3, 2, 8, 0), 17) == se(2026, 3, 3, 16, 30)
    assert SE.add_working_time(se(2026, 3, 7, 12, 0), 0) == se(2026, 3, 7, 12, 0)


def test_complaint_at_the_weekend_starts_counting_on_monday() -> None:
    assert SE.add_working_time(se(2026, 3, 7, 12, 0), 1) == se(2026, 3, 9, 9, 0)


# -- daylight saving time -----------------------------------------------------------


def test_spring_forward_weekend_keeps_local_opening_hours() -> None:
    # Summer time starts Sunday 29 March 2026. Friday is +01:00, Monday +02:00.
    friday = se(2026, 3, 27, 15, 30)
    due = SE.add_working_time(friday, 2)
    assert due == se(2026, 3, 30, 9, 0)
    assert due == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert SE.working_hours_between(friday, due) == pytest.approx(2.0)
    assert SE.working_hours_between(se(2026, 3, 27, 0), se(2026, 3, 31, 0)) == pytest.approx(17)


def test_fall_back_weekend_keeps_local_opening_hours() -> None:
    # Winter time starts Sunday 25 October 2026. Friday is +02:00, Monday +01:00.
    friday = se(2026, 10, 23, 15, 30)
    due = SE.add_working_time(friday, 2)
    assert due == se(2026, 10, 26, 9, 0)
    assert due == datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
    assert SE.next_opening(se(2026, 10, 24, 12, 0)) == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)


def test_norway_changes_clocks_on_the_same_weekends() -> None:
    assert NO.add_working_time(no(2026, 3, 27, 15, 0), 2) == no(2026, 3, 30, 8, 30)
    assert NO.add_working_time(no(2026, 10, 23, 15, 0), 2) == no(2026, 10, 26, 8, 30)


def test_window_spanning_the_clock_change_counts_real_time() -> None:
    night = WorkingCalendar(
        tz=STOCKHOLM, country="SE", start=time(1), end=time(4), working_days=frozenset(range(1, 8))
    )
    # 01:00-04:00 local on the night the clocks go forward is two real hours...
    assert night.working_hours_between(se(2026, 3, 29), se(2026, 3, 30)) == pytest.approx(2)
    # ... and four on the night they go back.
    assert night.working_hours_between(se(2026, 10, 25), se(2026, 10, 26)) == pytest.approx(4)
    assert night.working_hours_between(se(2026, 3, 2), se(2026, 3, 3)) == pytest.approx(3)


# -- working days -------------------------------------------------------------------


def test_add_working_days_ends_at_closing_time() -> None:
    # Monday 2 March + 10 working days: the day of receipt does not count.
    assert SE.add_working_days(se(2026, 3, 2, 10, 0), 10) == se(2026, 3, 16, 16, 30)
    assert SE.add_working_days(se(2026, 3, 2, 10, 0), 1) == se(2026, 3, 3, 16, 30)
    # Over Easter: Thursday 2 April + 1 -> Tuesday 7 April.
    assert SE.add_working_days(se(2026, 4, 2, 10, 0), 1) == se(2026, 4, 7, 16, 30)
    # Received on a Saturday: the first working day is Monday.
    assert SE.add_working_days(se(2026, 3, 7, 10, 0), 1) == se(2026, 3, 9, 16, 30)
    assert SE.add_working_days(se(2026, 3, 7, 10, 0), 0) == se(2026, 3, 7, 10, 0)


# -- properties ---------------------------------------------------------------------

instants = st.datetimes(
    min_value=datetime(2025, 12, 1),
    max_value=datetime(2027, 2, 1),
    timezones=st.just(UTC),
)
hours = st.floats(min_value=0, max_value=120, allow_nan=False).map(lambda h: round(h, 4))


@settings(max_examples=150, deadline=None)
@given(at=instants, h=hours)
def test_adding_then_measuring_gives_back_the_hours(at: datetime, h: float) -> None:
    due = SE.add_working_time(at, h)
    assert due >= at
    assert SE.working_hours_between(at, due) == pytest.approx(h, abs=1e-6)


@settings(max_examples=150, deadline=None)
@given(at=instants, h=hours.filter(lambda h: h > 0))
def test_added_time_is_reached_during_working_hours(at: datetime, h: float) -> None:
    due = SE.add_working_time(at, h)
    # The last moment counted was open: the result is open, or the closing time.
    assert SE.is_open(due - timedelta(microseconds=1))
    assert SE.is_open(SE.next_opening(due))


@settings(max_examples=150, deadline=None)
@given(at=instants)
def test_next_opening_is_open_and_nothing_is_skipped(at: datetime) -> None:
    opening = NO.next_opening(at)
    assert opening >= at
    assert NO.is_open(opening)
    assert NO.working_hours_between(at, opening) == 0


@settings(max_examples=100, deadline=None)
@given(a=instants, b=instants, c=instants)
def test_working_hours_are_additive(a: datetime, b: datetime, c: datetime) -> None:
    a, b, c = sorted((a, b, c))
    total = SE.working_hours_between(a, c)
    assert total == pytest.approx(SE.working_hours_between(a, b) + SE.working_hours_between(b, c))
    assert SE.working_hours_between(c, a) == pytest.approx(-total)
    assert 0 <= total <= (c - a) / timedelta(hours=1)


# -- the working day an instant belongs to ----------------------------------------


def test_the_working_day_of_an_instant() -> None:
    assert SE.working_day(se(2026, 11, 24, 7, 0)) == date(2026, 11, 24)  # before opening
    assert SE.working_day(se(2026, 11, 27, 22, 0)) == date(2026, 11, 27)  # Friday evening
    assert SE.working_day(se(2026, 11, 28, 10, 0)) == date(2026, 11, 30)  # Saturday -> Monday
    assert SE.working_day(se(2026, 12, 23, 18, 0)) == date(2026, 12, 23)
    assert SE.working_day(se(2026, 12, 24, 9, 0)) == date(2026, 12, 28)  # Christmas Eve..Boxing Day


@given(
    st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    )
)
@settings(max_examples=200, deadline=None)
def test_the_working_day_is_a_working_day_never_before_the_instant(at: datetime) -> None:
    day = SE.working_day(at)
    assert SE.is_working_day(day)
    assert day >= at.astimezone(STOCKHOLM).date()
    assert SE.next_opening(at).astimezone(STOCKHOLM).date() >= day
