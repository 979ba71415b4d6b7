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
    PHONE = "phone"
    COUNTER = "counter"
    LETTER = "letter"


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
