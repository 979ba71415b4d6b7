"""The figures an ombudsman reports, with definitions a board can trust.

A case counts in a period when it was *received* in that period (local dates,
both ends included). Historical cases (mail that was in the mailbox before the
bot) are counted as received but left out of the timeliness figures, since
nobody could have acted on them in time. Shares are of the cases received in
the period; ``resolved`` means closed as resolved through dialogue or by
another measure.
"""

from __future__ import annotations

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, col, select

from bot.config import Config
from bot.models import Case, Escalation


@dataclass
class Report:
    period_from: date | None
    period_to: date | None
    received: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    by_type: dict[str, int] = field(default_factory=dict)
    acknowledged_within_5_min: float | None = None
    contacted: int = 0
    contacted_within_deadline: float | None = None
    hours_to_first_contact_median: float | None = None
    hours_to_first_contact_p90: float | None = None
    closed: int = 0
    resolved: float | None = None
    resolved_through_dialogue: float | None = None
    resolved_by_other_measure: float | None = None
    escalated: int = 0
    escalations_by_reason: dict[str, int] = field(default_factory=dict)
    reopened: int = 0
    reminders_per_case: float | None = None

    def as_dict(self) -> dict[str, Any]:
        d = dict(self.__dict__)
        d["period_from"] = self.period_from.isoformat() if self.period_from else None
        d["period_to"] = self.period_to.isoformat() if self.period_to else None
        return d

    def rows(self) -> list[tuple[str, str]]:
        def pct(v: float | None) -> str:
            return "-" if v is None else f"{v * 100:.0f} %"

        def num(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        out = [("period", f"{self.period_from or '…'} – {self.period_to or '…'}"),
               ("cases received", str(self.received))]
        out += [(f"  by source: {k}", str(v)) for k, v in sorted(self.by_source.items())]
        out += [(f"  by type: {k}", str(v)) for k, v in sorted(self.by_type.items())]
        out += [
            ("acknowledged within 5 minutes", pct(self.acknowledged_within_5_min)),
            ("contacted (call or meeting logged)", str(self.contacted)),
            ("contacted within the deadline", pct(self.contacted_within_deadline)),
            ("hours to first contact, median", num(self.hours_to_first_contact_median)),
            ("hours to first contact, 90th percentile", num(self.hours_to_first_contact_p90)),
            ("closed", str(self.closed)),
            ("resolved", pct(self.resolved)),
            ("resolved through dialogue", pct(self.resolved_through_dialogue)),
            ("resolved by another measure", pct(self.resolved_by_other_measure)),
            ("escalated", str(self.escalated)),
        ]
        out += [(f"  escalations: {k}", str(v))
                for k, v in sorted(self.escalations_by_reason.items())]
        out += [("re-opened", str(self.reopened)),
                ("reminders per case", num(self.reminders_per_case))]
        return out


def _share(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q * 100) - 1]


def build_report(session: Session, cfg: Config, start: date | None, end: date | None,
                 now: datetime) -> Report:
    tz = cfg.policy.tz
    q = select(Case)
    if start:
        q = q.where(Case.received_at >= datetime.combine(start, time.min, tz))
    if end:
        q = q.where(Case.received_at < datetime.combine(end + timedelta(days=1), time.min, tz))
    cases = list(session.exec(q.order_by(col(Case.received_at))).all())
    rep = Report(start, end, received=len(cases))
    rep.by_source = dict(Counter(c.source for c in cases))
    rep.by_type = dict(Counter(c.type for c in cases))
    live = [c for c in cases if not c.historical]
    acked_fast = [c for c in live if c.ack_sent_at and
                  c.ack_sent_at - c.received_at <= timedelta(minutes=5)]
    rep.acknowledged_within_5_min = _share(len(acked_fast), len(live))
    contacted = [c for c in live if c.first_contact_at]
    rep.contacted = len(contacted)
    due = [c for c in live if c.first_contact_due_at and (c.first_contact_at or now)]
    in_time = [c for c in due if c.first_contact_at and c.first_contact_due_at
               and c.first_contact_at <= c.first_contact_due_at]
    rep.contacted_within_deadline = _share(len(in_time), len(due))
    hours = sorted((c.first_contact_at - c.received_at).total_seconds() / 3600
                   for c in contacted if c.first_contact_at)
    rep.hours_to_first_contact_median = statistics.median(hours) if hours else None
    rep.hours_to_first_contact_p90 = _percentile(hours, 0.9)
    rep.closed = sum(1 for c in cases if c.closed_at)
    res = Counter(c.resolution for c in cases if c.resolution)
    rep.resolved = _share(res["dialogue"] + res["other_measure"], len(cases))
    rep.resolved_through_dialogue = _share(res["dialogue"], len(cases))
    rep.resolved_by_other_measure = _share(res["other_measure"], len(cases))
    rep.escalated = sum(1 for c in cases if c.escalated_at)
    ids = [c.id for c in cases]
    if ids:
        reasons = session.exec(select(Escalation.reason)
                               .where(col(Escalation.case_id).in_(ids))).all()
        rep.escalations_by_reason = dict(Counter(reasons))
    rep.reopened = sum(1 for c in cases if c.reopened_count)
    rep.reminders_per_case = (sum(c.reminders_sent for c in live) / len(live)) if live else None
    return rep
