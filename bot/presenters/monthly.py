"""The monthly summary for the ombudsman: one month's key figures as text, and a chart.

Built on :func:`bot.presenters.reports.build_report`; figures only, no personal data.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlmodel import Session

from bot.config import Config
from bot.presenters.reports import Report, build_report


@dataclass(frozen=True)
class MonthlySummary:
    """The key figures of one month as text for Slack, and the chart (PNG) when asked for."""

    month: str  # YYYY-MM
    text: str
    chart_png: bytes | None = None


def month_range(month: date) -> tuple[date, date]:
    """First and last day of the month ``month`` falls in."""
    first = month.replace(day=1)
    nxt = (first + timedelta(days=32)).replace(day=1)
    return first, nxt - timedelta(days=1)


def summary_text(report: Report, month: str) -> str:
    """The key figures in a few lines of Swedish (no personal data: figures only)."""

    def pct(v: float | None) -> str:
        return "–" if v is None else f"{v * 100:.0f} %"

    def hrs(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f} h".replace(".", ",")

    reasons = ", ".join(f"{k} {v}" for k, v in sorted(report.escalations_by_reason.items()))
    return "\n".join(
        [
            f"Klagomål {month}: {report.received} inkomna ärenden",
            f"• Kvitterade inom 5 minuter: {pct(report.acknowledged_within_5_min)}",
            f"• Uppringda inom tidsgränsen: {pct(report.contacted_within_deadline)}",
            "• Arbetstid till första samtal: median "
            f"{hrs(report.working_hours_to_first_contact_median)}, "
            f"90:e percentil {hrs(report.working_hours_to_first_contact_p90)}",
            f"• Lösta: {pct(report.resolved)} "
            f"(genom dialog {pct(report.resolved_through_dialogue)}, "
            f"annan åtgärd {pct(report.resolved_by_other_measure)})",
            f"• Eskalerade: {report.escalated}" + (f" ({reasons})" if reasons else ""),
            f"• Återöppnade: {report.reopened}",
            f"• Åtgärdsplaner ej klara: {report.action_plans_outstanding}, "
            f"varav försenade {report.action_plans_overdue}",
        ]
    )


def monthly_summary(
    session: Session, cfg: Config, month: date, now: datetime, *, chart: bool = True
) -> MonthlySummary:
    """The month ``month`` falls in, as text and (if ``chart`` and matplotlib is there) a PNG."""
    first, last = month_range(month)
    report = build_report(session, cfg, first, last, now)
    label = first.strftime("%Y-%m")
    png: bytes | None = None
    if chart:
        from bot.presenters.charts import ChartsUnavailable, render_chart

        try:
            png = render_chart(
                report, deadline_hours=cfg.policy.first_contact_working_hours, title="Klagomål"
            )
        except ChartsUnavailable:
            png = None
    return MonthlySummary(month=label, text=summary_text(report, label), chart_png=png)
