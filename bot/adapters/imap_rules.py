"""The IMAP mailbox's rules, apart from the connection: positions and checkpoints,
which mail counts as historical, back-off, truncation, and reading server responses."""

from __future__ import annotations

import contextlib
import imaplib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from imapclient import IMAPClient
from sqlmodel import Session

from bot.config import MailboxConfig
from bot.store.db import session_scope
from bot.store.models import MailboxState

log = logging.getLogger("bot.adapters.imap")  # what the adapter logs, under its name

#: Errors that mean "this connection is no use any more": socket and TLS errors,
#: timeouts, BYE/EOF (imaplib's ``abort``) and refused commands (imaplib's ``error``).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (OSError, EOFError, imaplib.IMAP4.error)

#: IDLE responses that mean new mail may be there.
NEW_MAIL_RESPONSES = frozenset({b"EXISTS", b"RECENT"})

TRUNCATED_HEADER = b"X-Complaint-Bot-Truncated"

#: Bytes of mail one FETCH may bring in (the batch is held in memory at once): small
#: messages are fetched together up to this total, a larger one alone.
FETCH_BATCH_BYTES = 4_000_000
#: Messages whose sizes are asked for in one FETCH (the answers are a few bytes each).
SIZE_BATCH = 500

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0


# -- pure helpers -----------------------------------------------------------------------------


def short_address(address: str) -> str:
    """``anna@example.org`` -> ``a***@example.org``: enough to tell mailboxes apart in logs."""
    local, at, domain = address.partition("@")
    if not at:
        return (local[:1] + "***") if local else "***"
    return f"{local[:1]}***@{domain}"


def mailbox_key(cfg: MailboxConfig) -> str:
    """The stable name of this mailbox in the database: ``imap://user@host:port/folder``."""
    return f"imap://{cfg.username}@{cfg.host}:{cfg.port}/{cfg.folder}"


def make_position(uidvalidity: int, uid: int) -> str:
    return f"{uidvalidity}:{uid}"


def parse_position(position: str) -> tuple[int, int]:
    """``"UIDVALIDITY:UID"`` -> ``(uidvalidity, uid)``; ValueError if it is not one of ours."""
    validity, sep, uid = position.partition(":")
    if not sep:
        raise ValueError(f"not an IMAP position: {position!r}")
    return int(validity), int(uid)


@dataclass(frozen=True)
class Checkpoint:
    """A plain copy of the ``mailbox_state`` row, read at the start of a pass."""

    uidvalidity: int
    last_uid: int
    historical_below_uid: int
    first_connected_at: datetime


def is_historical(
    uid: int,
    received_at: datetime,
    checkpoint: Checkpoint,
    since: datetime | None = None,
) -> bool:
    """Was this message in the mailbox before the bot first connected (or older than ``since``)?

    ``historical_below_uid`` is the UIDNEXT seen when the bot first connected (or
    when the folder's UIDVALIDITY changed, after which every UID is new): mail
    below it was already there. After a UIDVALIDITY change the folder holds both
    mail that was there before the bot and mail the bot handled since, under new
    UIDs; the arrival time tells them apart, so a message counts as historical
    only if it also arrived before ``first_connected_at``. (On the first
    connection that second test is always true, barring server clock skew.)
    INTERNALDATE has whole seconds, so after a UIDVALIDITY change, mail that came
    in the very second of the first connection counts as historical.
    """
    if since is not None and received_at < since:
        return True
    return uid < checkpoint.historical_below_uid and received_at < checkpoint.first_connected_at


def next_backoff(failures: int, rnd: float) -> float:
    """Seconds to wait after ``failures`` consecutive failed connects (``rnd`` in [0, 1)).

    1, 2, 4, ... capped at 60 s, each spread by +/-20% so that several bots that
    lost the same server do not all come back in the same second.
    """
    base = min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2 ** max(0, failures - 1))
    return min(BACKOFF_MAX_SECONDS, base * (0.8 + 0.4 * rnd))


def truncated_message(header: bytes, body_start: bytes, size: int, limit: int) -> bytes:
    """A too-large message cut down to ``limit`` bytes: its header, a marker, the body's start."""
    marker = TRUNCATED_HEADER + f": original size {size} bytes\r\n".encode()
    room = max(0, limit - len(header) - len(marker))
    return marker + header + body_start[:room]


def fetch_batches(
    sizes: Sequence[tuple[int, int]], max_count: int, max_bytes: int = FETCH_BATCH_BYTES
) -> Iterator[list[int]]:
    """``(uid, RFC822.SIZE)`` pairs, in order, as the UID lists to fetch together.

    A batch holds at most ``max_count`` messages and at most ``max_bytes`` in all;
    a message of ``max_bytes`` or more is fetched alone. So what one FETCH holds
    in memory is bounded by bytes, whatever the mix of sizes.
    """
    batch: list[int] = []
    total = 0
    for uid, size in sizes:
        if batch and (len(batch) >= max_count or total + size > max_bytes):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += size
    if batch:
        yield batch


def _chunks(items: Sequence[int], size: int) -> Iterator[list[int]]:
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


def _announces_new_mail(responses: Sequence[Any]) -> bool:
    for response in responses:
        if len(response) >= 2 and response[1] in NEW_MAIL_RESPONSES:
            return True
        if response and response[0] == b"BYE":
            raise imaplib.IMAP4.abort("server said BYE during IDLE")
    return False


def _as_utc(value: datetime) -> datetime:
    """INTERNALDATE as an aware UTC datetime (a naive one is taken as UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _uidnext_by_search(client: IMAPClient) -> int:
    """For servers that omit UIDNEXT from SELECT: one above the highest UID."""
    uids = client.search(["ALL"])
    return max(uids, default=0) + 1


def _shutdown(client: IMAPClient) -> None:
    with contextlib.suppress(*CONNECTION_ERRORS):
        client.shutdown()


# -- the checkpoint row -------------------------------------------------------------------


def load_checkpoint(
    engine: sa.Engine, key: str, uidvalidity: int, uidnext: int, now: datetime, label: str
) -> Checkpoint:
    """Load (or create) this mailbox's row and reconcile it with the server's UIDVALIDITY."""
    with session_scope(engine) as session:
        row = session.get(MailboxState, key)
        if row is None:
            row = MailboxState(
                key=key,
                uidvalidity=uidvalidity,
                last_uid=0,
                historical_below_uid=uidnext,
                first_connected_at=now,
                updated_at=now,
            )
            session.add(row)
            log.info(
                "IMAP %s: first connection; %d UIDs below %d are historical",
                label,
                uidnext - 1,
                uidnext,
            )
        elif row.uidvalidity != uidvalidity:
            log.warning(
                "IMAP %s: UIDVALIDITY changed from %s to %s; reading the whole folder again",
                label,
                row.uidvalidity,
                uidvalidity,
            )
            row.uidvalidity = uidvalidity
            row.last_uid = 0
            row.historical_below_uid = uidnext
            row.updated_at = now
            session.add(row)
        return Checkpoint(
            uidvalidity=uidvalidity,
            last_uid=row.last_uid,
            historical_below_uid=row.historical_below_uid,
            first_connected_at=row.first_connected_at,
        )


def advance_checkpoint(session: Session, key: str, position: str, now: datetime) -> None:
    """Move the checkpoint to ``position`` in the caller's transaction (never backwards)."""
    uidvalidity, uid = parse_position(position)
    row = session.get(MailboxState, key)
    if row is None or row.uidvalidity != uidvalidity or uid <= row.last_uid:
        return
    row.last_uid = uid
    row.updated_at = now
    session.add(row)
