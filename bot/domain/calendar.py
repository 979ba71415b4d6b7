"""The organisation's working calendar: when the clock of a deadline runs.

Deadlines and reminders count only *open* time: working days (by default
Monday to Friday) between the local opening and closing time, skipping public
holidays, the de-facto days off and any extra closed days from the config.

Working hours are local wall-clock hours. On a daylight-saving weekend the
opening on Monday is still 08:00 local time, whatever the UTC offset did on
Sunday. A day's open time is the real time elapsed between its local opening
and closing (so only a window that spans the 02:00/03:00 switch itself is an
hour shorter or longer).

Every function takes aware datetimes and returns aware datetimes in UTC.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from bot.config import PolicyConfig

COUNTRIES = ("SE", "NO")

# How far next_opening looks before giving up: a calendar that is closed for
# ten years is a configuration mistake, not something to loop on forever.
_SEARCH_DAYS = 3660


def midsummer_eve(year: int) -> date:
    """Swedish Midsummer Eve: the Friday between 19 and 25 June."""
    june19 = date(year, 6, 19)
    # isoweekday: Monday 1 ... Friday 5
    return june19 + timedelta(days=(5 - june19.isoweekday()) % 7)


def de_facto_days_off(country: str, year: int) -> frozenset[date]:
    """Days that are not public holidays by law but on which offices are closed.

    Sweden: Midsummer Eve, Christmas Eve and New Year's Eve (closed by
    collective agreements nearly everywhere). Norway: Christmas Eve and New
    Year's Eve, which municipalities commonly keep closed; this is a default,
    switched off with ``WorkingCalendar(de_facto_closed=False)``.
    """
    days = {date(year, 12, 24), date(year, 12, 31)}
    if country == "SE":
        days.add(midsummer_eve(year))
    return frozenset(days)


@cache
def _table() -> dict[str, dict[str, list[str]]]:
    """The public holidays the ``holidays`` library gives, written down once for the years
    a deadline can fall in (``scripts/holiday_table.py``): the library itself loads every
    country it knows (~12 MB) to tell us two, so it is asked only outside the table."""
    loaded: dict[str, dict[str, list[str]]] = json.loads(
        (Path(__file__).parent / "public_holidays.json").read_text(encoding="utf-8")
    )
    return loaded


def public_holidays(country: str, year: int) -> frozenset[date]:
    """``country``'s public holidays in ``year``, as the ``holidays`` library has them."""
    written = _table().get(country, {}).get(str(year))
    if written is not None:
        return frozenset(date.fromisoformat(d) for d in written)
    import holidays

    return frozenset(holidays.country_holidays(country, years=year).keys())


@lru_cache(maxsize=256)
def closed_days(country: str, year: int, de_facto: bool = True) -> frozenset[date]:
    """Public holidays (and, with ``de_facto``, the de-facto days off) in ``year``.

    Cached per country and year: the ``holidays`` library computes a whole
    year at a time and a sweep asks about the same few days over and over.
    """
    if country not in COUNTRIES:
        raise ValueError(f"unsupported country {country!r}; expected one of {COUNTRIES}")
    public = public_holidays(country, year)
    # The library's own "de_facto" category for Sweden may or may not list a
    # day; we add the days ourselves so they are closed whatever it does.
    if not de_facto:
        return public
    return public | de_facto_days_off(country, year)


def _require_aware(at: datetime, name: str = "at") -> None:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got {at!r}")


