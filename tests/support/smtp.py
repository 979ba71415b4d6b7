"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, in a thread.

It records every message it accepts, can be stopped and started again on the
same port (an outage), can be told to answer a code for the next messages or
for given recipients, and can require AUTH and/or offer STARTTLS or implicit
TLS with a self-signed certificate made at test time with ``openssl``.

Use the fixtures from a test module or a conftest::

    pytest_plugins = ["tests.support.smtp"]

    def test_x(smtp_server): ...                       # plain, no AUTH
    def test_y(smtp_server_factory, tls_cert):
        server = smtp_server_factory(starttls=True, users={"bot": "secret"})
"""

from __future__ import annotations

import base64
import ssl
import subprocess
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.net import free_port

HOST = "127.0.0.1"


@dataclass(frozen=True)
class TlsCert:
    """A self-signed certificate for 127.0.0.1 and localhost; ``cert`` doubles as the CA file."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx


def make_tls_cert(directory: Path) -> TlsCert:
    """Generate a throw-away self-signed certificate (valid for 127.0.0.1) in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return TlsCert(cert=cert, key=key)


@dataclass(frozen=True)
class ReceivedMail:
    """One message the server accepted."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: EmailMessage
    raw: bytes
    authenticated_as: str | None
    tls: bool


@dataclass
class _Rule:
    code_and_text: str
    remaining: int | None  # None: for ever


