"""The second core: parse, classify and extract in worker processes ahead of the writer.

:func:`prepared_mail` turns the mailbox's stream of raw messages into a stream
of ``(mail, Prepared)`` in the same order. With ``mailbox.parse_workers = 0``
each message is prepared in this process as it is taken; otherwise the work
goes to worker processes (:mod:`bot.runners.parse_worker`, plain child
processes fed through a pipe, started once and kept), at most ``IN_FLIGHT``
messages or ``IN_FLIGHT_BYTES`` of raw mail ahead of the writer (back-pressure:
the mailbox is read no faster than the writer commits). Messages go to the
workers in turn and their answers are taken in mailbox order, so the writer
sees exactly the order and the messages it would have seen without workers;
nothing is committed by a worker, so exactly-once is the writer's business
alone. A worker that dies costs nothing but time: its messages are prepared
again in this process, and a new worker is started for the next backlog.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Generator, Iterable
from typing import TYPE_CHECKING

from bot.config import Config
from bot.domain.acknowledgement import own_addresses_of
from bot.mail.prepare import Prepared, PrepareSettings, prepare
from bot.ports import InboundMail
from bot.runners.parse_worker import PREPARED, RAW, SETTINGS, dumps, loads, read_frame, write_frame

if TYPE_CHECKING:  # the pipeline imports this module
    from bot.runners.pipeline import Services

log = logging.getLogger(__name__)

__all__ = ["Prepared", "prepare_settings", "prepared_mail", "settings_of", "shutdown_pool"]

IN_FLIGHT = 100  # messages handed to workers and not yet taken by the writer
IN_FLIGHT_BYTES = 32 * 1024 * 1024  # ... and their raw size (one message always goes)
# How long a worker may take over one message (its answer is waited for only once the
# writer needs it). Mail is cut down to 256 kB before it is parsed, so an honest message
# takes milliseconds; one that takes this long is quarantined, the worker killed, and the
# messages behind it go on.
PREPARE_SECONDS = 60.0


class _Dead:
    """What a worker's answers end with when it stopped."""


DEAD = _Dead()


class _Late:
    """A worker took longer than ``PREPARE_SECONDS`` over one message."""


LATE = _Late()


