"""How much each person carries: today's load (for fair offers) and the weekly view.

The assignment sweep weighs people by :func:`day_facts`; managers and the
ombudsman see :func:`load_view`. Figures about individuals never go to a channel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.actions.care import actor_forms, staff_id
from bot.actions.trail import CLI_ACTOR_PREFIX, slack_user
from bot.config import Config
from bot.domain.fair_share import load
from bot.errors import InvalidAction, NotAllowed
from bot.store.models import Audit, Case, CaseOffer, ContactAttempt, Status


def may_see_load(cfg: Config, viewer: str) -> bool:
    """The weekly load view is for managers and the ombudsman (and the operator's shell)."""
    if viewer.startswith(CLI_ACTOR_PREFIX):
        return True
    user = slack_user(viewer) or viewer
    return user in cfg.roster.managers or user in cfg.chat.ombudsman_users


def day_start(cfg: Config, now: datetime) -> datetime:
    """Local midnight of ``now``'s day, as an aware instant."""
    local = now.astimezone(cfg.policy.tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def day_facts(
    session: Session, cfg: Config, users: Iterable[str], now: datetime
) -> tuple[dict[str, float], dict[str, int]]:
    """Per user: today's load (see :func:`bot.domain.fair_share.load`) and how many
    call-backs they took today (claims today plus open offers)."""
    users = list(users)
    who = {form: u for u in users for form in actor_forms(u)}
    start = day_start(cfg, now)
    open_callbacks: dict[str, list[datetime]] = defaultdict(list)
    taken: dict[str, int] = defaultdict(int)
    hard: dict[str, int] = defaultdict(int)
    for case in session.exec(
        select(Case).where(
            col(Case.assignee).in_(list(who)),
            sa.or_(col(Case.status) != Status.CLOSED.value, col(Case.claimed_at) >= start),
        )
    ).all():
        user = who[str(case.assignee)]
        if case.status != Status.CLOSED.value and case.first_contact_at is None:
            open_callbacks[user].append(case.received_at)
        if case.claimed_at is not None and case.claimed_at >= start:
            taken[user] += 1
    offers = session.exec(
        select(CaseOffer.user, CaseOffer.offered_at, Case.received_at)
        .join(Case, col(Case.id) == col(CaseOffer.case_id))
        .where(col(CaseOffer.answered_at).is_(None), col(CaseOffer.user).in_(users))
    ).all()
    for user, offered_at, received_at in offers:
        open_callbacks[user].append(received_at)
        if offered_at >= start:
            taken[user] += 1
    for by in session.exec(
        select(ContactAttempt.by).where(
            col(ContactAttempt.hard).is_(True),
            col(ContactAttempt.at) >= start,
            col(ContactAttempt.by).in_(list(who)),
        )
    ).all():
        hard[who[by]] += 1
    loads = {
        u: load(
            open_callbacks[u],
            hard[u],
            now,
            age_weight_per_day=cfg.roster.age_weight_per_day,
            hard_call_weight=cfg.roster.hard_call_weight,
        )
        for u in users
    }
    return loads, {u: taken[u] for u in users}


# --- the weekly load view --------------------------------------------------


def load_view(
    session: Session, cfg: Config, viewer: str, now: datetime, weeks: int = 4
) -> list[dict[str, Any]]:
    """Call-backs and hard calls per person per ISO week, the last ``weeks`` weeks.

    For managers and the ombudsman only (:class:`NotAllowed` for anyone else):
    individual figures are never posted in a channel or put in the team digest.
    ``viewer`` is a Slack user id, a ``slack:`` actor, or a ``cli:`` actor.
    """
    if not may_see_load(cfg, viewer):
        raise NotAllowed("the staff load view is for managers and the ombudsman only")
    if weeks < 1:
        raise InvalidAction("weeks must be at least 1")
    local_today = now.astimezone(cfg.policy.tz)
    monday = day_start(cfg, now) - timedelta(days=local_today.weekday())
    since = monday - timedelta(weeks=weeks - 1)
    rows: dict[tuple[str, str], dict[str, Any]] = {}

    def row(at: datetime, actor: str) -> dict[str, Any]:
        year, week, _ = at.astimezone(cfg.policy.tz).isocalendar()
        person = staff_id(actor) or actor
        key = (f"{year}-W{week:02d}", person)
        return rows.setdefault(
            key,
            {
                "week": key[0],
                "user": person,
                "claimed": 0,
                "calls": 0,
                "hard_calls": 0,
                "offers_declined": 0,
            },
        )

    for at, by, hard in session.exec(
        select(ContactAttempt.at, ContactAttempt.by, ContactAttempt.hard).where(
            col(ContactAttempt.at) >= since
        )
    ).all():
        r = row(at, by)
        r["calls"] += 1
        r["hard_calls"] += int(bool(hard))
    for at, actor, action in session.exec(
        select(Audit.at, Audit.actor, Audit.action).where(
            col(Audit.at) >= since, col(Audit.action).in_(["claimed", "offer_declined"])
        )
    ).all():
        row(at, actor)["claimed" if action == "claimed" else "offers_declined"] += 1
    return sorted(rows.values(), key=lambda r: (r["week"], r["user"]))
