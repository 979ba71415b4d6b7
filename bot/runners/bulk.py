"""The bulk writer: a group of messages in one transaction, without a savepoint each.

Most groups of a backlog hold no bad message. For them a savepoint per message
(two statements, and a flush of everything pending at each) buys nothing, and
the lookups every message repeats (Message-ID dedupe, the complainant by
address, the reference counter, the mailbox checkpoint) can be done once for
the group. :func:`run_fast` runs such a group optimistically:

- no savepoint per message; the first message that fails (anything but
  ``Discard``, or ``NeedsReview`` after it wrote something) abandons the whole
  transaction (:class:`Redo`), and the caller runs the group again message by
  message, each in its own savepoint, where the bad one is quarantined alone;
- the steps find what the group shares in :class:`GroupState` (the dedupe step
  looks up every Message-ID of the group in one query);
- complainants are looked up by address for the whole group in one query
  (``session.info["complainants"]``, read by ``bot.actions.cases``);
- new complainants and cases get their ids from a block reserved for the group
  (:class:`bot.store.db.HeldNew`) and go in with one insert per table, before anything
  that might read or name them (any other statement, a flush) and after the last
  message;
- case references come from a block reserved once per group and scope, the
  unused rest given back before the commit (``session.info["ref_blocks"]``,
  :mod:`bot.store.refs`): numbers still run on without holes;
- audit entries are inserted at once, in order, after the last message
  (``session.info["audit_later"]``, :func:`bot.actions.trail.audit`);
- outbox entries and message rows (the email itself, our acknowledgement) are held
  back and inserted at once, in order, before the next statement that is not an
  insert (anything that might read them) or ORM flush adding such rows, and after
  the last message
  (``session.info["outbox_later"]`` and ``["messages_later"]``,
  :func:`bot.actions.trail.insert_held`): their ids come out as they would one by
  one, and an acknowledgement already queued leaves its message row out, as before;
- the mailbox checkpoint moves once, after the last message.

What commits is what the savepoint path commits, row for row; the checkpoint
still moves only with the commit, so the kill -9 guarantees are unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import ORMExecuteState
from sqlmodel import Session, col, select

from bot.actions.trail import (
    AUDIT_LATER,
    MESSAGES_LATER,
    OUTBOX_LATER,
    HeldRows,
    audit_many,
    insert_held,
)
from bot.ports import InboundMail, Mailbox
from bot.store.db import HELD_NEW, HeldNew, insert_held_new
from bot.store.models import Case, Complainant, Message, Outbox
from bot.store.refs import REF_BLOCKS, release_refs

if TYPE_CHECKING:
    from bot.runners.prepare import Prepared

Item = tuple[InboundMail, "Prepared | None"]

COMPLAINANTS = "complainants"  # session.info key: address -> Complainant | None


class Redo(Exception):
    """A message of the group failed: roll the group back, run it message by message."""


@dataclass
class GroupState:
    """What the steps of one message may share with the rest of its group (fast path only:
    nothing in it survives a rollback, so the savepoint path never gets one)."""

    items: list[Item]
    cache: dict[str, Any] = field(default_factory=dict)


class WriteCounter:
    """Counts what changed data on ``session``: statements sent, rows held back."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.conn = session.connection()
        self.statements = 0

    @property
    def writes(self) -> int:
        info = self.session.info
        held = [
            h
            for key in (MESSAGES_LATER, OUTBOX_LATER, HELD_NEW)
            if (h := info.get(key)) is not None
        ]
        return self.statements + len(info.get(AUDIT_LATER) or ()) + sum(h.added for h in held)

    def _seen(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if not statement.lstrip()[:6].upper().startswith("SELECT"):
            self.statements += 1

    def __enter__(self) -> WriteCounter:
        sa.event.listen(self.conn, "before_cursor_execute", self._seen)
        return self

    def __exit__(self, *_exc: object) -> None:
        sa.event.remove(self.conn, "before_cursor_execute", self._seen)


def prefetch_complainants(session: Session, items: list[Item]) -> None:
    """Every complainant the group may name, by address, in one query."""
    wanted = {
        c.lower()
        for _, p in items
        if p is not None
        and p.classification is not None
        and (c := p.classification.contact) is not None
    }
    known: dict[str, Complainant | None] = dict.fromkeys(wanted)
    if wanted:
        for found in session.exec(
            select(Complainant).where(col(Complainant.email).in_(sorted(wanted)))
        ):
            if found.email is not None:
                known[found.email] = found
    session.info[COMPLAINANTS] = known


def run_fast(
    session: Session,
    mailbox: Mailbox,
    items: list[Item],
    run_one: Callable[[GroupState, InboundMail, Prepared | None, WriteCounter], Any],
) -> list[Any]:
    """``run_one`` for every item in this transaction, then the checkpoint; raises
    :class:`Redo` (or whatever a step raised) when the group must be redone."""
    state = GroupState(items)
    session.info[REF_BLOCKS] = {}
    session.info[AUDIT_LATER] = []
    prefetch_complainants(session, items)
    session.info[MESSAGES_LATER] = HeldRows()
    session.info[OUTBOX_LATER] = HeldRows()
    held_new = session.info[HELD_NEW] = HeldNew([Complainant, Case])
    sa.event.listen(session, "do_orm_execute", _before_statement)
    sa.event.listen(session, "before_flush", _before_flush)
    try:
        with WriteCounter(session) as writes:
            outcomes = []
            for done, (mail, prepared) in enumerate(items):
                held_new.budget = len(items) - done  # ids a model may still want: one a message
                outcomes.append(run_one(state, mail, prepared, writes))
        insert_held(session)
        for mail, _ in items:
            mailbox.record(session, mail)
        release_refs(session)
        audit_many(session, session.info.pop(AUDIT_LATER))
    finally:
        sa.event.remove(session, "do_orm_execute", _before_statement)
        sa.event.remove(session, "before_flush", _before_flush)
        for key in (REF_BLOCKS, COMPLAINANTS, AUDIT_LATER, MESSAGES_LATER, OUTBOX_LATER, HELD_NEW):
            session.info.pop(key, None)
    return outcomes


def _before_statement(state: ORMExecuteState) -> None:
    """What was held back goes in before any statement that might read it (only an insert
    cannot); new complainants and cases before an insert too (it may name one)."""
    session = cast(Session, state.session)  # the sqlmodel Session it was set on
    if not state.is_insert:
        insert_held(session)
    else:
        insert_held_new(session)


def _before_flush(session: Session, *_args: Any) -> None:
    # An ORM flush adding message or outbox rows of its own: theirs come after. Any
    # flush may update or name a new complainant or case: those go in first.
    if any(isinstance(obj, Message | Outbox) for obj in session.new):
        insert_held(session)
    else:
        insert_held_new(session)
