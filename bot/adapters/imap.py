"""The complaint mailbox over IMAP.

The checkpoint is ``(UIDVALIDITY, last UID handled)`` in the ``mailbox_state``
row for this mailbox, advanced in the same transaction that handles a message
(:meth:`ImapMailbox.record`), so a crash never skips or repeats mail beyond
what Message-ID dedupe downstream absorbs. The server's mail is never changed:
messages are read with ``BODY.PEEK`` (no ``\\Seen``) and nothing is flagged
``\\Deleted``; the only write is the optional move to ``processed_folder``
after the transaction committed.

One connection does everything, one thing at a time: :meth:`ImapMailbox.wait`
enters IDLE and always leaves it (``DONE``) before returning, so
:meth:`ImapMailbox.pending` and :meth:`ImapMailbox.done` never meet an IDLE in
progress. A connection that dies is dropped and re-opened with exponential
backoff (1 s doubling to 60 s, with jitter); while the server is away
``pending()`` yields nothing and ``wait()`` keeps trying until its timeout.

Historical mail (PRODUCT.md) is yielded with ``historical=True``; the
pipeline decides what to do with it (``mailbox.historical``).

Memory is bounded by bytes: sizes (``RFC822.SIZE``) first, then bodies in batches
of at most ``FETCH_BATCH_BYTES`` (a larger message alone), each let go once handed
on; imaplib's debug logging (a ``repr()`` of every response) is off. A message over
``max_message_bytes`` is never fetched whole: its header, its parts' descriptions
and the start of its text (:mod:`bot.adapters.imap_large`).
"""

from __future__ import annotations

import imaplib
import logging
import random
import ssl
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from datetime import time as clock_time
from typing import Any

import sqlalchemy as sa
from imapclient import IMAPClient
from sqlmodel import Session

from bot.adapters.imap_large import fetch_large
from bot.adapters.imap_rules import (
    CONNECTION_ERRORS,
    FETCH_BATCH_BYTES,
    SIZE_BATCH,
    Checkpoint,
    _announces_new_mail,
    _as_utc,
    _chunks,
    _shutdown,
    _uidnext_by_search,
    advance_checkpoint,
    fetch_batches,
    is_historical,
    load_checkpoint,
    mailbox_key,
    make_position,
    next_backoff,
    parse_position,
    short_address,
    truncated_message,
)
from bot.config import LOOPBACK_HOSTS, ConfigError, MailboxConfig, Secrets
from bot.ports import InboundMail

log = logging.getLogger(__name__)

#: Set (as a keyword) on a message copied to ``processed_folder`` by a server without MOVE.
PROCESSED_KEYWORD = "$ComplaintBotProcessed"

# -- the adapter ------------------------------------------------------------------------------


