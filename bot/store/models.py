"""The data model: everything PRODUCT.md's "Case lifecycle" records.

Times are stored as timezone-aware UTC. The ``case`` table carries the columns
that sweeps query (``next_check_at``) so that finding due work is one indexed
range scan, whatever the number of open cases.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel

# The words the rows use live in the domain; imported from here as before.
from bot.domain.vocabulary import (  # noqa: F401
    CaseType,
    Direction,
    EscalationReason,
    OutboxKind,
    OutboxStatus,
    Outcome,
    Resolution,
    Source,
    Status,
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL alike."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use an aware datetime")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _ts(nullable: bool = True, index: bool = False) -> Any:
    return Field(default=None, sa_column=sa.Column(UTCDateTime(), nullable=nullable, index=index))


def _ts_required(index: bool = False) -> Any:
    return Field(sa_column=sa.Column(UTCDateTime(), nullable=False, index=index))


class Complainant(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, index=True)
    phone: str | None = Field(default=None, max_length=32, index=True)  # E.164, first given
    # A chat user (Slack user id) is a person as an email address is; never a phone number.
    chat_user: str | None = Field(default=None, max_length=64, index=True)
    representative_of: str | None = Field(default=None, max_length=200)
    email_bounced_at: datetime | None = _ts()


class Case(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    ref: str = Field(max_length=32, sa_column_kwargs={"unique": True}, index=True)
    source: str = Field(max_length=16)
    type: str = Field(default=CaseType.COMPLAINT.value, max_length=32)
    status: str = Field(default=Status.NEW.value, max_length=16, index=True)
    received_at: datetime = _ts_required()
    created_at: datetime = _ts_required()
    updated_at: datetime = _ts_required()
    complainant_id: int = Field(foreign_key="complainant.id", index=True)
    # The number to call for this case (E.164): the one written in this complaint, changed
    # only by the complainant (a later message on this case) or by staff. The numbers this
    # case had before, space-separated, are shown as alternatives.
    phone: str | None = Field(default=None, max_length=32)
    previous_phones: str = Field(default="", max_length=400)
    language: str = Field(default="sv", max_length=8)
    subject: str = Field(default="", max_length=300)
    summary: str = Field(default="", max_length=2000)
    theme: str | None = Field(default=None, max_length=100)
    unit: str | None = Field(default=None, max_length=100)
    historical: bool = False
    serious: bool = False
    assignee: str | None = Field(default=None, max_length=64)
    claimed_at: datetime | None = _ts()
    ack_sent_at: datetime | None = _ts()
    ack_bounced_at: datetime | None = _ts()
    first_contact_due_at: datetime | None = _ts()
    first_contact_at: datetime | None = _ts()
    escalated_at: datetime | None = _ts()
    closed_at: datetime | None = _ts()
    resolution: str | None = Field(default=None, max_length=32)
    reopened_count: int = 0
    reminders_sent: int = 0
    last_reminder_at: datetime | None = _ts()
    snoozed_until: datetime | None = _ts()
    number_request_offered_at: datetime | None = _ts()
    # Sweeps: when to look at this case again (null: nothing to do), and a lease
    # so that two instances never act on the same case at once.
    next_check_at: datetime | None = _ts(index=True)
    lease_until: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=64)
    # Where the staff prompt lives, to update it in place.
    prompt_channel: str | None = Field(default=None, max_length=32)
    prompt_ts: str | None = Field(default=None, max_length=32)
    # Slack thread the case came from (intake channel message).
    origin_channel: str | None = Field(default=None, max_length=32)
    origin_ts: str | None = Field(default=None, max_length=32)


class Message(SQLModel, table=True):
    """An inbound or outbound message.

    ``message_id`` is what the message is known by outside: the email Message-ID
    (without angle brackets) or ``CHANNEL:TS`` in Slack; threading and
    ``message_ids`` use it. ``external_id`` is the unique storage key, so a
    message is stored once however often it is delivered: the same as
    ``message_id``, except for inbound email, where it also names the sender
    (two senders whose mail programs reuse one Message-ID are two messages; see
    ``handlers/inbound/dedupe.py``). Left empty, ``message_id`` is filled from
    ``external_id`` on insert.
    """

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    direction: str = Field(max_length=16)
    channel: str = Field(max_length=16)  # email | slack | phone | counter | letter
    external_id: str = Field(max_length=998, sa_column_kwargs={"unique": True})
    message_id: str = Field(default="", max_length=998, index=True)
    content_hash: str = Field(max_length=64, index=True)
    sender: str | None = Field(default=None, max_length=320)
    sender_name: str | None = Field(default=None, max_length=200)
    subject: str = Field(default="", max_length=998)
    body_text: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False, default=""))
    classification: str = Field(default="complaint", max_length=32)
    at: datetime = _ts_required()
    raw: bytes | None = Field(default=None, sa_column=sa.Column(sa.LargeBinary(), nullable=True))
    attachments: str = Field(
        default="[]", sa_column=sa.Column(sa.Text(), nullable=False, default="[]")
    )


@sa.event.listens_for(Message, "before_insert")
def _message_id_from_external_id(_mapper: Any, _conn: Any, target: Message) -> None:
    if not target.message_id:
        target.message_id = target.external_id


class ContactAttempt(SQLModel, table=True):
    __tablename__ = "contact_attempt"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = _ts_required()
    by: str = Field(max_length=64)
    outcome: str = Field(max_length=16)
    note: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False, default=""))
    remedy: str | None = Field(default=None, max_length=200)
    next_step: str | None = Field(default=None, max_length=500)
    hard: bool = False


class Escalation(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = _ts_required()
    reason: str = Field(max_length=32)
    by: str = Field(max_length=64)
    to: str = Field(default="ombudsman", max_length=200)
    note: str = Field(default="", max_length=2000)
    acknowledged_at: datetime | None = _ts()


class ActionPlan(SQLModel, table=True):
    __tablename__ = "action_plan"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    owner: str = Field(max_length=64)
    steps: str = Field(default="", sa_column=sa.Column(sa.Text(), nullable=False, default=""))
    due_at: datetime = _ts_required()
    created_at: datetime = _ts_required()
    followed_up_at: datetime | None = _ts()
    done_at: datetime | None = _ts()
    follow_up_note: str = Field(default="", max_length=2000)


class Outbox(SQLModel, table=True):
    """A side effect to perform (an email, a Slack post), written in the same
    transaction as the event that caused it. ``dedupe_key`` makes "acknowledge
    at most once" a database constraint rather than a hope."""

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=16)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    dedupe_key: str = Field(max_length=200, sa_column_kwargs={"unique": True})
    payload: str = Field(sa_column=sa.Column(sa.Text(), nullable=False))
    status: str = Field(default=OutboxStatus.PENDING.value, max_length=16)
    attempts: int = 0
    next_try_at: datetime = _ts_required(index=True)
    created_at: datetime = _ts_required()
    sent_at: datetime | None = _ts()
    last_error: str | None = Field(default=None, max_length=2000)
    lease_until: datetime | None = _ts()
    lease_owner: str | None = Field(default=None, max_length=64)
    result: str | None = Field(default=None, max_length=500)


