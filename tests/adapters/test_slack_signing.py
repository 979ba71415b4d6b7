"""The request signer against slack_sdk's SignatureVerifier and a real Bolt app."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_bolt import Ack, App
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from tests.support.fake_slack import FakeSlack
from tests.support.slack_signing import SignedRequest, SlackSigner

SECRET = "test-signing-secret"


def is_valid(req: SignedRequest) -> bool:
    return SignatureVerifier(SECRET).is_valid_request(req.body, req.headers)


@pytest.fixture
def signer() -> SlackSigner:
    return SlackSigner(SECRET)


def test_signed_requests_of_every_kind_verify(signer: SlackSigner) -> None:
    requests = [
        signer.message_event("C0INTAKE", "Jag vill klaga på hemtjänsten"),
        signer.reaction_added("C0INTAKE", "1700000000.000100", "klagomal"),
        signer.block_actions("claim_case", "KL-2026-000123"),
        signer.view_submission(
            "log_call", {"note": {"text": {"type": "plain_text_input", "value": "Pratat med Anna"}}}
        ),
        signer.slash_command("/klagomal", "KL-2026-000123"),
        signer.url_verification(),
    ]
    assert all(is_valid(r) for r in requests)


def test_stale_forged_and_tampered_requests_do_not_verify(signer: SlackSigner) -> None:
    good = signer.slash_command("/klagomal", "lista")

    assert not is_valid(signer.stale(good))
    assert not is_valid(signer.badly_signed(good))
    assert not is_valid(SlackSigner.tampered(good, good.body + "&text=%3C%21channel%3E"))


def test_signer_uses_its_clock(signer: SlackSigner) -> None:
    old = SlackSigner(SECRET, clock=lambda: 1_000_000.0).slash_command("/klagomal")

    assert old.timestamp == "1000000"
    assert not is_valid(old)  # the verifier's clock is now


@pytest.fixture
def bolt_app(fake_slack: FakeSlack) -> tuple[App, list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []
    # process_before_response: listeners finish inside dispatch, so the test need not wait.
    app = App(
        client=WebClient(token=fake_slack.token, base_url=fake_slack.url),
        signing_secret=SECRET,
        process_before_response=True,
    )

    @app.event("message")
    def on_message(event: dict[str, Any]) -> None:
        seen.append(("message", event["text"]))

    @app.action("claim_case")
    def on_claim(ack: Ack, action: dict[str, Any]) -> None:
        ack()
        seen.append(("claim_case", action["value"]))

    @app.view("log_call")
    def on_log_call(ack: Ack, view: dict[str, Any]) -> None:
        ack()
        seen.append(("log_call", view["state"]["values"]["note"]["text"]["value"]))

    @app.command("/klagomal")
    def on_command(ack: Ack, command: dict[str, Any]) -> None:
        ack()
        seen.append(("/klagomal", command["text"]))

    return app, seen


def test_bolt_dispatches_each_kind(
    signer: SlackSigner, bolt_app: tuple[App, list[tuple[str, Any]]]
) -> None:
    app, seen = bolt_app
    requests = [
        signer.message_event("C0INTAKE", "Jag vill klaga"),
        signer.block_actions("claim_case", "KL-2026-000123"),
        signer.view_submission(
            "log_call", {"note": {"text": {"type": "plain_text_input", "value": "Pratat med Anna"}}}
        ),
        signer.slash_command("/klagomal", "KL-2026-000123"),
    ]

    statuses = [app.dispatch(r.to_bolt()).status for r in requests]

    assert statuses == [200, 200, 200, 200]
    assert seen == [
        ("message", "Jag vill klaga"),
        ("claim_case", "KL-2026-000123"),
        ("log_call", "Pratat med Anna"),
        ("/klagomal", "KL-2026-000123"),
    ]


def test_bolt_refuses_stale_and_forged_requests(
    signer: SlackSigner, bolt_app: tuple[App, list[tuple[str, Any]]]
) -> None:
    app, seen = bolt_app
    good = signer.block_actions("claim_case", "KL-2026-000123")

    assert app.dispatch(signer.stale(good).to_bolt()).status == 401
    assert app.dispatch(signer.badly_signed(good).to_bolt()).status == 401
    assert seen == []


@pytest.fixture
def bolt_http(bolt_app: tuple[App, list[tuple[str, Any]]]) -> Iterator[int]:
    """The Bolt app behind a tiny HTTP server on 127.0.0.1 (like HTTP mode)."""
    app, _ = bolt_app

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            resp = app.dispatch(
                BoltRequest(body=body, headers={k.lower(): v for k, v in self.headers.items()})
            )
            data = resp.body.encode()
            self.send_response(resp.status)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield int(server.server_address[1])
    server.shutdown()
    server.server_close()


def test_requests_delivered_over_http(
    signer: SlackSigner, bolt_http: int, bolt_app: tuple[App, list[tuple[str, Any]]]
) -> None:
    _, seen = bolt_app
    challenge = signer.url_verification("abc123")

    status, body = challenge.post_to_port(bolt_http)
    assert (status, json.loads(body)["challenge"]) == (200, "abc123")

    assert signer.slash_command("/klagomal", "hjälp").post_to_port(bolt_http)[0] == 200
    forged = signer.badly_signed(signer.slash_command("/klagomal", "förfalskad"))
    assert forged.post_to_port(bolt_http)[0] == 401
    assert seen == [("/klagomal", "hjälp")]
