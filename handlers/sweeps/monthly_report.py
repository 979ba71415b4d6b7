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

from sqlmodel import select

from bot.calendar import WorkingCalendar
from bot.cases import enqueue
from bot.db import session_scope
from bot.models import Outbox, OutboxKind
from bot.reports import monthly_summary

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
    queued = 0
    with session_scope(rt.db) as session:
        summary = monthly_summary(session, cfg, month, now, chart=False)
        text = (summary.text + "\n\nDiagram och alla siffror: "
                f"`complaint-bot report --from {month.isoformat()} --to "
                f"{(month + timedelta(days=32)).replace(day=1) - timedelta(days=1)} "
                f"--chart rapport.png`")
        for user in users:
            key = f"monthly-report:{summary.month}:{user}"
            # The dedupe key is what guarantees "once"; the look-up only keeps the count
            # honest (enqueue's own return value cannot tell on PostgreSQL).
            if session.exec(select(Outbox.id).where(Outbox.dedupe_key == key)).first():
                continue
            enqueue(session, kind=OutboxKind.CHAT, dedupe_key=key,
                    payload={"op": "raw", "user": user, "text": text}, case=None, now=now)
            queued += 1
    if queued:
        log.info("monthly report for %s queued to %d ombudsman user(s)", summary.month, queued)
    return queued