class Lane(enum.StrEnum):
    """Why an input waits for a human: it broke (``quarantine``), or the bot could not
    tell whether it is a person's complaint (``review``, decided with two buttons)."""

    QUARANTINE = "quarantine"
    REVIEW = "review"


class ReviewDecision(enum.StrEnum):
    OPENED = "opened"  # staff opened it as a case
    DISMISSED = "dismissed"  # staff said it is not a complaint


class Quarantine(SQLModel, table=True):
    """An input the bot could not handle, kept whole with the reason.

    A ``review`` lane item also records who decided what, and when
    (``resolved_at``), and where its chat post lives so it is updated in place.
    """

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=300)
    source_key: str = Field(max_length=500, index=True)
    reason: str = Field(max_length=2000)
    raw: bytes = Field(sa_column=sa.Column(sa.LargeBinary(), nullable=False))
    at: datetime = _ts_required()
    retried_at: datetime | None = _ts()
    resolved_at: datetime | None = _ts()
    received_at: datetime | None = _ts()
    lane: str = Field(default=Lane.QUARANTINE.value, max_length=16)
    historical: bool = False  # was in the mailbox before the bot: never acknowledged
    decision: str | None = Field(default=None, max_length=16)  # ReviewDecision
    decided_by: str | None = Field(default=None, max_length=200)
    case_ref: str | None = Field(default=None, max_length=32)  # the case it was opened as
    post_channel: str | None = Field(default=None, max_length=32)
    post_ts: str | None = Field(default=None, max_length=32)


