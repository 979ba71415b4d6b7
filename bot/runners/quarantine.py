"""Quarantine and the review lane: where a message goes that does not become a case.

:func:`quarantine` keeps a message whole with the reason it could not be handled
(never the message's own words, see :func:`reason_of`); :func:`keep_for_review`
keeps one a person must decide on, and queues its post to the triage channel.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime

from sqlalchemy.exc import DBAPIError, StatementError
from sqlmodel import Session

from bot.actions.trail import enqueue
from bot.mail.prepare import failure_reason
from bot.ports import InboundMail, Mailbox
from bot.store.models import Lane, OutboxKind, Quarantine


def reason_of(exc: BaseException) -> str:
    """Why a message was quarantined, in words that never carry the message itself.

    Our own :class:`Unprocessable` reasons are kept. Anything else is reduced to
    the exception class and where it was raised; a database error to its class,
    the driver's class and SQLSTATE (and the server's primary message, which
    names a constraint or a type, never a value). ``str(exc)`` is never used: for
    SQLAlchemy it includes the SQL parameters, that is the citizen's text.
    """
    if isinstance(exc, DBAPIError | StatementError):
        name = type(exc).__name__
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
    return failure_reason(exc)


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


def quarantine_mail(
    session: Session, mailbox: Mailbox, mail: InboundMail, reason: str, now: datetime
) -> None:
    """Keep ``mail`` in quarantine with ``reason`` and move the checkpoint past it."""
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


class QuarantineSource:
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
