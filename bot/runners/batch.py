"""Inbound mail in groups: one transaction per group, one savepoint per message.

A backlog is handled ``GROUP_SIZE`` messages per transaction. Each message runs
in a savepoint of its own (:func:`bot.runners.pipeline.handle`): a bad message is
rolled back and quarantined alone while the rest of its group lands, and the
mailbox checkpoint moves in the same transaction as what the messages did, so
the guarantees of one transaction per message hold (a kill -9 loses nothing and
doubles nothing: either the group and its checkpoint are committed, or none of
it, and the messages come again). The mailbox is told a message is ``done``
only after its group committed.

Parsing, classification and extraction happen ahead of the writer, in a worker
process when ``mailbox.parse_workers`` > 0 (:mod:`bot.runners.prepare`). A group
is formed before its transaction begins, so fetching mail never holds the
database's write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from itertools import islice

from sqlalchemy.engine import Engine

from bot.ports import InboundMail, Mailbox
from bot.runners.pipeline import Outcome, Services, handle, quarantine_mail, tell
from bot.runners.prepare import Prepared, prepared_mail
from bot.store.db import database_unavailable, session_scope

log = logging.getLogger(__name__)

GROUP_SIZE = 50  # messages per transaction (the write lock is held for one group)

Item = tuple[InboundMail, Prepared | None]


def process_group(
    engine: Engine, services: Services, mailbox: Mailbox, group: list[Item]
) -> list[Outcome]:
    """Handle ``group`` in one transaction; quarantine what fails, message by message.

    Raises only when the database cannot be reached (nothing of the group was
    recorded; it comes again).
    """
    try:
        with session_scope(engine) as session:
            outcomes = [handle(session, services, mailbox, m, p) for m, p in group]
    except Exception as exc:
        if database_unavailable(exc):
            raise
        if len(group) > 1:
            # The commit itself failed, for something no savepoint caught: one at a time.
            log.warning("a group of %d messages failed to commit; one at a time", len(group))
            return [o for item in group for o in process_group(engine, services, mailbox, [item])]
        mail = group[0][0]
        reason = f"commit failed: {type(exc).__name__}"
        log.warning("message %s quarantined: %s", mail.position, reason)
        with session_scope(engine) as session:
            quarantine_mail(session, mailbox, mail, reason, services.clock())
        outcomes = [Outcome(mail.position, quarantined=reason)]
    for (mail, _), outcome in zip(group, outcomes, strict=True):
        mailbox.done(mail)
        tell(outcome)
    return outcomes


def groups(items: Iterable[Item], size: int = GROUP_SIZE) -> Iterator[list[Item]]:
    it = iter(items)
    while group := list(islice(it, size)):
        yield group


def ingest_groups(
    engine: Engine,
    services: Services,
    mailbox: Mailbox,
    keep_going: Callable[[], bool] = lambda: True,
) -> Iterator[Outcome]:
    """Every waiting message, oldest first, group by group, while ``keep_going()``.

    Stopping early leaves the rest (and what was prepared ahead) uncommitted: it
    comes again on the next call.
    """
    stream = prepared_mail(services, mailbox.pending())
    try:
        for group in groups(stream):
            yield from process_group(engine, services, mailbox, group)
            if not keep_going():
                return
    finally:
        stream.close()
