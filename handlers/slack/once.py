"""Every Slack action acts once per payload, however often it is delivered.

Bolt refuses requests whose signature is older than five minutes, but within
that window a captured signed request can be sent again (and a flaky network
can make Slack or a proxy deliver one twice). So each payload gets a key:

* a modal submission: its view id and view hash (a modal is submitted once;
  ``hash`` changes when the view is updated);
* a button or menu: who pressed, the ``action_id`` and ``block_id``, the
  ``action_ts`` Slack stamps on each press, where it was pressed (message ts
  or view id) and the value chosen;
* a slash command: its ``trigger_id`` (one per invocation).

The key goes into ``processed_event`` (prefixed, so it never meets an Events
API ``event_id``) in the same transaction as the action itself: either both
are committed or neither is, so a replay after a crash also acts exactly once.
A replay raises :class:`Replayed`, which :func:`handlers.slack.errors.after_ack`
swallows: the request was already acknowledged, and the user sees nothing new.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.store.db import session_scope
from bot.store.models import ProcessedEvent
from handlers.slack.common import Body

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


class Replayed(Exception):
    """This payload was handled before: acknowledge it and do nothing."""


def _digest(kind: str, parts: tuple[Any, ...]) -> str:
    joined = "\x1f".join("" if p is None else str(p) for p in parts)
    return f"slack-{kind}:{hashlib.sha256(joined.encode('utf-8')).hexdigest()}"


def payload_key(body: Body) -> str | None:
    """The key that identifies this interaction payload (pure); None when the payload
    has nothing that identifies it (then it is not deduplicated)."""
    kind = body.get("type")
    if kind == "view_submission":
        view = body.get("view")
        if not isinstance(view, Mapping) or not view.get("id"):
            return None
        return _digest("view", (view.get("id"), view.get("hash")))
    if kind == "block_actions":
        actions = body.get("actions") or [{}]
        action = actions[0] if isinstance(actions[0], Mapping) else {}
        if not action.get("action_ts"):
            return None
        user = body.get("user")
        container = body.get("container")
        container = container if isinstance(container, Mapping) else {}
        chosen = action.get("selected_option")
        value = chosen.get("value") if isinstance(chosen, Mapping) else action.get("value")
        return _digest(
            "action",
            (
                user.get("id") if isinstance(user, Mapping) else user,
                action.get("action_id"),
                action.get("block_id"),
                action.get("action_ts"),
                container.get("channel_id"),
                container.get("message_ts") or container.get("view_id"),
                value,
            ),
        )
    if body.get("command") and body.get("trigger_id"):
        return _digest("command", (body.get("command"), body.get("trigger_id")))
    return None


def first_time(session: Session, key: str, now: datetime) -> bool:
    """Record ``key`` in this transaction; False if it was recorded before.

    On PostgreSQL a concurrent insert of the same key waits for the first
    transaction and then finds it; SQLite transactions do not overlap at all.
    """
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(
        insert(table)
        .values(event_id=key, at=now)
        .on_conflict_do_nothing(index_elements=["event_id"])
        .returning(table.c.event_id)
    )
    return result.first() is not None


@contextmanager
def acting_once(rt: Runtime, body: Body) -> Iterator[Session]:
    """One transaction for the action behind ``body``, which also records its key.

    Raises :class:`Replayed` (before the caller does anything) when this payload
    was handled before.
    """
    key = payload_key(body)
    with session_scope(rt.db) as session:
        if key is not None and not first_time(session, key, rt.clock()):
            log.info("Slack payload %s handled before; ignored", key[:24])
            raise Replayed(key)
        yield session


def mark_handled(rt: Runtime, body: Body) -> None:
    """For actions whose only effect is outside the database (opening a modal):
    record the payload now; :class:`Replayed` when it was handled before."""
    with acting_once(rt, body):
        pass


def first_report(rt: Runtime, body: Body) -> bool:
    """Record a payload whose action was refused, so a replay of it is refused quietly;
    True when it is the first time (then the user is told why)."""
    key = payload_key(body)
    if key is None:
        return True
    with session_scope(rt.db) as session:
        return first_time(session, key, rt.clock())
