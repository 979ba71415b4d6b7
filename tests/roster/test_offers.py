"""Offers after the claim window, hand-overs and hard calls, through the real sweep
(``run_tick``), the console chat and an injected clock.

Times are Europe/Stockholm; 2026-11-24 is a Tuesday. Working hours 08:00–16:30.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import col, select

from bot.actions.assignment import accept_offer as accept
from bot.actions.assignment import decline_offer as decline
from bot.actions.assignment import find_open_offer, hand_over
from bot.actions.cases import claim, get_case, log_contact
from bot.actions.opening import NewComplaint, open_case
from bot.actions.trail import authorize
from bot.actions.workload import load_view
from bot.clock import FixedClock
from bot.errors import NotAllowed
from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.store.models import CaseOffer, Outcome
from tests.conftest import make_config
from tests.harness import Bot

STHLM = ZoneInfo("Europe/Stockholm")
RULE = "─" * 72


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=STHLM)


def make_bot(tmp_path: Path, db_url: str, engine: Engine, **roster: Any) -> Bot:
    cfg = make_config(
        tmp_path, db_url, roster=roster, chat={"staff_users": ["U0STAFF1", "U0STAFF2", "U0STAFF3"]}
    )
    return Bot(cfg, engine, FixedClock(at(24, 9)), tmp_path)


@pytest.fixture
def bot(tmp_path: Path, db_url: str, engine: Engine) -> Bot:
    return make_bot(tmp_path, db_url, engine, users=["U0STAFF1", "U0STAFF2"])


def new_case(bot: Bot, when: datetime, source: str = "email") -> str:
    bot.clock.set(when)
    with session_scope(bot.engine) as s:
        case = open_case(
            s,
            bot.cfg,
            NewComplaint(
                source=source, received_at=when, name="Anna Andersson", phone="+46701234567"
            ),
            when,
        )
        return case.ref


def tick(bot: Bot, when: datetime) -> None:
    bot.clock.set(when)
    result = run_tick(bot.rt)
    assert not result.errors, result.errors


def dms(bot: Bot, user: str) -> list[str]:
    """Direct messages from the roster to ``user`` (not reminders)."""
    return [
        b
        for b in bot.staff_text().split(RULE)
        if f"direct message to {user}]" in b and "Påminnelse" not in b
    ]


def offers(bot: Bot, ref: str) -> list[tuple[str, str | None]]:
    with session_scope(bot.engine) as s:
        case = get_case(s, ref)
        return [
            (o.user, o.outcome)
            for o in s.exec(
                select(CaseOffer).where(CaseOffer.case_id == case.id).order_by(col(CaseOffer.id))
            )
        ]


def act(bot: Bot, ref: str, fn: Any, *args: Any, **kw: Any) -> Any:
    with session_scope(bot.engine) as s:
        result = fn(s, bot.cfg, get_case(s, ref), *args, bot.clock(), **kw)
    bot.flush()
    return result


def answer(bot: Bot, ref: str, user: str, fn: Any) -> None:
    with session_scope(bot.engine) as s:
        offer = find_open_offer(s, get_case(s, ref), user)
        fn(s, bot.cfg, offer, authorize(bot.cfg, f"slack:{user}"), bot.clock())
    bot.flush()


def test_unclaimed_case_is_offered_to_the_least_loaded_after_the_claim_window(bot: Bot) -> None:
    busy = new_case(bot, at(24, 8))
    act(bot, busy, claim, authorize(bot.cfg, "slack:U0STAFF1"))
    ref = new_case(bot, at(24, 9))
    tick(bot, at(24, 9, 59))
    assert offers(bot, ref) == []
    tick(bot, at(24, 10, 1))
    assert offers(bot, ref) == [("U0STAFF2", None)]
    dm = dms(bot, "U0STAFF2")
    assert len(dm) == 1 and ref in dm[0] and "Kan du ta återuppringningen" in dm[0]
    assert "Anna" not in dm[0] and "0701234567" not in dm[0].replace(" ", "")
    assert dms(bot, "U0STAFF1") == []
    assert bot.case(ref)["assignee"] is None  # offered, not forced
    tick(bot, at(24, 10, 10))
    assert len(dms(bot, "U0STAFF2")) == 1  # one offer at a time


def test_claim_window_counts_working_time_only(bot: Bot) -> None:
    ref = new_case(bot, at(24, 16))  # 30 working minutes left today
    tick(bot, at(24, 20))
    tick(bot, at(25, 8, 15))
    assert offers(bot, ref) == []
    tick(bot, at(25, 8, 31))
    assert [u for u, _ in offers(bot, ref)] == ["U0STAFF1"]


def test_accepting_an_offer_claims_the_case(bot: Bot) -> None:
    ref = new_case(bot, at(24, 9))
    tick(bot, at(24, 10, 1))
    with pytest.raises(NotAllowed), session_scope(bot.engine) as s:  # only the one asked
        offer = find_open_offer(s, get_case(s, ref), "U0STAFF1")
        accept(s, bot.cfg, offer, authorize(bot.cfg, "slack:U0STAFF2"), bot.clock())
    answer(bot, ref, "U0STAFF1", accept)
    assert bot.case(ref)["assignee"] == "slack:U0STAFF1"
    assert offers(bot, ref) == [("U0STAFF1", "accepted")]


def test_declined_or_unanswered_offer_moves_to_the_next_person(bot: Bot) -> None:
    ref = new_case(bot, at(24, 9))
    tick(bot, at(24, 10, 1))
    answer(bot, ref, "U0STAFF1", decline)
    tick(bot, at(24, 10, 2))
    assert offers(bot, ref) == [("U0STAFF1", "declined"), ("U0STAFF2", None)]
    tick(bot, at(24, 10, 31))  # 29 minutes: still waiting for an answer
    assert offers(bot, ref)[-1] == ("U0STAFF2", None)
    tick(bot, at(24, 10, 33))
    # Everyone on duty has been asked: it waits for a claim, the triage reminders go on.
    assert offers(bot, ref) == [("U0STAFF1", "declined"), ("U0STAFF2", "expired")]


def test_ties_go_round_robin(bot: Bot) -> None:
    first, second = new_case(bot, at(24, 9)), new_case(bot, at(24, 9, 1))
    tick(bot, at(24, 10, 5))
    assert [u for u, _ in offers(bot, first)] == ["U0STAFF1"]
    assert [u for u, _ in offers(bot, second)] == ["U0STAFF2"]


def test_daily_cap_sends_the_case_to_the_next_person(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    bot = make_bot(tmp_path, db_url, engine, users=["U0STAFF1", "U0STAFF2"], daily_cap=1)
    # STAFF2 already took one today (and called: no open load), STAFF1 has an old open one.
    done = new_case(bot, at(24, 8))
    act(bot, done, log_contact, authorize(bot.cfg, "slack:U0STAFF2"), outcome=Outcome.REACHED)
    old = new_case(bot, at(23, 15))
    with session_scope(bot.engine) as s:  # claimed yesterday: not part of today's cap
        claim(s, bot.cfg, get_case(s, old), authorize(bot.cfg, "slack:U0STAFF1"), at(23, 15))
    refs = [new_case(bot, at(24, 9)), new_case(bot, at(24, 9, 1))]
    tick(bot, at(24, 10, 5))
    assert [u for u, _ in offers(bot, refs[0])] == ["U0STAFF1"]  # STAFF2 is lighter but capped
    assert offers(bot, refs[1]) == []  # both at the cap now: it waits for a claim


def test_hand_over_is_asked_and_can_be_accepted(bot: Bot) -> None:
    ref = new_case(bot, at(24, 9))
    act(bot, ref, claim, authorize(bot.cfg, "slack:U0STAFF1"))
    act(bot, ref, hand_over, "slack:U0STAFF1", "U0STAFF2")
    assert bot.case(ref)["assignee"] == "slack:U0STAFF1"  # asked, not forced
    dm = dms(bot, "U0STAFF2")
    assert len(dm) == 1 and ref in dm[0] and "<@U0STAFF1>" in dm[0]
    answer(bot, ref, "U0STAFF2", accept)
    assert bot.case(ref)["assignee"] == "slack:U0STAFF2"
    assert any("tog över" in d for d in dms(bot, "U0STAFF1"))


def test_hand_over_declined_stays_with_the_asker(bot: Bot) -> None:
    ref = new_case(bot, at(24, 9))
    act(bot, ref, claim, authorize(bot.cfg, "slack:U0STAFF1"))
    act(bot, ref, hand_over, "slack:U0STAFF1", "U0STAFF2")
    answer(bot, ref, "U0STAFF2", decline)
    assert bot.case(ref)["assignee"] == "slack:U0STAFF1"
    assert any("kunde inte ta" in d for d in dms(bot, "U0STAFF1"))
    with pytest.raises(NotAllowed):  # only whoever has the case can hand it over
        act(bot, ref, hand_over, "slack:U0STAFF3", "U0STAFF2")


def test_hard_call_thanks_the_caller_and_asks_for_a_debrief(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    bot = make_bot(tmp_path, db_url, engine, users=["U0STAFF1", "U0STAFF2"], managers=["U0MANAGER"])
    ref = new_case(bot, at(24, 9))
    act(
        bot,
        ref,
        log_contact,
        "slack:U0STAFF1",
        outcome=Outcome.REACHED,
        note="Hotfullt samtal om hemtjänsten.",
        hard=True,
    )
    (thanks,) = dms(bot, "U0STAFF1")
    assert "Tack för att du tog det svåra samtalet" in thanks and ref in thanks
    assert "<@U0MANAGER>" in thanks
    (debrief,) = dms(bot, "U0MANAGER")
    assert ref in debrief and "<@U0STAFF1>" in debrief
    for text in (thanks, debrief):  # the case reference and nothing personal
        assert "Anna" not in text and "Hotfullt" not in text and "hemtjänsten" not in text
    assert dms(bot, "U0OMBUD") == []


def test_a_plain_call_gets_no_debrief(bot: Bot) -> None:
    ref = new_case(bot, at(24, 9))
    act(bot, ref, log_contact, authorize(bot.cfg, "slack:U0STAFF1"), outcome=Outcome.REACHED)
    assert dms(bot, "U0STAFF1") == [] and dms(bot, "U0OMBUD") == []


def test_a_hard_call_lowers_the_callers_offers_for_the_rest_of_the_day(bot: Bot) -> None:
    hard = new_case(bot, at(24, 8))
    act(
        bot,
        hard,
        log_contact,
        authorize(bot.cfg, "slack:U0STAFF1"),
        outcome=Outcome.REACHED,
        hard=True,
    )
    # STAFF2 has one open call-back (load 1), STAFF1 none but a hard call (load 2).
    other = new_case(bot, at(24, 8, 30))
    act(bot, other, claim, authorize(bot.cfg, "slack:U0STAFF2"))
    ref = new_case(bot, at(24, 9))
    tick(bot, at(24, 10, 1))
    assert [u for u, _ in offers(bot, ref)] == ["U0STAFF2"]
    # The next day the hard call no longer counts.
    later = new_case(bot, at(25, 9))
    tick(bot, at(25, 10, 1))
    assert [u for u, _ in offers(bot, later)] == ["U0STAFF1"]


def test_sources_can_be_switched_off(tmp_path: Path, db_url: str, engine: Engine) -> None:
    bot = make_bot(tmp_path, db_url, engine, users=["U0STAFF1"], sources={"slack": False})
    by_slack, by_mail = new_case(bot, at(24, 9), "slack"), new_case(bot, at(24, 9), "email")
    tick(bot, at(24, 10, 5))
    assert offers(bot, by_slack) == [] and len(offers(bot, by_mail)) == 1


def test_switched_off_roster_offers_nothing(tmp_path: Path, db_url: str, engine: Engine) -> None:
    bot = make_bot(tmp_path, db_url, engine, enabled=False)
    ref = new_case(bot, at(24, 9))
    tick(bot, at(24, 12))
    assert offers(bot, ref) == []


def test_load_view_is_for_managers_and_the_ombudsman_only(
    tmp_path: Path, db_url: str, engine: Engine
) -> None:
    bot = make_bot(tmp_path, db_url, engine, managers=["U0MANAGER"])
    ref = new_case(bot, at(24, 9))
    act(bot, ref, claim, authorize(bot.cfg, "slack:U0STAFF1"))
    act(bot, ref, log_contact, authorize(bot.cfg, "slack:U0STAFF1"), outcome=Outcome.NO_ANSWER)
    act(
        bot,
        ref,
        log_contact,
        authorize(bot.cfg, "slack:U0STAFF1"),
        outcome=Outcome.REACHED,
        hard=True,
    )
    with session_scope(bot.engine) as s:
        for viewer in ("U0STAFF1", "slack:U0STAFF2", "U0NOBODY"):
            with pytest.raises(NotAllowed):
                load_view(s, bot.cfg, viewer, bot.clock())
        for viewer in ("U0MANAGER", "slack:U0OMBUD"):
            rows = load_view(s, bot.cfg, viewer, bot.clock())
            assert rows == [
                {
                    "week": "2026-W48",
                    "user": "U0STAFF1",
                    "claimed": 1,
                    "calls": 2,
                    "hard_calls": 1,
                    "offers_declined": 0,
                }
            ]
