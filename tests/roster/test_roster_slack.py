"""Today's roster from the config and from Slack (a user group, statuses), with the real
slack_sdk WebClient against the fake Slack Web API; and the command line."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from slack_sdk import WebClient
from sqlalchemy.engine import Engine

from bot.actions.opening import NewComplaint, open_case
from bot.actions.roster import RosterEntry, on_duty, today_roster
from bot.adapters.folder import FolderMailer
from bot.adapters.slack_chat import SlackChat
from bot.clock import FixedClock
from bot.config import Secrets
from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.wiring import Runtime
from tests.conftest import make_config
from tests.support.cli import Ran, run
from tests.support.fake_slack import FakeSlack

STHLM = ZoneInfo("Europe/Stockholm")
TUESDAY = datetime(2026, 11, 24, 10, 0, tzinfo=STHLM)


def reasons(entries: list[RosterEntry]) -> dict[str, str]:
    return {e.user: ("on duty" if e.on_duty else e.reason) for e in entries}


def test_roster_from_config_follows_each_persons_working_days(tmp_path: Path, db_url: str) -> None:
    cfg = make_config(tmp_path, db_url, roster={"working_days": {"U0STAFF2": [1, 3]}})
    entries = today_roster(cfg, TUESDAY)
    assert reasons(entries) == {"U0STAFF1": "on duty", "U0STAFF2": "not a working day"}
    monday = datetime(2026, 11, 23, 10, 0, tzinfo=STHLM)
    assert on_duty(today_roster(cfg, monday)) == ["U0STAFF1", "U0STAFF2"]


def test_roster_from_a_user_group_skips_away_statuses(
    tmp_path: Path, db_url: str, fake_slack: FakeSlack
) -> None:
    cfg = make_config(
        tmp_path,
        db_url,
        chat={"kind": "slack", "staff_users": ["U0STAFF1", "U0STAFF2", "U0STAFF3", "U0STAFF4"]},
        roster={"users": ["U0STAFF1"], "usergroup": "S0CALLBACK"},
    )
    fake_slack.add_usergroup("S0CALLBACK", ["U0STAFF2", "U0STAFF3", "U0STAFF4", "U0OUTSIDER"])
    fake_slack.add_user("U0STAFF1", status_text="Semester till 1/12", status_emoji=":sunny:")
    fake_slack.add_user("U0STAFF2", status_text="I möte", status_emoji=":calendar:")
    fake_slack.add_user("U0STAFF3", status_emoji=":face_with_thermometer:")
    fake_slack.add_user("U0STAFF4", status_text="Foreldrepermisjon")
    client = WebClient(token=fake_slack.token, base_url=fake_slack.url)
    entries = today_roster(cfg, TUESDAY, client)
    got = reasons(entries)
    assert got["U0STAFF2"] == "on duty"
    assert got["U0STAFF1"].startswith("away") and "Semester" in got["U0STAFF1"]
    assert got["U0STAFF3"].startswith("away") and got["U0STAFF4"].startswith("away")
    assert got["U0OUTSIDER"] == "not on [chat] staff_users"
    assert on_duty(entries) == ["U0STAFF2"]
    assert fake_slack.count("usergroups.users.list") == 1


def test_unreadable_slack_keeps_the_configured_roster(
    tmp_path: Path, db_url: str, fake_slack: FakeSlack
) -> None:
    cfg = make_config(tmp_path, db_url, chat={"kind": "slack"}, roster={"usergroup": "S0MISSING"})
    client = WebClient(token=fake_slack.token, base_url=fake_slack.url)
    entries = today_roster(cfg, TUESDAY, client)  # no such group, no such users
    assert on_duty(entries) == ["U0STAFF1", "U0STAFF2"]
    assert "unreadable" in reasons(entries)["S0MISSING"]


def test_offer_goes_to_the_on_duty_person_by_slack_dm(
    tmp_path: Path, db_url: str, engine: Engine, fake_slack: FakeSlack
) -> None:
    cfg = make_config(tmp_path, db_url, chat={"kind": "slack"})
    fake_slack.add_user("U0STAFF1", status_text="Sjuk", status_emoji="")
    fake_slack.add_user("U0STAFF2")
    client = WebClient(token=fake_slack.token, base_url=fake_slack.url)
    clock = FixedClock(TUESDAY)
    rt = Runtime(
        cfg,
        clock=clock,
        secrets=Secrets(),
        engine=engine,
        overrides={
            "chat": SlackChat(client),
            "slack_client": client,
            "mailer": FolderMailer(tmp_path / "outbox"),
            "blocks": None,
        },
    )
    with session_scope(engine) as s:
        ref = open_case(s, cfg, NewComplaint(source="email", received_at=TUESDAY), TUESDAY).ref
    clock.advance(minutes=61)
    result = run_tick(rt)
    assert not result.errors, result.errors
    opened = fake_slack.calls("conversations.open")
    assert [c.params["users"] for c in opened] == ["U0STAFF2"]
    dm = [c for c in fake_slack.calls("chat.postMessage") if ref in c.params["text"]]
    assert len(dm) == 1 and "Kan du ta återuppringningen" in dm[0].params["text"]


def cli(cfg: Path, *args: str) -> Ran:
    return run(cfg, *args, check=False)


def test_command_line_roster_and_staff_load(tmp_path: Path, db_url: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'''
[database]
url = "{db_url}"
[chat]
kind = "console"
staff_users = ["U0STAFF1", "U0STAFF2"]
ombudsman_users = ["U0OMBUD"]
[roster]
working_days = {{ U0STAFF2 = [6] }}
''')

    def on_duty(now: str) -> dict[str, bool]:
        proc = cli(cfg, "roster", "--format", "json", "--now", now)
        assert proc.returncode == 0, proc.stderr
        return {r["user"]: r["on_duty"] for r in json.loads(proc.stdout)}

    # U0STAFF2 works Saturdays only: off on a Tuesday, on duty on a Saturday.
    assert on_duty("2026-11-24T10:00") == {"U0STAFF1": True, "U0STAFF2": False}
    assert on_duty("2026-11-28T10:00")["U0STAFF2"] is True
    proc = cli(cfg, "staff-load", "--format", "json", "--weeks", "2")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
    # the same view through the report command
    proc = cli(cfg, "report", "--staff", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
