"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.store import db
from bot.store.db import alembic_config, current_revision
from bot.store.models import ALL_TABLES


def test_one_head_and_the_database_is_at_it(engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_heads() == [current_revision(engine)]


def test_the_head_the_runtime_compares_with_is_alembics(engine: Engine) -> None:
    # A database at HEAD_REVISION is not migrated (and Alembic not loaded): a new
    # migration that forgot to move HEAD_REVISION would never run.
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_heads() == [db.HEAD_REVISION]


def test_an_older_database_is_still_migrated_to_the_head(engine: Engine) -> None:
    with engine.connect() as conn:
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0006_reviewlane")
        conn.commit()
    assert current_revision(engine) == "0006_reviewlane"
    db.upgrade(engine)
    assert current_revision(engine) == db.HEAD_REVISION
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM web_submission").scalar() == 0


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, ALL_TABLES)
    assert diffs == []
