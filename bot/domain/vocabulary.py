"""The words a case is described in: statuses, sources, outcomes, reasons.

Plain enums, no database: the store keeps them as their string values, and the
pure rules (the ladder) decide with them.
"""

from __future__ import annotations

import enum


class Status(enum.StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    CLAIMED = "claimed"
    CONTACTED = "contacted"
    CLOSED = "closed"


class Source(enum.StrEnum):
    EMAIL = "email"
    SLACK = "slack"
    TEAMS = "teams"
    PHONE = "phone"
    COUNTER = "counter"
    LETTER = "letter"
    WEB = "web"  # the citizen's complaint form


class CaseType(enum.StrEnum):
    COMPLAINT = "complaint"
    SERVICE_REQUEST = "service_request"
    COMMENT = "comment"


class Outcome(enum.StrEnum):
    REACHED = "reached"
    MEETING = "meeting"
    NO_ANSWER = "no_answer"
    VOICEMAIL = "voicemail"
    WRONG_NUMBER = "wrong_number"

    @property
    def is_contact(self) -> bool:
        """A call or meeting that reached the complainant stops the first-contact clock."""
        return self in (Outcome.REACHED, Outcome.MEETING)


class Resolution(enum.StrEnum):
    DIALOGUE = "dialogue"
    OTHER_MEASURE = "other_measure"
    NOT_RESOLVED = "not_resolved"
    WITHDRAWN = "withdrawn"
    LEFT_SERVICE = "left_service"

    @property
    def is_resolved(self) -> bool:
        return self in (Resolution.DIALOGUE, Resolution.OTHER_MEASURE)


class EscalationReason(enum.StrEnum):
    DEADLINE = "deadline"
    SERIOUS = "serious"
    ACK_BOUNCED = "ack_bounced"
    REOPENED = "reopened"
    STAFF = "staff"


class Direction(enum.StrEnum):
    INBOUND = "inbound"
    OUTBOUND = "outbound"


class OutboxKind(enum.StrEnum):
    EMAIL = "email"
    CHAT = "chat"


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"  # permanent failure, kept for humans
    CANCELLED = "cancelled"  # its case was anonymised: never to be sent


class ChatOp(enum.StrEnum):
    """What a chat entry of the outbox asks for: each maps to one presenter
    (:data:`bot.presenters.chat.PRESENTERS`) and one way of delivering it."""

    PROMPT = "prompt"  # the call-back prompt in the triage channel, kept current
    CASE_MESSAGE = "case_message"  # "a new message on the case", in the prompt's thread
    ESCALATION = "escalation"  # to the ombudsman (or the triage channel)
    REMINDER = "reminder"  # a rung of the reminder ladder
    OFFER = "offer"  # "will you take this call?" with answer buttons
    RAW = "raw"  # text rendered when queued (DMs, digests, notes)
    ERASED = "erased"  # the case was anonymised: its posts become stubs
    REVIEW = "review"  # a review-lane item's post
    MONTHLY_CHART = "monthly_chart"  # the month's chart as a file


# The audit action recorded when an email over ``mailbox.max_message_bytes`` was kept
# cut down (detail: ``size`` and ``limit`` in bytes): staff are told, and the whole
# email is still in the mailbox.
MAIL_CUT_DOWN = "mail_cut_down"
