"""``complaint-bot run``: the mailbox watcher, the scheduler and the chat app together.

The watcher handles mail as it arrives and delivers what it queued at once
(acknowledgements go out within a second or two). The scheduler runs the
sweep every ``SWEEP_SECONDS``. SIGTERM or SIGINT: finish the message in hand,
flush what can be flushed, exit 0.
"""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING

from apscheduler.schedulers.background import BackgroundScheduler

from bot.outbox import deliver_due
from bot.pipeline import process_mail
from bot.scheduler import SWEEP_JOB_ID, run_tick

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

SWEEP_SECONDS = 30


def watch_mailbox(rt: Runtime, stop: threading.Event, wait_seconds: float = 1.0) -> None:
    """Handle waiting mail, deliver, wait for more; until ``stop`` is set."""
    while not stop.is_set():
        handled = 0
        try:
            for mail in rt.mailbox.pending():
                process_mail(rt.db, rt.services, rt.mailbox, mail)
                handled += 1
                if stop.is_set():
                    break
            if handled:
                deliver_due(rt.db, rt.outlets, rt.clock, rt.owner)
        except Exception:
            log.exception("mailbox watcher: error; retrying shortly")
            stop.wait(5.0)
            continue
        if not stop.is_set():
            rt.mailbox.wait(wait_seconds)


def _sweep(rt: Runtime) -> None:
    result = run_tick(rt)
    if result.acted or result.sent or result.failed:
        log.info(result.summary())


def serve(rt: Runtime, stop: threading.Event | None = None) -> int:
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %s: finishing the message in hand, then stopping", signum)
        stop.set()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    scheduler = BackgroundScheduler(timezone="UTC")
    scheduler.add_job(_sweep, "interval", seconds=SWEEP_SECONDS, id=SWEEP_JOB_ID, args=[rt],
                      max_instances=1, coalesce=True, replace_existing=True,
                      next_run_time=rt.clock())
    scheduler.start()
    chat_app = None
    if rt.cfg.chat.kind == "slack":
        from handlers.slack.app import start_chat_app

        chat_app = start_chat_app(rt, stop)
    log.info("complaint-bot running: mailbox %s, chat %s, outgoing %s",
             rt.cfg.mailbox.kind, rt.cfg.chat.kind, rt.cfg.outgoing.kind)
    try:
        watch_mailbox(rt, stop)
    finally:
        scheduler.shutdown(wait=True)
        if chat_app is not None:
            chat_app.close()
        try:
            deliver_due(rt.db, rt.outlets, rt.clock, rt.owner)
        except Exception:
            log.exception("final outbox flush failed")
        rt.close()
        log.info("complaint-bot stopped")
    return 0
