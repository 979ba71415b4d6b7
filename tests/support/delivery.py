"""Waiting for the outbox's delivery loop (:class:`bot.runners.delivery.DeliveryLoop`).

Slack listeners only wake the loop; a test that wants to see what a press posted waits,
for a bounded time, until the loop has nothing left to do. The bound is a safety net
against a hang, never a deadline the behaviour is measured against.
"""

from __future__ import annotations

from bot.runners.delivery import DeliveryLoop

SETTLE_SECONDS = 15.0


def settle(loop: DeliveryLoop, timeout: float = SETTLE_SECONDS) -> None:
    """Return once ``loop`` has delivered everything it was woken for."""
    assert loop.running, "the delivery loop is not running"
    assert loop.wait_idle(timeout), f"the delivery loop was still busy after {timeout} s"
