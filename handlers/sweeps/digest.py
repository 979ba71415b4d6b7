"""The weekly digest to the team channel, so lessons reach everyone.

Posted once per ISO week (outbox dedupe key ``digest:YYYY-Www``) on the first
working day of the week, from the opening of working hours, about the week
before: cases opened and closed, median working hours to first contact,
overdue cases, the most common themes, and the anonymised lessons staff chose
to share when closing. No individual's figures: the digest is for the team.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from datetime import datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, col, select

from bot.actions.trail import enqueue
from bot.config import Config
from bot.domain.calendar import WorkingCalendar
from bot.domain.vocabulary import ChatOp
from bot.presenters.catalogs import messages
from bot.redact import redact
from bot.store.db import session_scope
from bot.store.models import Audit, Case, OutboxKind, Status

if TYPE_CHECKING:
    from bot.wiring import Runtime


def week_bounds(now: datetime, cfg: Config) -> tuple[datetime, datetime, str]:
    """The previous ISO week (Monday 00:00 to Monday 00:00, local) and its label."""
    local = now.astimezone(cfg.policy.tz)
    this_monday = datetime.combine(
        local.date() - timedelta(days=local.weekday()), time.min, cfg.policy.tz
    )
    start = this_monday - timedelta(days=7)
    year, week, _ = start.isocalendar()
    return start, this_monday, f"{year}-W{week:02d}"


def digest_text(
    session: Session,
    cfg: Config,
    calendar: WorkingCalendar,
    start: datetime,
    end: datetime,
    now: datetime,
    label: str,
) -> str:
    opened = session.exec(
        select(Case).where(
            col(Case.received_at) >= start,
            col(Case.received_at) < end,
            col(Case.historical).is_(False),
        )
    ).all()
    closed = session.exec(
        select(Case).where(col(Case.closed_at) >= start, col(Case.closed_at) < end)
    ).all()
    hours = [
        calendar.working_hours_between(c.received_at, c.first_contact_at)
        for c in opened
        if c.first_contact_at
    ]
    overdue = session.exec(
        select(Case).where(
            col(Case.status) != Status.CLOSED.value,
            col(Case.first_contact_at).is_(None),
            col(Case.first_contact_due_at) < now,
        )
    ).all()
    themes = Counter(c.theme for c in opened if c.theme).most_common(3)
    lessons = [
        json.loads(a.detail).get("lesson", "")
        for a in session.exec(
            select(Audit).where(
                Audit.action == "lesson", col(Audit.at) >= start, col(Audit.at) < end
            )
        ).all()
    ]
    w = messages("staff", cfg.chat.staff_language)
    lines = [
        w["digest_title"].format(label=label),
        w["digest_counts"].format(opened=len(opened), closed=len(closed)),
        w["digest_median"].format(hours=f"{statistics.median(hours):.1f}")
        if hours
        else w["digest_median_none"],
        w["digest_overdue"].format(n=len(overdue)),
    ]
    if themes:
        lines.append(w["digest_themes"].format(themes=", ".join(f"{t} ({n})" for t, n in themes)))
    if lessons:
        lines.append(w["digest_lessons"])
        lines += [f"• {' '.join(redact(lesson).split())[:300]}" for lesson in lessons if lesson]
    return "\n".join(lines)


def run(rt: Runtime) -> int:
    cfg, now = rt.cfg, rt.clock()
    if not cfg.chat.team_channel:
        return 0
    calendar = WorkingCalendar.from_policy(cfg.policy)
    start, end, label = week_bounds(now, cfg)
    # The first working day of this week, from its opening time.
    first_open = calendar.next_opening(end)
    if now < first_open:
        return 0
    with session_scope(rt.db) as session:
        text = digest_text(session, cfg, calendar, start, end, now, label)
        queued = enqueue(
            session,
            kind=OutboxKind.CHAT,
            dedupe_key=f"digest:{label}",
            payload={"op": ChatOp.RAW, "channel": cfg.chat.team_channel, "text": text},
            case=None,
            now=now,
        )
    return int(queued)
