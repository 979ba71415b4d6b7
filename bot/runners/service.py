"""``complaint-bot run``: the mailbox watcher, the scheduler and the chat app together.

The watcher handles mail as it arrives, a group of messages per transaction, and
wakes the delivery loop (:class:`~bot.runners.delivery.DeliveryLoop`, the only thing
that delivers while ``run`` is up), so acknowledgements go out within a second or two;
the chat listeners and the web front wake it too. The scheduler runs the sweep every
``SWEEP_SECONDS`` and wakes it after. SIGTERM or SIGINT: finish the group of messages in
hand, stop the loop, flush once what can be flushed, exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from bot import metrics
from bot.runners.delivery import flush
from bot.runners.outbox import backlog
from bot.runners.pipeline import ingest_groups
from bot.runners.prepare import start_workers
from bot.runners.scheduler import SWEEP_JOB_ID, run_sweeps
from bot.store.db import session_scope
from bot.store.lease import RENEW_SECONDS, free_outbox_of_dead, release, try_acquire

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30
LEASE_RETRY_SECONDS = 2.0


def watch_mailbox(rt: Runtime, stop: threading.Event, wait_seconds: float = 5.0) -> None:
    """Handle waiting mail, wake the delivery loop, wait for more; until ``stop`` is set.

    ``wait`` returns as soon as mail arrives (IMAP IDLE, or a new file in the
    Maildir), so ``wait_seconds`` only bounds how long a stop request or the
    lease renewal (every 10 s) waits; it is not a polling interval.

    Only the instance holding the mailbox's lease (:mod:`bot.store.lease`) reads the
    mailbox; the others wait and try again, and take over when the holder dies.
    """
    lease = MailboxLease(rt)
    try:
        while not stop.is_set():
            if not lease.hold():
                stop.wait(LEASE_RETRY_SECONDS)
                continue
            handled = 0
            try:
                # Stop and lease are checked between groups (one transaction each).
                for _ in ingest_groups(
                    rt.db,
                    rt.services,
                    rt.mailbox,
                    keep_going=lambda: not stop.is_set() and lease.hold(),
                ):
                    handled += 1
                if handled:
                    rt.delivery.wake()
            except Exception:
                log.exception("mailbox watcher: error; retrying shortly")
                stop.wait(5.0)
                continue
            if not stop.is_set() and lease.held:
                rt.mailbox.wait(wait_seconds)
    finally:
        lease.release()


class MailboxLease:
    """The watcher's hold on the mailbox lease: taken, renewed every
    ``RENEW_SECONDS``, and the mailbox connection dropped when it is lost."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.key = f"mailbox:{rt.mailbox.key}"
        self.held = False
        self._renewed = 0.0

    def hold(self) -> bool:
        """True if this instance holds the lease now (renewing it when due)."""
        if self.held and time.monotonic() - self._renewed < RENEW_SECONDS:
            return True
        try:
            ok = try_acquire(self.rt.db, self.key, self.rt.owner, self.rt.clock())
        except Exception as exc:  # the database is away: do not read mail meanwhile
            log.warning(
                "mailbox lease %s: cannot reach the database (%s)", self.key, type(exc).__name__
            )
            ok = False
        if ok and not self.held:
            log.info("mailbox lease %s: held by this instance (%s)", self.key, self.rt.owner)
            metrics.MAILBOX_LEASE.set(1)
        elif self.held and not ok:
            log.warning("mailbox lease %s: lost; closing the mailbox connection", self.key)
            metrics.MAILBOX_LEASE.set(0)
            self.rt.mailbox.close()
        self.held = ok
        if ok:
            self._renewed = time.monotonic()
        return ok

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        metrics.MAILBOX_LEASE.set(0)
        try:
            release(self.rt.db, self.key, self.rt.owner)
        except Exception:
            log.warning("mailbox lease %s: could not release; it runs out by itself", self.key)


def _sweep(rt: Runtime) -> None:
    try:
        free_outbox_of_dead(rt.db)  # a sibling instance on this host may have died
    except Exception:
        log.warning("could not check for outbox entries of dead instances", exc_info=True)
    result = run_sweeps(rt)
    rt.delivery.wake()  # what the sweeps queued, and retries whose time has come
    if result.acted:
        log.info(result.sweeps_summary())


def start_metrics(rt: Runtime, port: int, host: str = "127.0.0.1") -> None:
    """Serve Prometheus metrics for this instance on ``host:port``."""

    def outbox_backlog() -> float:
        try:
            with session_scope(rt.db) as session:
                return float(backlog(session))
        except Exception:
            return float("nan")  # the database is away; the scrape still answers

    def mailbox_connected() -> float:
        return float(bool(getattr(rt.mailbox, "connected", True)))

    metrics.serve_metrics(port, host, outbox_backlog, mailbox_connected)
    log.info("metrics on http://%s:%d/metrics", host, port)


def serve(rt: Runtime, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the message in hand, then stopping", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(
        _sweep,
        "interval",
        seconds=SWEEP_SECONDS,
        id=SWEEP_JOB_ID,
        args=[rt],
        max_instances=1,
        coalesce=True,
        replace_existing=True,
        next_run_time=rt.clock(),
    )
    start_workers(rt.cfg.mailbox.parse_workers)
    rt.delivery.start()
    scheduler.start()
    chat_app = rt.start_chat_app(stop)
    web_front = rt.start_web_front()
    log.info(
        "complaint-bot running: mailbox %s, chat %s, outgoing %s, web %s",
        rt.cfg.mailbox.kind,
        rt.cfg.chat.kind,
        rt.cfg.outgoing.kind,
        "on" if web_front is not None else "off",
    )
    try:
        watch_mailbox(rt, stop)
    finally:
        scheduler.shutdown(wait=True)
        if chat_app is not None:
            chat_app.close()
        if web_front is not None:
            web_front.close()
        if rt.delivery.stop():
            try:
                flush(rt)
            except Exception:
                log.exception("final outbox flush failed")
        else:
            log.warning("outbox: a send did not finish in time; the rest waits for the next run")
        rt.close()
        log.info("complaint-bot stopped")
    return 0
