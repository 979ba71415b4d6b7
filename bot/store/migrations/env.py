"""Alembic environment: runs on the connection handed over by bot.store.db.upgrade."""

from alembic import context

from bot.store.models import ALL_TABLES

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only via bot.store.db
    raise RuntimeError("run migrations through `complaint-bot db upgrade`")

context.configure(
    connection=connection,
    target_metadata=ALL_TABLES,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
