"""The ombudsman's figures on generated histories with known answers."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.actions.cases import NewComplaint, close_case, escalate, log_contact, open_case, reopen
from bot.config import Config
from bot.presenters.reports import build_report, monthly_summary, percentile
from bot.store.db import session_scope
from bot.store.models import ActionPlan, EscalationReason, Outcome, Resolution
from tests.records.history import STAFF, STHLM, published_history
from tests.test_cli import cli, write_config

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def at(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    """Local Stockholm time in 2026; 23 November is a Monday."""
    return datetime(2026, month, day, hour, minute, tzinfo=STHLM)


NOW = at(30, 11)


def week_history(engine: Engine, cfg: Config) -> None:
    """Six cases in the week of 23 November 2026 whose figures are worked out by hand.

    Working hours 08:00–16:30; first call due 8.5 working hours after receipt.
    """
    def new(s: object, source: str, received: datetime, **kw: object) -> object:
        return open_case(s, cfg, NewComplaint(source=source, received_at=received,  # type: ignore[arg-type]
                                              **kw), received)  # type: ignore[arg-type]

    with session_scope(engine) as s:
        # A: called after 4 working hours, well inside the deadline (Tue 09:00).
        a = new(s, "email", at(23, 9), name="A", email="a@example.se")
        a.theme, a.unit = "hemtjänst", "Norr"
        a.ack_sent_at = at(23, 9, 2)  # what the outbox records on delivery
        log_contact(s, cfg, a, STAFF, at(23, 13), outcome=Outcome.REACHED)
        close_case(s, cfg, a, STAFF, at(24, 9), resolution=Resolution.DIALOGUE)
        s.add(ActionPlan(case_id=a.id, owner="chef", due_at=at(27, 16), created_at=at(24, 9),
                         done_at=at(26, 9)))
        # B: Friday 15:00, called Monday 10:00: 1.5 + 2 = 3.5 working hours, 67 clock hours.
        b = new(s, "email", at(27, 15), name="B", email="b@example.se")
        b.ack_sent_at = at(27, 15, 10)  # ten minutes: too late
        log_contact(s, cfg, b, STAFF, at(30, 10), outcome=Outcome.REACHED)
        close_case(s, cfg, b, STAFF, at(30, 10, 30), resolution=Resolution.OTHER_MEASURE)
        reopen(s, cfg, b, at(30, 10, 40))
        close_case(s, cfg, b, STAFF, at(30, 10, 50), resolution=Resolution.OTHER_MEASURE)
        # C: a "no answer" does not stop the clock; reached Thursday 12:00 = 21 working hours.
        c = new(s, "slack", at(24, 8), name="C")
        c.theme = "skola"
        log_contact(s, cfg, c, STAFF, at(24, 10), outcome=Outcome.NO_ANSWER)
        escalate(s, cfg, c, "system", at(24, 16, 30), reason=EscalationReason.DEADLINE)
        log_contact(s, cfg, c, STAFF, at(26, 12), outcome=Outcome.REACHED)
        close_case(s, cfg, c, STAFF, at(26, 15), resolution=Resolution.NOT_RESOLVED)
        c.reminders_sent = 3  # as the reminder sweep counts them
        s.add(ActionPlan(case_id=c.id, owner="chef", due_at=at(27, 16), created_at=at(26, 15)))
        # D: never acknowledged, never called, deadline (Thu 10:00) long passed.
        d = new(s, "email", at(25, 10), name="D", email="d@example.se")
        escalate(s, cfg, d, STAFF, at(26, 9), reason=EscalationReason.STAFF)
        d.reminders_sent = 2
        s.add(ActionPlan(case_id=d.id, owner="chef", due_at=at(10, 16, month=12),
                         created_at=at(27, 9)))
        # E: received this morning; its deadline has not passed: left out of the deadline share.
        new(s, "phone", at(30, 10, 30), name="E", phone="+46701234567")
        # F: historical mail: counted, resolved, but not in any timeliness figure.
        f = new(s, "email", at(23, 7), name="F", email="f@example.se", historical=True)
        close_case(s, cfg, f, STAFF, at(25, 9), resolution=Resolution.DIALOGUE)


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
        engine: Engine, cfg: Config) -> None:
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
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == \
        pytest.approx(9.1)


def test_the_published_history_reproduces_140_cases_54_and_76_percent(
        engine: Engine, cfg: Config) -> None:
    gen = published_history(engine, cfg)
    with session_scope(engine) as s:
        rep = build_report(s, cfg, date(2024, 1, 1), date(2025, 12, 31),
                           gen.last_day + timedelta(days=30))
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


def test_report_formats_and_chart_through_the_cli(tmp_path: Path, db_url: str, engine: Engine,
                                                  cfg: Config) -> None:
    week_history(engine, cfg)
    config = write_config(tmp_path, db_url)
    period = ("--from", "2026-11-23", "--to", "2026-11-30")

    data = json.loads(cli(config, "report", *period, "--format", "json").stdout)
    assert data["received"] == 6
    assert data["resolved_through_dialogue"] == pytest.approx(2 / 6)
    assert data["by_theme"]["skola"] == 1
    assert data["working_hours_to_first_contact_median"] == pytest.approx(4.0)
    # Figures "as they stand now" (deadlines, plans) depend on the real clock here.
    assert {"action_plans_outstanding", "action_plans_overdue", "contacted_within_deadline",
            "cases_per_week", "by_unit", "by_resolution"} <= set(data)
    assert "first_contact_working_hours" not in data  # per-case values stay internal

    rows = list(csv.reader(io.StringIO(cli(config, "report", *period, "--format",
                                           "csv").stdout)))
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
