"""Generated case histories with known answers, built through ``bot.actions.cases`` as staff
and the pipeline would build them, each action at its own (fixed) time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.actions.cases import close_case, escalate, log_contact, reopen
from bot.actions.opening import NewComplaint, open_case
from bot.actions.trail import authorize
from bot.config import Config
from bot.store.db import session_scope
from bot.store.models import ActionPlan, Case, EscalationReason, Outcome, Resolution

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
            case = open_case(
                s,
                cfg,
                NewComplaint(
                    source="email" if i % 3 else "slack",
                    received_at=received,
                    name=f"Person {i}",
                    email=f"person{i}@example.se",
                    subject=f"Ärende {i}",
                    case_type="complaint" if i % 4 else "comment",
                ),
                received,
            )
            log_contact(
                s,
                cfg,
                case,
                authorize(cfg, STAFF),
                received + timedelta(hours=3),
                outcome=Outcome.REACHED,
                note="Samtal.",
            )
            if i % 10 == 0:
                escalate(
                    s,
                    cfg,
                    case,
                    authorize(cfg, STAFF),
                    received + timedelta(hours=4),
                    reason=EscalationReason.STAFF,
                    note="Behöver stöd.",
                )
            if resolution is not None:
                close_case(
                    s,
                    cfg,
                    case,
                    authorize(cfg, STAFF),
                    received + timedelta(days=7),
                    resolution=resolution,
                )
            refs.append(case.ref)
    return Generated(start, received, refs)


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """Local Stockholm time in 2026; 23 November is a Monday."""
    return datetime(2026, month, day, hour, minute, tzinfo=STHLM)


def week_history(engine: Engine, cfg: Config) -> None:
    """Six cases in the week of 23 November 2026 whose figures are worked out by hand.

    Working hours 08:00–16:30; first call due 8.5 working hours after receipt.
    """

    def new(s: Session, source: str, received: datetime, **kw: Any) -> Case:
        return open_case(s, cfg, NewComplaint(source=source, received_at=received, **kw), received)

    def plan(case: Case, **kw: Any) -> ActionPlan:
        assert case.id is not None
        return ActionPlan(case_id=case.id, **kw)

    with session_scope(engine) as s:
        # A: called after 4 working hours, well inside the deadline (Tue 09:00).
        a = new(s, "email", at(23, 9), name="A", email="a@example.se")
        a.theme, a.unit = "hemtjänst", "Norr"
        a.ack_sent_at = at(23, 9, 2)  # what the outbox records on delivery
        log_contact(s, cfg, a, authorize(cfg, STAFF), at(23, 13), outcome=Outcome.REACHED)
        close_case(s, cfg, a, authorize(cfg, STAFF), at(24, 9), resolution=Resolution.DIALOGUE)
        s.add(plan(a, owner="chef", due_at=at(27, 16), created_at=at(24, 9), done_at=at(26, 9)))
        # B: Friday 15:00, called Monday 10:00: 1.5 + 2 = 3.5 working hours, 67 clock hours.
        b = new(s, "email", at(27, 15), name="B", email="b@example.se")
        b.ack_sent_at = at(27, 15, 10)  # ten minutes: too late
        log_contact(s, cfg, b, authorize(cfg, STAFF), at(30, 10), outcome=Outcome.REACHED)
        close_case(
            s, cfg, b, authorize(cfg, STAFF), at(30, 10, 30), resolution=Resolution.OTHER_MEASURE
        )
        reopen(s, cfg, b, at(30, 10, 40))
        close_case(
            s, cfg, b, authorize(cfg, STAFF), at(30, 10, 50), resolution=Resolution.OTHER_MEASURE
        )
        # C: a "no answer" does not stop the clock; reached Thursday 12:00 = 21 working hours.
        c = new(s, "slack", at(24, 8), name="C")
        c.theme = "skola"
        log_contact(s, cfg, c, authorize(cfg, STAFF), at(24, 10), outcome=Outcome.NO_ANSWER)
        escalate(
            s, cfg, c, authorize(cfg, "system"), at(24, 16, 30), reason=EscalationReason.DEADLINE
        )
        log_contact(s, cfg, c, authorize(cfg, STAFF), at(26, 12), outcome=Outcome.REACHED)
        close_case(s, cfg, c, authorize(cfg, STAFF), at(26, 15), resolution=Resolution.NOT_RESOLVED)
        c.reminders_sent = 3  # as the reminder sweep counts them
        s.add(plan(c, owner="chef", due_at=at(27, 16), created_at=at(26, 15)))
        # D: never acknowledged, never called, deadline (Thu 10:00) long passed.
        d = new(s, "email", at(25, 10), name="D", email="d@example.se")
        escalate(s, cfg, d, authorize(cfg, STAFF), at(26, 9), reason=EscalationReason.STAFF)
        d.reminders_sent = 2
        s.add(plan(d, owner="chef", due_at=at(10, 16, month=12), created_at=at(27, 9)))
        # E: received this morning; its deadline has not passed: left out of the deadline share.
        new(s, "phone", at(30, 10, 30), name="E", phone="+46701234567")
        # F: historical mail: counted, resolved, but not in any timeliness figure.
        f = new(s, "email", at(23, 7), name="F", email="f@example.se", historical=True)
        close_case(s, cfg, f, authorize(cfg, STAFF), at(25, 9), resolution=Resolution.DIALOGUE)
