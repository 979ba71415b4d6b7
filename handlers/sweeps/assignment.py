"""The assignment sweep: offer cases nobody claimed to the on-duty person with the
lightest load, and move unanswered offers on.

Runs in working hours only. First every open offer is settled (taken,
withdrawn, or expired after ``answer_within_minutes`` working minutes); then
each case unclaimed for ``offer_after_minutes`` working minutes, with no open
offer, is offered to whom :func:`bot.domain.fair_share.choose_assignee`
picks among today's roster, leaving out anyone already asked about it. Each
case is handled in its own transaction with its row locked, so two instances
never offer the same case twice and one failure never stops the others.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.actions.assignment import last_offered_user, offer_case, settle_offer
from bot.actions.roster import on_duty, today_roster
from bot.actions.workload import day_facts
from bot.config import Config
from bot.domain.calendar import WorkingCalendar
from bot.domain.fair_share import choose_assignee
from bot.store.db import session_scope
from bot.store.models import Case, CaseOffer, Status

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


def _locked_case(session: Session, case_id: int) -> Case | None:
    q = select(Case).where(Case.id == case_id)
    if session.get_bind().dialect.name == "postgresql":
        q = q.with_for_update(skip_locked=True)
    return session.exec(q).first()


def _has_open_offer(session: Session, case_id: int) -> bool:
    return (
        session.exec(
            select(CaseOffer.id).where(
                CaseOffer.case_id == case_id, col(CaseOffer.answered_at).is_(None)
            )
        ).first()
        is not None
    )


def waiting_case_ids(
    session: Session, cfg: Config, now: datetime, calendar: WorkingCalendar
) -> list[int]:
    """Open, unclaimed, current cases nobody took within the claim window, oldest first."""
    window = cfg.roster.offer_after_minutes / 60
    # Working time never runs faster than the wall clock: a cheap first cut.
    rows = session.exec(
        select(Case)
        .where(
            col(Case.status).in_([Status.NEW.value, Status.ACKNOWLEDGED.value]),
            col(Case.assignee).is_(None),
            col(Case.historical).is_(False),
            col(Case.created_at) <= now - timedelta(hours=window),
        )
        .order_by(col(Case.created_at), col(Case.id))
    ).all()
    return [
        c.id
        for c in rows
        if c.id is not None
        and cfg.roster.offers_for(c.source, c.origin_channel)
        and not (c.snoozed_until and c.snoozed_until > now)
        and calendar.add_working_time(c.created_at, window) <= now
    ]


def _settle_open_offers(rt: Runtime, now: datetime, calendar: WorkingCalendar) -> int:
    with session_scope(rt.db) as session:
        ids = session.exec(
            select(CaseOffer.id, CaseOffer.case_id).where(col(CaseOffer.answered_at).is_(None))
        ).all()
    settled = 0
    for offer_id, case_id in ids:
        try:
            with session_scope(rt.db) as session:
                if _locked_case(session, case_id) is None:
                    continue  # another instance has it
                offer = session.get(CaseOffer, offer_id)
                if offer is None or offer.answered_at is not None:
                    continue
                settled += settle_offer(session, rt.cfg, offer, now, calendar) is not None
        except Exception:
            log.exception("assignment sweep: offer %s failed; trying again later", offer_id)
    return settled


def run(rt: Runtime) -> int:
    """Settle open offers and offer waiting cases; returns offers made and settled."""
    cfg, now = rt.cfg, rt.clock()
    if not cfg.roster.enabled:
        return 0
    calendar = WorkingCalendar.from_policy(cfg.policy)
    if not calendar.is_open(now):
        return 0  # offers and their answer windows run in working time only
    acted = _settle_open_offers(rt, now, calendar)
    with session_scope(rt.db) as session:
        waiting = waiting_case_ids(session, cfg, now, calendar)
    if not waiting:
        return acted
    people = on_duty(today_roster(cfg, now, rt.web_client()))
    if not people:
        log.info(
            "assignment sweep: nobody on duty today; %d case(s) wait for a claim", len(waiting)
        )
        return acted
    with session_scope(rt.db) as session:
        loads, taken = day_facts(session, cfg, people, now)
        last = last_offered_user(session)
    for case_id in waiting:
        try:
            with session_scope(rt.db) as session:
                case = _locked_case(session, case_id)
                if (
                    case is None
                    or case.assignee is not None
                    or case.status not in (Status.NEW.value, Status.ACKNOWLEDGED.value)
                    or _has_open_offer(session, case_id)
                ):
                    continue
                asked = set(
                    session.exec(select(CaseOffer.user).where(CaseOffer.case_id == case_id)).all()
                )
                # Everyone on duty was asked already: the case waits for a claim
                # (the triage reminders go on as before).
                candidates = [p for p in people if p not in asked]
                user = choose_assignee(candidates, loads, taken, cfg.roster.daily_cap, last)
                if user is None:
                    continue
                offer_case(session, cfg, case, user, now)
                received_days = max(timedelta(0), now - case.received_at) / timedelta(days=1)
            loads[user] += 1.0 + received_days * cfg.roster.age_weight_per_day
            taken[user] = taken.get(user, 0) + 1
            last = user
            acted += 1
        except Exception:
            log.exception("assignment sweep: case id %s failed; trying again later", case_id)
    return acted
