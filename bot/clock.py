"""Time, injected. Nothing in the core calls ``datetime.now()`` directly."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The real time, aware, in UTC."""
    return datetime.now(UTC)


class FixedClock:
    """A clock that says what it is told; for ``tick --now`` and tests."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at.astimezone(UTC)

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **kwargs: float) -> None:
        from datetime import timedelta

        self.at = self.at + timedelta(**kwargs)

    def set(self, at: datetime) -> None:
        self.at = at.astimezone(UTC)


def parse_instant(text: str, default_tz: str = "UTC") -> datetime:
    """Parse ISO-8601; a time without offset is read in ``default_tz``."""
    from zoneinfo import ZoneInfo

    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(default_tz))
    return at.astimezone(UTC)
