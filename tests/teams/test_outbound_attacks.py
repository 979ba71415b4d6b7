"""The Bot Connector answering badly: a huge ``Retry-After``, HTML or garbage where JSON
belongs, an error that echoes the request's token. Each comes out as a DeliveryError
within the call's own short waits, and the app's token is never logged."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import SecretStr

from bot.adapters.oauth2 import ClientCredentialsTokens
from bot.adapters.teams.chat import TeamsChat
from bot.adapters.teams.connector import BOT_SCOPE, MAX_INLINE_WAIT, BotConnector
from bot.errors import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from bot.ports import ChatPost
from bot.runners.outbox import MAX_BACKOFF, backoff
from tests.support.fake_teams import FakeTeams
from tests.support.net import HOST

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
Answer = tuple[int, dict[str, str], bytes]


class ScriptedConnector:
    """A connector on 127.0.0.1 that gives the scripted answers in turn (then 201)."""

    def __init__(self) -> None:
        self.answers: list[Answer] = []
        self.tokens: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def _serve(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.tokens.append(str(self.headers.get("Authorization", "")))
                if outer.answers:
                    status, headers, body = outer.answers.pop(0)
                else:
                    status, headers, body = 201, {}, b'{"id": "1"}'
                body = body.replace(b"{token}", outer.tokens[-1].encode())
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_POST = do_PUT = do_GET = _serve

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}/teams/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def world() -> Iterator[tuple[ScriptedConnector, BotConnector, list[float]]]:
    slept: list[float] = []
    script = ScriptedConnector()
    with FakeTeams(clock=lambda: NOW.timestamp()) as fake:
        tokens = ClientCredentialsTokens(
            fake.login_url, fake.app_id, SecretStr(fake.app_password), BOT_SCOPE, lambda: NOW
        )
        connector = BotConnector(script.url, tokens, backoff=0.01, sleep=slept.append)
        try:
            yield script, connector, slept
        finally:
            connector.close()
            script.close()


def _post(connector: BotConnector) -> None:
    TeamsChat(connector, app_id="a", tenant_id="t").post("19:c@thread.tacv2", ChatPost("hej", []))


@pytest.mark.parametrize(
    "retry_after", ["999999999", "1e400", "inf", "nan", "-5", "Wed, 21 Oct 2099 07:28:00 GMT"]
)
def test_a_429_with_any_retry_after_never_holds_the_delivery_loop(
    world: tuple[ScriptedConnector, BotConnector, list[float]], retry_after: str
) -> None:
    script, connector, slept = world
    script.answers = [(429, {"Retry-After": retry_after}, b"")] * 3
    with pytest.raises(TemporaryDeliveryError) as caught:
        _post(connector)
    assert all(0 <= s <= MAX_INLINE_WAIT for s in slept)
    # The outbox waits what the connector asked, at most MAX_BACKOFF.
    wait = backoff(1, caught.value.retry_after)
    assert wait.total_seconds() >= 0 and wait <= MAX_BACKOFF


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        ((200, {"Content-Type": "text/html"}, b"<html>Sign in</html>"), PermanentDeliveryError),
        ((201, {}, b'{"id": '), PermanentDeliveryError),
        ((201, {}, b"[1, 2, 3]"), PermanentDeliveryError),
        ((201, {}, b'{"id": {"nested": true}}'), PermanentDeliveryError),
        ((201, {}, b'{"id": 12}'), None),
        ((201, {}, b"\xff\xfe\x00garbage"), PermanentDeliveryError),
        ((502, {"Content-Type": "text/html"}, b"<html>Bad gateway</html>"), TemporaryDeliveryError),
        ((400, {}, b'{"error": "just a string"}'), PermanentDeliveryError),
        ((302, {"Location": "https://evil.example/"}, b""), PermanentDeliveryError),
    ],
)
def test_html_or_garbage_from_the_connector_is_a_delivery_error(
    world: tuple[ScriptedConnector, BotConnector, list[float]],
    answer: Answer,
    error: type[DeliveryError] | None,
) -> None:
    script, connector, _ = world
    script.answers = [answer] * 3
    if error is None:
        _post(connector)
        return
    with pytest.raises(error):
        _post(connector)
    assert len(script.tokens) <= 3  # nothing followed a redirect


def test_the_app_token_never_reaches_the_log_even_when_the_connector_echoes_it(
    world: tuple[ScriptedConnector, BotConnector, list[float]],
    caplog: pytest.LogCaptureFixture,
) -> None:
    script, connector, _ = world
    echo = json.dumps({"error": {"code": "{token}", "message": "{token}"}}).encode()
    script.answers = [
        (401, {}, echo),
        (401, {}, echo),
        (429, {"Retry-After": "1"}, echo),
        (503, {}, echo),
        (503, {}, echo),
        (400, {}, echo),
        (500, {}, b"{token}"),
        (500, {}, b"{token}"),
        (500, {}, b"{token}"),
    ]
    with caplog.at_level(logging.DEBUG):
        for _ in range(4):
            with pytest.raises(DeliveryError):
                _post(connector)
    tokens = {t.removeprefix("Bearer ") for t in script.tokens}
    assert tokens and all(len(t) > 100 for t in tokens)
    for token in tokens:
        for part in token.split("."):
            assert part not in caplog.text
