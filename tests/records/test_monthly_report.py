"""The monthly report to the ombudsman: due from 09:00 on the first working day, once."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.config import Config
from handlers.sweeps import monthly_report
from tests.harness import Bot, email
from tests.records.history import STHLM, week_history
from tests.support.fake_slack import FakeSlack


def test_sent_once_from_nine_on_the_first_working_day(
    cfg: Config, engine: Engine, tmp_path: Path
) -> None:
    week_history(engine, cfg)
    bot = Bot(cfg, engine, FixedClock(datetime(2026, 12, 1, 8, 59, tzinfo=STHLM)), tmp_path)
    assert monthly_report.run(bot.rt) == 0  # Tuesday 1 December, before 09:00
    bot.clock.set(datetime(2026, 12, 1, 9, 0, tzinfo=STHLM))
    assert monthly_report.run(bot.rt) == 1
    assert monthly_report.run(bot.rt) == 0  # a second sweep, or instance, queues nothing
    bot.flush()
    sent = bot.staff_text()
    assert "U0OMBUD" in sent
    assert "Klagomål 2026-11: 6 inkomna ärenden" in sent
    assert "Lösta: 50 %" in sent
    assert "a@example.se" not in sent
    bot.clock.set(datetime(2026, 12, 15, 10, 0, tzinfo=STHLM))
    assert monthly_report.run(bot.rt) == 0  # still December: already sent


def test_waits_for_the_first_working_day_after_new_year(
    cfg: Config, engine: Engine, tmp_path: Path
) -> None:
    # 1 January 2027 is a holiday (Friday), then a weekend: Monday 4 January it is.
    bot = Bot(cfg, engine, FixedClock(datetime(2027, 1, 1, 10, 0, tzinfo=STHLM)), tmp_path)
    december = datetime(2026, 12, 10, 10, 0, tzinfo=STHLM).timestamp()
    os.utime(bot.deliver(email()), (december, december))
    bot.ingest()
    assert monthly_report.run(bot.rt) == 0
    bot.clock.set(datetime(2027, 1, 4, 9, 30, tzinfo=STHLM))
    assert monthly_report.run(bot.rt) == 1
    bot.flush()
    assert "Klagomål 2026-12: 1 inkomna ärenden" in bot.staff_text()


def test_no_report_for_months_before_the_first_case(
    cfg: Config, engine: Engine, tmp_path: Path
) -> None:
    bot = Bot(cfg, engine, FixedClock(datetime(2027, 1, 4, 9, 30, tzinfo=STHLM)), tmp_path)
    assert monthly_report.run(bot.rt) == 0  # an empty database: nothing to report yet
    january = datetime(2027, 1, 4, 9, 0, tzinfo=STHLM).timestamp()
    os.utime(bot.deliver(email()), (january, january))
    bot.ingest()  # the first case arrives in January
    assert monthly_report.run(bot.rt) == 0  # December was before the bot's time


def test_the_chart_is_shared_with_the_ombudsman_in_slack(
    cfg: Config, engine: Engine, tmp_path: Path, fake_slack: FakeSlack
) -> None:
    from slack_sdk import WebClient

    from bot.adapters.slack_chat import SlackChat

    week_history(engine, cfg)
    chat = SlackChat(WebClient(token=fake_slack.token, base_url=fake_slack.url))
    bot = Bot(
        cfg, engine, FixedClock(datetime(2026, 12, 1, 9, 0, tzinfo=STHLM)), tmp_path, chat=chat
    )
    assert monthly_report.run(bot.rt) == 1
    report = bot.flush()
    assert report.failed == 0, report.errors
    [upload] = fake_slack.calls("upload")
    assert upload.params["size"] > 10_000
    [done] = fake_slack.calls("files.completeUploadExternal")
    assert done.params["channel_id"].startswith("D")  # the ombudsman's direct message
    assert "klagomal-2026-11.png" in str(fake_slack.calls("files.getUploadURLExternal")[0].params)
