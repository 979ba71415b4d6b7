"""Erasure of one person on request: their cases anonymised, their words blanked and
their identifiers scrubbed wherever else they are written, then out of the files."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions.privacy import (
    Needles,
    Person,
    cases_of,
    find_complainants,
    mail_text,
)
from bot.actions.purge import (
    PurgeCounts,
    anonymise,
    blank_message,
    cancel_or_blank,
    delete_quarantined,
    scrub_detail,
)
from bot.errors import InvalidAction
from bot.store.models import (
    ActionPlan,
    Audit,
    Case,
    ContactAttempt,
    Escalation,
    Message,
    Outbox,
    Quarantine,
    Status,
)

log = logging.getLogger(__name__)


def _rows(session: Session, model: Any) -> Iterator[Any]:
    yield from session.exec(select(model).order_by(col(model.id))).all()


def _payload_text(payload: str) -> str:
    """An outbox payload as readable text (JSON escapes undone, an email decoded)."""
    try:
        data = json.loads(payload or "{}")
    except ValueError:
        return payload or ""
    if not isinstance(data, dict):
        return str(data)
    texts = [v for v in data.values() if isinstance(v, str)]
    if isinstance(data.get("eml"), str):
        texts.append(mail_text(data["eml"].encode("utf-8", errors="replace")))
    return "\n".join(texts)


def _scrub_mentions(session: Session, needles: Needles, counts: PurgeCounts, now: datetime) -> None:
    """The person's address, number and name, wherever else they are written: in
    other people's messages and cases, staff notes, audit details, the outbox."""

    def fix(row: Any, *columns: str) -> bool:
        hit = False
        for column in columns:
            value = getattr(row, column)
            if isinstance(value, str) and needles.found(value):
                setattr(row, column, needles.scrub(value))
                hit = True
        return hit

    for c in _rows(session, Case):
        counts.mentions_scrubbed += fix(c, "subject", "summary")
    for m in _rows(session, Message):
        hit = fix(m, "subject", "body_text", "sender_name", "attachments")
        if m.raw is not None and needles.found(mail_text(m.raw)):
            m.raw = None  # raw bytes cannot be edited safely: the parsed text stays
            hit = True
        counts.mentions_scrubbed += hit
    for a in _rows(session, ContactAttempt):
        counts.mentions_scrubbed += fix(a, "note", "remedy", "next_step")
    for e in _rows(session, Escalation):
        counts.mentions_scrubbed += fix(e, "note")
    for p in _rows(session, ActionPlan):
        counts.mentions_scrubbed += fix(p, "steps", "follow_up_note")
    for entry in _rows(session, Audit):
        if needles.found(entry.detail):
            entry.detail = scrub_detail(entry.detail)
            counts.audit_entries += 1
    for o in _rows(session, Outbox):
        if (
            needles.found(o.payload)
            or needles.found(_payload_text(o.payload))
            or needles.found(o.last_error)
        ):
            cancel_or_blank(o, counts)
    for q in _rows(session, Quarantine):
        if needles.found(mail_text(bytes(q.raw))):
            delete_quarantined(session, q, counts, now)


def erase_person(session: Session, person: Person, now: datetime, actor: str) -> PurgeCounts:
    """Erase one person on request: all their cases anonymised, their records deleted,
    their own messages blanked wherever they sit, their address, number and name
    scrubbed from everything else (other cases, notes, audit, outbox, quarantine).

    Refuses (:class:`InvalidAction`) while any of their cases is open: close it first,
    so that nobody is left waiting for a call the bot can no longer prompt.
    """
    complainants = find_complainants(session, person)
    cases = cases_of(session, complainants)
    still_open = [c.ref for c in cases if c.status != Status.CLOSED.value]
    if still_open:
        raise InvalidAction("open cases must be closed before erasure: " + ", ".join(still_open))
    emails = {e.lower() for e in [person.email, *(c.email for c in complainants)] if e}
    phones = {p for p in [person.phone, *(c.phone for c in complainants)] if p}
    for case in cases:  # the numbers given on their cases are theirs too
        phones |= {p for p in [case.phone, *case.previous_phones.split()] if p}
    names = {n for n in [person.name, *(c.name for c in complainants)] if n}
    # Their complainant records go, also one no case points to any more.
    counts = anonymise(
        session,
        cases,
        now,
        actor,
        "erasure",
        also_complainants={c.id for c in complainants if c.id is not None},
    )
    # What they wrote elsewhere: on someone else's case, or on none.
    written = select(Message).where(sa.func.lower(col(Message.sender)).in_(sorted(emails)))
    if person.name:
        written = select(Message).where(
            sa.or_(
                sa.func.lower(col(Message.sender)).in_(sorted(emails)),
                sa.func.lower(col(Message.sender_name)) == person.name.lower(),
            )
        )
    for m in session.exec(written).all():
        counts.messages += blank_message(m)
    _scrub_mentions(session, Needles.of(emails=emails, phones=phones, names=names), counts, now)
    log.info("purge (erasure): %s", counts.summary())
    return counts


# --- out of the file --------------------------------------------------------

ERASABLE_TABLES = (
    "case",
    "complainant",
    "message",
    "contact_attempt",
    "escalation",
    "action_plan",
    "audit",
    "outbox",
    "quarantine",
)


def erase_from_storage(engine: Engine) -> None:
    """After a purge has committed: make the old bytes leave the database files.

    SQLite runs with ``secure_delete`` (see :mod:`bot.store.db`), so freed space is
    zeroed; a ``TRUNCATE`` checkpoint copies the zeroed pages into the file and
    empties the write-ahead log. PostgreSQL: ``VACUUM`` of the tables a purge
    touches, so dead row versions are removed from their pages (WAL segments
    and backups keep them until they are recycled; see docs/privacy.md).
    """
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cur.fetchone()
            cur.close()
        finally:
            raw.close()
        if busy and busy[0]:
            log.warning(
                "purge: the write-ahead log could not be emptied (a reader was "
                "busy); it will be at the next checkpoint"
            )
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ERASABLE_TABLES:
                conn.exec_driver_sql(f'VACUUM "{table}"')
