"""Fair shares of call-backs: pure decisions over plain data.

Who is away, how heavy a person's day already is, and who gets the next
offer. No database, no Slack: the roster and the assignment sweep gather the
facts and call these.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any


def _emoji(name: str) -> str:
    """``:palm_tree:`` and ``palm_tree`` are the same emoji; skin tones are not a status."""
    bare = name.strip().strip(":").lower()
    return bare.split("::", 1)[0]


def is_away(profile: Mapping[str, Any], words: Iterable[str], emojis: Iterable[str]) -> bool:
    """True when a Slack profile's status says the person is away (leave, sick, travel).

    ``words`` match whole words or phrases of the status text in any case, so
    "sjuk" matches "Sjuk idag" but "syk" does not match "psykolog".
    """
    emoji = _emoji(str(profile.get("status_emoji") or ""))
    if emoji and emoji in {_emoji(e) for e in emojis}:
        return True
    text = str(profile.get("status_text") or "").casefold()
    if not text:
        return False
    return any(
        re.search(rf"(?<!\w){re.escape(w.casefold())}(?!\w)", text) for w in words if w.strip()
    )


def load(
    open_callbacks: Iterable[datetime],
    hard_calls_today: int,
    now: datetime,
    *,
    age_weight_per_day: float,
    hard_call_weight: float,
) -> float:
    """How heavy a person's day is.

    Each open call-back (claimed or offered, no call logged yet) weighs 1 plus
    ``age_weight_per_day`` for every day since it came in (old ones are the
    hard ones); each hard call today adds ``hard_call_weight``, so whoever just
    had a hard call is offered less for the rest of the day.
    """
    total = 0.0
    for received_at in open_callbacks:
        age_days = max(timedelta(0), now - received_at) / timedelta(days=1)
        total += 1.0 + age_days * age_weight_per_day
    return total + hard_calls_today * hard_call_weight


def choose_assignee(
    candidates: Sequence[str],
    loads: Mapping[str, float],
    assigned_today: Mapping[str, int],
    cap: int,
    last_assigned: str | None,
) -> str | None:
    """Whom to offer the next call-back to, or None when nobody can take it.

    The lightest load wins. Ties go round-robin: in roster order, starting
    after ``last_assigned`` (the person who got the previous offer). Anyone at
    ``cap`` call-backs today is skipped (``cap`` 0: no cap).
    """
    if not candidates:
        return None
    start = candidates.index(last_assigned) + 1 if last_assigned in candidates else 0
    rotation = [*candidates[start:], *candidates[:start]]
    open_ = [c for c in rotation if cap <= 0 or assigned_today.get(c, 0) < cap]
    if not open_:
        return None
    lightest = min(loads.get(c, 0.0) for c in open_)
    # Floating sums of ages: treat near-equal loads as a tie.
    return next(c for c in open_ if loads.get(c, 0.0) - lightest < 1e-9)
