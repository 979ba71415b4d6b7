"""Offers and hand-overs: the roster's actions on cases (the load they weigh is in
:mod:`bot.actions.workload`).

Like :mod:`bot.actions.cases`, every function works inside the caller's transaction,
appends to the audit trail and queues its direct messages in the outbox. An
offer asks; it never assigns. The case is someone's only when they accept
(which is :func:`bot.actions.cases.claim`) or claim it from the prompt.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from sqlmodel import Session, col, select

from bot.actions.care import (
    _dm,
    _render,
    staff_id,
)
from bot.actions.cases import claim
from bot.actions.roster import may_act
from bot.actions.trail import CLI_ACTOR_PREFIX, SYSTEM_ACTOR, Actor, audit
from bot.config import Config
from bot.domain.calendar import WorkingCalendar
from bot.domain.vocabulary import ChatOp
from bot.errors import InvalidAction, NotAllowed
from bot.presenters.staff_messages import local_when
from bot.store.models import Case, CaseOffer, Status

log = logging.getLogger(__name__)


class OfferKind(enum.StrEnum):
    AUTO = "auto"  # the assignment sweep, after nobody claimed the case
    HANDOVER = "handover"  # a colleague asks someone else to take it


class OfferOutcome(enum.StrEnum):
    ACCEPTED = "accepted"
    DECLINED = "declined"
    EXPIRED = "expired"  # not answered in time: the next person is asked
    WITHDRAWN = "withdrawn"  # someone else took the case, or it closed
    HANDED_OVER = "handed_over"  # passed on to a colleague instead


# --- offers ----------------------------------------------------------------


def answer_deadline(cfg: Config, offer: CaseOffer, calendar: WorkingCalendar) -> datetime:
    """When an unanswered offer goes to the next person (working minutes)."""
    return calendar.add_working_time(offer.offered_at, cfg.roster.answer_within_minutes / 60)


def open_offers(session: Session, case: Case) -> list[CaseOffer]:
    """Offers on ``case`` nobody has answered yet, oldest first."""
    return list(
        session.exec(
            select(CaseOffer)
            .where(CaseOffer.case_id == case.id, col(CaseOffer.answered_at).is_(None))
            .order_by(col(CaseOffer.id))
        ).all()
    )


def find_open_offer(session: Session, case: Case, user: str) -> CaseOffer:
    """The open offer of ``case`` to ``user``; InvalidAction when there is none."""
    for offer in open_offers(session, case):
        if offer.user == user:
            return offer
    raise InvalidAction(f"{case.ref} is not offered to {user} (or the offer was answered)")


def offer_case(
    session: Session,
    cfg: Config,
    case: Case,
    user: str,
    now: datetime,
    *,
    kind: OfferKind = OfferKind.AUTO,
    by: str = SYSTEM_ACTOR,
) -> CaseOffer:
    """Ask ``user`` to take the call-back on ``case``: record the offer and DM them."""
    if case.status == Status.CLOSED.value:
        raise InvalidAction(f"case {case.ref} is closed")
    offer = CaseOffer(case_id=case.id or 0, user=user, offered_at=now, kind=kind.value, by=by)
    session.add(offer)
    session.flush()
    text = _render(
        cfg,
        "offer",
        kind=kind.value,
        ref=case.ref,
        received=local_when(case.received_at, cfg, cfg.chat.staff_language),
        by=staff_id(by) or "",
        minutes=cfg.roster.answer_within_minutes,
        user=user,
    )
    _dm(
        session,
        case,
        user,
        text,
        now,
        "offer",
        op=ChatOp.OFFER,
        offer_id=offer.id,
        offer_kind=kind.value,
    )
    audit(session, case, by, "offered", now, to=user, kind=kind.value, offer_id=offer.id)
    return offer


def _close_offer(offer: CaseOffer, outcome: OfferOutcome, now: datetime) -> None:
    offer.answered_at = now
    offer.outcome = outcome.value
    offer.accepted = {OfferOutcome.ACCEPTED: True, OfferOutcome.DECLINED: False}.get(outcome)


def _answering(cfg: Config, offer: CaseOffer, actor: str) -> None:
    if offer.answered_at is not None:
        raise InvalidAction("this offer was already answered")
    if staff_id(actor) != offer.user:
        raise NotAllowed("only the person it was offered to can answer this offer")


def accept_offer(
    session: Session, cfg: Config, offer: CaseOffer, actor: Actor, now: datetime
) -> Case:
    """``actor`` takes the offered case: a claim, as from the prompt."""
    _answering(cfg, offer, actor)
    case = session.get(Case, offer.case_id)
    assert case is not None  # foreign key
    if case.assignee and staff_id(case.assignee) != offer.user and offer.kind == "auto":
        _close_offer(offer, OfferOutcome.WITHDRAWN, now)
        raise InvalidAction(f"{case.ref} was already taken by someone else")
    # Accepting a hand-over is the explicit take-over; whoever asked is told below.
    claim(
        session,
        cfg,
        case,
        actor,
        now,
        take_over=True,
        tell_previous=staff_id(case.assignee) != staff_id(offer.by),
    )
    _close_offer(offer, OfferOutcome.ACCEPTED, now)
    audit(session, case, actor, "offer_accepted", now, offer_id=offer.id, kind=offer.kind)
    if offer.kind == OfferKind.HANDOVER.value and (asker := staff_id(offer.by)):
        _dm(
            session,
            case,
            asker,
            _render(
                cfg,
                "offer",
                kind="handover_accepted",
                ref=case.ref,
                by=offer.user,
                received="",
                minutes=0,
                user=asker,
            ),
            now,
            "handover-answer",
        )
    return case


def decline_offer(
    session: Session, cfg: Config, offer: CaseOffer, actor: str, now: datetime
) -> None:
    """``actor`` cannot take it; the next sweep asks the next person (a hand-over stays
    with whoever asked, and they are told)."""
    _answering(cfg, offer, actor)
    case = session.get(Case, offer.case_id)
    assert case is not None
    _close_offer(offer, OfferOutcome.DECLINED, now)
    audit(session, case, actor, "offer_declined", now, offer_id=offer.id, kind=offer.kind)
    _tell_asker(session, cfg, case, offer, "handover_declined", now)


def _tell_asker(
    session: Session, cfg: Config, case: Case, offer: CaseOffer, kind: str, now: datetime
) -> None:
    if offer.kind == OfferKind.HANDOVER.value and (asker := staff_id(offer.by)):
        _dm(
            session,
            case,
            asker,
            _render(
                cfg,
                "offer",
                kind=kind,
                ref=case.ref,
                by=offer.user,
                received="",
                minutes=0,
                user=asker,
            ),
            now,
            "handover-answer",
        )


def hand_over(
    session: Session, cfg: Config, case: Case, from_actor: str, to_user: str, now: datetime
) -> CaseOffer:
    """Ask colleague ``to_user`` to take ``case`` from ``from_actor`` (asked, not forced).

    Until they accept, the case stays where it is. Only the assignee, whoever
    holds an open offer of it, or the ombudsman may hand it over.
    """
    if case.status == Status.CLOSED.value:
        raise InvalidAction(f"case {case.ref} is closed")
    giver = staff_id(from_actor)
    pending = open_offers(session, case)
    holds = [o for o in pending if o.user == giver]
    is_ombud = giver in cfg.chat.ombudsman_users or from_actor.startswith(CLI_ACTOR_PREFIX)
    if not (is_ombud or (giver and staff_id(case.assignee) == giver) or holds):
        raise NotAllowed(f"only whoever has {case.ref} (or is offered it) can hand it over")
    if not may_act(cfg, to_user):
        raise InvalidAction(f"{to_user} is not on the staff list")
    if to_user == giver:
        raise InvalidAction("you cannot hand a case over to yourself")
    for o in pending:
        if o in holds:
            _close_offer(o, OfferOutcome.HANDED_OVER, now)
        elif o.kind == OfferKind.HANDOVER.value:
            _close_offer(o, OfferOutcome.WITHDRAWN, now)  # one hand-over at a time
    return offer_case(session, cfg, case, to_user, now, kind=OfferKind.HANDOVER, by=from_actor)


def settle_offer(
    session: Session, cfg: Config, offer: CaseOffer, now: datetime, calendar: WorkingCalendar
) -> OfferOutcome | None:
    """Close an open offer that the case has outrun: taken (by them: accepted; by
    someone else: withdrawn), closed, or not answered in time (expired)."""
    case = session.get(Case, offer.case_id)
    assert case is not None
    taker = staff_id(case.assignee)
    outcome: OfferOutcome | None = None
    if case.status == Status.CLOSED.value:
        outcome = OfferOutcome.WITHDRAWN
    elif taker == offer.user and (
        offer.kind == OfferKind.AUTO.value or (case.claimed_at or now) >= offer.offered_at
    ):
        outcome = OfferOutcome.ACCEPTED  # claimed from the prompt instead of the DM
    elif taker is not None and offer.kind == OfferKind.AUTO.value:
        outcome = OfferOutcome.WITHDRAWN
    elif answer_deadline(cfg, offer, calendar) <= now:
        outcome = OfferOutcome.EXPIRED
    if outcome is None:
        return None
    _close_offer(offer, outcome, now)
    audit(
        session,
        case,
        SYSTEM_ACTOR,
        f"offer_{outcome.value}",
        now,
        offer_id=offer.id,
        to=offer.user,
        kind=offer.kind,
    )
    if outcome == OfferOutcome.EXPIRED:
        _tell_asker(session, cfg, case, offer, "handover_expired", now)
    return outcome


def last_offered_user(session: Session) -> str | None:
    """Who got the most recent automatic offer (round-robin continues after them)."""
    return session.exec(
        select(CaseOffer.user)
        .where(CaseOffer.kind == OfferKind.AUTO.value)
        .order_by(col(CaseOffer.offered_at).desc(), col(CaseOffer.id).desc())
        .limit(1)
    ).first()
