"""Who may act, the audit trail and the outbox queue: what every action writes.

The bottom of :mod:`bot.actions`: every other action module may import it, it
imports none of them.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.config import Config
from bot.domain.actors import (
    CHAT_ACTOR_PREFIXES,
    CLI_ACTOR_PREFIX,
    SYSTEM_ID,
    slack_actor,
    slack_user,
    teams_actor,
)
from bot.errors import NotAllowed
from bot.store.db import insert_held_new
from bot.store.models import Audit, Case, Message, Outbox, OutboxKind

__all__ = [
    "ABOUT_OTHERS",
    "CHAT_ACTOR_PREFIXES",
    "CLI_ACTOR_PREFIX",
    "OTHER_SENDER",
    "SYSTEM_ACTOR",
    "Actor",
    "audit",
    "audit_many",
    "audit_row",
    "authorize",
    "chat_actor",
    "enqueue",
    "enqueue_many",
    "insert_held",
    "insert_message",
    "is_ombudsman",
    "outbox_row",
    "slack_actor",
    "slack_user",
    "teams_actor",
    "unique_key",
]

# The classification of a message kept on a case that came from someone other than its
# complainant and staff (a stranger's reply in an intake thread): recorded, acts on nothing.
OTHER_SENDER = "other_sender"
# Audit entries on a case about someone else (another person's case that mentions this one,
# a stranger's reply): kept for staff, left out of the complainant's subject-access export.
ABOUT_OTHERS = frozenset({"mentioned_by_case", "other_sender_message"})


# --- who may act -----------------------------------------------------------


def is_ombudsman(cfg: Config, actor: str) -> bool:
    """The ombudsman (or the operator's shell): more than staff, see handlers/slack."""
    return actor.startswith(CLI_ACTOR_PREFIX) or slack_user(actor) in cfg.chat.ombudsman_users


def chat_actor(cfg: Config, user_id: str) -> str:
    """The actor for ``user_id`` as the configured chat names people: ``teams:…`` under
    ``[chat] kind = "teams"``, else ``slack:…`` (someone picked in a form, such as an
    action plan's owner, is a person of the same chat as whoever picked them)."""
    return teams_actor(user_id) if cfg.chat.kind == "teams" else slack_actor(user_id)


_AUTHORISED = object()


class Actor(str):
    """Someone :func:`authorize` let act on cases: checked once, per press or command.

    Still the string the audit trail stores (``slack:U…``, ``cli:…``, ``system``), so
    it is written and compared as before; but only :func:`authorize` (and
    :data:`SYSTEM_ACTOR`) make one, so an action that takes an ``Actor`` does not
    check again, and the type checker refuses a bare string in its place.
    """

    __slots__ = ()

    def __new__(cls, value: str, *, key: object = None) -> Actor:
        if key is not _AUTHORISED:
            raise TypeError("an Actor comes from authorize(), not from a string")
        return super().__new__(cls, value)

    def __reduce__(self) -> tuple[type[str], tuple[str]]:
        return (str, (str(self),))  # a copy is the plain string (it cannot be re-made)


SYSTEM_ACTOR = Actor(SYSTEM_ID, key=_AUTHORISED)


def authorize(cfg: Config, actor: str) -> Actor:
    """``actor`` as an :class:`Actor`, or :class:`NotAllowed` if they may not act on cases.

    The command line is the operator's own shell and is trusted; in Slack only
    ``staff_users`` and ``ombudsman_users`` may act. Callers audit a refusal.
    """
    if isinstance(actor, Actor):
        return actor
    if actor.startswith(CLI_ACTOR_PREFIX) or actor == SYSTEM_ID:
        return Actor(actor, key=_AUTHORISED)
    user = slack_user(actor)
    if user is not None and (user in cfg.chat.staff_users or user in cfg.chat.ombudsman_users):
        return Actor(actor, key=_AUTHORISED)
    raise NotAllowed("you are not on the staff list for complaints")


# --- audit and outbox ------------------------------------------------------


# Built once: building a statement per call costs more than sending it.
_AUDIT_INSERT = sa.insert(Audit.__table__)  # type: ignore[attr-defined]
# session.info key: a list there collects audit rows for one insert (bot.runners.bulk).
AUDIT_LATER = "audit_later"


def audit(
    session: Session, case: Case | None, actor: str, action: str, now: datetime, **detail: Any
) -> None:
    """Append one entry to the audit trail. Detail must hold no complaint text.

    A Core insert, at once: building an ORM object per entry cost the hot path more
    than the statement."""
    row = audit_row(case, actor, action, now, **detail)
    later = session.info.get(AUDIT_LATER)
    if later is not None:  # the bulk writer inserts its group's entries at once, in order
        later.append(row)
    else:
        session.execute(_AUDIT_INSERT, row)


def audit_row(
    case: Case | None, actor: str, action: str, now: datetime, **detail: Any
) -> dict[str, Any]:
    """The values of one audit entry, for :func:`audit_many`."""
    return {
        "case_id": case.id if case else None,
        "at": now,
        "actor": actor,
        "action": action,
        "detail": json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True),
    }


def audit_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """:func:`audit` for many entries in one statement (``executemany``), in order."""
    if rows:
        session.execute(_AUDIT_INSERT, rows)


# --- held back: the bulk writer's message rows and outbox entries -------------

_MESSAGE_INSERT = sa.insert(Message.__table__)  # type: ignore[attr-defined]
# session.info keys: a HeldRows there holds message rows or outbox entries back
# (bot.runners.bulk), inserted at once, in order, before the next statement that is not
# an insert (insert_held).
MESSAGES_LATER = "messages_later"
OUTBOX_LATER = "outbox_later"
# What a single insert fills in for a column left out; rows inserted together must all
# name the same columns.
_MESSAGE_DEFAULTS = {
    c.name: c.default.arg if c.default is not None else None
    for c in Message.__table__.c  # type: ignore[attr-defined]
    if c.name != "id" and (c.default is None or c.default.is_scalar)
}


