"""Erasure that leaves nothing: ``purge --person`` and ``purge --closed-before``
reach every copy of a person's data, in the database file itself, the outbox and
chat, and the statistics stay as they were."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.actions.cases import close_case, get_case
from bot.actions.erasure import erase_person
from bot.actions.privacy import Person
from bot.actions.trail import authorize
from bot.clock import FixedClock
from bot.presenters.staff_messages import case_view
from bot.store.db import session_scope
from bot.store.models import ALL_TABLES, Outbox, OutboxStatus, Quarantine, Resolution
from handlers.slack.messages import prompt_blocks
from tests.harness import Bot, email
from tests.records.clirun import run as cli
from tests.records.crossing import (
    ANNA_ON_BERTILS,
    ANNA_UNATTACHED,
    BERTIL_TRACES,
    cross,
)
from tests.records.people import ANNA_NOTE, two_people


@pytest.fixture
def people(tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock):
    return two_people(tmp_path, db_url, engine, clock)


def everything_stored(engine: Engine) -> str:
    """Every value in every table, as text (bytes decoded), one long string."""
    out: list[str] = []
    with engine.connect() as conn:
        for table in ALL_TABLES.sorted_tables:
            for row in conn.execute(sa.select(table)):
                for value in row:
                    if isinstance(value, bytes | memoryview):
                        out.append(bytes(value).decode("utf-8", errors="replace"))
                    elif value is not None:
                        out.append(str(value))
    return "\n".join(out)


def database_files(db_url: str) -> list[Path]:
    path = Path(db_url.split(":///", 1)[1])
    return [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists()]


@pytest.mark.parametrize("who", ["bertil@example.se", "+46 70 765 43 21", "Bertil Berg"])
def test_erasure_reaches_every_copy_and_keeps_the_statistics(
    people, engine: Engine, db_url: str, who: str
) -> None:
    crossing = cross(people, engine)
    cfg = people.config
    cli(cfg, "case", "close", people.bertil, "--resolution", "other_measure")
    before = json.loads(cli(cfg, "report", "--format", "json").stdout)
    stored = everything_stored(engine)
    in_plain = [t for t in BERTIL_TRACES if t not in ("070 765 43 21", "Bussen stannade inte")]
    assert [t for t in in_plain if t not in stored] == [], "the set-up holds the traces"

    dry = json.loads(cli(cfg, "purge", "--person", who).stdout)
    assert dry["mode"] == "dry run" and dry["refs"] == [people.bertil]
    assert "bertil@example.se" in everything_stored(engine)  # a dry run changes nothing

    applied = json.loads(cli(cfg, "purge", "--person", who, "--apply").stdout)
    assert applied["cases"] == 1 and applied["quarantine_entries"] >= 1
    left = everything_stored(engine)
    for trace in BERTIL_TRACES:
        assert trace.lower() not in left.lower(), trace
    if engine.dialect.name == "sqlite":
        engine.dispose()
        raw = b"".join(p.read_bytes() for p in database_files(db_url)).lower()
        for trace in BERTIL_TRACES:
            assert trace.lower().encode() not in raw, f"{trace!r} is still in the file"

    # Quarantine: both of his entries are gone (one unresolved, one resolved), Anna's stays.
    with session_scope(engine) as s:
        kept = {q.id for q in s.execute(sa.select(Quarantine)).scalars()}
    assert not kept & set(crossing.bertil_quarantine_ids)
    assert set(crossing.anna_quarantine_ids) <= kept
    # Anna keeps her case, her own mail, and the note (his name blanked). (Her words on
    # his case went with his case: an anonymised case keeps no text at all.)
    shown = json.loads(cli(cfg, "case", "show", people.anna, "--format", "json").stdout)
    assert shown["complainant"]["email"] == "anna@example.se"
    notes = [a["note"] for a in shown["attempts"]]
    assert ANNA_NOTE in notes and any("[raderat]" in n for n in notes)
    text = everything_stored(engine)
    assert ANNA_UNATTACHED in text and ANNA_ON_BERTILS not in text
    assert json.loads(cli(cfg, "report", "--format", "json").stdout) == before


def test_erased_case_prompt_becomes_a_neutral_stub(people, engine: Engine) -> None:
    cfg = people.config
    cli(cfg, "case", "close", people.bertil, "--resolution", "dialogue")
    people.bot.flush()
    people.bot.console.truncate(0)
    people.bot.console.seek(0)
    with session_scope(engine) as s:  # what `purge --person ... --apply` does, at the test's time
        erase_person(s, Person(email="bertil@example.se"), people.bot.clock(), "cli:test")
    report = people.bot.flush()  # what `run` or `tick` does next
    assert report.sent == 1 and report.failed == 0
    staff = people.bot.staff_text()
    assert "updated message" in staff and people.bertil in staff
    assert "personuppgifterna är raderade" in staff
    for trace in ("Bertil", "070", "Skolskjuts"):
        assert trace not in staff
    with session_scope(engine) as s:
        view = case_view(s, people.bot.cfg, get_case(s, people.bertil), people.bot.clock())
    blocks = json.dumps(prompt_blocks(view, {"lang": "en"}), ensure_ascii=False)
    assert view.anonymised and "personal data erased" in blocks and "Bertil" not in blocks
    assert "actions" not in blocks  # no buttons on an erased case


def test_purge_cancels_the_pending_acknowledgement_of_an_anonymised_case(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock
) -> None:
    people = two_people(tmp_path, db_url, engine, clock)
    bot: Bot = people.bot
    bot.deliver(
        email(
            frm="Cecilia Ek <cecilia@example.se>",
            body="Soporna hämtades inte.",
            msgid="<cecilia-1@example.se>",
            subject="Sophämtning",
        )
    )
    bot.ingest()  # the acknowledgement is queued, not yet sent (say, SMTP was down)
    ref = next(c["ref"] for c in bot.cases() if c["complainant"]["email"] == "cecilia@example.se")
    sent_before = len(bot.sent_emails())
    with session_scope(engine) as s:  # closed before the acknowledgement went out
        close_case(
            s,
            bot.cfg,
            get_case(s, ref),
            authorize(bot.cfg, "slack:U0STAFF1"),
            clock(),
            resolution=Resolution.WITHDRAWN,
        )
    out = json.loads(cli(people.config, "purge", "--closed-before", "2100-01-01", "--apply").stdout)
    assert out["outbox_cancelled"] >= 1 and ref in out["refs"]
    bot.flush()
    assert len(bot.sent_emails()) == sent_before, "nothing goes out after anonymisation"
    assert not any("cecilia" in str(m["To"]) for m in bot.sent_emails())
    with session_scope(engine) as s:
        rows: list[Any] = list(s.exec(sa.select(Outbox)).scalars())  # type: ignore[call-overload]
    assert not any(r.status == OutboxStatus.PENDING.value and "cecilia" in r.payload for r in rows)
    assert "cecilia" not in everything_stored(engine)


def test_erased_mail_delivered_again_is_still_a_duplicate(people, engine: Engine) -> None:
    cli(people.config, "case", "close", people.bertil, "--resolution", "dialogue")
    with session_scope(engine) as s:
        erase_person(s, Person(email="bertil@example.se"), people.bot.clock(), "cli:test")
    people.bot.deliver(
        email(
            frm="Bertil Berg <bertil@example.se>",
            subject="Skolskjuts",
            body="Skolskjutsen kom inte i morse.",
            msgid="<bertil-1@example.se>",
        )
    )
    [outcome] = people.bot.ingest()
    assert outcome.discarded and "duplicate" in outcome.discarded
    assert "bertil-1@example.se" not in everything_stored(engine)
