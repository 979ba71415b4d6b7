"""The monthly report to the ombudsman: last month's key figures, in Slack.

Due from 09:00 local time on the first working day of a month, and for the
rest of that month (so a bot that was down that morning still sends it when it
comes back). Queued once per month and ombudsman: the outbox dedupe key
``monthly-report:YYYY-MM:USER`` (YYYY-MM is the month reported on) makes a
second run, or a second instance, a no-op.

The chart is not uploaded yet (the chat port has no file upload); the text
says where to get it (``complaint-bot report --chart``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlmodel import select

from bot.actions.trail import enqueue
from bot.domain.calendar import WorkingCalendar
from bot.domain.vocabulary import ChatOp
from bot.presenters.monthly import monthly_summary
from bot.store.db import session_scope
from bot.store.models import Case, Outbox, OutboxKind

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

SEND_FROM = time(9, 0)


def first_working_day(calendar: WorkingCalendar, day: date) -> date:
    """The first working day of the month ``day`` falls in."""
    d = day.replace(day=1)
    while not calendar.is_working_day(d):
        d += timedelta(days=1)
    return d


def month_to_report(calendar: WorkingCalendar, now: datetime) -> date | None:
    """The first day of the month to report on, or None when it is too early this month."""
    local = now.astimezone(calendar.tz)
    send_day = first_working_day(calendar, local.date())
    if (local.date(), local.time()) < (send_day, SEND_FROM):
        return None
    return (local.date().replace(day=1) - timedelta(days=1)).replace(day=1)


def run(rt: Runtime) -> int:
    """Queue last month's summary to each ombudsman once; returns how many were queued."""
    cfg = rt.cfg
    users = list(cfg.chat.ombudsman_users)
    if not users:
        return 0
    now = rt.clock()
    month = month_to_report(WorkingCalendar.from_policy(cfg.policy), now)
    if month is None:
        return 0
    label = month.strftime("%Y-%m")
    with session_scope(rt.db) as session:
        # The dedupe key is what guarantees "once"; looking it up first spares the
        # report query on every sweep of the month (and keeps the count honest:
        # enqueue's own return value cannot tell on PostgreSQL).
        due = [
            u
            for u in users
            if session.exec(
                select(Outbox.id).where(Outbox.dedupe_key == f"monthly-report:{label}:{u}")
            ).first()
            is None
        ]
        if not due:
            return 0
        # Not for months before the bot was in use (its first case): an empty report
        # the day after installation is noise, not news.
        first = session.execute(sa.select(sa.func.min(Case.received_at))).scalar_one_or_none()
        month_end = datetime.combine(
            (month + timedelta(days=32)).replace(day=1), time.min, cfg.policy.tz
        )
        if first is None or first >= month_end:
            return 0
        summary = monthly_summary(session, cfg, month, now, chart=False)
        last_day = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        text = (
            summary.text + "\n\nDiagram och alla siffror: "
            f"`complaint-bot report --from {month.isoformat()} --to {last_day.isoformat()}"
            " --chart rapport.png`"
        )
        for user in due:
            enqueue(
                session,
                kind=OutboxKind.CHAT,
                dedupe_key=f"monthly-report:{label}:{user}",
                payload={"op": ChatOp.RAW, "user": user, "text": text},
                case=None,
                now=now,
            )
            # The chart follows the figures, drawn when it is delivered.
            enqueue(
                session,
                kind=OutboxKind.CHAT,
                dedupe_key=f"monthly-chart:{label}:{user}",
                payload={"op": ChatOp.MONTHLY_CHART, "user": user, "month": label},
                case=None,
                now=now,
            )
    queued = len(due)
    if queued:
        log.info("monthly report for %s queued to %d ombudsman user(s)", label, queued)
    return queued
