"""Subject access by identity: everything about the person wherever it sits, nothing
written by anyone else, a readable document without codes, owner-only files."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from tests.records.clirun import run as cli
from tests.records.crossing import (
    ANNA_FORM_TEXT,
    ANNA_ON_BERTILS,
    ANNA_UNATTACHED,
    BERTIL_ON_ANNAS,
    BERTIL_TRACES,
    cross,
)
from tests.records.people import ANNA_BODY, ANNA_NOTE, two_people


@pytest.fixture
def people(tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock):
    p = two_people(tmp_path, db_url, engine, clock)
    cross(p, engine)
    return p


def export(config: Path, *args: str) -> tuple[dict, str, list[Path]]:
    proc = cli(config, "export", *args)
    json_path, md_path = (Path(p) for p in proc.stdout.strip().splitlines()[-2:])
    return json.loads(json_path.read_text()), md_path.read_text(), [json_path, md_path]


@pytest.mark.parametrize("who", [("--email", "anna@example.se"), ("--phone", "070-123 45 67")])
def test_export_holds_all_of_annas_data_and_none_of_bertils(
    people, tmp_path: Path, who: tuple[str, str]
) -> None:
    data, doc, _ = export(people.config, *who, "--out", str(tmp_path / "out"))
    [case] = data["cases"]
    texts = [m["text"] for m in case["messages"]]
    assert any(ANNA_BODY in (t or "") for t in texts)
    # Bertil's message on her case: only a marker, in the JSON and in the document.
    assert "[another person's message]" in texts
    assert "[en annan persons meddelande]" in doc
    # Her words elsewhere: on his case (without his case) and on no case.
    assert [m["text"].strip() for m in data["messages_on_other_cases"]] == [ANNA_ON_BERTILS]
    assert [m["text"].strip() for m in data["unattached_messages"]] == [ANNA_UNATTACHED]
    # Quarantined mail: the web-form relay with her number, not his mail naming her.
    [q] = data["quarantined_mail"]
    assert ANNA_FORM_TEXT in q["text"]
    # The acknowledgement we sent her.
    assert data["outgoing_email"] and all(
        o["to"] == ["anna@example.se"] for o in data["outgoing_email"]
    )
    # The staff note that names Bertil: kept, his name, address and number redacted.
    notes = [a["note"] for a in case["contact_attempts"]]
    assert ANNA_NOTE in notes and any("Grannen [raderat]" in n for n in notes)
    whole = json.dumps(data, ensure_ascii=False) + doc
    for trace in (*BERTIL_TRACES, BERTIL_ON_ANNAS, people.bertil, "Bertil"):
        assert trace not in whole, trace


def test_the_document_speaks_the_persons_language_without_codes(people, tmp_path: Path) -> None:
    _, sv, _ = export(people.config, "--email", "anna@example.se", "--out", str(tmp_path / "sv"))
    assert "ett samtal eller kontaktförsök antecknades" in sv
    assert "samtal, vi nådde dig" in sv and "ärendet lämnades till klagomålsombudet" in sv
    for code in (
        "contact_logged",
        "escalated",
        "reached",
        "no_answer",
        "acknowledged",
        "slack:U0STAFF1",
        "{",
        "inbound",
        "email_sent",
    ):
        assert code not in sv, code
    _, en, _ = export(
        people.config, "--email", "anna@example.se", "--lang", "en", "--out", str(tmp_path / "en")
    )
    assert "a call or contact attempt was noted" in en and "# Your personal data" in en
    for code in ("contact_logged", "no_answer", "slack:U0STAFF1", "{"):
        assert code not in en, code
    _, nn, _ = export(
        people.config, "--phone", "0701234567", "--lang", "nn", "--out", str(tmp_path / "nn")
    )
    assert "Kontaktopplysningane dine" in nn


def test_export_files_are_owner_only_and_not_in_the_current_folder(
    people, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    _, _, files = export(people.config, "--email", "anna@example.se")
    assert list(cwd.iterdir()) == []
    folder = files[0].parent
    assert folder == tmp_path / "var" / "exports"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files)
    _, _, chosen = export(
        people.config, "--email", "anna@example.se", "--out", str(tmp_path / "new" / "dir")
    )
    assert stat.S_IMODE(chosen[0].parent.stat().st_mode) == 0o700
    assert all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in chosen)
