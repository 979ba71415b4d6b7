"""Generated case histories with known answers, built through ``bot.actions.cases`` as staff
and the pipeline would build them, each action at its own (fixed) time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine

from bot.actions.cases import NewComplaint, close_case, escalate, log_contact, open_case
from bot.config import Config
from bot.store.db import session_scope
from bot.store.models import EscalationReason, Outcome, Resolution

STHLM = ZoneInfo("Europe/Stockholm")
STAFF = "slack:U0STAFF1"

# The published figures: 140 cases in two years, 54 % resolved through dialogue and
# 76 % resolved in total. 76/140 = 54.3 %, (76 + 30)/140 = 75.7 %.
PUBLISHED: tuple[tuple[Resolution | None, int], ...] = (
    (Resolution.DIALOGUE, 76),
    (Resolution.OTHER_MEASURE, 30),
    (Resolution.NOT_RESOLVED, 14),
    (Resolution.WITHDRAWN, 10),
    (Resolution.LEFT_SERVICE, 5),
    (None, 5),  # still open at the end of the period
)


@dataclass(frozen=True)
class Generated:
    first_day: datetime
    last_day: datetime
    refs: list[str]


def published_history(engine: Engine, cfg: Config) -> Generated:
    """140 cases from 2024-01-02 to November 2025, one every 5 days (moved off weekends),
    each received at 10:00, called back at 13:00 the same day, closed a week later."""
    outcomes = [res for res, n in PUBLISHED for _ in range(n)]
    start = datetime(2024, 1, 2, 10, 0, tzinfo=STHLM)
    refs: list[str] = []
    received = start
    for i, resolution in enumerate(outcomes):
        received = start + timedelta(days=5 * i)  # 140 cases over ~two years
        while received.weekday() >= 5:
            received += timedelta(days=1)
        with session_scope(engine) as s:
            case = open_case(s, cfg, NewComplaint(
                source="email" if i % 3 else "slack", received_at=received,
                name=f"Person {i}", email=f"person{i}@example.se", subject=f"Ärende {i}",
                case_type="complaint" if i % 4 else "comment"), received)
            log_contact(s, cfg, case, STAFF, received + timedelta(hours=3),
                        outcome=Outcome.REACHED, note="Samtal.")
            if i % 10 == 0:
                escalate(s, cfg, case, STAFF, received + timedelta(hours=4),
                         reason=EscalationReason.STAFF, note="Behöver stöd.")
            if resolution is not None:
                close_case(s, cfg, case, STAFF, received + timedelta(days=7),
                           resolution=resolution)
            refs.append(case.ref)
    return Generated(start, received, refs)
