"""Who delivers the outbox, and when: one loop while ``run`` is up, one flush otherwise.

While ``complaint-bot run`` is up, :class:`DeliveryLoop` is the only thing that calls
:func:`~bot.runners.outbox.deliver_due`. Whoever queues something (a Slack listener,
the mailbox watcher, the sweep) calls :meth:`DeliveryLoop.wake`, which returns at once;
the loop's thread then delivers within milliseconds. A button press therefore never
runs a delivery loop of its own, and two presses never deliver side by side in one
process (instances still share the outbox safely through its leases).

A one-shot command (``ingest --once``, ``tick``, ``case ...``) has no loop: it calls
:func:`flush` once at the end.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.runners.outbox import DeliveryReport, deliver_due

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

FLUSH_ROUNDS = 10
# Without a wake-up the loop still looks every so often, for entries whose retry
# time has come (the sweep wakes it too, every SWEEP_SECONDS).
IDLE_SECONDS = 30.0


def flush(
    rt: Runtime, rounds: int = FLUSH_ROUNDS, keep_going: Callable[[], bool] | None = None
) -> DeliveryReport:
    """Deliver what is due, again while a round sent something (sending a case's prompt
    can make its next chat entry due). What fails stays queued for a later round.
    ``keep_going`` (the delivery loop's "not stopping") is asked before each entry."""
    total = DeliveryReport()
    for _ in range(rounds):
        if keep_going is not None and not keep_going():
            break
        report = deliver_due(rt.db, rt.outlets, rt.clock, rt.owner, keep_going=keep_going)
        total.sent += report.sent
        total.retried += report.retried
        total.failed += report.failed
        total.errors += report.errors
        if not report.sent:
            break
    return total


class DeliveryLoop:
    """The outbox's delivery loop: a thread that flushes whenever it is woken.

    Created by :mod:`bot.wiring` (``Runtime.delivery``) and handed to the chat app, so
    listeners wake it; started and stopped by :func:`bot.runners.service.serve`.
    :meth:`wake` before :meth:`start` is kept: the first round delivers it.
    """

    def __init__(self, rt: Runtime, idle_seconds: float = IDLE_SECONDS) -> None:
        self.rt = rt
        self.idle_seconds = idle_seconds
        self._cond = threading.Condition()
        self._woken = False
        self._busy = False
        self._stopping = False
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Ask the loop to deliver now; returns at once."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def start(self) -> None:
        if self.running:
            return
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="outbox-delivery", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 60.0) -> bool:
        """Finish the entry in hand and end the thread (entries leased but not tried are
        given back). False if the thread is still sending after ``timeout`` seconds: then
        nobody else may deliver as this process's owner (it would send twice)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
            self._thread = None
        return True

    def wait_idle(self, timeout: float) -> bool:
        """True once no wake-up is pending and no round is running (for shutdown and
        tests); False if that did not happen within ``timeout`` seconds."""
        with self._cond:
            return self._cond.wait_for(lambda: not (self._woken or self._busy), timeout)

    def _run(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._woken or self._stopping, self.idle_seconds)
                if self._stopping:
                    return
                self._woken = False
                self._busy = True
            try:
                report = flush(self.rt, keep_going=lambda: not self._stopping)
                if report.sent or report.failed:
                    log.debug(
                        "outbox: %s sent, %s to retry, %s failed",
                        report.sent,
                        report.retried,
                        report.failed,
                    )
            except Exception:
                log.exception("outbox delivery failed; the next round retries")
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
