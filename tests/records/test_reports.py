"""The ombudsman's figures on generated histories with known answers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.config import Config
from bot.presenters.monthly import monthly_summary
from bot.presenters.reports import build_report, percentile
from bot.store.db import session_scope
from tests.records.history import at, published_history, week_history
from tests.support.cli import run as cli
from tests.support.cli import write_config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


NOW = at(30, 11)


def test_week_history_figures_match_the_hand_worked_answers(engine: Engine, cfg: Config) -> None:
    week_history(engine, cfg)
    with session_scope(engine) as s:
        rep = build_report(s, cfg, date(2026, 11, 23), date(2026, 11, 30), NOW)
    assert rep.received == 6 and rep.historical == 1
    assert rep.by_source == {"email": 4, "slack": 1, "phone": 1}
    assert rep.by_theme == {"hemtjänst": 1, "skola": 1, "(none)": 4}
    assert rep.by_unit == {"Norr": 1, "(none)": 5}
    assert rep.acknowledged_within_5_min == pytest.approx(1 / 3)  # A of A, B, D
    assert rep.contacted == 3
    assert rep.contacted_within_deadline == pytest.approx(2 / 4)  # A, B of A, B, C, D
    assert sorted(rep.first_contact_working_hours) == pytest.approx([3.5, 4.0, 21.0])
    assert rep.working_hours_to_first_contact_median == pytest.approx(4.0)
    assert rep.working_hours_to_first_contact_p90 == pytest.approx(4.0 + 0.8 * 17.0)
    assert rep.hours_to_first_contact_median == pytest.approx(52.0)  # 4, 52, 67 clock hours
    assert rep.closed == 4 and rep.open == 2
    assert rep.by_resolution == {"dialogue": 2, "other_measure": 1, "not_resolved": 1}
    assert rep.resolved == pytest.approx(3 / 6)
    assert rep.resolved_through_dialogue == pytest.approx(2 / 6)
    assert rep.resolved_by_other_measure == pytest.approx(1 / 6)
    assert rep.escalated == 2
    assert rep.escalations_by_reason == {"deadline": 1, "staff": 1}
    assert rep.reopened == 1
    assert rep.reminders_per_case == pytest.approx(5 / 5)  # five non-historical cases
    assert (rep.action_plans_outstanding, rep.action_plans_overdue) == (2, 1)
    assert rep.cases_per_week == {"2026-W48": 5, "2026-W49": 1}


def test_period_is_by_local_received_date_and_plans_are_counted_at_its_end(
    engine: Engine, cfg: Config
) -> None:
    week_history(engine, cfg)
    with session_scope(engine) as s:
        last_day = build_report(s, cfg, date(2026, 11, 30), date(2026, 11, 30), NOW)
        first_week = build_report(s, cfg, None, date(2026, 11, 25), NOW)
    assert last_day.received == 1 and last_day.by_source == {"phone": 1}
    assert last_day.contacted_within_deadline is None  # nothing decided yet
    # 23-25 November: A, C, D and F. At the end of the 25th only A's plan existed,
    # not yet done (done on the 26th) and not yet due (the 27th).
    assert first_week.received == 4
    assert (first_week.action_plans_outstanding, first_week.action_plans_overdue) == (1, 0)


def test_percentile_matches_a_spreadsheet() -> None:
    assert percentile([], 0.9) is None
    assert percentile([5.0], 0.9) == 5.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == pytest.approx(
        9.1
    )


def test_the_published_history_reproduces_140_cases_54_and_76_percent(
    engine: Engine, cfg: Config
) -> None:
    gen = published_history(engine, cfg)
    with session_scope(engine) as s:
        rep = build_report(
            s, cfg, date(2024, 1, 1), date(2025, 12, 31), gen.last_day + timedelta(days=30)
        )
    assert rep.received == 140
    assert round(rep.resolved_through_dialogue * 100) == 54  # type: ignore[operator]
    assert round(rep.resolved * 100) == 76  # type: ignore[operator]
    assert rep.by_resolution["dialogue"] == 76 and rep.closed == 135 and rep.open == 5
    assert rep.contacted == 140 and rep.contacted_within_deadline == 1.0
    assert rep.working_hours_to_first_contact_median == pytest.approx(3.0)
    assert rep.escalations_by_reason == {"staff": 14}
    assert sum(rep.cases_per_week.values()) == 140
    # Every ISO week of the period, empty ones too: 2024-W01 .. 2026-W01 (31 Dec 2025).
    assert len(rep.cases_per_week) == 105 and min(rep.cases_per_week.values()) == 0


def test_monthly_summary_has_the_key_figures_and_a_chart(engine: Engine, cfg: Config) -> None:
    week_history(engine, cfg)
    with session_scope(engine) as s:
        summary = monthly_summary(s, cfg, date(2026, 11, 15), at(1, 10, month=12))
    assert summary.month == "2026-11"
    assert "6 inkomna ärenden" in summary.text
    assert "Lösta: 50 %" in summary.text and "genom dialog 33 %" in summary.text
    assert "Eskalerade: 2 (deadline 1, staff 1)" in summary.text
    assert summary.chart_png is not None and summary.chart_png.startswith(PNG_SIGNATURE)
    # Figures only: no names or addresses of complainants.
    assert "a@example.se" not in summary.text


# --- through the command line ---------------------------------------------


def test_report_formats_and_chart_through_the_cli(
    tmp_path: Path, db_url: str, engine: Engine, cfg: Config
) -> None:
    week_history(engine, cfg)
    config = write_config(tmp_path, db_url)
    period = ("--from", "2026-11-23", "--to", "2026-11-30")

    data = json.loads(cli(config, "report", *period, "--format", "json").stdout)
    assert data["received"] == 6
    assert data["resolved_through_dialogue"] == pytest.approx(2 / 6)
    assert data["by_theme"]["skola"] == 1
    assert data["working_hours_to_first_contact_median"] == pytest.approx(4.0)
    # Figures "as they stand now" (deadlines, plans) depend on the real clock here.
    assert {
        "action_plans_outstanding",
        "action_plans_overdue",
        "contacted_within_deadline",
        "cases_per_week",
        "by_unit",
        "by_resolution",
    } <= set(data)
    assert "first_contact_working_hours" not in data  # per-case values stay internal

    rows = list(csv.reader(io.StringIO(cli(config, "report", *period, "--format", "csv").stdout)))
    assert rows[0] == ["metric", "value"]
    table = dict(rows[1:])
    assert table["cases received"] == "6"
    assert table["resolved through dialogue"] == "33 %"
    assert table["working hours to first call, median"] == "4.0"
    assert table["  escalations: deadline"] == "1"

    text = cli(config, "report", *period).stdout
    assert "action plans overdue" in text and "  by unit: Norr" in text

    chart = tmp_path / "period.png"
    cli(config, "report", *period, "--format", "json", "--chart", str(chart))
    png = chart.read_bytes()
    assert png.startswith(PNG_SIGNATURE) and len(png) > 20_000
    from matplotlib import image

    pixels = image.imread(str(chart))
    assert pixels.shape[0] >= 600 and pixels.shape[1] >= 800
    assert pixels.std() > 0.05  # not a blank canvas

    bad = cli(config, "report", "--from", "23/11/2026", "--chart", str(chart), check=False)
    assert bad.returncode == 2