class ImapMailbox:
    """A folder on an IMAP server, watched with IDLE (or polling), read with a UID checkpoint."""

    def __init__(
        self,
        cfg: MailboxConfig,
        secrets: Secrets,
        engine: sa.Engine,
        *,
        clock: Callable[[], datetime],
        token_provider: Callable[[], str] | None = None,
        timezone: tzinfo = UTC,
        timeout: float = 60.0,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        """``timezone`` is the organisation's, for ``mailbox.since``; ``timeout`` is per
        socket operation. ``sleep``, ``monotonic`` and ``rng`` exist for tests."""
        if cfg.security == "none" and cfg.host not in LOOPBACK_HOSTS:
            raise ConfigError("[mailbox] security: 'none' is only allowed on a loopback host")
        password = secrets.imap_password.get_secret_value() if secrets.imap_password else ""
        if token_provider is None and not password:
            raise ConfigError("[mailbox] password_env: no IMAP password and no OAuth2 token")
        self.cfg = cfg
        self.key = mailbox_key(cfg)
        self._label = f"imap://{short_address(cfg.username)}@{cfg.host}:{cfg.port}/{cfg.folder}"
        self._password = password
        self._token_provider = token_provider
        self._engine = engine
        self._clock = clock
        self._since = (
            datetime.combine(cfg.since, clock_time(0), tzinfo=timezone) if cfg.since else None
        )
        self._timeout = timeout
        self._sleep = sleep
        self._monotonic = monotonic
        self._rng = rng
        self._client: IMAPClient | None = None
        self._capabilities: frozenset[bytes] = frozenset()
        self._uidvalidity = 0
        self._uidnext = 0
        self.fetch_batch_bytes = FETCH_BATCH_BYTES  # bytes one FETCH may bring in
        self._seen_uid = 0  # highest UID a pass has looked at, for the check before IDLE
        self._failures = 0
        self._retry_at = 0.0
        self.last_error: str | None = None  # for health checks: why the last connect failed

    # -- connection ---------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        # The CA file is for private or test CAs; the system store is used otherwise.
        ca_file = self.cfg.ca_file or None
        context = ssl.create_default_context(cafile=ca_file)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        return context

    def _open(self) -> IMAPClient:
        """Connect, secure, log in and select the folder; raises on any failure."""
        cfg = self.cfg
        client = IMAPClient(
            cfg.host,
            cfg.port,
            ssl=cfg.security == "ssl",
            ssl_context=self._ssl_context() if cfg.security == "ssl" else None,
            timeout=self._timeout,
        )
        # imapclient sets imaplib's debug level to 5, which makes imaplib build a repr()
        # of every response (whole messages) before the log drops it: off.
        client._imap.debug = 0
        try:
            client.normalise_times = False  # keep INTERNALDATE's offset; we convert to UTC
            if cfg.security == "starttls":
                client.starttls(self._ssl_context())
            self._login(client)
            self._capabilities = frozenset(client.capabilities())
            if cfg.processed_folder and not client.folder_exists(cfg.processed_folder):
                client.create_folder(cfg.processed_folder)
            # Read-only (EXAMINE) unless the bot must move mail out of the folder.
            info = client.select_folder(cfg.folder, readonly=not cfg.processed_folder)
        except BaseException:
            _shutdown(client)
            raise
        self._uidvalidity = int(info[b"UIDVALIDITY"])
        uidnext = info.get(b"UIDNEXT")
        self._uidnext = int(uidnext) if uidnext is not None else _uidnext_by_search(client)
        return client

    def check(self) -> str:
        """Connect, sign in and select the folder (``complaint-bot check``); raise on failure."""
        client = self._open()
        idle = "IDLE" if b"IDLE" in self._capabilities else "no IDLE: polling"
        _shutdown(client)
        cfg = self.cfg
        return f"IMAP {cfg.host}:{cfg.port} ({cfg.security}), folder {cfg.folder}, {idle}"

    def _login(self, client: IMAPClient) -> None:
        if self._token_provider is not None:
            token = self._token_provider()
            mechanism = self.cfg.oauth2.mechanism if self.cfg.oauth2 else "XOAUTH2"
            if mechanism == "OAUTHBEARER":
                client.oauthbearer_login(self.cfg.username, token)
            else:
                client.oauth2_login(self.cfg.username, token)
        else:
            client.login(self.cfg.username, self._password)

    def _connection(self) -> IMAPClient | None:
        """The open connection, opening one if the backoff allows; None while unreachable."""
        if self._client is not None:
            return self._client
        if self._monotonic() < self._retry_at:
            return None
        try:
            self._client = self._open()
        except CONNECTION_ERRORS as exc:
            self._failures += 1
            delay = next_backoff(self._failures, self._rng())
            self._retry_at = self._monotonic() + delay
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning(
                "IMAP %s: cannot connect (%s); next attempt in %.1f s",
                self._label,
                self.last_error,
                delay,
            )
            return None
        if self._failures:
            log.info(
                "IMAP %s: connected again after %d failed attempts", self._label, self._failures
            )
        self._failures = 0
        self.last_error = None
        return self._client

    def _lost(self, exc: BaseException) -> None:
        """Forget a connection that failed; the next use reconnects (first try at once)."""
        log.warning("IMAP %s: connection lost (%s: %s)", self._label, type(exc).__name__, exc)
        client, self._client = self._client, None
        if client is not None:
            _shutdown(client)
        self._retry_at = 0.0

    # -- checkpoint -----------------------------------------------------------------------------

    def _checkpoint(self) -> Checkpoint:
        """Load (or create) this mailbox's row and reconcile it with the server's UIDVALIDITY."""
        return load_checkpoint(
            self._engine, self.key, self._uidvalidity, self._uidnext, self._clock(), self._label
        )

    # -- the Mailbox protocol ---------------------------------------------------------------------

    def pending(self) -> Iterator[InboundMail]:
        """Every message after the checkpoint, in UID order, fetched ``batch_size`` at a time.

        Yields nothing while the server is unreachable; stops early (without error)
        if the connection breaks: the rest comes on the next call.
        """
        client = self._connection()
        if client is None:
            return
        try:
            checkpoint = self._checkpoint()
            # A session sees mail that arrived since its last command only after a
            # sync; NOOP is that sync (SEARCH alone may answer from the old view).
            client.noop()
            # "n:*" always matches the last message, even below n: filter.
            found = client.search(["UID", f"{checkpoint.last_uid + 1}:*"])
            uids = sorted(u for u in found if u > checkpoint.last_uid)
            self._seen_uid = max([checkpoint.last_uid, *uids])
            for part in _chunks(uids, SIZE_BATCH):
                if self._client is not client:  # done() lost the connection meanwhile
                    return
                yield from self._fetch(client, part, checkpoint)
        except CONNECTION_ERRORS as exc:
            if self._client is client:
                self._lost(exc)

    def _fetch(
        self, client: IMAPClient, uids: list[int], checkpoint: Checkpoint
    ) -> Iterator[InboundMail]:
        """Sizes first, then the bodies in batches bounded by bytes (:func:`fetch_batches`);
        a message over ``max_message_bytes`` is fetched cut down (:func:`fetch_large`)."""
        meta = client.fetch(uids, ["RFC822.SIZE", "INTERNALDATE"])
        limit = self.cfg.max_message_bytes
        sizes = [(u, int(meta[u][b"RFC822.SIZE"])) for u in uids if u in meta]
        for batch in fetch_batches(sizes, self.cfg.batch_size, self.fetch_batch_bytes):
            if id(self._client) != id(client):  # done() lost the connection meanwhile
                return
            whole = [u for u in batch if int(meta[u][b"RFC822.SIZE"]) <= limit]
            bodies: dict[int, Any] = dict(client.fetch(whole, ["BODY.PEEK[]"]) if whole else {})
            for uid in batch:
                size = int(meta[uid][b"RFC822.SIZE"])
                body = bodies.pop(uid, None)  # the batch lets go of each message as it is handed on
                if body is not None:
                    raw = bytes(body[b"BODY[]"])  # bytes(bytes) is the same object: no copy
                else:
                    raw = fetch_large(client, uid, size, limit, self._label)
                received_at = _as_utc(meta[uid][b"INTERNALDATE"])
                yield InboundMail(
                    raw=raw,
                    received_at=received_at,
                    mailbox=self.key,
                    position=make_position(checkpoint.uidvalidity, uid),
                    historical=is_historical(uid, received_at, checkpoint, self._since),
                )
                del body, raw  # the next batch is fetched without this one alive here

    def record(self, session: Session, mail: InboundMail) -> None:
        """Advance the checkpoint to ``mail`` in the caller's transaction (never backwards)."""
        advance_checkpoint(session, self.key, mail.position, self._clock())

    def done(self, mail: InboundMail) -> None:
        """Move the handled message to ``processed_folder``, if one is configured.

        Best effort: the checkpoint already moved on, so a failure here only leaves
        the message where it was.
        """
        folder = self.cfg.processed_folder
        if not folder:
            return
        uidvalidity, uid = parse_position(mail.position)
        client = self._connection()
        if client is None or uidvalidity != self._uidvalidity:
            log.warning(
                "IMAP %s: could not move UID %d to %s (not connected or UIDs changed)",
                self._label,
                uid,
                folder,
            )
            return
        try:
            if b"MOVE" in self._capabilities:
                client.move([uid], folder)
            else:
                # Without MOVE the message is copied and marked; never \Deleted + EXPUNGE.
                client.copy([uid], folder)
                client.add_flags([uid], [PROCESSED_KEYWORD])
        except (OSError, EOFError, imaplib.IMAP4.abort) as exc:
            self._lost(exc)
        except imaplib.IMAP4.error as exc:  # a NO/BAD reply: the connection itself is fine
            log.warning("IMAP %s: moving UID %d to %s failed: %s", self._label, uid, folder, exc)

    def wait(self, timeout: float) -> None:
        """Return when new mail may have arrived, or after ``timeout`` seconds.

        With IDLE: returns on EXISTS/RECENT, re-issuing IDLE every
        ``idle_renew_seconds``. Without: sleeps ``poll_seconds`` (at most ``timeout``).
        While disconnected: retries with backoff and returns as soon as the
        connection is back, so that mail which came meanwhile is read at once.
        """
        deadline = self._monotonic() + timeout
        while (remaining := deadline - self._monotonic()) > 0:
            client = self._client
            if client is None:
                delay = self._retry_at - self._monotonic()
                if delay > 0:
                    self._sleep(min(delay, remaining))
                elif self._connection() is not None:
                    return
                continue
            try:
                if self._new_mail(client):
                    return
                if b"IDLE" not in self._capabilities:
                    self._sleep(min(remaining, self.cfg.poll_seconds))
                    return
                if self._idle(client, min(remaining, self.cfg.idle_renew_seconds)):
                    return
            except CONNECTION_ERRORS as exc:
                self._lost(exc)

    def _new_mail(self, client: IMAPClient) -> bool:
        """Is there a UID above what the last pass saw? (Mail may arrive between the
        pass's SEARCH and IDLE; its EXISTS would not be repeated in IDLE.)"""
        client.noop()  # sync the session's view first, as in pending()
        found = client.search(["UID", f"{self._seen_uid + 1}:*"])
        return any(u > self._seen_uid for u in found)

    def _idle(self, client: IMAPClient, seconds: float) -> bool:
        """One IDLE of at most ``seconds``; True if the server announced new mail."""
        client.idle()
        try:
            responses = client.idle_check(timeout=seconds)
        finally:
            # Always leave IDLE: the next command on this connection must not meet it.
            # A dead connection raises here, which is how a silent drop is noticed.
            _text, late = client.idle_done()
        return _announces_new_mail([*responses, *late])

    @property
    def connected(self) -> bool:
        """Is a connection open (as far as the last command on it could tell)?"""
        return self._client is not None

    def close(self) -> None:
        """Log out (best effort) and forget the connection."""
        client, self._client = self._client, None
        if client is not None:
            try:
                client.logout()
            except CONNECTION_ERRORS:
                _shutdown(client)


__all__ = [
    "Checkpoint",
    "ImapMailbox",
    "is_historical",
    "mailbox_key",
    "next_backoff",
    "parse_position",
    "short_address",
    "truncated_message",
]
