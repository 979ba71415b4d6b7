"""Shared fixtures. The whole suite runs on SQLite, and on PostgreSQL when
``CB_TEST_DATABASE_URL`` is set (``make test`` does both).

PostgreSQL: each test run gets its own schema in the given database, created
once and emptied between tests; SQLite: each test gets a copy of a migrated
template file.
"""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.config import Config, parse_config
from bot.store import db
from bot.store.models import ALL_TABLES

PG_URL = os.environ.get("CB_TEST_DATABASE_URL", "")

# Real servers for the tests: Dovecot (IMAP), aiosmtpd (SMTP), a fake Slack Web API.
pytest_plugins = [
    "tests.support.dovecot",
    "tests.support.smtp",
    "tests.support.fake_slack",
    "tests.support.fake_teams",
]


def pytest_report_header(config: pytest.Config) -> str:
    return f"database: {'PostgreSQL ' + PG_URL if PG_URL else 'SQLite'}"


PROOF = Path(__file__).parent / "proof"


def _touches_a_database(item: pytest.Item) -> bool:
    """The test asks for a database (``db_url`` and what builds on it) or its module
    reads the PostgreSQL URL itself."""
    if "db_url" in getattr(item, "fixturenames", ()):
        return True
    module = getattr(item, "module", None)
    return module is not None and "PG_URL" in vars(module)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The proof tests (real processes, crashes, outages) are ``slow``: ``make check``
    leaves them out. Slow tests go first, so that spread over pytest-xdist workers the
    long ones start early instead of finishing last, alone.

    The PostgreSQL pass runs only the tests that touch a database: the others (pure
    rules, parsing, words, cards) give the same answer whatever the database, and the
    SQLite pass has run them already."""
    if PG_URL:
        other = [item for item in items if not _touches_a_database(item)]
        if other:
            config.hook.pytest_deselected(items=other)
            items[:] = [item for item in items if _touches_a_database(item)]
    for item in items:
        if PROOF in item.path.parents:
            item.add_marker(pytest.mark.slow)
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


@pytest.fixture(scope="session")
def _db_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    if PG_URL:
        schema = f"cbtest_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(PG_URL)
        with admin.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        url = sa.engine.make_url(PG_URL).set(query={"options": f"-csearch_path={schema}"})
        engine = db.make_engine(url.render_as_string(hide_password=False))
        db.upgrade(engine)
        engine.dispose()
        yield {"kind": "pg", "url": url.render_as_string(hide_password=False), "schema": schema}
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()
    else:
        path = tmp_path_factory.mktemp("dbtemplate") / "template.db"
        engine = db.make_engine(f"sqlite:///{path}")
        db.upgrade(engine)
        engine.dispose()
        yield {"kind": "sqlite", "path": path}


@pytest.fixture
def db_url(_db_template: dict[str, Any], tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database for this test."""
    if _db_template["kind"] == "pg":
        url = _db_template["url"]
        engine = sa.create_engine(url)
        tables = ", ".join(f'"{t.name}"' for t in ALL_TABLES.sorted_tables)
        for attempt in range(5):
            try:
                with engine.begin() as conn:
                    conn.exec_driver_sql(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
                break
            except sa.exc.OperationalError:
                # A thread the previous test left (a Slack listener finishing its query)
                # can still hold a lock here; PostgreSQL breaks the deadlock by failing
                # the TRUNCATE, which goes through once that query is done.
                if attempt == 4:
                    raise
                time.sleep(0.2 * (attempt + 1))
        engine.dispose()
        yield url
    else:
        target = tmp_path / "test.db"
        shutil.copyfile(_db_template["path"], target)
        yield f"sqlite:///{target}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = db.make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> FixedClock:
    # Tuesday 24 November 2026, 09:00 in Stockholm
    return FixedClock(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))


def make_config(tmp_path: Path, db_url: str, **sections: dict[str, Any]) -> Config:
    """An embedded-default configuration rooted in ``tmp_path``, with overrides per section."""
    raw: dict[str, Any] = {
        "database": {"url": db_url},
        "mailbox": {"kind": "maildir", "path": str(tmp_path / "inbox")},
        "outgoing": {
            "kind": "folder",
            "path": str(tmp_path / "outbox"),
            "from_address": "Exempel kommun <synpunkter@example.org>",
        },
        "chat": {
            "kind": "console",
            "staff_users": ["U0STAFF1", "U0STAFF2"],
            "ombudsman_users": ["U0OMBUD"],
            "triage_channel": "C0TRIAGE",
            "intake_channels": ["C0INTAKE"],
        },
        "organisation": {"phone": "+46 8 123 456 00"},
    }
    for key, value in sections.items():
        raw[key] = {**raw.get(key, {}), **value}
    return parse_config(raw, source=str(tmp_path / "config.toml"), base_dir=str(tmp_path))


@pytest.fixture
def cfg(tmp_path: Path, db_url: str) -> Config:
    return make_config(tmp_path, db_url)


FIXTURES = Path(__file__).parent / "fixtures"
EXAMPLES = Path(__file__).parent.parent / "examples" / "inbox"