class Worker:
    """One worker process, a thread feeding it and a thread reading its answers, so
    that the writer never waits on a pipe: it only waits for an answer it needs."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot.runners.parse_worker"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
        self.settings: PrepareSettings | None = None
        self.outgoing: queue.SimpleQueue[tuple[bytes, bytes] | None] = queue.SimpleQueue()
        self.answers: queue.SimpleQueue[Prepared | _Dead] = queue.SimpleQueue()
        self.pending = 0  # sent and not yet taken
        self.dead = False
        for target in (self._feed, self._read):
            threading.Thread(target=target, name="parse-worker-io", daemon=True).start()

    def _feed(self) -> None:
        stdin = self.proc.stdin
        assert stdin is not None
        try:
            while (frame := self.outgoing.get()) is not None:
                write_frame(stdin, *frame)
                del frame  # not kept while waiting: it may be a 20 MB message
        except (OSError, ValueError):  # the worker is gone; the reader says so
            pass
        finally:
            with contextlib.suppress(OSError):
                stdin.close()

    def _read(self) -> None:
        stdout = self.proc.stdout
        assert stdout is not None
        try:
            while True:
                kind, body = read_frame(stdout)
                answer = loads(body) if kind == PREPARED else None
                if not isinstance(answer, Prepared):
                    break
                self.answers.put(answer)
        except (EOFError, OSError, ValueError):
            pass
        except Exception:  # an answer that does not unpickle: stop using this worker
            log.warning("parse worker sent an unreadable answer; preparing here instead")
        self.answers.put(DEAD)

    def send(self, raw: bytes, settings: PrepareSettings) -> None:
        if settings != self.settings:
            self.outgoing.put((SETTINGS, dumps(settings)))
            self.settings = settings
        self.outgoing.put((RAW, raw))
        self.pending += 1

    def take(self, timeout: float | None = None) -> Prepared | _Late | None:
        """The answer to the oldest message sent; None once the worker has stopped;
        LATE (and the worker killed) when it has not answered within ``timeout``."""
        self.pending -= 1
        if self.dead:
            return None
        try:
            answer = self.answers.get(timeout=timeout)
        except queue.Empty:
            self.dead = True
            self.proc.kill()  # its other messages are prepared in the writer
            return LATE
        if isinstance(answer, _Dead):
            self.dead = True
            return None
        return answer

    def drain(self) -> None:
        """Take (and drop) what is still on its way, so that the next backlog starts clean."""
        while self.pending > 0:
            self.take(PREPARE_SECONDS)

    def stop(self, wait: bool = True) -> None:
        self.outgoing.put(None)
        if wait:
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


_lock = threading.Lock()
_idle: list[list[Worker]] = []  # started worker sets no backlog is using now


def _check_out(count: int) -> list[Worker]:
    """``count`` live workers for one backlog (started now if none are idle)."""
    with _lock:
        while _idle:
            team = _idle.pop()
            alive = [w for w in team if not w.dead and w.proc.poll() is None]
            for gone in set(team) - set(alive):
                gone.stop(wait=False)
            if len(alive) == count:
                return alive
            for w in alive:
                w.stop(wait=False)
    return [Worker() for _ in range(count)]


def _check_in(team: list[Worker]) -> None:
    for w in team:
        w.drain()
    with _lock:
        _idle.append(team)


def start_workers(workers: int) -> None:
    """Start the worker processes now, not when the first message arrives: importing the
    mail modules and loading the language models takes seconds on a busy machine, and
    the first complaint after ``run`` starts should not wait for it. Returns at once."""
    if workers > 0:
        _check_in(_check_out(workers))


def shutdown_pool() -> None:
    """Stop the worker processes (at exit, or when a test wants them gone)."""
    with _lock:
        teams = list(_idle)
        _idle.clear()
    for team in teams:
        for w in team:
            w.stop()


atexit.register(shutdown_pool)


def prepare_settings(cfg: Config) -> PrepareSettings:
    """What preparing depends on, from the configuration."""
    return PrepareSettings(
        own_addresses=own_addresses_of(cfg),
        max_attachment_bytes=cfg.mailbox.max_message_bytes,
        default_language=cfg.policy.default_language,
        country=cfg.policy.country,
        own_numbers=(cfg.organisation.phone, *cfg.organisation.own_numbers),
    )


def settings_of(services: Services) -> PrepareSettings:
    """:func:`prepare_settings` of ``services.cfg``, worked out once per runtime."""
    found = services.extra.get("prepare_settings")
    if not isinstance(found, PrepareSettings):
        found = services.extra["prepare_settings"] = prepare_settings(services.cfg)
    return found


def prepared_mail(
    services: Services, mails: Iterable[InboundMail]
) -> Generator[tuple[InboundMail, Prepared], None, None]:
    """``mails`` in the same order, each with its :class:`Prepared` (see the module doc)."""
    settings = settings_of(services)
    workers = services.cfg.mailbox.parse_workers
    if workers <= 0:
        for mail in mails:
            yield mail, prepare(mail.raw, settings)
        return
    team = _check_out(workers)
    ahead: deque[tuple[InboundMail, Worker]] = deque()
    ahead_bytes = 0
    turn = 0
    source = iter(mails)
    exhausted = False
    try:
        while True:
            while not exhausted and (
                not ahead or (len(ahead) < IN_FLIGHT and ahead_bytes < IN_FLIGHT_BYTES)
            ):
                taken = next(source, None)
                if taken is None:
                    exhausted = True
                    break
                worker = team[turn % len(team)]
                turn += 1
                worker.send(taken.raw, settings)
                ahead.append((taken, worker))
                ahead_bytes += len(taken.raw)
            if not ahead:
                return
            mail, worker = ahead.popleft()
            ahead_bytes -= len(mail.raw)
            answer = worker.take(PREPARE_SECONDS)
            if isinstance(answer, _Late):
                log.warning(
                    "parse worker took over %.0f s on %s; quarantined",
                    PREPARE_SECONDS,
                    mail.position,
                )
                answer = Prepared(
                    None,
                    None,
                    settings.default_language,
                    (),
                    failure=f"preparing the message took over {PREPARE_SECONDS:.0f} s",
                )
            elif answer is None:
                log.warning(
                    "parse worker stopped before %s; preparing it in this process", mail.position
                )
                answer = prepare(mail.raw, settings)
            yield mail, answer
    finally:
        _check_in(team)
        close = getattr(source, "close", None)
        if close is not None:
            close()
