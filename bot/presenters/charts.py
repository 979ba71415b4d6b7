"""The report as one chart: cases per week, working hours to the first call, outcomes.

matplotlib is an optional dependency (extra ``charts``) and is imported only
here, only when a chart is asked for. The figure is built with the object API
(``matplotlib.figure.Figure`` on the Agg canvas), never ``pyplot``: no global
state, no display, safe inside the long-running bot.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.presenters.reports import Report


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed (``pip install 'complaint-bot[charts]'``)."""


# Outcome labels in the order a board reads them, with colours that survive
# greyscale printing (dark to light).
OUTCOMES: tuple[tuple[str, str, str], ...] = (
    ("dialogue", "Löst genom dialog", "#1b5e20"),
    ("other_measure", "Löst genom annan åtgärd", "#66bb6a"),
    ("not_resolved", "Ej löst", "#c62828"),
    ("withdrawn", "Återkallat", "#9e9e9e"),
    ("left_service", "Lämnat verksamheten", "#bdbdbd"),
    ("open", "Pågår", "#1565c0"),
)


def outcome_shares(report: Report) -> list[tuple[str, float, str]]:
    """(label, share of cases received, colour) for each outcome, open cases included."""
    if not report.received:
        return []
    counts = dict(report.by_resolution)
    counts["open"] = report.received - sum(report.by_resolution.values())
    return [
        (label, counts.get(key, 0) / report.received, colour) for key, label, colour in OUTCOMES
    ]


def render_chart(
    report: Report, *, deadline_hours: float | None = None, title: str = "Klagomål"
) -> bytes:
    """A PNG of the period: three panels, readable on a slide or in Slack."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MaxNLocator
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ChartsUnavailable(
            "charts need matplotlib: pip install 'complaint-bot[charts]'"
        ) from exc

    fig = Figure(figsize=(11, 8), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    period = f"{report.period_from or '…'} – {report.period_to or '…'}"
    fig.suptitle(f"{title} {period}: {report.received} ärenden", fontsize=14)
    grid = fig.add_gridspec(2, 2)

    weeks = fig.add_subplot(grid[0, :])
    labels = list(report.cases_per_week)
    weeks.bar(range(len(labels)), list(report.cases_per_week.values()), color="#1565c0")
    step = max(1, len(labels) // 16)  # at most ~16 tick labels, whatever the period
    weeks.set_xticks(
        range(0, len(labels), step), labels[::step], rotation=45, ha="right", fontsize=8
    )
    weeks.set_ylabel("ärenden")
    weeks.set_title("Inkomna ärenden per vecka")
    weeks.yaxis.set_major_locator(MaxNLocator(integer=True))

    hours = fig.add_subplot(grid[1, 0])
    values = report.first_contact_working_hours
    if values:
        hours.hist(values, bins=min(20, max(5, len(values) // 3)), color="#546e7a")
        if report.working_hours_to_first_contact_median is not None:
            hours.axvline(
                report.working_hours_to_first_contact_median,
                color="#000000",
                linestyle="-",
                label=f"median {report.working_hours_to_first_contact_median:.1f} h",
            )
        if report.working_hours_to_first_contact_p90 is not None:
            hours.axvline(
                report.working_hours_to_first_contact_p90,
                color="#000000",
                linestyle="--",
                label=f"90:e percentil {report.working_hours_to_first_contact_p90:.1f} h",
            )
        if deadline_hours is not None:
            hours.axvline(
                deadline_hours, color="#c62828", linestyle=":", label=f"mål {deadline_hours:g} h"
            )
        hours.legend(fontsize=8)
    else:
        hours.text(
            0.5, 0.5, "inga samtal loggade", ha="center", va="center", transform=hours.transAxes
        )
    hours.set_xlabel("arbetstimmar från inkommet till första samtal")
    hours.set_ylabel("ärenden")
    hours.set_title("Tid till första samtal")

    outcomes = fig.add_subplot(grid[1, 1])
    shares = outcome_shares(report)
    if shares:
        names = [s[0] for s in shares]
        pct = [s[1] * 100 for s in shares]
        bars = outcomes.barh(names, pct, color=[s[2] for s in shares])
        outcomes.bar_label(bars, labels=[f"{p:.0f} %" for p in pct], padding=3, fontsize=8)
        outcomes.invert_yaxis()
        outcomes.set_xlim(0, 110)
    outcomes.set_xlabel("andel av inkomna ärenden (%)")
    outcomes.set_title("Utfall")

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
