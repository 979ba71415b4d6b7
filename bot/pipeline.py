"""The inbound pipeline: what happens to an incoming email, as data.

Reading ``INBOUND_PIPELINE`` tells the whole story. Each name is a module in
``handlers/inbound/`` with one ``process(ctx)`` function. A step ends the run
on purpose by raising :class:`bot.errors.Discard`; any other exception sends
the message to quarantine with its reason. A step that cannot tell whether a
message is a person's raises :class:`bot.errors.NeedsReview`: the message goes
to the review lane (:func:`keep_for_review`, :mod:`bot.review`). When staff
open it as a case, the steps run again with ``ctx.forced_by`` set: NeedsReview
is then ignored and the classifier's verdict becomes "complaint" (acknowledged
only if it was one already). One message is one transaction:
the case, its message row, the outbox entries and the mailbox checkpoint
commit together, or not at all.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot import metrics
from bot.cases import enqueue
from bot.config import Config
from bot.db import database_unavailable, session_scope
from bot.errors import Discard, NeedsReview, Unprocessable
from bot.models import Case, Complainant, Lane, OutboxKind, Quarantine
from bot.ports import InboundMail, Mailbox
from bot.render import Renderer

if TYPE_CHECKING:
    from bot.mail.classify import Classification
    from bot.mail.parse import ParsedEmail

log = logging.getLogger(__name__)

INBOUND_PIPELINE: tuple[str, ...] = (
    "parse",         # bytes -> ParsedEmail; not an email at all -> quarantine
    "classify",      # auto-reply, bounce, list, bulk, our own mail, no-reply, or a complaint
    "dedupe",        # this Message-ID (or content, without one) was handled before: stop
    "thread",        # find its case: In-Reply-To/References, then the reference in the subject
    "robots",        # robot mail is attached to its case (a bounce marks the ack) and stops
    "open_case",     # no case yet: open one (complainant, phone, language, serious?)
    "record",        # store the message on the case
    "acknowledge",   # can_acknowledge? -> acknowledgement email into the outbox
    "prompt_staff",  # call-back prompt (or "new message" note) into the outbox
)


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


def _load(names: tuple[str, ...]) -> list[tuple[str, ModuleType]]:
    return [(n, importlib.import_module(f"handlers.inbound.{n}")) for n in names]


_STEPS = _load(INBOUND_PIPELINE)


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

    Only a message the classifier itself took for a complaint may still be
    acknowledged (when ``can_acknowledge`` allows); anything else is not.
    """
    from bot.mail.classify import Classification, MailKind

    before = ctx.classification
    if before is not None and before.kind is MailKind.COMPLAINT:
        return
    ctx.no_ack_reason = (f"opened from review; classified {before.kind}" if before
                         else "opened from review; not classified")
    ctx.classification = Classification(MailKind.COMPLAINT, f"opened as a case by {ctx.forced_by}")


def process_mail(engine: Engine, services: Services, mailbox: Mailbox, mail: InboundMail
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
                outcome = Outcome(mail.position, case=ctx.case.ref if ctx.case else None,
                                  new_case=ctx.new_case)
            except Discard as d:
                outcome = Outcome(mail.position, case=ctx.case.ref if ctx.case else None,
                                  discarded=d.reason)
            except NeedsReview as r:
                session.rollback()  # nothing of the half-run steps stays
                keep_for_review(session, mail, r.reason, now)
                outcome = Outcome(mail.position, review=r.reason)
            mailbox.record(session, mail)
    except Exception as exc:
        if database_unavailable(exc):
            raise  # not the message's fault: it is read again once the database is back
        reason = _reason(exc)
        log.warning("message %s quarantined: %s", mail.position, reason)
        with session_scope(engine) as session:
            quarantine(session, source=mail.mailbox, key=mail.position, reason=reason,
                       raw=mail.raw, now=now, received_at=mail.received_at)
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
    if isinstance(exc, Unprocessable):
        return str(exc)[:2000]
    return f"{type(exc).__name__}: {str(exc)[:1800]}"


def quarantine(session: Session, *, source: str, key: str, reason: str, raw: bytes,
               now: datetime, received_at: datetime | None = None,
               lane: Lane = Lane.QUARANTINE, historical: bool = False) -> Quarantine:
    q = Quarantine(source=source, source_key=key, reason=reason, raw=raw, at=now,
                   received_at=received_at, lane=lane.value, historical=historical)
    session.add(q)
    return q


REVIEW_OP = "review"  # the outbox chat operation that posts (or updates) a review item


def keep_for_review(session: Session, mail: InboundMail, reason: str, now: datetime
                    ) -> Quarantine:
    """Keep ``mail`` whole in the review lane and, in the same transaction, queue its post
    to the triage channel ("open as case" / "not a complaint")."""
    q = quarantine(session, source=mail.mailbox, key=mail.position, reason=f"review: {reason}",
                   raw=mail.raw, now=now, received_at=mail.received_at, lane=Lane.REVIEW,
                   historical=mail.historical)
    session.flush()
    enqueue(session, kind=OutboxKind.CHAT, dedupe_key=f"review:{q.id}",
            payload={"op": REVIEW_OP, "review_id": q.id}, case=None, now=now)
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
            raise LookupError(f"{qid} is in the review lane: use `complaint-bot review open "
                              f"{qid}` or `review dismiss {qid}`")
        mail = InboundMail(raw=q.raw, received_at=q.received_at or q.at, mailbox=q.source,
                           position=q.source_key)
    return process_mail(engine, services, _QuarantineSource(qid), mail)


def ingest(engine: Engine, services: Services, mailbox: Mailbox) -> list[Outcome]:
    """Handle every waiting message, oldest first."""
    return [process_mail(engine, services, mailbox, mail) for mail in mailbox.pending()]
