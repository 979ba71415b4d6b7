"""Database engine, sessions and schema migrations.

SQLite is the embedded default (WAL, foreign keys on, a busy timeout so that
several processes can share the file); PostgreSQL is used by URL. The schema
is owned by Alembic migrations in ``bot/store/migrations``; ``upgrade()`` runs them.
Alembic is imported only when there is something to migrate: a process whose
database is already at ``HEAD_REVISION`` does not carry it (~11 MB resident).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import make_transient_to_detached
from sqlalchemy.orm.attributes import instance_dict
from sqlmodel import Session

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest migration's revision (a test checks it is Alembic's head): a database that
# is there needs no migration, and Alembic is not loaded to find that out.
HEAD_REVISION = "0007_web"

T = TypeVar("T")


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    # Deleted and overwritten content is zeroed, not left in free pages: an erasure
    # must take personal data out of the file itself (see bot.actions.privacy).
    cur.execute("PRAGMA secure_delete=ON")
    cur.close()


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for ``url``; SQLite files get their folder created. A failed
    statement's error never quotes its parameters (they are what citizens wrote: a logged
    traceback would carry names, addresses and complaint text)."""
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url, connect_args={"timeout": 30, "check_same_thread": False}, **kwargs
        )
        sa.event.listen(engine, "connect", _sqlite_pragmas)

        # Let SQLAlchemy, not pysqlite, decide when transactions begin, and take the
        # write lock at BEGIN so that read-then-write never deadlocks between processes.
        @sa.event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None

        @sa.event.listens_for(engine, "begin")
        def _begin_immediate(conn: sa.Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (idempotent; safe with several processes)."""
    if revision == "head" and _stored_revision(engine) == HEAD_REVISION:
        return
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            # One instance migrates at a time; the others wait, then find nothing to do.
            conn.exec_driver_sql("SELECT pg_advisory_lock(727001)")
            conn.commit()
        try:
            cfg = alembic_config(engine)
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
            conn.commit()
        finally:
            if engine.dialect.name == "postgresql":
                conn.exec_driver_sql("SELECT pg_advisory_unlock(727001)")
                conn.commit()


def _stored_revision(engine: Engine) -> str | None:
    """The revision the database says it is at (None: no schema yet, or no answer)."""
    try:
        with engine.connect() as conn:
            found = conn.exec_driver_sql("SELECT version_num FROM alembic_version").all()
    except sa.exc.DBAPIError:
        return None
    return str(found[0][0]) if len(found) == 1 else None


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def database_unavailable(exc: BaseException) -> bool:
    """Is ``exc`` the database being unreachable or busy (worth retrying), rather
    than something about the data?"""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError)


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """One transaction: commit on success, roll back on any exception."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def insert_row(session: Session, model: type[T], values: dict[str, Any]) -> T:
    """Insert one row of ``model`` with a Core ``INSERT .. RETURNING id`` and put the
    object in ``session`` as if it had been loaded: what ``session.add(model(...))``
    and a flush would leave, for a fraction of the cost (no field-by-field
    construction, no unit of work). ``values`` holds every column but the id.

    When the bulk writer holds new rows of ``model`` back (:class:`HeldNew` in
    ``session.info``), the id comes from a block reserved for the group and the row
    waits for :func:`insert_held_new`: one ``executemany`` per group, not a round trip
    per row.
    """
    known = _INSERTING.get(model)
    if known is None:
        sa.orm.configure_mappers()  # as building the first object would (new_instance won't)
        table = model.__table__  # type: ignore[attr-defined]
        known = _INSERTING[model] = (
            sa.insert(table).returning(table.c.id),
            sa.inspect(model).class_manager,
        )
    statement, manager = known
    held: HeldNew | None = session.info.get(HELD_NEW)
    if held is not None and model in held.rows:
        row_id = held.next_id(session, model)
        held.rows[model].append({**values, "id": row_id})
        held.added += 1
    else:
        row_id = session.execute(statement, values).scalar_one()
    obj = manager.new_instance()
    loaded = instance_dict(obj)
    loaded.update(values)
    loaded["id"] = row_id
    make_transient_to_detached(obj)  # its values count as loaded, its id as its identity
    session.add(obj)
    return obj


# session.info key: a HeldNew there holds new rows of its models back (bot.runners.bulk).
HELD_NEW = "held_new"


class HeldNew:
    """New rows of some models (complainants, cases) held back for one insert per model.

    Their ids are known before the insert: on SQLite the next after the highest (what
    the insert would give; another writer taking it first makes the insert fail, and
    the bulk writer then redoes the group row by row); on PostgreSQL numbers taken
    from the table's sequence, ``budget`` at a time (the messages left in the group):
    numbers not used are skipped, as after any rollback.
    :func:`insert_held_new` inserts the rows in the order the models were given
    (parents first: a case names its complainant).
    """

    def __init__(self, models: list[type]) -> None:
        self.rows: dict[type, list[dict[str, Any]]] = {m: [] for m in models}
        self.budget = 1  # rows a model may still want in this group (the bulk writer sets it)
        self.added = 0  # rows ever held: only grows (the bulk writer tells a write by it)
        self._ids: dict[type, list[int]] = {m: [] for m in models}
        self._last: dict[type, int] = {}

    def next_id(self, session: Session, model: type) -> int:
        ids = self._ids[model]
        if not ids:
            if model in self._last and session.get_bind().dialect.name != "postgresql":
                ids.append(self._last[model] + 1)  # ours are not in the table yet
            else:
                ids += _reserve_ids(session, model, max(self.budget, 1))
        self._last[model] = ids[0]
        return ids.pop(0)


def _reserve_ids(session: Session, model: type, count: int) -> list[int]:
    table = model.__table__  # type: ignore[attr-defined]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        sequence = sa.func.pg_get_serial_sequence(
            conn.dialect.identifier_preparer.format_table(table), "id"
        )
        found = conn.execute(
            sa.select(sa.func.nextval(sequence)).select_from(
                sa.func.generate_series(1, count).table_valued("n")
            )
        )
        return sorted(int(n) for n in found.scalars())
    highest = conn.execute(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))).scalar_one()
    return list(range(int(highest) + 1, int(highest) + 1 + count))


def insert_held_new(session: Session) -> None:
    """Insert the new rows held back so far (:class:`HeldNew`), parents first."""
    held: HeldNew | None = session.info.get(HELD_NEW)
    if held is None:
        return
    for model, rows in held.rows.items():
        if rows:
            taken, held.rows[model] = rows, []
            session.connection().execute(sa.insert(model.__table__), taken)  # type: ignore[attr-defined]


_INSERTING: dict[type, tuple[Any, Any]] = {}  # model: (its insert, its class manager)


class StatementCounter:
    """Counts the SQL statements ``engine`` sends (a ``before_cursor_execute`` listener).

    ``with StatementCounter(engine) as counted: ...`` then ``counted.count``. Used by
    the benchmarks and by the tests that bound the statements per inbound message.
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.count = 0

    def _seen(self, *_args: Any) -> None:
        self.count += 1

    def __enter__(self) -> StatementCounter:
        sa.event.listen(self.engine, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.engine, "before_cursor_execute", self._seen)
