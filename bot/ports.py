"""The interfaces between the core and the outside world.

The pipeline and the sweeps talk only to these protocols; which adapter sits
behind them (Maildir or IMAP, a folder or SMTP, the console or Slack) is
decided once, in :mod:`bot.wiring`, from the configuration.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from typing import Any, Protocol

from sqlmodel import Session


@dataclass(frozen=True)
class InboundMail:
    """One message as the mailbox handed it over, before any parsing.

    ``received_at`` is when it reached the organisation (IMAP INTERNALDATE, or
    the file's arrival time in a Maildir), never the sender's ``Date:`` header.
    ``position`` says where in the mailbox it is (a Maildir file name, or
    ``UIDVALIDITY:UID``), so it can be quarantined and found again.
    """

    raw: bytes
    received_at: datetime
    mailbox: str
    position: str
    historical: bool = False


class Mailbox(Protocol):
    """Where complaints arrive by email."""

    key: str

    def pending(self) -> Iterator[InboundMail]:
        """Every message not yet handled, oldest first."""
        ...

    def record(self, session: Session, mail: InboundMail) -> None:
        """Remember, in the caller's transaction, that ``mail`` is handled."""
        ...

    def done(self, mail: InboundMail) -> None:
        """After the transaction committed: optional tidy-up (move, flag)."""
        ...

    def wait(self, timeout: float) -> None:
        """Block until new mail may have arrived, or ``timeout`` seconds passed."""
        ...

    def check(self) -> str:
        """Reach the mailbox (for ``complaint-bot check``); describe it, or raise."""
        ...

    def close(self) -> None: ...


class Mailer(Protocol):
    """Sends one finished email. Raises a DeliveryError subclass on failure."""

    def send(self, message: EmailMessage) -> str:
        """Deliver ``message``; return a short receipt (e.g. the server's reply)."""
        ...

    def check(self) -> str:
        """Reach the server without sending; describe it, or raise."""
        ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ChatRef:
    """Where a chat message lives, so it can be updated in place."""

    channel: str
    ts: str


@dataclass(frozen=True)
class ChatPost:
    """A message for staff: plain ``text`` (fallback, console) and Block Kit ``blocks``."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)


class Chat(Protocol):
    """Where staff are prompted and reminded."""

    def post(self, channel: str, post: ChatPost, thread_ts: str | None = None) -> ChatRef: ...

    def update(self, ref: ChatRef, post: ChatPost) -> None: ...

    def direct(self, user: str, post: ChatPost) -> ChatRef: ...

    def upload(self, user: str, filename: str, data: bytes, title: str) -> str:
        """Share a file (a report chart) with ``user`` in a direct message; a receipt."""
        ...

    def check(self) -> str:
        """Reach the chat service; describe it, or raise."""
        ...
