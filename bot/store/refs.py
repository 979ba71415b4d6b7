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


def format_ref(prefix: str, year: int, number: int) -> str:
    return f"{prefix}-{year:04d}-{number:06d}"


def allocate_ref(session: Session, prefix: str, year: int) -> str:
    """Hand out the next reference for ``prefix`` and ``year`` in this transaction.

    One statement as a rule (the counter's UPDATE); the first reference of a year
    creates its counter first.
    """
    scope = f"{prefix}-{year}"
    table = RefCounter.__table__  # type: ignore[attr-defined]
    bump = (
        sa.update(table)
        .where(table.c.scope == scope)
        .values(last=table.c.last + 1)
        .returning(table.c.last)
    )
    number = session.execute(bump).scalar_one_or_none()
    if number is None:
        dialect = session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        session.execute(insert(table).values(scope=scope, last=0).on_conflict_do_nothing())
        number = session.execute(bump).scalar_one()
    return format_ref(prefix, year, int(number))


def find_refs(text: str, prefix: str) -> list[str]:
    """Every case reference with ``prefix`` in ``text``, in order of appearance."""
    return [m.group(0) for m in REF_RE.finditer(text) if m.group(1) == prefix]
