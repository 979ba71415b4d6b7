"""Human-friendly case references, e.g. ``KL-2026-000123``.

Numbers come from one counter row per prefix and year, incremented by a single
atomic ``UPDATE ... RETURNING`` inside the caller's transaction: two processes
can never receive the same number, and a rolled-back transaction gives its
number back rather than leaving a hole that later repeats.
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.store.models import RefCounter

REF_RE = re.compile(r"\b([A-Z]{1,6})-(\d{4})-(\d{6,})\b")
# session.info key: when set (the bulk writer, ``bot.runners.bulk``), numbers come from
# a block reserved per scope, {scope: [next, last]}; release_refs gives back the rest.
REF_BLOCKS = "ref_blocks"
REF_BLOCK_SIZE = 50


def format_ref(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year:04d}-{number:06d}"


def allocate_ref(session: Session, prefix: str, year: int) -> str:
    """Hand out the next reference for ``prefix`` and ``year`` in this transaction.

    One statement as a rule (the counter's UPDATE); the first reference of a year
    creates its counter first.
    """
    scope = f"{prefix}-{year}"
    blocks = session.info.get(REF_BLOCKS)
    if blocks is None:
        return format_ref(prefix, year, _bump(session, scope, 1))
    block = blocks.get(scope)
    if block is None or block[0] > block[1]:
        last = _bump(session, scope, REF_BLOCK_SIZE)
        block = blocks[scope] = [last - REF_BLOCK_SIZE + 1, last]
    number = block[0]
    block[0] += 1
    return format_ref(prefix, year, number)


def _bump(session: Session, scope: str, by: int) -> int:
    """Add ``by`` to the counter of ``scope`` (created at 0 if need be); its new value."""
    table = RefCounter.__table__  # type: ignore[attr-defined]
    bump = (
        sa.update(table)
        .where(table.c.scope == scope)
        .values(last=table.c.last + by)
        .returning(table.c.last)
    )
    number = session.execute(bump).scalar_one_or_none()
    if number is None:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(table).values(scope=scope, last=0).on_conflict_do_nothing())
        number = session.execute(bump).scalar_one()
    return int(number)


def release_refs(session: Session) -> None:
    """Give back the numbers of the reserved blocks that were not handed out (in the same
    transaction that reserved them: the counter row is still locked by it)."""
    table = RefCounter.__table__  # type: ignore[attr-defined]
    for scope, (first_unused, last) in (session.info.get(REF_BLOCKS) or {}).items():
        if first_unused <= last:
            session.execute(
                sa.update(table).where(table.c.scope == scope).values(last=first_unused - 1)
            )
    session.info[REF_BLOCKS] = {}


def find_refs(text: str, prefix: str) -> list[str]:
    """Every case reference with ``prefix`` in ``text``, in order of appearance."""
    return [m.group(0) for m in REF_RE.finditer(text) if m.group(1) == prefix]
