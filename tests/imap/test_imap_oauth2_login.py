"""XOAUTH2 and OAUTHBEARER logins end to end: a token from a client-credentials
endpoint, checked by Dovecot's oauth2 passdb against an introspection endpoint."""

from __future__ import annotations

import json
import shutil
import tempfile
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from bot.adapters.imap import ImapMailbox
from bot.adapters.oauth2 import ClientCredentialsTokens
from bot.clock import FixedClock
from bot.config import MailboxConfig, OAuth2Config, Secrets
from bot.store import db
from tests.support.dovecot import arrival

if TYPE_CHECKING:
    from tests.support.dovecot import Dovecot

pytestmark = pytest.mark.dovecot


class IdentityProvider:
    """Issues tokens for one mailbox (client credentials) and answers Dovecot's
    introspection requests for them."""

    def __init__(self) -> None:
        self.issued: list[str] = []
        self.introspected: list[str] = []
        self.mailbox = ""  # whose tokens it issues
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = {
                    k: v[0]
                    for k, v in urllib.parse.parse_qs(self.rfile.read(length).decode()).items()
                }
                if self.path == "/token" and form.get("client_secret") == "app-secret":
                    token = f"tok-{len(provider.issued) + 1}"
                    provider.issued.append(token)
                    body: dict[str, Any] = {"access_token": token, "expires_in": 3600}
                elif self.path == "/introspect":
                    token = form.get("token", "")
                    provider.introspected.append(token)
                    body = (
                        {"active": True, "username": provider.mailbox}
                        if token in provider.issued
                        else {"active": False}
                    )
                else:
                    body = {"error": "invalid_client"}
                data = json.dumps(body).encode()
                self.send_response(200 if "error" not in body else 401)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture(scope="module")
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    thread = threading.Thread(target=provider.server.serve_forever, daemon=True)
    thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


@pytest.fixture(scope="module")
def oauth_dovecot(idp: IdentityProvider) -> Iterator[Dovecot]:
    from tests.support.dovecot import Dovecot, ensure_dovecot

    if not ensure_dovecot():
        pytest.skip("Dovecot is not installed and could not be installed")
    root = Path(tempfile.mkdtemp(prefix="dovecot-oauth2-"))
    server = Dovecot(root, oauth2_introspection_url=f"{idp.base}/introspect")
    server.start()
    yield server
    server.stop(crash=True)
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    eng = db.make_engine(f"sqlite:///{tmp_path}/complaints.db")
    db.upgrade(eng)
    yield eng
    eng.dispose()


@pytest.mark.parametrize("mechanism", ["XOAUTH2", "OAUTHBEARER"])
def test_token_login_reads_the_mailbox(
    oauth_dovecot: Dovecot,
    idp: IdentityProvider,
    engine: sa.Engine,
    mechanism: str,
    clock: FixedClock,
) -> None:
    idp.mailbox = f"synpunkter-{mechanism.lower()}@example.org"
    # The mailbox also has a password, to put mail in; the bot never uses it.
    owner = oauth_dovecot.add_user(idp.mailbox, "owner-password")
    oauth_dovecot.append(
        owner,
        b"Subject: Klagomal\r\nMessage-ID: <o@example.org>\r\n\r\nHej\r\n",
        internaldate=arrival(clock),
    )
    oauth2 = OAuth2Config(
        token_url=f"{idp.base}/token",
        client_id="bot",
        client_secret_env="IMAP_OAUTH_SECRET",
        mechanism=mechanism,
    )
    cfg = MailboxConfig(
        kind="imap",
        host=oauth_dovecot.host,
        port=oauth_dovecot.port,
        security="none",
        username=idp.mailbox,
        oauth2=oauth2,
    )
    tokens = ClientCredentialsTokens(
        oauth2.token_url, oauth2.client_id, SecretStr("app-secret"), oauth2.scope, clock
    )
    mailbox = ImapMailbox(
        cfg,
        Secrets(imap_oauth_secret=SecretStr("app-secret")),
        engine,
        clock=clock,
        token_provider=tokens,
    )
    try:
        mails = list(mailbox.pending())
    finally:
        mailbox.close()

    assert mailbox.last_error is None
    assert [m.raw.split(b"\r\n")[0] for m in mails] == [b"Subject: Klagomal"]
    assert idp.introspected[-1] == idp.issued[-1]


def test_a_token_the_provider_did_not_issue_is_refused(
    oauth_dovecot: Dovecot,
    idp: IdentityProvider,
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    idp.mailbox = "synpunkter-forged@example.org"
    oauth_dovecot.add_user(idp.mailbox, "owner-password")
    oauth2 = OAuth2Config(
        token_url=f"{idp.base}/token", client_id="bot", client_secret_env="IMAP_OAUTH_SECRET"
    )
    cfg = MailboxConfig(
        kind="imap",
        host=oauth_dovecot.host,
        port=oauth_dovecot.port,
        security="none",
        username=idp.mailbox,
        oauth2=oauth2,
    )
    mailbox = ImapMailbox(cfg, Secrets(), engine, clock=clock, token_provider=lambda: "forged")

    assert list(mailbox.pending()) == []
    assert mailbox.last_error is not None and "LoginError" in mailbox.last_error