class HeldRows:
    """Rows held back for one ``executemany``, in order; ``added`` counts every row ever
    held (it only grows: the bulk writer tells from it whether a message wrote)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.added = 0
        # message rows: the outbox key each goes with (None: none); outbox: keys found
        # already queued, whose rows went in without them.
        self.with_entry: list[str | None] = []
        self.skipped: set[str] = set()

    def hold(self, row: dict[str, Any], with_entry: str | None = None) -> None:
        self.rows.append(row)
        self.with_entry.append(with_entry)
        self.added += 1

    def take(self) -> tuple[list[dict[str, Any]], list[str | None]]:
        taken = self.rows, self.with_entry
        self.rows, self.with_entry = [], []
        return taken


def insert_message(session: Session, row: dict[str, Any], with_entry: str | None = None) -> None:
    """Insert a message row (a Core insert: no ORM object to build), or hold it back for
    the bulk writer. ``with_entry``: the outbox key of the email this row records (held
    back too): the row goes in only if that entry does."""
    held: HeldRows | None = session.info.get(MESSAGES_LATER)
    if held is None:
        session.execute(_MESSAGE_INSERT, row)
    else:
        full = row if len(row) == len(_MESSAGE_DEFAULTS) else {**_MESSAGE_DEFAULTS, **row}
        held.hold(full, with_entry)


def insert_held(session: Session) -> None:
    """Insert what was held back so far, in order: the outbox entries in one statement,
    then the message rows in one (a row whose entry was already queued is left out, as
    :func:`enqueue` returning False would have left it). New complainants and cases held
    back (:class:`bot.store.db.HeldNew`) go in first: the others name them."""
    insert_held_new(session)
    outbox: HeldRows | None = session.info.get(OUTBOX_LATER)
    if outbox is not None and outbox.rows:
        rows, _ = outbox.take()
        statement = _OUTBOX_KEYS[session.get_bind().dialect.name == "postgresql"]
        inserted = set(session.connection().execute(statement, rows).scalars())
        seen: set[str] = set()
        for row in rows:  # a key twice in one batch: the second is the one skipped
            key = row["dedupe_key"]
            if key not in inserted or key in seen:
                outbox.skipped.add(key)
            seen.add(key)
    messages: HeldRows | None = session.info.get(MESSAGES_LATER)
    if messages is not None and messages.rows:
        rows, entries = messages.take()
        if outbox is not None and outbox.skipped:
            rows = [r for r, e in zip(rows, entries, strict=True) if e not in outbox.skipped]
        if rows:
            session.connection().execute(_MESSAGE_INSERT, rows)


# --- the outbox ------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    kind: OutboxKind,
    dedupe_key: str,
    payload: dict[str, Any],
    case: Case | None,
    now: datetime,
    not_before: datetime | None = None,
) -> bool:
    """Queue a side effect once: a second call with the same ``dedupe_key`` does nothing.

    Returns True when the entry was new. In the bulk writer the entry is held back and
    True means only "held": a row that must go only with it says so
    (:func:`insert_message` ``with_entry``).
    """
    row = outbox_row(kind, dedupe_key, payload, case, now, not_before)
    held: HeldRows | None = session.info.get(OUTBOX_LATER)
    if held is not None:
        held.hold(row)
        return True
    returning = _OUTBOX_RETURNING[session.get_bind().dialect.name == "postgresql"]
    # A row back means it was inserted (rowcount is -1 on psycopg).
    return session.execute(returning, row).first() is not None


def outbox_row(
    kind: OutboxKind,
    dedupe_key: str,
    payload: dict[str, Any],
    case: Case | None,
    now: datetime,
    not_before: datetime | None = None,
) -> dict[str, Any]:
    """The values of one outbox entry, for :func:`enqueue_many`."""
    return {
        "kind": kind.value,
        "case_id": case.id if case else None,
        "dedupe_key": dedupe_key,
        "payload": json.dumps(payload, ensure_ascii=False, sort_keys=True),
        "status": "pending",
        "attempts": 0,
        "next_try_at": not_before or now,
        "created_at": now,
    }


def enqueue_many(session: Session, rows: list[dict[str, Any]]) -> None:
    """:func:`enqueue` for many entries in one statement (``executemany``), in order;
    an entry whose ``dedupe_key`` is already queued is skipped, as there."""
    if rows:
        session.execute(_outbox_insert(session), rows)


def _outbox_insert(session: Session) -> Any:
    return _OUTBOX_INSERT[session.get_bind().dialect.name == "postgresql"]


def _outbox_statements(returning: str | None) -> dict[bool, Any]:
    """The outbox insert that skips a queued ``dedupe_key``, for SQLite (False) and
    PostgreSQL (True), built once; ``returning``: the column it returns."""
    table = Outbox.__table__  # type: ignore[attr-defined]
    found: dict[bool, Any] = {}
    for pg, insert in ((False, sqlite_insert), (True, pg_insert)):
        stmt = insert(table).on_conflict_do_nothing(index_elements=["dedupe_key"])
        found[pg] = stmt.returning(table.c[returning]) if returning else stmt
    return found


_OUTBOX_INSERT = _outbox_statements(returning=None)
_OUTBOX_RETURNING = _outbox_statements(returning="id")
_OUTBOX_KEYS = _outbox_statements(returning="dedupe_key")  # many rows: which went in


def unique_key(prefix: str) -> str:
    return f"{prefix}:{uuid.uuid4().hex}"
