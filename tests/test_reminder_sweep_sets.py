"""The reminder sweep works on chunks of due cases in a few statements each, and ends
in the same state as handling the same cases one transaction each."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.config import Secrets
from bot.domain.calendar import WorkingCalendar
from bot.domain.ladder import LadderPolicy
from bot.store import db
from bot.wiring import Runtime
from handlers.sweeps import reminders
from tests.conftest import make_config
from tests.support.sweep_cases import fill_cases

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)  # a Tuesday, 10:00 in Stockholm

TABLES = {
    "case": "id, ref, status, reminders_sent, last_reminder_at, next_check_at, escalated_at,"
    " number_request_offered_at, updated_at",
    "outbox": "id, case_id, kind, dedupe_key, payload, status, next_try_at, created_at",
    "audit": "id, case_id, actor, action, detail, at",
    "escalation": "id, case_id, reason, by, note, at",
}


def runtime(tmp_path: Path, engine: Engine) -> Runtime:
    url = engine.url.render_as_string(hide_password=False)
    cfg = make_config(tmp_path, url)
    return Runtime(cfg, clock=FixedClock(NOW), secrets=Secrets(), engine=engine)


def _plain(value: Any) -> Any:
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d\d-\d\d[ T][\d:.+]+", value):
        value = datetime.fromisoformat(value)  # SQLite hands timestamps back as text
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC).isoformat()
    if isinstance(value, str):  # prompt refreshes carry a random suffix
        return re.sub(r"(prompt-refresh:\d+):[0-9a-f]{32}", r"\1:*", value)
    return value


def state(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: [
                tuple(_plain(v) for v in row)
                for row in conn.exec_driver_sql(_select(table, columns))
            ]
            for table, columns in TABLES.items()
        }


def _select(table: str, columns: str) -> str:
    quoted = columns.replace("by,", '"by",')
    return f'SELECT {quoted} FROM "{table}" ORDER BY id'  # noqa: S608 - our own names


def count_statements(engine: Engine) -> list[int]:
    counter = [0]

    def count(*_args: Any) -> None:
        counter[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    return counter


def test_a_chunk_costs_a_few_statements_whatever_its_size(tmp_path: Path, engine: Engine) -> None:
    fill_cases(engine, NOW, open_cases=3_000, due=1_200)
    rt = runtime(tmp_path, engine)
    statements = count_statements(engine)

    acted = reminders.run(rt)

    assert acted == 1_200
    # 500 + 500 + 200: claim, two IN reads, outbox, audit, case updates, commit each
    assert statements[0] <= 3 * 8
    with engine.connect() as conn:
        sent = conn.exec_driver_sql(
            'SELECT count(*) FROM "case" WHERE reminders_sent = 1'
        ).scalar_one()
        queued = conn.execute(
            sa.text("SELECT count(*) FROM outbox WHERE dedupe_key LIKE :key"), {"key": "reminder:%"}
        ).scalar_one()
    assert sent == queued == 1_200
    statements[0] = 0
    assert reminders.run(rt) == 0  # nothing due any more: one query
    assert statements[0] <= 2


def test_end_state_is_the_same_as_case_by_case(tmp_path: Path, engine: Engine) -> None:
    fill_cases(engine, NOW, open_cases=1_500, due=700, varied=True)
    reference = db.make_engine(f"sqlite:///{tmp_path}/reference.db")
    db.upgrade(reference)
    fill_cases(reference, NOW, open_cases=1_500, due=700, varied=True)
    assert state(engine) == state(reference)

    acted = reminders.run(runtime(tmp_path / "a", engine))

    rt = runtime(tmp_path / "b", reference)
    ids = _due_ids(reference)
    calendar = WorkingCalendar.from_policy(rt.cfg.policy)
    policy = LadderPolicy.from_policy(rt.cfg.policy)
    one_by_one = reminders._one_by_one(rt, ids, NOW, calendar, policy, set())
    after = state(engine)
    assert acted == one_by_one > 700
    assert after == state(reference)
    actions = {row[3] for row in after["audit"]}
    assert {"reminder", "escalated", "number_request_offered"} <= actions
    reference.dispose()


def _due_ids(engine: Engine) -> list[int]:
    """The due cases in the order a sweep takes them."""
    from sqlmodel import Session, col, select

    from bot.store.models import Case

    with Session(engine) as session:
        q = select(Case.id).where(col(Case.next_check_at) <= NOW)
        return [
            int(i or 0) for i in session.exec(q.order_by(col(Case.next_check_at), col(Case.id)))
        ]


@pytest.mark.parametrize("chunk", [1, 7])
def test_chunk_size_does_not_change_the_outcome(
    tmp_path: Path, engine: Engine, chunk: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    fill_cases(engine, NOW, open_cases=100, due=20, varied=True)
    monkeypatch.setattr(reminders, "CHUNK", chunk)
    rt = runtime(tmp_path, engine)
    assert reminders.run(rt) >= 20
    assert reminders.run(rt) == 0
