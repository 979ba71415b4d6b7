"""Registration records for the records system (diarium), one case and a batch."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.actions.registration import CSV_FIELDS
from bot.clock import FixedClock
from tests.records.people import People, two_people
from tests.support.cli import run as cli


@pytest.fixture
def people(tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock) -> People:
    return two_people(tmp_path, db_url, engine, clock)


def test_one_case_as_json_and_csv(people: People) -> None:
    rec = json.loads(cli(people.config, "export-record", people.anna).stdout)
    assert rec["reference"] == people.anna
    assert (rec["sender_name"], rec["sender_email"], rec["sender_phone"]) == (
        "Anna Andersson",
        "anna@example.se",
        "+46701234567",
    )
    assert rec["subject"] == "Hemtjänsten" and rec["direction"] == "inbound"
    assert rec["received_date"] == rec["received_at"][:10]
    docs = rec["documents"]
    assert [d["document_no"] for d in docs] == list(range(1, len(docs) + 1))
    inbound = next(d for d in docs if d["document_direction"] == "inbound")
    assert inbound["external_id"] == "anna-1@example.se" and inbound["document_id"].startswith("M")
    assert any(d["document_direction"] == "outbound" for d in docs)  # our acknowledgement
    assert any(d["document_kind"] == "call_note:reached" for d in docs)
    assert "bertil" not in json.dumps(rec)

    rows = list(
        csv.DictReader(
            io.StringIO(cli(people.config, "export-record", people.anna, "--format", "csv").stdout)
        )
    )
    assert list(rows[0]) == list(CSV_FIELDS)
    assert len(rows) == len(docs) and {r["reference"] for r in rows} == {people.anna}
    assert [r["document_id"] for r in rows] == [d["document_id"] for d in docs]


def test_batch_by_received_date(people: People) -> None:
    out = cli(
        people.config,
        "export-record",
        "--from",
        "2000-01-01",
        "--to",
        "2100-12-31",
        "--format",
        "csv",
    ).stdout
    refs = {r["reference"] for r in csv.DictReader(io.StringIO(out))}
    assert refs == {people.anna, people.bertil}
    as_json = json.loads(cli(people.config, "export-record", "--from", "2100-01-01").stdout)
    assert as_json == []


def test_usage_errors(people: People) -> None:
    assert cli(people.config, "export-record", "KL-2026-999999", check=False).returncode == 3
    assert cli(people.config, "export-record", check=False).returncode == 2
    assert (
        cli(
            people.config, "export-record", people.anna, "--from", "2026-01-01", check=False
        ).returncode
        == 2
    )
