"""The inbound pipeline: what happens to an incoming email, as data.

Reading ``INBOUND_PIPELINE`` (in :mod:`bot.wiring`, which hands the steps over)
tells the whole story. Each name is a module in ``handlers/inbound/`` with one
``process(ctx)`` function. A step ends the run
on purpose by raising :class:`bot.errors.Discard`; any other exception sends
the message to quarantine with its reason. A step that cannot tell whether a
message is a person's raises :class:`bot.errors.NeedsReview`: the message goes
to the review lane (:func:`keep_for_review`, :mod:`bot.runners.review`). When staff
open it as a case, the steps run again with ``ctx.forced_by`` set: NeedsReview
is then ignored and the classifier's verdict becomes "complaint" (acknowledged
only if it was one already).

A backlog is handled ``GROUP_SIZE`` messages per transaction, each message in a
savepoint of its own (:func:`handle`): a bad message is rolled back and
quarantined alone while the rest of its group lands. A message's case, its
message row, its outbox entries and the mailbox checkpoint past it commit
together, or not at all (a kill -9 loses nothing and doubles nothing: the
uncommitted messages come again); the mailbox is told a message is ``done``
only after its group committed. Parsing, classification and extraction happen
ahead of the writer, in worker processes when ``mailbox.parse_workers`` > 0
(:mod:`bot.runners.prepare`); a group is formed before its transaction begins,
so fetching mail never holds the database's write lock.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from itertools import islice
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from bot import metrics
from bot.config import Config
from bot.errors import Discard, NeedsReview
from bot.ports import InboundMail, Mailbox
from bot.presenters.render import Renderer
from bot.runners.bulk import GroupState, Redo, WriteCounter, run_fast
from bot.runners.forcing import force_complaint
from bot.runners.prepare import Prepared, prepared_mail
from bot.runners.quarantine import (  # noqa: F401 - imported from here by callers
    REVIEW_OP,
    QuarantineSource,
    keep_for_review,
    quarantine,
    quarantine_mail,
    reason_of,
)
from bot.runners.quarantine import reason_of as _reason  # noqa: F401 - the tests' name
from bot.store.db import database_unavailable, session_scope
from bot.store.models import Case, Complainant, Lane, Quarantine

if TYPE_CHECKING:
    from bot.mail.classify import Classification
    from bot.mail.parse import ParsedEmail

log = logging.getLogger(__name__)


@dataclass
class Services:
    """What handlers may use besides the session: configuration, templates, time."""

    cfg: Config
    renderer: Renderer
    clock: Callable[[], datetime]
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class InboundContext:
    """Everything a step knows about the message in hand."""

    session: Session
    services: Services
    mail: InboundMail
    now: datetime
    parsed: ParsedEmail | None = None
    classification: Classification | None = None
    case: Case | None = None
    complainant: Complainant | None = None
    new_case: bool = False
    new_complainant: bool = False  # the complainant was created by this message
    reopened: bool = False
    phone: str | None = None
    # A case the message points at (reply or reference) but may not join: it came from
    # someone else. The new case mentions it, and staff are told.
    mentioned_case: Case | None = None
    notes: list[str] = field(default_factory=list)
    # Staff opened this message as a case from the review lane: it is a complaint from
    # a person, whatever the classifier thinks, and no step may send it back to review.
    forced_by: str | None = None
    # Why it must not be acknowledged automatically (set when forcing overrode a
    # robot or doubtful classification: when unsure, the bot does not write back).
    no_ack_reason: str | None = None
    # Parsed, classified and extracted ahead (perhaps in a worker process); None: the
    # steps do it themselves (a message re-run from the review lane or quarantine).
    prepared: Prepared | None = None
    # What the message's group shares (the bulk writer's fast path only, else None).
    group: GroupState | None = None

    @property
    def cfg(self) -> Config:
        return self.services.cfg


class Step(Protocol):
    """A pipeline step: a module in handlers/inbound/ (bot.wiring hands them over)."""

    def process(self, ctx: InboundContext) -> None: ...


# The steps in order, installed by bot.wiring (see INBOUND_PIPELINE there).
_STEPS: list[tuple[str, Step]] = []


def use_steps(steps: list[tuple[str, Step]]) -> None:
    """Install the inbound steps (bot.wiring does, once, on import)."""
    global _STEPS
    _STEPS = list(steps)


@dataclass(frozen=True)
class Outcome:
    """What became of one message: ``case`` ref, ``discarded`` reason, or ``quarantined`` reason."""

    position: str
    case: str | None = None
    new_case: bool = False
    discarded: str | None = None
    quarantined: str | None = None
    review: str | None = None  # kept for a human to decide (see NeedsReview)


def run_steps(ctx: InboundContext) -> None:
    if not _STEPS:
        raise RuntimeError("no inbound steps installed: bot.wiring installs them")
    for name, module in _STEPS:
        if ctx.forced_by is None:
            module.process(ctx)
            continue
        try:
            module.process(ctx)
        except NeedsReview as r:
            # A human has already decided what a step would have asked them.
            ctx.notes.append(f"{name}: review skipped ({r.reason})")
        if name == "classify":
            force_complaint(ctx)


def process_mail(
    engine: Engine,
    services: Services,
    mailbox: Mailbox,
    mail: InboundMail,
    prepared: Prepared | None = None,
) -> Outcome:
    """Run the pipeline on one message in one transaction; quarantine it on failure.

    Never raises for a bad message: the next one must go on. Raises when the
    database cannot be reached (nothing was recorded; the message comes again).
    """
    return process_group(engine, services, mailbox, [(mail, prepared)])[0]


def handle(
    session: Session,
    services: Services,
    mailbox: Mailbox,
    mail: InboundMail,
    prepared: Prepared | None = None,
) -> Outcome:
    """Run the pipeline on ``mail`` inside a savepoint of the caller's transaction, and
    move the mailbox checkpoint with it. A failure rolls back what the message did
    and quarantines it (in its own savepoint): the caller's other messages stay.
    Raises only when the database cannot be reached.
    """
    now = services.clock()
    savepoint = session.begin_nested()
    try:
        ctx = InboundContext(
            session=session, services=services, mail=mail, now=now, prepared=prepared
        )
        try:
            run_steps(ctx)
            outcome = Outcome(
                mail.position, case=ctx.case.ref if ctx.case else None, new_case=ctx.new_case
            )
        except Discard as d:
            outcome = Outcome(
                mail.position, case=ctx.case.ref if ctx.case else None, discarded=d.reason
            )
        except NeedsReview as r:
            savepoint.rollback()  # nothing of the half-run steps stays
            savepoint = session.begin_nested()
            outcome = _review(session, mail, r.reason, now)
        mailbox.record(session, mail)
        savepoint.commit()
        return outcome
    except Exception as exc:
        if session.get_nested_transaction() is savepoint:  # not yet closed by a failure
            savepoint.rollback()
        if database_unavailable(exc):
            raise  # not the message's fault: it is read again once the database is back
        reason = reason_of(exc)
    log.warning("message %s quarantined: %s", mail.position, reason)
    with session.begin_nested():
        quarantine_mail(session, mailbox, mail, reason, now)
    return Outcome(mail.position, quarantined=reason)


def _review(session: Session, mail: InboundMail, reason: str, now: datetime) -> Outcome:
    """Keep ``mail`` for a person to decide (once: delivered again, it is not kept twice)."""
    seen = session.exec(
        select(Quarantine.id).where(
            Quarantine.lane == Lane.REVIEW.value, Quarantine.raw == mail.raw
        )
    ).first()
    if seen is not None:  # delivered again: one item, one post
        return Outcome(mail.position, discarded=f"duplicate of review item {seen}")
    keep_for_review(session, mail, reason, now)
    return Outcome(mail.position, review=reason)


def _fast_one(
    session: Session,
    services: Services,
    mailbox: Mailbox,
    group: GroupState,
    mail: InboundMail,
    prepared: Prepared | None,
    writes: WriteCounter,
) -> Outcome:
    """:func:`handle` without a savepoint (the bulk writer, :mod:`bot.runners.bulk`): a
    failure after this message wrote anything raises :class:`Redo` (the group is run
    again, a savepoint per message); one before that is handled here, as there."""
    now = services.clock()
    session.flush()  # what the messages before wrote, so that this one's writes show
    before = writes.writes
    ctx = InboundContext(
        session=session, services=services, mail=mail, now=now, prepared=prepared, group=group
    )
    try:
        run_steps(ctx)
        return Outcome(
            mail.position, case=ctx.case.ref if ctx.case else None, new_case=ctx.new_case
        )
    except Discard as d:
        return Outcome(mail.position, case=ctx.case.ref if ctx.case else None, discarded=d.reason)
    except Exception as exc:
        wrote = writes.writes != before or session.new or session.dirty or session.deleted
        if wrote or isinstance(exc, DBAPIError):
            raise Redo(mail.position) from exc
        if isinstance(exc, NeedsReview):
            return _review(session, mail, exc.reason, now)
        reason = reason_of(exc)
    log.warning("message %s quarantined: %s", mail.position, reason)
    quarantine_mail(session, mailbox, mail, reason, now)
    return Outcome(mail.position, quarantined=reason)


def tell(outcome: Outcome) -> None:
    """Metrics and the log line for a message whose transaction committed."""
    if outcome.quarantined:
        metrics.QUARANTINED.inc()
    if outcome.case and outcome.new_case:
        metrics.CASES_OPENED.inc()
        log.info("case %s opened from %s", outcome.case, outcome.position)
    elif outcome.discarded:
        log.info("message %s not opened as a case: %s", outcome.position, outcome.discarded)
    elif outcome.review:
        log.info("message %s kept for review: %s", outcome.position, outcome.review)


def retry_quarantined(engine: Engine, services: Services, qid: int) -> Outcome:
    """Run quarantined message ``qid`` through the pipeline again.

    The entry is marked resolved either way: on success the message is now a case
    (or knowingly discarded); on failure a new quarantine entry holds the new reason.
    """
    with session_scope(engine) as session:
        q = session.get(Quarantine, qid)
        if q is None:
            raise LookupError(f"no quarantined input with id {qid}")
        if q.resolved_at is not None:
            raise LookupError(f"quarantined input {qid} was already resolved")
        if q.lane == Lane.REVIEW.value:
            # A human decides these (the post's buttons); a retry would only ask again.
            raise LookupError(
                f"{qid} is in the review lane: use `complaint-bot review open "
                f"{qid}` or `review dismiss {qid}`"
            )
        mail = InboundMail(
            raw=q.raw, received_at=q.received_at or q.at, mailbox=q.source, position=q.source_key
        )
    return process_mail(engine, services, QuarantineSource(qid), mail)


def ingest(engine: Engine, services: Services, mailbox: Mailbox) -> list[Outcome]:
    """Handle every waiting message, oldest first."""
    return list(ingest_groups(engine, services, mailbox))


# --------------------------------------------------------------------------- groups

GROUP_SIZE = 50  # messages per transaction (the write lock is held for one group)

Item = tuple[InboundMail, Prepared | None]


def process_group(
    engine: Engine, services: Services, mailbox: Mailbox, group: list[Item]
) -> list[Outcome]:
    """Handle ``group`` in one transaction; quarantine what fails, message by message.

    Raises only when the database cannot be reached (nothing of the group was
    recorded; it comes again). A group is first tried without a savepoint per
    message (:func:`bot.runners.bulk.run_fast`); if a message fails there, the
    group is rolled back and run again with one.
    """
    if len(group) > 1:
        try:
            with session_scope(engine) as session:
                outcomes = run_fast(
                    session, mailbox, group, partial(_fast_one, session, services, mailbox)
                )
        except Exception as exc:
            if database_unavailable(exc):
                raise
            why = reason_of(exc.__cause__ or exc)
            log.info("group of %d run again message by message: %s", len(group), why)
        else:
            for (mail, _), outcome in zip(group, outcomes, strict=True):
                mailbox.done(mail)
                tell(outcome)
            return outcomes
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
        reason = reason_of(exc)
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