@dataclass(frozen=True)
class WorkingCalendar:
    """Open hours of the organisation, in its own time zone and country."""

    tz: ZoneInfo
    country: str
    start: time
    end: time
    working_days: frozenset[int]
    extra_closed: frozenset[date] = frozenset()
    de_facto_closed: bool = True

    def __post_init__(self) -> None:
        if self.country not in COUNTRIES:
            raise ValueError(f"unsupported country {self.country!r}; expected one of {COUNTRIES}")
        if self.end <= self.start:
            raise ValueError("working hours must end after they start")
        if not self.working_days or not self.working_days <= frozenset(range(1, 8)):
            raise ValueError("working_days must be a non-empty set of ISO weekdays 1..7")

    @classmethod
    def from_policy(cls, policy: PolicyConfig) -> WorkingCalendar:
        """The calendar described by the ``[policy]`` section of the config."""
        return cls(
            tz=policy.tz,
            country=policy.country,
            start=policy.working_hours.start,
            end=policy.working_hours.end,
            working_days=frozenset(policy.working_days),
            extra_closed=frozenset(policy.extra_closed_days),
        )

    # -- days ---------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """True if ``d`` (a local date) is a working day with open hours."""
        return _is_working_day(self, d)

    def working_day(self, at: datetime) -> date:
        """The working day ``at`` belongs to: its local date on a working day, else the
        next working day (a Saturday evening counts towards Monday)."""
        _require_aware(at)
        d = self._local_date(at)
        if self.is_working_day(d):
            return d
        return self._local_date(self.next_opening(at))

    def _window(self, d: date) -> tuple[datetime, datetime]:
        """Opening and closing instant (UTC) of local date ``d``."""
        return _window(self, d)

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    # -- instants -----------------------------------------------------------

    def is_open(self, at: datetime) -> bool:
        """True if ``at`` falls inside working hours (opening inclusive, closing exclusive)."""
        _require_aware(at)
        d = self._local_date(at)
        if not self.is_working_day(d):
            return False
        opens, closes = self._window(d)
        return opens <= at < closes

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself when open, else the next moment the organisation opens."""
        _require_aware(at)
        d = self._local_date(at)
        if self.is_working_day(d):
            opens, closes = self._window(d)
            if at < opens:
                return opens
            if at < closes:
                return at.astimezone(UTC)
        for _ in range(_SEARCH_DAYS):
            d += timedelta(days=1)
            if self.is_working_day(d):
                return self._window(d)[0]
        raise ValueError(f"no working day within {_SEARCH_DAYS} days after {at.isoformat()}")

    def add_working_time(self, at: datetime, hours: float) -> datetime:
        """The earliest instant by which ``hours`` of open time have passed since ``at``.

        Closed time does not count: 2 working hours after Friday 15:30 (closing
        16:30) is Monday 09:00. A result that lands exactly on a closing time
        stays there (a deadline "by the end of the day"); whoever needs to act
        on it during open hours uses :meth:`next_opening`. Zero hours is ``at``.
        """
        _require_aware(at)
        if hours < 0:
            raise ValueError("hours must not be negative")
        remaining = timedelta(hours=hours)
        current = at.astimezone(UTC)
        if not remaining:
            return current
        while True:
            current = self.next_opening(current)
            closes = self._window(self._local_date(current))[1]
            available = closes - current
            if remaining <= available:
                return current + remaining
            remaining -= available
            current = closes

    def working_hours_between(self, a: datetime, b: datetime) -> float:
        """Open hours between ``a`` and ``b``; negative when ``b`` is before ``a``."""
        _require_aware(a, "a")
        _require_aware(b, "b")
        if b < a:
            return -self.working_hours_between(b, a)
        total = timedelta()
        d, last = self._local_date(a), self._local_date(b)
        while d <= last:
            if self.is_working_day(d):
                opens, closes = self._window(d)
                lo, hi = max(opens, a), min(closes, b)
                if hi > lo:
                    total += hi - lo
            d += timedelta(days=1)
        return total / timedelta(hours=1)

    def add_working_days(self, at: datetime, days: int) -> datetime:
        """Closing time of the ``days``-th working day after the local day of ``at``.

        The day of receipt does not count, as in "answer within 10 working
        days": a complaint on Monday with ``days=1`` is due Tuesday at closing.
        Zero days is ``at`` itself.
        """
        _require_aware(at)
        if days < 0:
            raise ValueError("days must not be negative")
        if days == 0:
            return at.astimezone(UTC)
        d = self._local_date(at)
        counted = 0
        while counted < days:
            d += timedelta(days=1)
            if self.is_working_day(d):
                counted += 1
        return self._window(d)[1]


# A sweep over thousands of due cases asks about the same few days again and again:
# each answer depends only on the (immutable, hashable) calendar and the date, so it is
# computed once. Time-zone arithmetic is what a deadline computation spends its time on.


@lru_cache(maxsize=8192)
def _is_working_day(cal: WorkingCalendar, d: date) -> bool:
    return (
        d.isoweekday() in cal.working_days
        and d not in cal.extra_closed
        and d not in closed_days(cal.country, d.year, cal.de_facto_closed)
    )


@lru_cache(maxsize=8192)
def _window(cal: WorkingCalendar, d: date) -> tuple[datetime, datetime]:
    opens = datetime.combine(d, cal.start, tzinfo=cal.tz).astimezone(UTC)
    closes = datetime.combine(d, cal.end, tzinfo=cal.tz).astimezone(UTC)
    return opens, closes
