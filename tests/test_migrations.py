"""The migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from bot.store.db import alembic_config, current_revision
from bot.store.models import ALL_TABLES


def test_one_head_and_the_database_is_at_it(engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(engine))
    assert script.get_heads() == [current_revision(engine)]


def test_models_and_migrations_agree(engine: Engine) -> None:
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": False})
        diffs = compare_metadata(ctx, ALL_TABLES)
    assert diffs == []
