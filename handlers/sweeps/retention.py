"""Retention: closed cases and quarantined mail past their time are purged without
anyone having to remember a command (``[privacy]`` in the configuration).

The first run on a database only reports: it logs what it would do (counts) and
records that report in the audit trail; it acts from a day later, so an operator
who installs or upgrades the bot sees the numbers first (and can switch the sweep
off with ``[privacy] retention_sweep = false``). ``complaint-bot purge --retention``
shows the same numbers at any time, as a dry run.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.actions.erasure import erase_from_storage
from bot.actions.privacy import RETENTION_REPORT
from bot.actions.retention import retention_purge
from bot.actions.trail import SYSTEM_ACTOR, audit
from bot.store.db import session_scope
from bot.store.models import Audit

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

REPORT_AHEAD = timedelta(days=1)  # from the first (dry-run) report to the first purge


def run(rt: Runtime) -> int:
    cfg, now = rt.cfg, rt.clock()
    if not cfg.privacy.retention_sweep:
        return 0
    with session_scope(rt.db) as session:
        first = session.exec(
            select(Audit.at)
            .where(col(Audit.case_id).is_(None), Audit.action == RETENTION_REPORT)
            .order_by(col(Audit.at))
        ).first()
    if first is None:
        with Session(rt.db, expire_on_commit=False) as session:
            counts = retention_purge(session, cfg, now)
            session.rollback()  # a dry run: the same work, undone
        with session_scope(rt.db) as session:
            audit(
                session,
                None,
                SYSTEM_ACTOR,
                RETENTION_REPORT,
                now,
                **{k: v for k, v in counts.as_dict().items() if k != "refs"},
            )
        log.info(
            "retention sweep, first run (dry run, acts from %s): would purge %s",
            (now + REPORT_AHEAD).date().isoformat(),
            counts.summary(),
        )
        return 0
    if now < first + REPORT_AHEAD:
        return 0
    with session_scope(rt.db) as session:
        counts = retention_purge(session, cfg, now)
    if not counts.changed:
        return 0
    log.info("retention sweep: purged %s", counts.summary())
    erase_from_storage(rt.db)
    return counts.cases + counts.quarantine_entries + counts.messages