class Audit(SQLModel, table=True):
    """Append-only trail of who did what when. Never updated, never deleted
    except by retention purge."""

    id: int | None = Field(default=None, primary_key=True)
    case_id: int | None = Field(default=None, foreign_key="case.id", index=True)
    at: datetime = _ts_required()
    actor: str = Field(max_length=200)
    action: str = Field(max_length=64)
    detail: str = Field(default="{}", sa_column=sa.Column(sa.Text(), nullable=False, default="{}"))


class MailboxState(SQLModel, table=True):
    """Where the bot is in a mailbox: UIDVALIDITY, last UID handled, and the
    boundary below which mail is historical (was there before the bot)."""

    __tablename__ = "mailbox_state"
    key: str = Field(primary_key=True, max_length=500)
    uidvalidity: int | None = None
    last_uid: int = 0
    historical_below_uid: int = 0
    first_connected_at: datetime = _ts_required()
    updated_at: datetime = _ts_required()


class Lease(SQLModel, table=True):
    """Who may do a job that only one instance at a time should do (hold the IMAP
    connection of a mailbox), until when. The holder renews it; when the holder
    dies, it runs out and another instance takes it over."""

    key: str = Field(primary_key=True, max_length=500)
    owner: str = Field(max_length=64)
    expires_at: datetime = _ts_required()
    acquired_at: datetime = _ts_required()


class RefCounter(SQLModel, table=True):
    """Per prefix and year, the last number handed out. Incremented with one
    atomic UPDATE ... RETURNING so that several processes never share a number."""

    __tablename__ = "ref_counter"
    scope: str = Field(primary_key=True, max_length=32)
    last: int = 0


class ProcessedEvent(SQLModel, table=True):
    """Slack event ids already handled (Slack retries deliveries)."""

    __tablename__ = "processed_event"
    event_id: str = Field(primary_key=True, max_length=128)
    at: datetime = _ts_required()


class CaseOffer(SQLModel, table=True):
    """A case offered to one person: by the assignment sweep ("auto") after nobody
    claimed it, or by a colleague ("handover"). Asked, never forced: it stays
    open until accepted, declined, expired, or taken by someone else."""

    __tablename__ = "case_offer"
    id: int | None = Field(default=None, primary_key=True)
    case_id: int = Field(foreign_key="case.id", index=True)
    user: str = Field(max_length=64, index=True)  # Slack user id
    offered_at: datetime = _ts_required()
    answered_at: datetime | None = _ts()  # when it stopped being open, for whatever reason
    accepted: bool | None = None
    outcome: str | None = Field(default=None, max_length=16)  # OfferOutcome
    kind: str = Field(default="auto", max_length=16)  # "auto" | "handover"
    by: str = Field(default="system", max_length=200)  # actor who offered


class StatusLink(SQLModel, table=True):
    """A citizen's link to the status page of one case. Only a hash of the token is kept:
    the token itself is in the link and nowhere else. Erasure deletes the rows."""

    __tablename__ = "status_link"
    token_hash: str = Field(primary_key=True, max_length=64)
    case_id: int = Field(foreign_key="case.id", index=True)
    created_at: datetime = _ts_required()
    expires_at: datetime = _ts_required()


class WebSubmission(SQLModel, table=True):
    """A web form already sent (a hash of its signed form token) and the case it opened:
    the same form sent again opens nothing and is shown the same reference."""

    __tablename__ = "web_submission"
    form_hash: str = Field(primary_key=True, max_length=64)
    case_id: int = Field(foreign_key="case.id", index=True)
    at: datetime = _ts_required()


ALL_TABLES = SQLModel.metadata
