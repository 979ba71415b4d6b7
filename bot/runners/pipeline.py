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
only if it was one already). One message is one transaction:
the case, its message row, the outbox entries and the mailbox checkpoint
commit together, or not at all.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, StatementError
from sqlmodel import Session, select

from bot import metrics
from bot.actions.trail import enqueue
from bot.config import Config
from bot.errors import Discard, NeedsReview, Unprocessable
from bot.ports import InboundMail, Mailbox
from bot.presenters.render import Renderer
from bot.store.db import database_unavailable, session_scope
from bot.store.models import Case, Complainant, Lane, OutboxKind, Quarantine

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


def force_complaint(ctx: InboundContext) -> None:
    """Treat the message as a complaint from a person (staff said so in the review lane).

    The case is filed under the person's address when one can be recovered. Staff
    overruled a doubt (spam flag, bulk marker): with such an address it may be
    acknowledged (``can_acknowledge`` still decides). Mail the classifier took for
    a robot is never acknowledged, whatever staff decided.
    """
    from bot.domain.acknowledgement import own_addresses_of
    from bot.mail.addresses import base_address, find_person
    from bot.mail.classify import Classification, MailKind

    before = ctx.classification
    if before is not None and before.kind is MailKind.COMPLAINT:
        return
    person = None
    if ctx.parsed is not None:
        person = find_person(ctx.parsed, {base_address(a) for a in own_addresses_of(ctx.cfg)})
    contact = person[0] if person else None
    doubt_only = before is not None and before.kind is MailKind.REVIEW
    if not (doubt_only and contact):
        ctx.no_ack_reason = (
            f"opened from review; classified {before.kind}"
            if before
            else "opened from review; not classified"
        )
    ctx.classification = Classification(
        MailKind.COMPLAINT,
        f"opened as a case by {ctx.forced_by}",
        contact=contact,
        acknowledge=doubt_only,
    )


def process_mail(
    engine: Engine, services: Services, mailbox: Mailbox, mail: InboundMail
) -> Outcome:
    """Run the pipeline on one message in one transaction; quarantine it on failure.

    Never raises for a bad message: the next one must go on. Raises when the
    database cannot be reached (nothing was recorded; the message comes again).
    """
    now = services.clock()
    outcome: Outcome
    try:
        with session_scope(engine) as session:
            ctx = InboundContext(session=session, services=services, mail=mail, now=now)
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
                session.rollback()  # nothing of the half-run steps stays
                seen = session.exec(
                    select(Quarantine.id).where(
                        Quarantine.lane == Lane.REVIEW.value, Quarantine.raw == mail.raw
                    )
                ).first()
                if seen is not None:  # delivered again: one item, one post
                    outcome = Outcome(mail.position, discarded=f"duplicate of review item {seen}")
                else:
                    keep_for_review(session, mail, r.reason, now)
                    outcome = Outcome(mail.position, review=r.reason)
            mailbox.record(session, mail)
    except Exception as exc:
        if database_unavailable(exc):
            raise  # not the message's fault: it is read again once the database is back
        reason = _reason(exc)
        log.warning("message %s quarantined: %s", mail.position, reason)
        with session_scope(engine) as session:
            quarantine(
                session,
                source=mail.mailbox,
                key=mail.position,
                reason=reason,
                raw=mail.raw,
                now=now,
                received_at=mail.received_at,
            )
            mailbox.record(session, mail)
        outcome = Outcome(mail.position, quarantined=reason)
    mailbox.done(mail)
    if outcome.quarantined:
        metrics.QUARANTINED.inc()
    if outcome.case and outcome.new_case:
        metrics.CASES_OPENED.inc()
        log.info("case %s opened from %s", outcome.case, mail.position)
    elif outcome.discarded:
        log.info("message %s not opened as a case: %s", mail.position, outcome.discarded)
    elif outcome.review:
        log.info("message %s kept for review: %s", mail.position, outcome.review)
    return outcome


