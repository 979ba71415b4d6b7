"""Exceptions that carry meaning across the core."""

from __future__ import annotations


class BotError(Exception):
    """Base class for errors the bot reports to a human in one line."""


class Discard(BotError):
    """Ends the inbound pipeline for a message on purpose (a loop, a duplicate)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NeedsReview(BotError):
    """The message might be a person's, but the bot cannot place it on its own.

    Raised by a pipeline step; the message is kept (never dropped) and put in
    front of a human with ``reason`` (a short English sentence naming the
    evidence, never the message's text).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unprocessable(BotError):
    """The input cannot be handled; it goes to quarantine with this reason."""


class DeliveryError(BotError):
    """Sending an email or chat post failed."""


class TemporaryDeliveryError(DeliveryError):
    """Try again later (4xx, connection refused, rate limited, 5xx from Slack)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Do not try again (SMTP 5xx: the recipient does not exist)."""


class CaseNotFound(BotError):
    pass


class NotAllowed(BotError):
    """The actor may not do this (not on the staff list)."""


class InvalidAction(BotError):
    """The action does not fit the case's state (closing a closed case...)."""


class AlreadyClaimed(InvalidAction):
    """Someone else has the case; taking it over must be asked for explicitly."""

    def __init__(self, ref: str, assignee: str) -> None:
        super().__init__(
            f"{ref} is already claimed by {assignee} (take it over explicitly: --take-over)"
        )
        self.ref = ref
        self.assignee = assignee
