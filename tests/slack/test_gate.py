"""The HTTP door: refused requests get 400/401/413 and one log line with the reason and
size, never the body; only the configured workspace is served."""

from __future__ import annotations

import http.client
import io
import json
import threading
import time
from collections.abc import Iterator

import pytest

from handlers.slack.app import HttpChatApp, start_chat_app
from handlers.slack.gate import check_request
from tests.slack.conftest import INTAKE, SlackWorld
from tests.support.log_capture import log_output  # noqa: F401
from tests.support.slack_signing import SignedRequest

SECRET_BODY = "Anna Andersson 19340512-1234\n2026-11-23 10:00:00,000 INFO bot.pipeline: case opened"


@pytest.fixture
def served(world: SlackWorld, log_output: io.StringIO) -> Iterator[HttpChatApp]:  # noqa: F811
    stop = threading.Event()
    handle = start_chat_app(world.rt, stop)
    assert isinstance(handle, HttpChatApp)
    yield handle
    stop.set()
    handle.close()


def post_raw(port: int, body: bytes, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", "/slack/events", body=body, headers=headers)
        return conn.getresponse().status
    finally:
        conn.close()


def wait_for_lines(log_output: io.StringIO, count: int) -> list[str]:  # noqa: F811
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        lines = log_output.getvalue().splitlines()
        if len(lines) >= count:
            return lines
        time.sleep(0.02)
    return log_output.getvalue().splitlines()


def assert_one_clean_line(log_output: io.StringIO, reason: str) -> None:  # noqa: F811
    lines = wait_for_lines(log_output, 1)
    refused = [line for line in lines if "Slack request refused" in line]
    assert len(refused) == 1, lines
    assert reason in refused[0] and "bytes" in refused[0]
    text = log_output.getvalue()
    for leak in ("Anna", "1234", "case opened", "Traceback", "legacy", "EvX"):
        assert leak not in text


def test_stale_request_is_one_line_without_the_body(
    world: SlackWorld,
    served: HttpChatApp,
    log_output: io.StringIO,  # noqa: F811
) -> None:
    good = world.signer.message_event(INTAKE, SECRET_BODY, event_id="EvX")
    assert world.signer.stale(good).post_to_port(served.port)[0] == 401
    assert_one_clean_line(log_output, "stale timestamp")
    assert world.case_count() == 0


@pytest.mark.parametrize(
    ("headers", "status", "reason"),
    [
        ({"Content-Type": "application/json"}, 401, "unsigned"),
        (
            {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": "soon",
                "X-Slack-Signature": "v0=00",
            },
            400,
            "malformed timestamp",
        ),
        (
            {
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": "１２３",
                "X-Slack-Signature": "v0=00",
            },
            400,
            "malformed timestamp",
        ),
    ],
)
def test_malformed_unsigned_requests_get_4xx_and_one_line(
    world: SlackWorld,
    served: HttpChatApp,
    log_output: io.StringIO,  # noqa: F811
    headers: dict[str, str],
    status: int,
    reason: str,
) -> None:
    body = json.dumps(
        {"type": "event_callback", "token": "legacy", "event": {"text": SECRET_BODY}}
    ).encode()
    encoded = {k: v.encode("utf-8").decode("latin-1") for k, v in headers.items()}
    assert post_raw(served.port, body, encoded) == status
    assert_one_clean_line(log_output, reason)


def test_a_huge_unsigned_body_is_refused_unread(
    world: SlackWorld,
    served: HttpChatApp,
    log_output: io.StringIO,  # noqa: F811
) -> None:
    body = (SECRET_BODY * 40_000).encode()  # ~3 MB
    try:
        status = post_raw(served.port, body, {"Content-Type": "application/json"})
    except (ConnectionError, http.client.HTTPException):
        status = 413  # the server may close before the whole body is sent
    assert status == 413
    assert_one_clean_line(log_output, "body too large")


def test_signed_but_unreadable_body_is_400(
    world: SlackWorld,
    served: HttpChatApp,
    log_output: io.StringIO,  # noqa: F811
) -> None:
    for body, content_type in (
        ("not json " + SECRET_BODY, "application/json"),
        ("[1, 2]", "application/json"),
        ("payload=%7Bbroken", "application/x-www-form-urlencoded"),
        ("<xml/>", "text/xml"),
    ):
        signed = world.signer.sign(body, content_type)
        assert signed.post_to_port(served.port)[0] == 400
    lines = wait_for_lines(log_output, 4)
    assert sum("unreadable body" in line for line in lines) == 4
    assert "Traceback" not in log_output.getvalue() and "Anna" not in log_output.getvalue()


@pytest.fixture
def one_workspace(world: SlackWorld) -> SlackWorld:
    world.rt.cfg = world.cfg.model_copy(
        update={"chat": world.cfg.chat.model_copy(update={"team_id": "T0TEAM"})}
    )
    return world


def test_only_the_configured_workspace_is_served(
    one_workspace: SlackWorld,
    log_output: io.StringIO,  # noqa: F811
) -> None:
    world = one_workspace
    stop = threading.Event()
    handle = start_chat_app(world.rt, stop)
    assert isinstance(handle, HttpChatApp)
    try:
        foreign = world.signer.message_event(
            INTAKE, SECRET_BODY, team_id="T0OTHER", ts=world.next_ts(), event_id="EvForeign"
        )
        assert foreign.post_to_port(handle.port)[0] == 401
        assert_one_clean_line(log_output, "another workspace")
        assert world.case_count() == 0
        challenge = world.signer.url_verification("abc").post_to_port(handle.port)
        assert challenge == (200, json.dumps({"challenge": "abc"}))
        ours = world.signer.message_event(
            INTAKE, "Hemtjänsten kom inte.", ts=world.next_ts(), event_id="EvOurs"
        )
        assert ours.post_to_port(handle.port)[0] == 200
        deadline = time.monotonic() + 10
        while world.case_count() == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert world.case_count() == 1
    finally:
        stop.set()
        handle.close()


def test_the_workspace_guard_covers_socket_mode_and_dispatch(one_workspace: SlackWorld) -> None:
    from handlers.slack.app import build_app

    world = one_workspace
    app = build_app(world.rt)
    foreign = world.signer.message_event(INTAKE, "Klagomål", team_id="T0OTHER")
    request = foreign.to_bolt()
    assert app.dispatch(request).status == 401


def test_check_request_decides_from_headers_body_time_and_workspace(world: SlackWorld) -> None:
    signed: SignedRequest = world.signer.slash_command("/klagomal", "x")
    headers = {k.lower(): v for k, v in signed.headers.items()}
    now = float(signed.timestamp)
    body = signed.body.encode()
    assert check_request(headers, body, signing_secret="test-signing-secret", now=now) is None
    forged = check_request(headers, body, signing_secret="other", now=now)
    assert forged is not None and forged.reason == "bad signature"
    late = check_request(headers, body, signing_secret="test-signing-secret", now=now + 301)
    assert late is not None and late.status == 401
    wrong = check_request(
        headers, body, signing_secret="test-signing-secret", now=now, team_id="T0ELSE"
    )
    assert wrong is not None and wrong.reason == "another workspace"


def test_without_a_configured_workspace_the_bot_tokens_own_is_the_only_one_served(
    world: SlackWorld,
) -> None:
    # No [chat] team_id: the bot asks Slack (auth.test) which workspace its token is
    # for, once, and refuses a signed request from any other.
    from handlers.slack.app import build_app

    assert not world.cfg.chat.team_id
    app = build_app(world.rt)
    foreign = world.signer.message_event(INTAKE, "Klagomål", team_id="T0OTHER")
    assert app.dispatch(foreign.to_bolt()).status == 401
    home = world.signer.message_event(INTAKE, "Klagomål från en i vår egen arbetsyta")
    assert app.dispatch(home.to_bolt()).status == 200
    asked = world.fake.count("auth.test")  # ours, once (and Bolt's own, once)
    again = world.signer.message_event(INTAKE, "Klagomål", team_id="T0THIRD")
    assert app.dispatch(again.to_bolt()).status == 401
    assert world.fake.count("auth.test") == asked