def _reason(exc: BaseException) -> str:
    """Why a message was quarantined, in words that never carry the message itself.

    Our own :class:`Unprocessable` reasons are kept. Anything else is reduced to
    the exception class and where it was raised; a database error to its class,
    the driver's class and SQLSTATE (and the server's primary message, which
    names a constraint or a type, never a value). ``str(exc)`` is never used: for
    SQLAlchemy it includes the SQL parameters, that is the citizen's text.
    """
    if isinstance(exc, Unprocessable):
        return str(exc)[:2000]
    name = type(exc).__name__
    if isinstance(exc, DBAPIError | StatementError):
        orig = getattr(exc, "orig", None)
        parts = [name]
        if orig is not None:
            parts.append(type(orig).__name__)
            sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
            if sqlstate:
                parts.append(f"SQLSTATE {sqlstate}")
            diag = getattr(orig, "diag", None)
            primary = getattr(diag, "message_primary", None) if diag is not None else None
            if primary:
                parts.append(_no_values(str(primary)))
            elif type(orig).__module__.startswith("sqlite3"):
                parts.append(_no_values(str(orig)))
        return ": ".join(parts)[:500]
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(frame[0].filename).name}:{frame[0].lineno}" if frame else ""
    return f"{name}{where}"


def _no_values(message: str) -> str:
    """The first line of a driver message, without anything quoted or after a colon-value."""
    first = message.splitlines()[0] if message else ""
    first = re.sub(r"'[^']*'|\"[^\"]*\"|\([^()]*\)=\([^()]*\)", "…", first)
    return first[:200]


def quarantine(
    session: Session,
    *,
    source: str,
    key: str,
    reason: str,
    raw: bytes,
    now: datetime,
    received_at: datetime | None = None,
    lane: Lane = Lane.QUARANTINE,
    historical: bool = False,
) -> Quarantine:
    q = Quarantine(
        source=source,
        source_key=key,
        reason=reason,
        raw=raw,
        at=now,
        received_at=received_at,
        lane=lane.value,
        historical=historical,
    )
    session.add(q)
    return q


REVIEW_OP = "review"  # the outbox chat operation that posts (or updates) a review item


def keep_for_review(session: Session, mail: InboundMail, reason: str, now: datetime) -> Quarantine:
    """Keep ``mail`` whole in the review lane and, in the same transaction, queue its post
    to the triage channel ("open as case" / "not a complaint")."""
    q = quarantine(
        session,
        source=mail.mailbox,
        key=mail.position,
        reason=f"review: {reason}",
        raw=mail.raw,
        now=now,
        received_at=mail.received_at,
        lane=Lane.REVIEW,
        historical=mail.historical,
    )
    session.flush()
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"review:{q.id}",
        payload={"op": REVIEW_OP, "review_id": q.id},
        case=None,
        now=now,
    )
    return q


class _QuarantineSource:
    """A stand-in mailbox for re-running a quarantined message: it marks it resolved."""

    key = "quarantine"

    def __init__(self, qid: int) -> None:
        self.qid = qid

    def pending(self) -> Iterator[InboundMail]:
        return iter(())

    def record(self, session: Session, mail: InboundMail) -> None:
        q = session.get(Quarantine, self.qid)
        if q is not None:
            q.retried_at = q.resolved_at = datetime.now(UTC)

    def done(self, mail: InboundMail) -> None:
        return None

    def wait(self, timeout: float) -> None:
        return None

    def check(self) -> str:
        return "quarantine"

    def close(self) -> None:
        return None


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
    return process_mail(engine, services, _QuarantineSource(qid), mail)


def ingest(engine: Engine, services: Services, mailbox: Mailbox) -> list[Outcome]:
    """Handle every waiting message, oldest first."""
    return [process_mail(engine, services, mailbox, mail) for mail in mailbox.pending()]
