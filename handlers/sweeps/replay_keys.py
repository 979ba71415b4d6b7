"""Forget old replay keys: the ids of Slack events and action payloads already handled.

Slack retries an event for about an hour and a signed request is accepted for five
minutes, so a key older than :data:`KEEP` can never be needed again; without this
sweep the ``processed_event`` table would grow by one row per button press forever.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from bot.store.db import session_scope
from bot.store.models import ProcessedEvent

if TYPE_CHECKING:
    from bot.wiring import Runtime

KEEP = timedelta(days=2)


def run(rt: Runtime) -> int:
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    with session_scope(rt.db) as session:
        gone = session.execute(
            sa.delete(table).where(table.c.at < rt.clock() - KEEP).returning(table.c.event_id)
        ).all()
        return len(gone)