class _CountingSMTP(SMTP):
    """aiosmtpd's SMTP that tells the test server about each new connection."""

    def __init__(self, handler: Any, on_connect: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._on_connect = on_connect

    def connection_made(self, transport: Any) -> None:
        # Called again after STARTTLS on the same connection; count only the first.
        if self.transport is None:
            self._on_connect()
        super().connection_made(transport)


class _Controller(Controller):
    def __init__(self, handler: Any, on_connect: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(handler, **kwargs)
        self._on_connect = on_connect

    def factory(self) -> SMTP:
        with warnings.catch_warnings():
            # AUTH without TLS is what the loopback-only "plain" tests are about.
            warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
            return _CountingSMTP(self.handler, self._on_connect, **self.SMTP_kwargs)


class SmtpTestServer:
    """An aiosmtpd server on 127.0.0.1 with knobs for failures, AUTH and TLS.

    ``users`` (login → password) makes AUTH PLAIN/LOGIN required; ``tokens``
    (login → OAuth2 access token) offers XOAUTH2 as well. ``starttls`` offers
    STARTTLS, ``implicit_tls`` wraps the whole connection (SMTPS); both need
    ``cert``.
    """

    def __init__(
        self,
        *,
        port: int | None = None,
        users: dict[str, str] | None = None,
        tokens: dict[str, str] | None = None,
        starttls: bool = False,
        implicit_tls: bool = False,
        cert: TlsCert | None = None,
    ) -> None:
        if (starttls or implicit_tls) and cert is None:
            raise ValueError("starttls/implicit_tls need a cert")
        self.host = HOST
        self.port = port or free_port()
        self.users = dict(users or {})
        self.tokens = dict(tokens or {})
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.cert = cert
        self._lock = threading.Condition()
        self._messages: list[ReceivedMail] = []
        self._next_data: list[_Rule] = []
        self._next_mail: list[_Rule] = []
        self._recipients: dict[str, _Rule] = {}
        self._connections = 0
        self._controller: _Controller | None = None

    # -- life cycle -----------------------------------------------------------

    @property
    def running(self) -> bool:
        return self._controller is not None

    def start(self) -> SmtpTestServer:
        """Listen on ``self.port`` (the same port after a stop)."""
        if self._controller is not None:
            return self
        auth = bool(self.users or self.tokens)
        kwargs: dict[str, Any] = {
            "hostname": self.host,
            "port": self.port,
            "server_hostname": "smtp.test",
            "ready_timeout": 10.0,
            "auth_required": auth,
            # Over STARTTLS aiosmtpd itself holds AUTH back until TLS is on; with
            # implicit TLS or on plain loopback it must be allowed outright.
            "auth_require_tls": self.starttls,
            "authenticator": self._authenticate,
        }
        if self.starttls:
            assert self.cert is not None
            kwargs["tls_context"] = self.cert.server_context()
        if self.implicit_tls:
            assert self.cert is not None
            kwargs["ssl_context"] = self.cert.server_context()
        controller = _Controller(_Handler(self), self._count_connection, **kwargs)
        controller.start()
        self._controller = controller
        with self._lock:
            # The controller's own readiness probe is not a client.
            self._connections = max(0, self._connections - 1)
        return self

    def stop(self) -> None:
        """Stop listening and drop every open connection."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> SmtpTestServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- failure injection ----------------------------------------------------

    def fail_next(
        self, count: int, reply: str = "450 4.3.0 Try again later", *, at: str = "data"
    ) -> None:
        """Answer ``reply`` to the next ``count`` messages, at the end of DATA or at MAIL FROM."""
        if at not in ("data", "mail"):
            raise ValueError("at: 'data' or 'mail'")
        with self._lock:
            rules = self._next_data if at == "data" else self._next_mail
            rules.append(_Rule(reply, count))

    def refuse_recipient(
        self, address: str, reply: str = "550 5.1.1 No such user", *, count: int | None = None
    ) -> None:
        """Answer ``reply`` to RCPT TO ``address`` (for ever, or ``count`` times)."""
        with self._lock:
            self._recipients[address.lower()] = _Rule(reply, count)

    def clear_failures(self) -> None:
        with self._lock:
            self._next_data.clear()
            self._next_mail.clear()
            self._recipients.clear()

    # -- what happened --------------------------------------------------------

    @property
    def messages(self) -> list[ReceivedMail]:
        with self._lock:
            return list(self._messages)

    @property
    def connections(self) -> int:
        """How many client connections were opened so far."""
        with self._lock:
            return self._connections

    def wait_for(self, count: int, timeout: float = 5.0) -> list[ReceivedMail]:
        """Block until at least ``count`` messages arrived; fail the test otherwise."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._messages) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} message(s), got {len(self._messages)}")
                self._lock.wait(left)
            return list(self._messages)

    def reset(self) -> None:
        with self._lock:
            self._messages.clear()
            self._connections = 0
        self.clear_failures()

    # -- called from the server thread ---------------------------------------

    def _count_connection(self) -> None:
        with self._lock:
            self._connections += 1

    @staticmethod
    def _take(rules: list[_Rule]) -> str | None:
        while rules:
            rule = rules[0]
            if rule.remaining is not None and rule.remaining <= 0:
                rules.pop(0)
                continue
            if rule.remaining is not None:
                rule.remaining -= 1
            return rule.code_and_text
        return None

    def _mail_reply(self) -> str | None:
        with self._lock:
            return self._take(self._next_mail)

    def _rcpt_reply(self, address: str) -> str | None:
        with self._lock:
            rule = self._recipients.get(address.lower())
            if rule is None:
                return None
            return self._take([rule]) if rule.remaining is not None else rule.code_and_text

    def _data_reply(self) -> str | None:
        with self._lock:
            return self._take(self._next_data)

    def _record(self, mail: ReceivedMail) -> None:
        with self._lock:
            self._messages.append(mail)
            self._lock.notify_all()

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            login = auth_data.login.decode()
            ok = self.users.get(login) == auth_data.password.decode()
            if ok:
                return AuthResult(success=True, auth_data=login)
        # handled=False: let aiosmtpd answer 535 itself.
        return AuthResult(success=False, handled=False)


class _Handler:
    def __init__(self, server: SmtpTestServer) -> None:
        self.server = server

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        reply = self.server._mail_reply()
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.server._rcpt_reply(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.server._data_reply()
        if reply is not None:
            return reply
        raw = envelope.original_content or b""
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        transport = server.transport
        self.server._record(
            ReceivedMail(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                message=message,
                raw=raw,
                authenticated_as=session.auth_data if session.authenticated else None,
                tls=transport is not None and transport.get_extra_info("ssl_object") is not None,
            )
        )
        return f"250 2.0.0 Ok: queued as TEST{len(self.server.messages):04d}"

    async def auth_XOAUTH2(self, server: SMTP, args: list[str]) -> AuthResult:
        """SASL XOAUTH2 as Google and Microsoft speak it (initial response only)."""
        if len(args) < 2:
            return AuthResult(success=False, handled=False, message="501 5.5.2 Need response")
        try:
            text = base64.b64decode(args[1]).decode()
            fields = dict(part.split("=", 1) for part in text.split("\x01") if part)
            login, token = fields["user"], fields["auth"].removeprefix("Bearer ")
        except (ValueError, KeyError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Bad response")
        if self.server.tokens.get(login) == token:
            return AuthResult(success=True, auth_data=login)
        # Real servers send a JSON error as a 334 challenge, then 535 after the reply.
        await server.challenge_auth('{"status":"401","schemes":"bearer"}')
        return AuthResult(success=False, handled=False)


# -- pytest fixtures ------------------------------------------------------------


@pytest.fixture(scope="session")
def tls_cert(tmp_path_factory: pytest.TempPathFactory) -> TlsCert:
    """A self-signed certificate for 127.0.0.1, made once per test session."""
    return make_tls_cert(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def smtp_server_factory() -> Iterator[Callable[..., SmtpTestServer]]:
    """Build and start :class:`SmtpTestServer` instances; all are stopped after the test."""
    servers: list[SmtpTestServer] = []

    def make(**kwargs: Any) -> SmtpTestServer:
        server = SmtpTestServer(**kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()


@pytest.fixture
def smtp_server(smtp_server_factory: Callable[..., SmtpTestServer]) -> SmtpTestServer:
    """A plain SMTP server on loopback, no AUTH, no TLS."""
    return smtp_server_factory()
