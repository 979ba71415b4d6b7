"""The retention sweep: closed cases and quarantined mail past their retention are
purged by `tick`/`run` without anyone remembering a command; the first run reports."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.actions.cases import close_case, get_case
from bot.actions.trail import authorize
from bot.clock import FixedClock
from bot.runners.pipeline import quarantine
from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.store.models import Quarantine, Resolution
from tests.conftest import FIXTURES
from tests.records.clirun import run as cli
from tests.records.people import ANNA_NOTE, two_people


def test_sweep_reports_first_then_purges_old_cases_and_quarantine(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    people = two_people(tmp_path, db_url, engine, clock)
    bot = people.bot
    with session_scope(engine) as s:
        close_case(
            s,
            bot.cfg,
            get_case(s, people.anna),
            authorize(bot.cfg, "slack:U0STAFF1"),
            clock(),
            resolution=Resolution.DIALOGUE,
        )
        quarantine(
            s,
            source="maildir",
            key="q-old",
            reason="parser failed",
            now=clock(),
            raw=(FIXTURES / "eml" / "webform_relay_base64.eml").read_bytes(),
        )
    # The bot is upgraded to a version with the sweep 24 months later: its first run
    # only reports.
    clock.advance(days=731)  # past 24 months (and 90 days for the quarantine)
    with caplog.at_level(logging.INFO):
        first = run_tick(bot.rt)
    assert first.acted["retention"] == 0 and not first.errors
    assert "retention sweep, first run (dry run" in caplog.text
    assert "1 cases" in caplog.text and "1 quarantined inputs" in caplog.text
    assert bot.case(people.anna)["complainant"]["name"] == "Anna Andersson"  # nothing yet

    clock.advance(hours=25)
    caplog.clear()
    with caplog.at_level(logging.INFO):
        second = run_tick(bot.rt)
    assert second.acted["retention"] >= 2 and not second.errors
    anna = bot.case(people.anna)
    assert anna["complainant"] == {
        "name": None,
        "email": None,
        "phone": None,
        "representative_of": None,
    }
    assert anna["resolution"] == "dialogue" and anna["closed_at"] is not None
    assert bot.case(people.bertil)["complainant"]["name"] == "Bertil Berg"  # still open
    with session_scope(engine) as s:
        assert s.execute(sa.select(sa.func.count()).select_from(Quarantine)).scalar_one() == 0
    for personal in ("Anna", "anna@", "070", ANNA_NOTE, "Bertil"):
        assert personal not in caplog.text
    # The prompt of the anonymised case was replaced by the stub in the same tick.
    assert "personuppgifterna är raderade" in bot.staff_text()
    assert run_tick(bot.rt).acted["retention"] == 0  # nothing left to do


def test_sweep_can_be_switched_off_and_purge_retention_is_a_dry_run(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock
) -> None:
    from tests.conftest import make_config
    from tests.harness import Bot

    people = two_people(tmp_path, db_url, engine, clock)
    off = Bot(
        make_config(tmp_path, db_url, privacy={"retention_sweep": False}), engine, clock, tmp_path
    )
    clock.advance(days=1000)
    assert off.rt.cfg.privacy.retention_sweep is False
    assert run_tick(off.rt).acted["retention"] == 0
    with session_scope(engine) as s:
        assert (
            s.execute(
                sa.text("select count(*) from audit where action = 'retention_report'")
            ).scalar_one()
            == 0
        )
    dry = json.loads(cli(people.config, "purge", "--retention").stdout)
    assert dry["mode"] == "dry run" and dry["what"].startswith("retention")
