"""Scheduled work: one sweep over database state, run by APScheduler or ``tick``.

The truth lives in the cases and outbox tables, not in a job store (which
APScheduler's own FAQ says must not be shared between processes): each run
recomputes what is due from columns on the rows, and each job is wrapped so
one failure never stops the others.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.runners.delivery import flush

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "sweep"

# The sweeps themselves are named in bot.wiring (SWEEPS) and handed over as runtime.sweeps.


@dataclass
class TickResult:
    acted: dict[str, int] = field(default_factory=dict)
    sent: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        jobs = ", ".join(f"{k}: {v}" for k, v in self.acted.items()) or "nothing due"
        return (
            f"tick: {jobs}; outbox: {self.sent} sent, {self.retried} to retry, {self.failed} failed"
        )

    def sweeps_summary(self) -> str:
        """What the sweeps did, without the outbox (which the delivery loop reports)."""
        return "sweep: " + (", ".join(f"{k}: {v}" for k, v in self.acted.items()) or "nothing due")


def run_tick(runtime: Runtime) -> TickResult:
    """Run every sweep once at the runtime's clock, then deliver what they queued
    (``tick``: a one-shot command flushes the outbox itself)."""
    result = run_sweeps(runtime)
    report = flush(runtime)
    result.sent, result.retried, result.failed = report.sent, report.retried, report.failed
    result.errors += report.errors
    return result


def run_sweeps(runtime: Runtime) -> TickResult:
    """Run every sweep once at the runtime's clock; deliver nothing (under ``run`` the
    delivery loop does, woken by the caller)."""
    result = TickResult()
    for name, sweep in runtime.sweeps:
        try:
            result.acted[name] = int(sweep(runtime))
        except Exception as exc:
            log.exception("sweep %s failed", name)
            result.errors.append(f"{name}: {exc}")
    return result
