"""The figures an ombudsman reports, with definitions a board can trust.

Definitions (the same text, for readers, is in ``docs/reports.md``):

Which cases
    A case counts in a period when it was *received* in that period: its
    received time (IMAP INTERNALDATE or Slack message time, not the sender's
    ``Date:``) falls on a local date from ``--from`` to ``--to``, both ends
    included, in the organisation's time zone. Without ``--from``/``--to`` the
    period is open-ended on that side. A case is counted once, in the period it
    was received, whatever happens to it later; figures about what happened
    later (contact, closing) are as they stand when the report is made.

Historical cases
    Mail that was already in the mailbox when the bot first connected opens
    *historical* cases. They count in ``received``, in the breakdowns and in the
    outcome shares (they are complaints the organisation handled), but they are
    left out of every timeliness figure (acknowledgement, time to first call,
    deadline, reminders), because nobody could have acted on them in time.

Received, by source / type / theme / unit
    Counts of the cases received. A case without a theme or unit is counted
    under ``"(none)"``.

Acknowledged within 5 minutes
    Of the non-historical cases received by email, the share whose
    acknowledgement email was accepted by the mail server no more than 5
    minutes after the complaint was received. A case the bot rightly did not
    acknowledge (robot mail, a bounced address, the sender already acknowledged
    within the day) counts as *not* acknowledged within 5 minutes. Cases from
    Slack, phone, counter or letter are left out: they are not acknowledged by
    email.

Working hours to the first logged call
    For each non-historical case with a logged call or meeting that reached the
    complainant ("no answer" and voicemail do not count), the open time of the
    organisation (working days and hours from ``[policy]``, public holidays and
    de-facto days off skipped) between receipt and that first contact. The
    median and the 90th percentile (linear interpolation between closest ranks,
    as Excel's PERCENTILE.INC) of those values. ``hours_to_first_contact_*``
    give the same in elapsed clock hours.

Called within the deadline
    Denominator: non-historical cases whose first-contact deadline
    (``first_contact_due_at``, set when the case opened) has passed at the time
    of the report, or that were contacted before it. Numerator: those whose
    first contact was logged no later than the deadline. A case closed without
    a call counts as not called within the deadline; a case still inside its
    deadline and not yet called is left out, since it can still go either way.

Resolved, through dialogue, by another measure
    Shares of *all* cases received in the period (historical ones included,
    open ones included in the denominator): ``resolved`` is closed as resolved
    through dialogue or resolved by another measure; the other two are those
    resolutions alone. A case that was closed, re-opened and is open again has
    no resolution and does not count as resolved. ``by_resolution`` gives the
    counts of every resolution.

Escalations and their reasons
    ``escalated`` counts cases received in the period that were ever escalated;
    ``escalations_by_reason`` counts escalation records of those cases by
    reason (a case escalated for two reasons counts under each).

Re-opened
    Cases received in the period that were re-opened at least once (a message
    after closing).

Reminders per case
    Reminders sent to staff, summed over the non-historical cases received in
    the period, divided by the number of those cases.

Outstanding action plans
    A stock, not a flow: every action plan (for any case, whenever received)
    that exists and is not marked done at the end of the period (end of the
    ``--to`` day, or the time of the report when that is earlier or no ``--to``
    is given). ``action_plans_overdue`` are those whose due date was before
    that moment.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.config import Config
from bot.domain.calendar import WorkingCalendar
from bot.store.models import ActionPlan, Case, Escalation, Resolution, Source

ACK_TARGET = timedelta(minutes=5)
NONE_LABEL = "(none)"


@dataclass
class Report:
    period_from: date | None
    period_to: date | None
    received: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    by_theme: dict[str, int] = field(default_factory=dict)
    by_unit: dict[str, int] = field(default_factory=dict)
    historical: int = 0
    acknowledged_within_5_min: float | None = None
    contacted: int = 0
    contacted_within_deadline: float | None = None
    hours_to_first_contact_median: float | None = None
    hours_to_first_contact_p90: float | None = None
    working_hours_to_first_contact_median: float | None = None
    working_hours_to_first_contact_p90: float | None = None
    closed: int = 0
    open: int = 0
    by_resolution: dict[str, int] = field(default_factory=dict)
    resolved: float | None = None
    resolved_through_dialogue: float | None = None
    resolved_by_other_measure: float | None = None
    escalated: int = 0
    escalations_by_reason: dict[str, int] = field(default_factory=dict)
    reopened: int = 0
    reminders_per_case: float | None = None
    action_plans_outstanding: int = 0
    action_plans_overdue: int = 0
    cases_per_week: dict[str, int] = field(default_factory=dict)
    # Per contacted case, for the chart; not part of the published figures.
    first_contact_working_hours: list[float] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape of ``report --format json`` (keys are stable; new ones are added)."""
        d = {k: v for k, v in self.__dict__.items() if k != "first_contact_working_hours"}
        d["period_from"] = self.period_from.isoformat() if self.period_from else None
        d["period_to"] = self.period_to.isoformat() if self.period_to else None
        return d

    def rows(self) -> list[tuple[str, str]]:
        """(metric, value) pairs for the table and CSV formats."""

        def pct(v: float | None) -> str:
            return "-" if v is None else f"{v * 100:.0f} %"

        def num(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        def breakdown(label: str, counts: dict[str, int]) -> list[tuple[str, str]]:
            return [(f"  {label}: {k}", str(v)) for k, v in sorted(counts.items())]

        out = [
            ("period", f"{self.period_from or '…'} – {self.period_to or '…'}"),
            ("cases received", str(self.received)),
        ]
        out += breakdown("by source", self.by_source)
        out += breakdown("by type", self.by_type)
        out += breakdown("by theme", self.by_theme)
        out += breakdown("by unit", self.by_unit)
        out += [
            ("  of which historical", str(self.historical)),
            ("acknowledged within 5 minutes", pct(self.acknowledged_within_5_min)),
            ("contacted (call or meeting logged)", str(self.contacted)),
            ("contacted within the deadline", pct(self.contacted_within_deadline)),
            (
                "working hours to first call, median",
                num(self.working_hours_to_first_contact_median),
            ),
            (
                "working hours to first call, 90th percentile",
                num(self.working_hours_to_first_contact_p90),
            ),
            ("hours to first contact, median", num(self.hours_to_first_contact_median)),
            ("hours to first contact, 90th percentile", num(self.hours_to_first_contact_p90)),
            ("closed", str(self.closed)),
            ("open", str(self.open)),
        ]
        out += breakdown("resolution", self.by_resolution)
        out += [
            ("resolved", pct(self.resolved)),
            ("resolved through dialogue", pct(self.resolved_through_dialogue)),
            ("resolved by another measure", pct(self.resolved_by_other_measure)),
            ("escalated", str(self.escalated)),
        ]
        out += breakdown("escalations", self.escalations_by_reason)
        out += [
            ("re-opened", str(self.reopened)),
            ("reminders per case", num(self.reminders_per_case)),
            ("action plans outstanding", str(self.action_plans_outstanding)),
            ("action plans overdue", str(self.action_plans_overdue)),
        ]
        return out


# --- pure helpers ----------------------------------------------------------


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or None when there is nothing to divide by."""
    return None if whole == 0 else part / whole


def percentile(values: list[float], q: float) -> float | None:
    """The ``q`` quantile (0..1) by linear interpolation between closest ranks.

    The same as Excel's PERCENTILE.INC and numpy's default, so the figure can be
    checked by hand in a spreadsheet.
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def iso_week(at: datetime, cfg: Config) -> str:
    """``2026-W48``: the local ISO week a moment falls in."""
    year, week, _ = at.astimezone(cfg.policy.tz).isocalendar()
    return f"{year}-W{week:02d}"


def period_bounds(
    cfg: Config, start: date | None, end: date | None
) -> tuple[datetime | None, datetime | None]:
    """The period as instants: from local midnight of ``start`` to local midnight after ``end``."""
    tz = cfg.policy.tz
    lo = datetime.combine(start, time.min, tz) if start else None
    hi = datetime.combine(end + timedelta(days=1), time.min, tz) if end else None
    return lo, hi


def cases_received(
    session: Session, cfg: Config, start: date | None, end: date | None
) -> list[Case]:
    """The cases received in the period, oldest first."""
    lo, hi = period_bounds(cfg, start, end)
    q = select(Case)
    if lo:
        q = q.where(Case.received_at >= lo)
    if hi:
        q = q.where(Case.received_at < hi)
    return list(session.exec(q.order_by(col(Case.received_at), col(Case.id))).all())


def _weeks(cases: list[Case], cfg: Config, start: date | None, end: date | None) -> dict[str, int]:
    """Cases per ISO week, with empty weeks inside the period shown as 0."""
    counts = Counter(iso_week(c.received_at, cfg) for c in cases)
    tz = cfg.policy.tz
    first = start or (cases[0].received_at.astimezone(tz).date() if cases else None)
    last = end or (cases[-1].received_at.astimezone(tz).date() if cases else None)
    if first is None or last is None:
        return {}
    weeks: dict[str, int] = {}
    day = first - timedelta(days=first.isoweekday() - 1)
    while day <= last:
        y, w, _ = day.isocalendar()
        key = f"{y}-W{w:02d}"
        weeks[key] = counts.get(key, 0)
        day += timedelta(days=7)
    return weeks


# --- the report ------------------------------------------------------------


def build_report(
    session: Session, cfg: Config, start: date | None, end: date | None, now: datetime
) -> Report:
    """Every figure of the period; see the module docstring for the definitions."""
    cases = cases_received(session, cfg, start, end)
    calendar = WorkingCalendar.from_policy(cfg.policy)
    rep = Report(start, end, received=len(cases))
    rep.by_source = dict(Counter(c.source for c in cases))
    rep.by_type = dict(Counter(c.type for c in cases))
    rep.by_theme = dict(Counter(c.theme or NONE_LABEL for c in cases))
    rep.by_unit = dict(Counter(c.unit or NONE_LABEL for c in cases))
    rep.historical = sum(1 for c in cases if c.historical)
    rep.cases_per_week = _weeks(cases, cfg, start, end)

    live = [c for c in cases if not c.historical]
    by_email = [c for c in live if c.source == Source.EMAIL.value]
    acked_fast = [
        c for c in by_email if c.ack_sent_at and c.ack_sent_at - c.received_at <= ACK_TARGET
    ]
    rep.acknowledged_within_5_min = share(len(acked_fast), len(by_email))

    contacted = [c for c in live if c.first_contact_at]
    rep.contacted = len(contacted)
    decided = [
        c
        for c in live
        if c.first_contact_due_at and (c.first_contact_at or c.first_contact_due_at <= now)
    ]
    in_time = [
        c
        for c in decided
        if c.first_contact_at
        and c.first_contact_due_at
        and c.first_contact_at <= c.first_contact_due_at
    ]
    rep.contacted_within_deadline = share(len(in_time), len(decided))
    elapsed = [
        (c.first_contact_at - c.received_at) / timedelta(hours=1)
        for c in contacted
        if c.first_contact_at
    ]
    working = [
        calendar.working_hours_between(c.received_at, c.first_contact_at)
        for c in contacted
        if c.first_contact_at
    ]
    rep.hours_to_first_contact_median = statistics.median(elapsed) if elapsed else None
    rep.hours_to_first_contact_p90 = percentile(elapsed, 0.9)
    rep.working_hours_to_first_contact_median = statistics.median(working) if working else None
    rep.working_hours_to_first_contact_p90 = percentile(working, 0.9)
    rep.first_contact_working_hours = working

    rep.closed = sum(1 for c in cases if c.closed_at)
    rep.open = rep.received - rep.closed
    res = Counter(c.resolution for c in cases if c.resolution)
    rep.by_resolution = dict(res)
    dialogue, other = res[Resolution.DIALOGUE.value], res[Resolution.OTHER_MEASURE.value]
    rep.resolved = share(dialogue + other, len(cases))
    rep.resolved_through_dialogue = share(dialogue, len(cases))
    rep.resolved_by_other_measure = share(other, len(cases))

    rep.escalated = sum(1 for c in cases if c.escalated_at)
    ids = [c.id for c in cases]
    if ids:
        reasons: Counter[str] = Counter()
        # Chunked: PostgreSQL and SQLite both cap the number of bound parameters.
        for i in range(0, len(ids), 500):
            reasons.update(
                session.exec(
                    select(Escalation.reason).where(col(Escalation.case_id).in_(ids[i : i + 500]))
                ).all()
            )
        rep.escalations_by_reason = dict(reasons)
    rep.reopened = sum(1 for c in cases if c.reopened_count)
    rep.reminders_per_case = (sum(c.reminders_sent for c in live) / len(live)) if live else None

    _, hi = period_bounds(cfg, start, end)
    cutoff = min(now, hi) if hi else now
    outstanding = [
        p
        for p in session.exec(
            select(ActionPlan).where(
                col(ActionPlan.created_at) <= cutoff,
                sa.or_(col(ActionPlan.done_at).is_(None), col(ActionPlan.done_at) > cutoff),
            )
        ).all()
    ]
    rep.action_plans_outstanding = len(outstanding)
    rep.action_plans_overdue = sum(1 for p in outstanding if p.due_at < cutoff)
    return rep
