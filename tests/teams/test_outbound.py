"""With ``[chat] kind = "teams"`` the bot's own wiring reaches the fake Bot Connector:
a complaint mail gives one Adaptive Card prompt in the triage conversation, updated
in place as the case moves; reminders, escalation alerts and the weekly digest reach
Teams as they reach Slack; ``complaint-bot check`` signs in and finds the triage
conversation."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.actions.cases import claim, close_case, get_case, log_contact
from bot.actions.trail import authorize
from bot.adapters.teams.chat import TeamsChat
from bot.clock import FixedClock
from bot.config import Config, Secrets
from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.store.models import Outcome, Resolution
from bot.wiring import Runtime
from handlers.slack.enums import ActionId
from tests.conftest import make_config
from tests.harness import Bot, email
from tests.support.fake_teams import FakeTeams, card_actions, card_text

STHLM = ZoneInfo("Europe/Stockholm")
TRIAGE = "19:triage0000000000@thread.tacv2"
TEAM = "19:team00000000000000@thread.tacv2"
STAFF = "29:1staffMemberAbc"
OMBUD = "29:1ombudsmanXyz"
ACTOR = f"teams:{STAFF}"


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=STHLM)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(at(24, 9))


@pytest.fixture
def teams(clock: FixedClock) -> Iterator[FakeTeams]:
    with FakeTeams(clock=lambda: clock().timestamp()) as fake:
        fake.add_conversation(TRIAGE, [STAFF, OMBUD])
        fake.add_conversation(TEAM, [STAFF])
        yield fake


def teams_config(tmp_path: Path, db_url: str, fake: FakeTeams) -> Config:
    return make_config(
        tmp_path,
        db_url,
        chat={
            "kind": "teams",
            "app_id": fake.app_id,
            "tenant_id": fake.tenant_id,
            "service_url": fake.service_url,
            "login_url": fake.login_url,
            "triage_channel": TRIAGE,
            "team_channel": TEAM,
            "intake_channels": [],
            "staff_users": [STAFF],
            "ombudsman_users": [OMBUD],
        },
    )


@pytest.fixture
def bot(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock, teams: FakeTeams
) -> Iterator[Bot]:
    cfg = teams_config(tmp_path, db_url, teams)
    bot = Bot(cfg, engine, clock, tmp_path)
    # The chat is the one the wiring builds from [chat] (only the mailbox and the
    # mailer are the harness's).
    bot.rt = Runtime(
        cfg,
        clock=clock,
        secrets=Secrets(teams_app_password=SecretStr(teams.app_password)),
        engine=engine,
        overrides={
            "mailbox": bot.rt.mailbox,
            "mailer": bot.rt.mailer,
            "teams_connector": {"backoff": 0.001, "sleep": lambda _s: None},
        },
    )
    assert isinstance(bot.rt.chat, TeamsChat)
    yield bot
    bot.rt.close()


def walk(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, dict):
        return [value, *(d for v in value.values() for d in walk(v))]
    if isinstance(value, list):
        return [d for v in value for d in walk(v)]
    return []


def open_case(bot: Bot, **kw: Any) -> str:
    path = bot.deliver(email(**kw))
    stamp = bot.clock().timestamp()
    os.utime(path, (stamp, stamp))
    bot.run_once()
    return str(bot.cases()[-1]["ref"])


def act(bot: Bot, ref: str, fn: Callable[..., object]) -> None:
    with session_scope(bot.engine) as s:
        fn(s, bot.cfg, get_case(s, ref), bot.clock())
    bot.flush()


def tick(bot: Bot, when: datetime) -> None:
    bot.clock.set(when)
    assert not run_tick(bot.rt).errors


def test_a_complaint_mail_gives_one_card_prompt(bot: Bot, teams: FakeTeams) -> None:
    ref = open_case(bot)
    [prompt] = teams.top_level(TRIAGE)
    text = card_text(prompt)
    assert ref in text and "Anna Andersson" in text
    assert "070-123 45 67" in text  # the number to call, as a tel: link
    assert "hemtjänsten kom inte" in text.lower()  # the redacted summary
    assert text.count("☐") >= 5  # the call method as a checklist
    pressed = {d["cb_action"] for d in card_actions(prompt)}
    assert {ActionId.CLAIM, ActionId.LOG_CALL, ActionId.ESCALATE, ActionId.SNOOZE} <= pressed
    assert {ActionId.SHOW_FULL_TEXT} <= pressed
    [log_call] = [d for d in card_actions(prompt) if d["cb_action"] == ActionId.LOG_CALL]
    assert log_call["msteams"] == {"type": "task/fetch"}  # a dialog, as Slack's modal
    assert all(d["cb_value"].startswith(ref) for d in card_actions(prompt))
    with session_scope(bot.engine) as s:
        case = get_case(s, ref)
        assert (case.prompt_channel, case.prompt_ts) == (TRIAGE, prompt["id"])
    bot.run_once()  # nothing new: still one card
    assert len(teams.top_level(TRIAGE)) == 1


def test_the_card_is_updated_in_place_as_the_case_moves(bot: Bot, teams: FakeTeams) -> None:
    ref = open_case(bot)
    [before] = teams.top_level(TRIAGE)
    bot.clock.set(at(24, 9, 30))
    act(bot, ref, lambda s, cfg, c, now: claim(s, cfg, c, authorize(cfg, ACTOR), now))
    [after] = teams.top_level(TRIAGE)
    assert after["id"] == before["id"] and after["edits"] == 1
    assert ActionId.CLAIM not in {d["cb_action"] for d in card_actions(after)}
    assert [c.method for c in teams.calls(path_contains="/activities")] == ["POST", "PUT"]
    bot.clock.set(at(24, 10))
    act(
        bot,
        ref,
        lambda s, cfg, c, now: log_contact(
            s, cfg, c, authorize(cfg, ACTOR), now, outcome=Outcome.REACHED
        ),
    )
    act(
        bot,
        ref,
        lambda s, cfg, c, now: close_case(
            s, cfg, c, authorize(cfg, ACTOR), now, resolution=Resolution.DIALOGUE
        ),
    )
    [closed] = teams.top_level(TRIAGE)
    assert closed["id"] == before["id"]
    assert card_actions(closed) == []  # a closed case has no buttons left


def test_reminders_and_escalation_alerts_reach_teams(bot: Bot, teams: FakeTeams) -> None:
    ref = open_case(bot)
    [prompt] = teams.top_level(TRIAGE)
    tick(bot, at(24, 11, 1))  # two working hours, nobody called: a reminder in the thread
    [reminder] = teams.replies(TRIAGE, prompt["id"])
    assert ref in card_text(reminder)
    for day in (24, 25, 26):
        for hour in range(8, 17):
            tick(bot, at(day, hour, 1))
    assert bot.case(ref)["escalated_at"] is not None
    alerts = teams.direct_activities(OMBUD)  # the ombudsman's 1:1 chat with the bot
    assert len(alerts) == 1 and ref in card_text(alerts[0])
    assert ActionId.TAKE_OVER in {d["cb_action"] for d in card_actions(alerts[0])}
    creates = [c for c in teams.calls("POST") if c.path.endswith("/v3/conversations")]
    assert [{"id": OMBUD}] in [c.body["members"] for c in creates]
    assert all(c.body["tenantId"] == teams.tenant_id for c in creates)


def test_a_claimed_case_reminds_its_caller_in_a_1to1_chat(bot: Bot, teams: FakeTeams) -> None:
    ref = open_case(bot)
    bot.clock.set(at(24, 9, 30))
    act(bot, ref, lambda s, cfg, c, now: claim(s, cfg, c, authorize(cfg, ACTOR), now))
    tick(bot, at(24, 11, 31))
    [reminder] = teams.direct_activities(STAFF)
    assert ref in card_text(reminder)


def test_the_weekly_digest_reaches_the_team_conversation(bot: Bot, teams: FakeTeams) -> None:
    ref = open_case(bot)
    bot.clock.set(at(24, 10))
    act(
        bot,
        ref,
        lambda s, cfg, c, now: log_contact(
            s, cfg, c, authorize(cfg, ACTOR), now, outcome=Outcome.REACHED
        ),
    )
    tick(bot, at(30, 8, 5))
    tick(bot, at(30, 14))
    [digest] = teams.top_level(TEAM)
    assert "Nya ärenden: 1" in card_text(digest)
    assert STAFF not in card_text(digest)


def test_what_the_complainant_wrote_cannot_link_mention_or_leak(bot: Bot, teams: FakeTeams) -> None:
    evil = "[Logga in här](https://evil.example/login) <at>Alla</at> **NU** 19121212-1212"
    open_case(bot, subject=evil, body=f"{evil}\nRing 070-123 45 67.")
    [prompt] = teams.top_level(TRIAGE)
    [call] = [c for c in teams.calls("POST") if c.path.endswith("/activities")]
    sent = json.dumps(call.body, ensure_ascii=False)
    assert "entities" not in sent and "19121212-1212" not in sent
    assert "evil.example" in card_text(prompt)  # shown as the text it is
    links = [a for a in walk(prompt) if a.get("type") in ("Action.OpenUrl",)]
    assert [a["url"] for a in links] == ["tel:+46701234567"]


def test_the_monthly_chart_reaches_the_ombudsman_as_an_image(bot: Bot, teams: FakeTeams) -> None:
    open_case(bot)
    tick(bot, datetime(2026, 12, 1, 10, 0, tzinfo=STHLM))  # first working day of December
    images = [
        a
        for a in teams.direct_activities(OMBUD)
        for att in a.get("attachments") or []
        if att.get("contentType") == "image/png"
    ]
    assert len(images) == 1
    [image] = images[0]["attachments"]
    assert image["contentUrl"].startswith("data:image/png;base64,iVBOR")
    assert "2026-11" in images[0]["text"]


def test_check_signs_in_and_finds_the_triage_conversation(
    tmp_path: Path, db_url: str, teams: FakeTeams, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.cli.checks import run_checks

    cfg = teams_config(tmp_path, db_url, teams)
    monkeypatch.setenv("TEAMS_APP_PASSWORD", teams.app_password)
    lines = dict((line.split(":")[0], (ok, line)) for ok, line in run_checks(cfg))
    ok, line = lines["chat"]
    assert ok, line
    assert "triage conversation reachable (2 members)" in line
    monkeypatch.setenv("TEAMS_APP_PASSWORD", "wrong")
    ok, line = dict((ln.split(":")[0], (k, ln)) for k, ln in run_checks(cfg))["chat"]
    assert not ok and "invalid_client" in line
    monkeypatch.setenv("TEAMS_APP_PASSWORD", teams.app_password)
    teams.not_installed.add(TRIAGE)
    ok, line = dict((ln.split(":")[0], (k, ln)) for k, ln in run_checks(cfg))["chat"]
    assert not ok and "BotNotInConversationRoster" in line
