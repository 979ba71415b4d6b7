"""SmtpMailer against a real aiosmtpd server on loopback."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any, Literal

import pytest
from pydantic import SecretStr

from bot.adapters.smtp import SmtpMailer
from bot.config import ConfigError, OutgoingConfig, Secrets
from bot.errors import PermanentDeliveryError, TemporaryDeliveryError
from tests.support.smtp import SmtpTestServer, TlsCert

ServerFactory = Callable[..., SmtpTestServer]
Security = Literal["ssl", "starttls", "none"]


_OutgoingWithCa = OutgoingConfig  # ca_file is part of the config tree


def acknowledgement(to: str = "anna.svensson@example.se", **headers: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Exempel kommun <synpunkter@example.org>"
    msg["To"] = to
    msg["Subject"] = "Vi har tagit emot dina synpunkter (KL-2026-000123)"
    msg["Message-ID"] = "<ack-1@example.org>"
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Hej Anna,\n\nTack för att du hörde av dig. Vi ringer dig.\n")
    return msg


@pytest.fixture
def mailers() -> Iterator[Callable[..., SmtpMailer]]:
    """Make mailers pointed at a test server; all are closed after the test."""
    made: list[SmtpMailer] = []

    def make(
        server: SmtpTestServer,
        *,
        security: Security = "none",
        username: str = "",
        password: str = "",
        cert: TlsCert | None = None,
        timeout: float = 5.0,
        **kwargs: Any,
    ) -> SmtpMailer:
        cfg = _OutgoingWithCa(
            kind="smtp",
            host=server.host,
            port=server.port,
            security=security,
            username=username,
            password_env="SMTP_PASSWORD" if password else "",
            from_address="Exempel kommun <synpunkter@example.org>",
            timeout_seconds=timeout,
            ca_file=str(cert.cert) if cert else "",
        )
        secrets = Secrets(smtp_password=SecretStr(password) if password else None)
        mailer = SmtpMailer(cfg, secrets, **kwargs)
        made.append(mailer)
        return mailer

    yield make
    for mailer in made:
        mailer.close()


def test_plain_on_loopback_delivers_with_the_bare_from_address_as_envelope_sender(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    receipt = mailers(smtp_server).send(acknowledgement())

    [got] = smtp_server.wait_for(1)
    assert receipt.startswith("250 ")
    assert got.mail_from == "synpunkter@example.org"
    assert got.rcpt_tos == ("anna.svensson@example.se",)
    assert got.message["Subject"] == "Vi har tagit emot dina synpunkter (KL-2026-000123)"
    assert "Vi ringer dig." in got.message.get_content()
    assert not got.tls


def test_bcc_recipient_gets_the_mail_but_not_the_header(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    mailers(smtp_server).send(acknowledgement(Bcc="arkiv@example.org"))

    [got] = smtp_server.wait_for(1)
    assert set(got.rcpt_tos) == {"anna.svensson@example.se", "arkiv@example.org"}
    assert got.message["Bcc"] is None


def test_starttls_with_password_signs_in_over_tls(
    smtp_server_factory: ServerFactory, tls_cert: TlsCert, mailers: Callable[..., SmtpMailer]
) -> None:
    server = smtp_server_factory(starttls=True, cert=tls_cert, users={"bot": "hemligt"})
    mailer = mailers(server, security="starttls", username="bot", password="hemligt", cert=tls_cert)

    mailer.send(acknowledgement())

    [got] = server.wait_for(1)
    assert got.tls
    assert got.authenticated_as == "bot"


def test_starttls_refuses_a_server_that_does_not_offer_it(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    mailer = mailers(smtp_server, security="starttls")

    with pytest.raises(TemporaryDeliveryError, match="STARTTLS"):
        mailer.send(acknowledgement())
    assert smtp_server.messages == []


def test_starttls_refuses_an_untrusted_certificate(
    smtp_server_factory: ServerFactory, tls_cert: TlsCert, mailers: Callable[..., SmtpMailer]
) -> None:
    server = smtp_server_factory(starttls=True, cert=tls_cert)
    mailer = mailers(server, security="starttls")  # no CA file: the self-signed cert fails

    with pytest.raises(TemporaryDeliveryError, match="TLS"):
        mailer.send(acknowledgement())
    assert server.messages == []


def test_implicit_tls_with_password(
    smtp_server_factory: ServerFactory, tls_cert: TlsCert, mailers: Callable[..., SmtpMailer]
) -> None:
    server = smtp_server_factory(implicit_tls=True, cert=tls_cert, users={"bot": "hemligt"})
    mailer = mailers(server, security="ssl", username="bot", password="hemligt", cert=tls_cert)

    assert mailer.send(acknowledgement()).startswith("250 ")

    [got] = server.wait_for(1)
    assert got.tls
    assert got.authenticated_as == "bot"


def test_wrong_password_is_temporary_and_sends_nothing(
    smtp_server_factory: ServerFactory, mailers: Callable[..., SmtpMailer]
) -> None:
    server = smtp_server_factory(users={"bot": "hemligt"})
    mailer = mailers(server, username="bot", password="fel")

    with pytest.raises(TemporaryDeliveryError, match="sign-in"):
        mailer.send(acknowledgement())
    assert server.messages == []


def test_xoauth2_signs_in_with_the_token_from_the_provider(
    smtp_server_factory: ServerFactory, tls_cert: TlsCert, mailers: Callable[..., SmtpMailer]
) -> None:
    server = smtp_server_factory(starttls=True, cert=tls_cert, tokens={"bot@example.org": "tok-1"})
    tokens = iter(["tok-1"])
    mailer = mailers(
        server,
        security="starttls",
        username="bot@example.org",
        cert=tls_cert,
        token_provider=lambda: next(tokens),
    )

    mailer.send(acknowledgement())

    [got] = server.wait_for(1)
    assert got.authenticated_as == "bot@example.org"


def test_xoauth2_with_a_rejected_token_is_temporary(
    smtp_server_factory: ServerFactory, tls_cert: TlsCert, mailers: Callable[..., SmtpMailer]
) -> None:
    server = smtp_server_factory(starttls=True, cert=tls_cert, tokens={"bot@example.org": "tok-1"})
    mailer = mailers(
        server,
        security="starttls",
        username="bot@example.org",
        cert=tls_cert,
        token_provider=lambda: "expired",
    )

    with pytest.raises(TemporaryDeliveryError, match="sign-in"):
        mailer.send(acknowledgement())
    assert server.messages == []


def test_no_such_user_is_permanent(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    smtp_server.refuse_recipient("anna.svensson@example.se", "550 5.1.1 No such user")

    with pytest.raises(PermanentDeliveryError, match="550"):
        mailers(smtp_server).send(acknowledgement())
    assert smtp_server.messages == []


def test_message_without_recipients_is_permanent(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    message = acknowledgement()
    del message["To"]

    with pytest.raises(PermanentDeliveryError, match="no recipients"):
        mailers(smtp_server).send(message)


def test_one_refused_of_two_recipients_still_delivers_and_says_so(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    smtp_server.refuse_recipient("gone@example.se", "550 5.1.1 No such user")

    receipt = mailers(smtp_server).send(
        acknowledgement(to="anna.svensson@example.se, gone@example.se")
    )

    [got] = smtp_server.wait_for(1)
    assert got.rcpt_tos == ("anna.svensson@example.se",)
    assert "1 of 2 recipient(s) refused" in receipt


def test_recipient_greylisted_is_temporary(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    smtp_server.refuse_recipient("anna.svensson@example.se", "450 4.2.0 Greylisted", count=1)
    mailer = mailers(smtp_server)

    with pytest.raises(TemporaryDeliveryError):
        mailer.send(acknowledgement())
    mailer.send(acknowledgement())
    assert len(smtp_server.wait_for(1)) == 1


def test_message_refused_5xx_is_permanent_and_4xx_temporary(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    mailer = mailers(smtp_server)
    smtp_server.fail_next(1, "554 5.7.1 Message rejected as spam")
    smtp_server.fail_next(1, "451 4.3.0 Local error, try later")

    with pytest.raises(PermanentDeliveryError, match="554"):
        mailer.send(acknowledgement())
    with pytest.raises(TemporaryDeliveryError, match="451"):
        mailer.send(acknowledgement())
    assert mailer.send(acknowledgement()).startswith("250 ")
    assert len(smtp_server.messages) == 1


def test_sender_refused_5xx_is_permanent(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    smtp_server.fail_next(1, "553 5.7.1 Sender address rejected", at="mail")

    with pytest.raises(PermanentDeliveryError, match="553"):
        mailers(smtp_server).send(acknowledgement())


def test_server_down_is_temporary_and_delivery_resumes_when_it_is_back(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    mailer = mailers(smtp_server)
    mailer.send(acknowledgement())  # leaves a connection open
    smtp_server.stop()

    with pytest.raises(TemporaryDeliveryError):
        mailer.send(acknowledgement())

    smtp_server.start()
    assert mailer.send(acknowledgement()).startswith("250 ")
    assert len(smtp_server.wait_for(2)) == 2


def test_connection_is_reused_between_sends_and_reopened_after_a_drop(
    smtp_server: SmtpTestServer, mailers: Callable[..., SmtpMailer]
) -> None:
    mailer = mailers(smtp_server)
    for _ in range(3):
        mailer.send(acknowledgement())
    assert smtp_server.connections == 1

    smtp_server.restart()  # drops the open connection
    mailer.send(acknowledgement())

    assert smtp_server.connections == 2
    assert len(smtp_server.wait_for(4)) == 4


def test_server_that_never_greets_times_out_as_temporary(
    mailers: Callable[..., SmtpMailer],
) -> None:
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        server = SmtpTestServer(port=silent.getsockname()[1])  # never started: only the address
        mailer = mailers(server, timeout=0.3)

        with pytest.raises(TemporaryDeliveryError, match="timed out"):
            mailer.send(acknowledgement())


def test_plain_to_a_remote_host_is_refused_even_past_validation() -> None:
    cfg = OutgoingConfig.model_construct(
        kind="smtp",
        host="smtp.example.org",
        port=25,
        security="none",
        username="",
        from_address="synpunkter@example.org",
        timeout_seconds=5.0,
        oauth2=None,
    )
    with pytest.raises(ConfigError, match="loopback"):
        SmtpMailer(cfg, Secrets())
