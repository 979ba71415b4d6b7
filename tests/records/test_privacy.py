"""Subject access, retention purge and erasure, through the command line."""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.actions.privacy import Person
from bot.actions.subject_access import subject_access
from bot.clock import FixedClock
from bot.store.db import session_scope
from tests.records.people import (
    ANNA_BODY,
    ANNA_NOTE,
    BERTIL_BODY,
    BERTIL_NOTE,
    People,
    two_people,
)
from tests.support.cli import run as cli

BERTIL_TRACES = (
    "Bertil",
    "bertil@example.se",
    "+46707654321",
    "070-765 43 21",
    "Skolskjuts",
    BERTIL_NOTE,
)


def export(config: Path, out: Path, *who: str) -> tuple[dict[str, Any], str]:
    proc = cli(config, "export", *who, "--out", str(out))
    json_path, md_path = proc.stdout.strip().splitlines()[-2:]
    return json.loads(Path(json_path).read_text()), Path(md_path).read_text()


@pytest.fixture
def people(tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock) -> People:
    return two_people(tmp_path, db_url, engine, clock)


def test_export_finds_everything_about_the_person_and_nothing_about_anyone_else(
    people: People, tmp_path: Path
) -> None:
    data, doc = export(people.config, tmp_path / "anna", "--email", "Anna@Example.se")
    assert [c["name"] for c in data["complainant_records"]] == ["Anna Andersson"]
    [case] = data["cases"]
    assert case["ref"] == people.anna
    inbound = [m for m in case["messages"] if m["direction"] == "inbound"]
    outbound = [m for m in case["messages"] if m["direction"] == "outbound"]
    assert inbound[0]["text"].strip() == ANNA_BODY and "anna-1@example.se" in inbound[0]["raw"]
    assert outbound, "the acknowledgement we sent is part of what we hold"
    assert case["contact_attempts"][0]["note"] == ANNA_NOTE
    assert case["escalations"][0]["note"] == "Anna vill prata med chefen."
    assert case["action_plans"][0]["steps"] == "Nytt schema för Anna."
    assert {"opened", "contact_logged", "escalated"} <= {a["action"] for a in case["audit"]}
    for text in (ANNA_NOTE, people.anna, "Nytt schema för Anna.", "hemtjänsten kom inte"):
        assert text in doc
    whole = json.dumps(data, ensure_ascii=False) + doc
    for trace in (*BERTIL_TRACES, people.bertil):
        assert trace not in whole

    by_phone, _ = export(people.config, tmp_path / "anna-phone", "--phone", "070-123 45 67")
    assert [c["ref"] for c in by_phone["cases"]] == [people.anna]


def test_export_is_quick_and_answers_also_when_nothing_is_held(
    people: People, engine: Engine, tmp_path: Path
) -> None:
    started = time.monotonic()
    with session_scope(engine) as s:
        data = subject_access(
            s, people.bot.cfg, Person(email="anna@example.se"), people.bot.clock()
        )
    assert time.monotonic() - started < 2 and data["cases"]
    nobody, doc = export(people.config, tmp_path / "x", "--email", "nobody@example.se")
    assert nobody["cases"] == [] and "Inga kontaktuppgifter" in doc
    assert (
        cli(
            people.config, "export", "--email", "a@b.se", "--phone", "0701234567", check=False
        ).returncode
        == 2
    )
    assert cli(people.config, "export", "--phone", "not a number", check=False).returncode == 2


def test_purge_dry_run_then_apply_keeps_the_statistics(
    people: People, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = people.config
    cli(cfg, "case", "close", people.anna, "--resolution", "dialogue")
    before = json.loads(cli(cfg, "report", "--format", "json").stdout)

    dry = cli(cfg, "purge", "--closed-before", "2100-01-01")
    counts = json.loads(dry.stdout)
    assert counts["mode"] == "dry run" and counts["cases"] == 1 and counts["refs"] == [people.anna]
    assert counts["messages"] >= 2 and counts["contact_attempts"] == 1
    assert counts["complainants_deleted"] == 1
    assert "nothing changed" in dry.stderr
    still, _ = export(cfg, tmp_path / "a1", "--email", "anna@example.se")
    assert still["cases"][0]["contact_attempts"][0]["note"] == ANNA_NOTE

    caplog.clear()
    with caplog.at_level(logging.DEBUG):
        applied = cli(cfg, "purge", "--closed-before", "2100-01-01", "--apply")
    assert {k: v for k, v in json.loads(applied.stdout).items() if k != "mode"} == {
        k: v for k, v in counts.items() if k != "mode"
    }
    logged = caplog.text
    assert "purge (retention): 1 cases" in logged  # logged as counts
    for personal in ("anna", "Andersson", "hemtjänst", ANNA_NOTE):
        assert personal not in logged

    gone, _ = export(cfg, tmp_path / "a2", "--email", "anna@example.se")
    assert gone["complainant_records"] == [] and gone["cases"] == []
    shown = json.loads(cli(cfg, "case", "show", people.anna, "--format", "json").stdout)
    assert shown["complainant"] == {
        "name": None,
        "email": None,
        "phone": None,
        "representative_of": None,
    }
    assert shown["subject"] == "" and shown["summary"] == ""
    assert shown["attempts"][0]["note"] == "" and shown["attempts"][0]["outcome"] == "reached"
    assert all(m["subject"] == "" for m in shown["messages"])
    assert shown["resolution"] == "dialogue" and shown["closed_at"] is not None
    after = json.loads(cli(cfg, "report", "--format", "json").stdout)
    assert after == before

    bertil, _ = export(cfg, tmp_path / "b", "--email", "bertil@example.se")
    assert bertil["cases"][0]["messages"][0]["text"].strip() == BERTIL_BODY
    again = json.loads(cli(cfg, "purge", "--closed-before", "2100-01-01", "--apply").stdout)
    assert again["cases"] == 0


def test_erasure_of_one_person_on_request(people: People, tmp_path: Path) -> None:
    cfg = people.config
    refused = cli(cfg, "purge", "--person", "bertil@example.se", "--apply", check=False)
    assert refused.returncode == 4 and people.bertil in refused.stderr
    cli(cfg, "case", "close", people.bertil, "--resolution", "other_measure")
    dry = json.loads(cli(cfg, "purge", "--person", "bertil@example.se").stdout)
    assert dry["cases"] == 1 and dry["refs"] == [people.bertil]
    cli(cfg, "purge", "--person", "+46 70 765 43 21", "--apply")
    nothing, _ = export(cfg, tmp_path / "b", "--email", "bertil@example.se")
    assert nothing["cases"] == [] and nothing["complainant_records"] == []
    anna, _ = export(cfg, tmp_path / "a", "--email", "anna@example.se")
    assert anna["cases"][0]["contact_attempts"][0]["note"] == ANNA_NOTE  # untouched
    assert cli(cfg, "purge", check=False).returncode == 2  # no cut-off, no retention_days
