"""Client-credentials tokens against a tiny token endpoint on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.oauth2 import ClientCredentialsTokens, TokenError


class TokenEndpoint:
    """Answers POSTs with token-1, token-2, ...; remembers the forms it was sent."""

    def __init__(self) -> None:
        self.forms: list[dict[str, str]] = []
        self.expires_in = 3600
        self.status = 200
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                endpoint.forms.append({k: v[0] for k, v in form.items()})
                if endpoint.status != 200:
                    body: dict[str, Any] = {"error": "invalid_client"}
                else:
                    body = {
                        "access_token": f"token-{len(endpoint.forms)}",
                        "token_type": "Bearer",
                        "expires_in": endpoint.expires_in,
                    }
                data = json.dumps(body).encode()
                self.send_response(endpoint.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth2/v2.0/token"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def endpoint() -> Iterator[TokenEndpoint]:
    ep = TokenEndpoint()
    thread = threading.Thread(target=ep.server.serve_forever, daemon=True)
    thread.start()
    yield ep
    ep.server.shutdown()
    ep.server.server_close()


def tokens_for(endpoint: TokenEndpoint, clock: Clock) -> ClientCredentialsTokens:
    return ClientCredentialsTokens(
        endpoint.url,
        "client-id",
        SecretStr("s3cret"),
        "https://outlook.office365.com/.default",
        clock,
    )


def test_posts_the_client_credentials_grant(endpoint: TokenEndpoint) -> None:
    assert tokens_for(endpoint, Clock())() == "token-1"
    assert endpoint.forms == [
        {
            "grant_type": "client_credentials",
            "client_id": "client-id",
            "client_secret": "s3cret",
            "scope": "https://outlook.office365.com/.default",
        }
    ]


def test_token_is_reused_until_five_minutes_before_it_expires(endpoint: TokenEndpoint) -> None:
    clock = Clock()
    tokens = tokens_for(endpoint, clock)
    assert tokens() == "token-1"
    clock.now += timedelta(minutes=54, seconds=59)
    assert tokens() == "token-1"
    clock.now += timedelta(seconds=1)
    assert tokens() == "token-2"
    assert len(endpoint.forms) == 2


def test_refused_credentials_raise_a_token_error(endpoint: TokenEndpoint) -> None:
    endpoint.status = 401
    with pytest.raises(TokenError, match=r"HTTP 401.*invalid_client"):
        tokens_for(endpoint, Clock())()


def test_unreachable_endpoint_raises_a_token_error(endpoint: TokenEndpoint) -> None:
    endpoint.server.shutdown()
    endpoint.server.server_close()
    with pytest.raises(TokenError, match="unreachable"):
        tokens_for(endpoint, Clock())()


def test_only_http_urls_are_accepted() -> None:
    with pytest.raises(ValueError, match="http"):
        ClientCredentialsTokens("file:///etc/passwd", "id", SecretStr("x"), "s", Clock())
