"""Retention: anonymise cases closed long ago and delete old leftovers (``[privacy]``)."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.actions.privacy import (
    ANONYMISED,
)
from bot.actions.purge import (
    PurgeCounts,
    anonymise,
    blank_message,
    delete_quarantined,
)
from bot.actions.trail import SYSTEM_ACTOR
from bot.config import Config
from bot.store.models import (
    Audit,
    Case,
    Message,
    Quarantine,
    Status,
)

log = logging.getLogger(__name__)


def _not_anonymised() -> Any:
    return ~sa.exists().where(col(Audit.case_id) == col(Case.id), col(Audit.action) == ANONYMISED)


def closed_cases_before(session: Session, before: datetime) -> list[Case]:
    """Closed cases, closed before ``before``, not yet anonymised."""
    return list(
        session.exec(
            select(Case)
            .where(
                Case.status == Status.CLOSED.value, col(Case.closed_at) < before, _not_anonymised()
            )
            .order_by(col(Case.closed_at), col(Case.id))
        ).all()
    )


def _purge_leftovers(
    session: Session, before: datetime, counts: PurgeCounts, now: datetime
) -> None:
    """Mail that never opened a case (blanked: its Message-ID stays, so a redelivery is
    still known) and quarantined mail, resolved or not (deleted), older than ``before``."""
    for m in session.exec(
        select(Message).where(col(Message.case_id).is_(None), col(Message.at) < before)
    ).all():
        counts.messages += blank_message(m)
    for q in session.exec(select(Quarantine).where(col(Quarantine.at) < before)).all():
        delete_quarantined(session, q, counts, now)


def purge_closed_before(
    session: Session,
    before: datetime,
    now: datetime,
    actor: str,
    leftovers_before: datetime | None = None,
) -> PurgeCounts:
    """Anonymise every case closed before ``before``; delete the leftovers (mail that
    never opened a case, quarantined mail) from before ``leftovers_before`` (default:
    the same day)."""
    counts = anonymise(session, closed_cases_before(session, before), now, actor, "retention")
    _purge_leftovers(session, leftovers_before or before, counts, now)
    log.info("purge (retention): %s", counts.summary())
    return counts


def retention_cutoffs(cfg: Config, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(closed cases before, quarantine and unattached mail before) under ``[privacy]``."""
    p = cfg.privacy
    cases = now - timedelta(days=p.closed_case_days) if p.closed_case_days else None
    rest = now - timedelta(days=p.quarantine_days) if p.quarantine_days else None
    return cases, rest


def retention_purge(
    session: Session, cfg: Config, now: datetime, actor: str = SYSTEM_ACTOR
) -> PurgeCounts:
    """What the retention sweep does: closed cases and leftovers past their retention."""
    cases_before, rest_before = retention_cutoffs(cfg, now)
    counts = (
        anonymise(session, closed_cases_before(session, cases_before), now, actor, "retention")
        if cases_before
        else PurgeCounts()
    )
    if rest_before:
        _purge_leftovers(session, rest_before, counts, now)
    return counts
