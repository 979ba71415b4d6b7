"""Migration 0005_identity on a database with data from before it: every case gets the
number it was opened with, Message-IDs stay listed as they were, inbound email is keyed
by Message-ID and sender (so a redelivery is still a duplicate), threading still works."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.config import Config
from bot.store import db
from tests.conftest import FIXTURES, PG_URL, make_config
from tests.harness import Bot

LEGACY_ROWS = """
INSERT INTO complainant (id, name, email, phone) VALUES
  (1, 'Anna Andersson', 'anna.andersson@example.se', '+46701234567');
INSERT INTO "case" (id, ref, source, type, status, received_at, created_at, updated_at,
  complainant_id, language, subject, summary, historical, serious, reopened_count,
  reminders_sent) VALUES
  (1, 'KL-2026-000001', 'email', 'complaint', 'acknowledged', '2026-11-23 08:00:00',
   '2026-11-23 08:00:00', '2026-11-23 08:00:00', 1, 'sv', 'Hemtjänsten', '', false, false,
   0, 0);
INSERT INTO message (id, case_id, direction, channel, external_id, content_hash, sender,
  subject, body_text, classification, at, attachments) VALUES
  (1, 1, 'inbound', 'email', 'CAF1234abcd@mail.example.se', 'h1',
   'anna.andersson@example.se', 'Klagomål', 'text', 'complaint', '2026-11-23 08:00:00', '[]'),
  (2, 1, 'outbound', 'email', 'ack.KL-2026-000001@example.org', '', NULL,
   'Tack', 'text', 'ack', '2026-11-23 08:00:01', '[]'),
  (3, 1, 'inbound', 'slack', 'C0INTAKE:1700000000.000100', 'h3', 'U0CITIZEN',
   '', 'text', 'reply', '2026-11-23 08:00:02', '[]');
"""


@pytest.fixture
def legacy_url(tmp_path: Path) -> Iterator[str]:
    """A database of its own, migrated to 0004 only."""
    if PG_URL:
        schema = f"cbmig_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = sa.engine.make_url(PG_URL).set(query={"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
    else:
        yield f"sqlite:///{tmp_path / 'legacy.db'}"


@pytest.fixture
def legacy(legacy_url: str) -> Iterator[Engine]:
    engine = db.make_engine(legacy_url)
    db.upgrade(engine, "0004")
    with engine.begin() as conn:
        for statement in LEGACY_ROWS.split(";"):
            if statement.strip():
                conn.exec_driver_sql(statement)
        if engine.dialect.name == "postgresql":
            for table in ("complainant", "case", "message"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), 100)"
                )
    db.upgrade(engine)
    yield engine
    engine.dispose()


def test_upgrade_keeps_what_was_there_and_adds_the_case_number(
    legacy: Engine, legacy_url: str, tmp_path: Path, clock: FixedClock
) -> None:
    cfg: Config = make_config(tmp_path, legacy_url)
    bot = Bot(cfg, legacy, clock, tmp_path)
    case = bot.case("KL-2026-000001")
    assert case["complainant"]["phone"] == "+46701234567"  # backfilled onto the case
    assert case["message_ids"] == [
        "CAF1234abcd@mail.example.se",
        "ack.KL-2026-000001@example.org",
        "C0INTAKE:1700000000.000100",
    ]

    # The same complaint delivered again is still a duplicate under the new key.
    bot.deliver((FIXTURES / "eml" / "sv_complaint_phone.eml").read_bytes())
    [again] = bot.run_once()
    assert "duplicate" in (again.discarded or "")

    # Her reply to the old acknowledgement still threads onto the case.
    reply = (
        (FIXTURES / "eml" / "identity_followup_new_number.eml")
        .read_bytes()
        .replace(
            b"Subject: Re: [KL-2026-000001]",
            b"In-Reply-To: <ack.KL-2026-000001@example.org>\r\nSubject: Re:",
        )
    )
    bot.deliver(reply)
    [joined] = bot.run_once()
    assert joined.case == "KL-2026-000001" and not joined.new_case
    assert bot.case("KL-2026-000001")["complainant"]["phone"] == "+46739876543"
