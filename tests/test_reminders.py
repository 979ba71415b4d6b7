"""Reminders and escalations through the real sweep (``tick``), with an injected clock.

Times are Europe/Stockholm; 2026-11-24 is a Tuesday. Working hours 08:00–16:30.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine

from bot.actions.cases import claim, get_case, log_contact, snooze
from bot.actions.trail import authorize
from bot.clock import FixedClock
from bot.config import Config
from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.store.models import Outcome
from tests.conftest import PG_URL
from tests.harness import Bot, email

STHLM = ZoneInfo("Europe/Stockholm")


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=STHLM)


@pytest.fixture
def bot(cfg: Config, engine: Engine, tmp_path: Path) -> Bot:
    return Bot(cfg, engine, FixedClock(at(24, 9)), tmp_path)


def open_one(bot: Bot, when: datetime, **kw: Any) -> str:
    bot.clock.set(when)
    path = bot.deliver(email(**kw))
    import os

    os.utime(path, (when.timestamp(), when.timestamp()))
    bot.run_once()
    return str(bot.cases()[-1]["ref"])


def tick(bot: Bot, when: datetime) -> None:
    bot.clock.set(when)
    result = run_tick(bot.rt)
    assert not result.errors, result.errors


def reminders(bot: Bot) -> list[str]:
    return [b for b in bot.staff_text().split("─" * 72) if "Påminnelse" in b]


def act(bot: Bot, ref: str, fn: Callable[..., object], *args: object, **kw: object) -> None:
    with session_scope(bot.engine) as s:
        fn(s, bot.cfg, get_case(s, ref), *args, bot.clock(), **kw)
    bot.flush()


def test_unclaimed_case_reminds_triage_every_two_working_hours(bot: Bot) -> None:
    ref = open_one(bot, at(24, 9))
    assert bot.case(ref)["first_contact_due_at"].startswith("2026-11-25T09:00")
    tick(bot, at(24, 10, 59))
    assert reminders(bot) == []
    tick(bot, at(24, 11, 1))
    assert len(reminders(bot)) == 1 and "#C0TRIAGE" in reminders(bot)[0]
    tick(bot, at(24, 11, 30))  # not again before 13:01
    assert len(reminders(bot)) == 1
    tick(bot, at(24, 13, 2))
    assert len(reminders(bot)) == 2
    assert bot.case(ref)["reminders_sent"] == 2


def test_no_reminders_outside_working_hours(bot: Bot) -> None:
    ref = open_one(bot, at(24, 15, 30))
    for when in (at(24, 17), at(24, 20), at(25, 3), at(25, 7, 59)):
        tick(bot, when)
    assert reminders(bot) == []
    tick(bot, at(25, 8, 0))  # 15:30 + 2 working hours = Wed 09:00... the ladder decides
    tick(bot, at(25, 9, 1))
    assert len(reminders(bot)) == 1
    assert bot.case(ref)["reminders_sent"] == 1


def test_claimed_case_reminds_assignee_by_dm_and_honours_snooze(bot: Bot) -> None:
    ref = open_one(bot, at(24, 9))
    bot.clock.set(at(24, 9, 30))
    act(bot, ref, lambda s, cfg, c, now: claim(s, cfg, c, authorize(cfg, "slack:U0STAFF1"), now))
    tick(bot, at(24, 11, 31))
    [r] = reminders(bot)
    assert "direct message to U0STAFF1" in r
    bot.clock.set(at(24, 11, 40))
    act(
        bot,
        ref,
        lambda s, cfg, c, now: snooze(s, cfg, c, authorize(cfg, "slack:U0STAFF1"), now, 120),
    )
    tick(bot, at(24, 13, 35))
    assert len(reminders(bot)) == 1  # snoozed until 13:40
    tick(bot, at(24, 13, 41))
    assert len(reminders(bot)) == 2


def test_logged_call_stops_reminders_and_no_answer_does_not(bot: Bot) -> None:
    ref = open_one(bot, at(24, 9))
    bot.clock.set(at(24, 10))
    act(
        bot,
        ref,
        lambda s, cfg, c, now: log_contact(
            s, cfg, c, authorize(cfg, "slack:U0STAFF1"), now, outcome=Outcome.NO_ANSWER
        ),
    )
    tick(bot, at(24, 12, 1))
    assert len(reminders(bot)) == 1  # retry reminder after a failed attempt
    bot.clock.set(at(24, 12, 30))
    act(
        bot,
        ref,
        lambda s, cfg, c, now: log_contact(
            s, cfg, c, authorize(cfg, "slack:U0STAFF1"), now, outcome=Outcome.REACHED
        ),
    )
    for when in (at(24, 15), at(25, 10), at(26, 10), at(27, 10)):
        tick(bot, when)
    assert len(reminders(bot)) == 1
    case = bot.case(ref)
    assert case["first_contact_at"] is not None and case["escalated_at"] is None


def test_deadline_escalates_to_ombudsman_once_and_reminders_go_on(bot: Bot) -> None:
    ref = open_one(bot, at(24, 9))
    day = 24
    for hour in range(8, 17):
        tick(bot, at(day, hour, 1))
    for d in (25, 26, 27):
        for hour in range(8, 17):
            tick(bot, at(d, hour, 1))
    case = bot.case(ref)
    assert case["escalated_at"] is not None
    assert case["escalated_at"] >= at(26, 9).isoformat()[:13]  # 2 working days later
    alerts = [b for b in bot.staff_text().split("─" * 72) if "Eskalering" in b]
    assert len(alerts) == 1 and "direct message to U0OMBUD" in alerts[0]
    assert case["reminders_sent"] >= 10


def test_serious_complaint_is_escalated_at_once(bot: Bot) -> None:
    ref = open_one(bot, at(24, 9), body="Personalen hotar min pappa. Ring 070-123 45 67.")
    case = bot.case(ref)
    assert case["escalated_at"] is not None and case["serious"] is True
    assert "Eskalering" in bot.staff_text()


def test_tick_is_idempotent_at_the_same_time(bot: Bot) -> None:
    open_one(bot, at(24, 9))
    tick(bot, at(24, 11, 5))
    tick(bot, at(24, 11, 5))
    tick(bot, at(24, 11, 5))
    assert len(reminders(bot)) == 1


@pytest.mark.skipif(not PG_URL, reason="racing sweeps need PostgreSQL's row locks")
def test_two_sweeps_racing_never_double_a_reminder(bot: Bot) -> None:
    for i in range(20):
        open_one(bot, at(24, 9), msgid=f"<race{i}@x.se>", frm=f"p{i}@example.se")
    bot.clock.set(at(24, 11, 5))
    from bot.runners.scheduler import run_tick as tick_once
    from bot.store.db import make_engine
    from bot.wiring import Runtime

    def sweep() -> None:
        eng = make_engine(PG_URL_WITH_SCHEMA(bot))
        rt = Runtime(
            bot.cfg,
            clock=bot.clock,
            secrets=bot.rt.secrets,
            engine=eng,
            overrides=dict(bot.rt.overrides),
        )
        tick_once(rt)
        eng.dispose()

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(reminders(bot)) == 20
    assert all(c["reminders_sent"] == 1 for c in bot.cases())


def PG_URL_WITH_SCHEMA(bot: Bot) -> str:
    return bot.engine.url.render_as_string(hide_password=False)


def test_action_plan_reminds_owner_then_alerts_ombudsman(bot: Bot) -> None:
    from bot.actions.cases import add_action_plan, complete_action_plan

    ref = open_one(bot, at(24, 9))
    bot.clock.set(at(24, 10))
    act(
        bot,
        ref,
        lambda s, cfg, c, now: add_action_plan(
            s,
            cfg,
            c,
            authorize(cfg, "slack:U0OMBUD"),
            now,
            owner="slack:U0STAFF2",
            steps="Ny rutin för kvällsbesök",
            due_at=at(27, 16),
        ),
    )
    tick(bot, at(24, 11))
    assert "Åtgärdsplanen" not in bot.staff_text()
    tick(bot, at(26, 16, 30))  # one working day before the due date
    assert "direct message to U0STAFF2" in bot.staff_text()
    tick(bot, at(27, 17))
    tick(bot, at(27, 18))
    overdue = [b for b in bot.staff_text().split("─" * 72) if "passerade" in b]
    assert len(overdue) == 1 and "direct message to U0OMBUD" in overdue[0]
    act(
        bot,
        ref,
        lambda s, cfg, c, now: complete_action_plan(
            s, cfg, c, authorize(cfg, "slack:U0OMBUD"), now, note="Klart"
        ),
    )
    with session_scope(bot.engine) as s:
        from bot.actions.case_records import case_detail

        actions = [a["action"] for a in case_detail(s, bot.cfg, get_case(s, ref))["audit"]]
    assert "action_plan_added" in actions and actions[-1] == "action_plan_done"


def test_weekly_digest_once_per_week_without_individual_figures(
    cfg: Config, engine: Engine, tmp_path: Path
) -> None:
    from bot.actions.cases import close_case
    from bot.store.models import Resolution
    from tests.conftest import make_config

    cfg = make_config(
        tmp_path,
        str(engine.url.render_as_string(hide_password=False)),
        chat={"team_channel": "C0TEAM"},
    )
    bot = Bot(cfg, engine, FixedClock(at(24, 9)), tmp_path)
    ref = open_one(bot, at(24, 9))
    bot.clock.set(at(24, 10))
    act(
        bot,
        ref,
        lambda s, cfg, c, now: log_contact(
            s, cfg, c, authorize(cfg, "slack:U0STAFF1"), now, outcome=Outcome.REACHED
        ),
    )
    act(
        bot,
        ref,
        lambda s, cfg, c, now: close_case(
            s,
            cfg,
            c,
            authorize(cfg, "slack:U0STAFF1"),
            now,
            resolution=Resolution.DIALOGUE,
            lesson="Ring tidigt, Anna Andersson 19121212-1212 blev lugn direkt.",
        ),
    )
    tick(bot, at(30, 7))  # Monday before opening: not yet
    assert "#C0TEAM" not in bot.staff_text()
    tick(bot, at(30, 8, 5))
    tick(bot, at(30, 14))
    digests = [b for b in bot.staff_text().split("─" * 72) if "#C0TEAM" in b]
    assert len(digests) == 1
    d = digests[0]
    assert "Nya ärenden: 1" in d and "avslutade: 1" in d and "Ring tidigt" in d
    assert "19121212-1212" not in d and "U0STAFF1" not in d
