"""Sends finished emails over SMTP (the :class:`bot.ports.Mailer` behind ``kind = "smtp"``).

One connection is kept open between sends, checked with NOOP before reuse and
opened again when the server dropped it. Every failure becomes a
:class:`~bot.errors.DeliveryError`: permanent when the server said 5xx about
this message (no such user, message refused), temporary for everything that
may pass (4xx, the server being down, timeouts, a broken TLS or sign-in setup
that the operator has to fix before the queue can drain).

Logs name the server, the Message-ID and how many recipients there were,
never an address or the body.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr
from typing import TYPE_CHECKING

from bot.config import LOOPBACK_HOSTS, ConfigError, OutgoingConfig, Secrets
from bot.errors import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

log = logging.getLogger(__name__)

TokenProvider = Callable[[], str]


class _SMTP(smtplib.SMTP):
    """Remembers the server's reply to the end of DATA, which ``send_message`` drops."""

    last_data_reply: tuple[int, bytes] = (0, b"")

    def data(self, msg: ReadableBuffer | str) -> tuple[int, bytes]:
        reply = super().data(msg)
        self.last_data_reply = reply
        return reply


class _SMTP_SSL(smtplib.SMTP_SSL, _SMTP):
    pass


def xoauth2_initial_response(user: str, token: str) -> str:
    """The SASL XOAUTH2 client response (Google, Microsoft), before base64."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer_initial_response(user: str, token: str) -> str:
    """The SASL OAUTHBEARER (RFC 7628) client response, before base64."""
    return f"n,a={user},\x01auth=Bearer {token}\x01\x01"


def envelope_sender(from_address: str) -> str:
    """The bare address in a ``Name <address>`` header value, used as MAIL FROM."""
    return parseaddr(from_address)[1]


def _code_error(code: int, what: str) -> DeliveryError:
    if 500 <= code < 600:
        return PermanentDeliveryError(f"{what}: {code}")
    return TemporaryDeliveryError(f"{what}: {code}")


def _reply_text(code: int, reply: bytes) -> str:
    text = reply.decode("utf-8", "replace").splitlines()
    return f"{code} {text[0] if text else ''}".strip()[:200]


def classify_smtp_error(exc: Exception) -> DeliveryError:
    """Turn what smtplib or the socket raised into a permanent or temporary delivery error.

    The server's reply text is left out on purpose: it often quotes the address.
    """
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        if not codes:
            return PermanentDeliveryError("message has no recipients")
        if all(500 <= c < 600 for c in codes):
            return PermanentDeliveryError(
                f"all {len(codes)} recipient(s) refused: {sorted(set(codes))}"
            )
        return TemporaryDeliveryError(f"recipient(s) refused for now: {sorted(set(codes))}")
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _code_error(exc.smtp_code, "sender refused")
    if isinstance(exc, smtplib.SMTPDataError):
        return _code_error(exc.smtp_code, "message refused")
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # Wrong credentials are the operator's to fix; the message itself is fine.
        return TemporaryDeliveryError(f"SMTP sign-in refused: {exc.smtp_code}")
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a read timeout as a disconnect; keep its reason ("timed out").
        return TemporaryDeliveryError(f"SMTP server disconnected: {exc}")
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        # Raised when the message needs SMTPUTF8 and the server cannot carry it.
        return PermanentDeliveryError(f"SMTP server cannot carry this message: {exc}")
    if isinstance(exc, smtplib.SMTPResponseException):
        return _code_error(exc.smtp_code, "SMTP server said")
    if isinstance(exc, ssl.SSLError | ssl.CertificateError):
        return TemporaryDeliveryError(f"TLS failed: {exc.__class__.__name__}")
    if isinstance(exc, TimeoutError):
        return TemporaryDeliveryError("SMTP server timed out")
    if isinstance(exc, OSError):
        return TemporaryDeliveryError(f"SMTP server unreachable: {exc.__class__.__name__}")
    if isinstance(exc, smtplib.SMTPException):
        return TemporaryDeliveryError(f"SMTP failed: {exc.__class__.__name__}")
    raise exc


class SmtpMailer:
    """A :class:`bot.ports.Mailer` that talks SMTP (SSL, STARTTLS, or plain on loopback).

    ``token_provider`` returns a fresh OAuth2 access token; when given (or when
    ``cfg.oauth2`` is set) the mailer signs in with XOAUTH2/OAUTHBEARER instead
    of a password. ``cfg.ca_file`` (optional) names extra CA certificates to
    trust, for test servers with a self-signed certificate.
    """

    def __init__(
        self,
        cfg: OutgoingConfig,
        secrets: Secrets,
        *,
        token_provider: TokenProvider | None = None,
    ) -> None:
        if not cfg.host:
            raise ConfigError("[outgoing] host: required when kind = 'smtp'")
        if cfg.security == "none" and cfg.host not in LOOPBACK_HOSTS:
            raise ConfigError("[outgoing] security: 'none' is only allowed on a loopback host")
        self._mechanism = cfg.oauth2.mechanism if cfg.oauth2 else "XOAUTH2"
        if cfg.oauth2 is not None and token_provider is None:
            raise ConfigError("[outgoing.oauth2] is set but no token provider was given")
        password = secrets.smtp_password.get_secret_value() if secrets.smtp_password else ""
        if cfg.username and token_provider is None and not password:
            raise ConfigError(f"[outgoing] password_env: {cfg.password_env or '(unset)'} is empty")
        self._cfg = cfg
        self._password = password
        self._token_provider = token_provider
        self._sender = envelope_sender(cfg.from_address)
        self._ca_file: str = cfg.ca_file
        self._conn: _SMTP | _SMTP_SSL | None = None
        # One connection, one conversation at a time.
        self._lock = threading.Lock()

    @property
    def server(self) -> str:
        """``host:port``, for logs and ``complaint-bot check``."""
        return f"{self._cfg.host}:{self._cfg.port}"

    def send(self, message: EmailMessage) -> str:
        """Deliver ``message`` to its To/Cc/Bcc recipients; return the server's "250 ..." reply.

        Raises :class:`PermanentDeliveryError` or :class:`TemporaryDeliveryError`.
        """
        recipients = len(
            getaddresses(
                message.get_all("to", []) + message.get_all("cc", []) + message.get_all("bcc", [])
            )
        )
        message_id = str(message.get("message-id", "(no Message-ID)"))
        with self._lock:
            try:
                conn = self._connection()
                refused = conn.send_message(message, from_addr=self._sender)
                code, reply = conn.last_data_reply
            except Exception as exc:
                error = classify_smtp_error(exc)
                if isinstance(error, TemporaryDeliveryError):
                    # The conversation may be half-way through; start afresh next time.
                    self._drop()
                log.warning(
                    "mail %s to %d recipient(s) via %s not sent: %s",
                    message_id,
                    recipients,
                    self.server,
                    error,
                )
                raise error from exc
        receipt = _reply_text(code, reply)
        if refused:
            # Accepted for some recipients: sending again would duplicate it for them.
            receipt += f" ({len(refused)} of {recipients} recipient(s) refused)"
            log.warning(
                "mail %s via %s: %d of %d recipient(s) refused",
                message_id,
                self.server,
                len(refused),
                recipients,
            )
        log.info(
            "mail %s to %d recipient(s) sent via %s: %s",
            message_id,
            recipients,
            self.server,
            receipt,
        )
        return receipt

    def check(self) -> str:
        """Connect (and sign in) without sending anything, for ``complaint-bot check``."""
        with self._lock:
            try:
                self._connection()
            except Exception as exc:
                raise classify_smtp_error(exc) from exc
        return f"SMTP {self._cfg.host}:{self._cfg.port} ({self._cfg.security})"

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open."""
        with self._lock:
            conn, self._conn = self._conn, None
            if conn is None:
                return
            try:
                conn.quit()
            except (smtplib.SMTPException, OSError):
                conn.close()

    # -- the connection -----------------------------------------------------

    def _connection(self) -> _SMTP | _SMTP_SSL:
        if self._conn is not None:
            if self._alive(self._conn):
                return self._conn
            log.info("SMTP connection to %s was dropped; connecting again", self.server)
            self._drop()
        self._conn = self._connect()
        return self._conn

    @staticmethod
    def _alive(conn: smtplib.SMTP) -> bool:
        try:
            code, _ = conn.noop()
        except (smtplib.SMTPException, OSError):
            return False
        return code == 250

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _tls_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._ca_file or None)

    def _connect(self) -> _SMTP | _SMTP_SSL:
        cfg = self._cfg
        conn: _SMTP | _SMTP_SSL
        if cfg.security == "ssl":
            conn = _SMTP_SSL(
                cfg.host, cfg.port, timeout=cfg.timeout_seconds, context=self._tls_context()
            )
        else:
            conn = _SMTP(cfg.host, cfg.port, timeout=cfg.timeout_seconds)
        try:
            conn.ehlo()
            if cfg.security == "starttls":
                if not conn.has_extn("starttls"):
                    raise TemporaryDeliveryError(
                        f"{self.server} does not offer STARTTLS; refusing to send in clear"
                    )
                conn.starttls(context=self._tls_context())
                conn.ehlo()
            if cfg.username:
                self._sign_in(conn)
        except BaseException:
            conn.close()
            raise
        return conn

    def _sign_in(self, conn: smtplib.SMTP) -> None:
        if not conn.has_extn("auth"):
            raise TemporaryDeliveryError(
                f"{self.server} does not offer AUTH; refusing to send unauthenticated"
            )
        if self._token_provider is None:
            conn.login(self._cfg.username, self._password)
            return
        token = self._token_provider()
        if self._mechanism == "OAUTHBEARER":
            response = oauthbearer_initial_response(self._cfg.username, token)
        else:
            response = xoauth2_initial_response(self._cfg.username, token)

        def authobject(challenge: bytes | None = None) -> str:
            # First call: the initial response. A 334 challenge afterwards carries
            # the server's JSON error; an empty reply lets it finish with 535.
            return response if challenge is None else ""

        conn.auth(self._mechanism, authobject, initial_response_ok=True)
