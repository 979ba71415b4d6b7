"""The second core: parse, classify and extract in worker processes ahead of the writer.

:func:`prepared_mail` turns the mailbox's stream of raw messages into a stream
of ``(mail, Prepared)`` in the same order. With ``mailbox.parse_workers = 0``
each message is prepared in this process as it is taken; otherwise the work
goes to a process pool (started once per process, from a fork server, and
kept), at most ``IN_FLIGHT`` messages or ``IN_FLIGHT_BYTES`` of raw mail ahead of
the writer (back-pressure: the mailbox is read no faster than the writer
commits). Results are taken in mailbox order, so the writer sees exactly the
order and the messages it would have seen without workers; nothing is
committed by a worker, so exactly-once is the writer's business alone. A
worker that dies (or a pool that breaks) costs nothing but time: the message
is prepared again in this process.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import threading
from collections import deque
from collections.abc import Generator, Iterable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import TYPE_CHECKING

from bot.config import Config
from bot.domain.acknowledgement import own_addresses_of
from bot.mail.prepare import Prepared, PrepareSettings, prepare, warm_up
from bot.ports import InboundMail

if TYPE_CHECKING:  # the pipeline imports this module
    from bot.runners.pipeline import Services

log = logging.getLogger(__name__)

__all__ = ["Prepared", "prepare_settings", "prepared_mail", "settings_of", "shutdown_pool"]

IN_FLIGHT = 100  # messages handed to workers and not yet taken by the writer
IN_FLIGHT_BYTES = 32 * 1024 * 1024  # ... and their raw size (one message always goes)

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None
_pool_size = 0


def prepare_settings(cfg: Config) -> PrepareSettings:
    """What preparing depends on, from the configuration."""
    return PrepareSettings(
        own_addresses=own_addresses_of(cfg),
        max_attachment_bytes=cfg.mailbox.max_message_bytes,
        default_language=cfg.policy.default_language,
        country=cfg.policy.country,
        own_numbers=(cfg.organisation.phone, *cfg.organisation.own_numbers),
    )


def _get_pool(workers: int) -> ProcessPoolExecutor:
    global _pool, _pool_size
    with _lock:
        if _pool is None or _pool_size != workers:
            if _pool is not None:
                _pool.shutdown(wait=False, cancel_futures=True)
            # A fork server: forking this (threaded) process itself is unsafe, spawning
            # re-imports everything; the server imports the mail modules once.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["bot.mail.prepare"])
            _pool = ProcessPoolExecutor(workers, mp_context=context, initializer=warm_up)
            _pool_size = workers
        return _pool


def start_workers(workers: int) -> None:
    """Start the worker processes now, not when the first message arrives: starting
    the fork server and importing the mail modules takes seconds on a busy machine, and
    the first complaint after ``run`` starts should not wait for it. Returns at once."""
    if workers > 0:
        _get_pool(workers).submit(int)


def _drop_pool(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def shutdown_pool() -> None:
    """Stop the worker processes (at exit, or when a test wants them gone)."""
    global _pool
    with _lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)


atexit.register(shutdown_pool)


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
    pool = _get_pool(workers)
    ahead: deque[tuple[InboundMail, Future[Prepared] | None]] = deque()
    ahead_bytes = 0
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
                ahead.append((taken, _submit(pool, taken, settings)))
                ahead_bytes += len(taken.raw)
            if not ahead:
                return
            mail, future = ahead.popleft()
            ahead_bytes -= len(mail.raw)
            yield mail, _result(pool, future, mail, settings)
    finally:
        for _, future in ahead:
            if future is not None:
                future.cancel()
        close = getattr(source, "close", None)
        if close is not None:
            close()


def _submit(
    pool: ProcessPoolExecutor, mail: InboundMail, settings: PrepareSettings
) -> Future[Prepared] | None:
    try:
        return pool.submit(prepare, mail.raw, settings)
    except Exception:  # a broken pool: this message is prepared here when its turn comes
        return None


def _result(
    pool: ProcessPoolExecutor,
    future: Future[Prepared] | None,
    mail: InboundMail,
    settings: PrepareSettings,
) -> Prepared:
    if future is not None:
        try:
            return future.result()
        except Exception as exc:
            log.warning(
                "parse worker failed on %s (%s); preparing it in this process",
                mail.position,
                type(exc).__name__,
            )
            _drop_pool(pool)
    return prepare(mail.raw, settings)
