"""The app served for real: HTTP mode on 127.0.0.1 with Bolt's own threads, signature
checks, and Socket Mode starting with the same listeners."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from handlers.slack.app import HttpChatApp, SocketChatApp, build_app, start_chat_app
from handlers.slack.enums import ActionId, BlockId
from tests.slack.conftest import INTAKE, STAFF, TRIAGE, SlackWorld, block_text


@pytest.fixture
def served(world: SlackWorld) -> Iterator[HttpChatApp]:
    stop = threading.Event()
    handle = start_chat_app(world.rt, stop)  # the production path: build_app, thread pool
    assert isinstance(handle, HttpChatApp)
    yield handle
    stop.set()
    handle.close()


def wait_until(condition: object, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.02)
    raise AssertionError("condition not reached in time")


def test_the_staff_flow_over_http(world: SlackWorld, served: HttpChatApp) -> None:
    port = served.port
    assert port == world.cfg.chat.http_port
    text = "Hemtjänsten kom inte i går. Ring mig på 070-123 45 67."
    ts = world.next_ts()
    world.fake.add_message(INTAKE, text, ts=ts)

    status, _ = world.signer.message_event(INTAKE, text, ts=ts, event_id="EvHttp1").post_to_port(
        port
    )

    assert status == 200
    wait_until(lambda: len(world.fake.messages(TRIAGE)) == 1)
    wait_until(lambda: any(m.get("thread_ts") == ts for m in world.fake.messages(INTAKE)))
    ref = world.case()["ref"]
    prompt_ts = world.prompt()["ts"]

    status, body = world.signer.block_actions(
        ActionId.CLAIM, ref, user=STAFF, channel=TRIAGE, message_ts=prompt_ts
    ).post_to_port(port)
    assert (status, body) == (200, "")
    wait_until(lambda: world.case()["assignee"] == f"slack:{STAFF}")
    wait_until(lambda: f"<@{STAFF}>" in block_text(world.prompt()["blocks"]))

    for outcome, resolution in (("no_answer", None), ("reached", "dialogue")):
        calls = world.fake.count("views.open")
        status, _ = world.signer.block_actions(
            ActionId.LOG_CALL, ref, user=STAFF, message_ts=prompt_ts
        ).post_to_port(port)
        assert status == 200
        wait_until(lambda n=calls: world.fake.count("views.open") == n + 1)
        modal = world.last_view()
        values: dict[str, Any] = {
            BlockId.OUTCOME: {
                "input": {"type": "radio_buttons", "selected_option": {"value": outcome}}
            },
            BlockId.RESOLUTION: {
                "input": {
                    "type": "static_select",
                    "selected_option": {"value": resolution} if resolution else None,
                }
            },
        }
        status, _ = world.signer.view_submission(
            modal["callback_id"],
            values,
            private_metadata=modal["private_metadata"],
            user=STAFF,
            view_id=modal["id"],
        ).post_to_port(port)
        assert status == 200
        wait_until(lambda o=outcome: [a["outcome"] for a in world.case()["attempts"]][-1:] == [o])
    wait_until(lambda: world.case()["status"] == "closed")
    wait_until(lambda: "är avslutat" in block_text(world.prompt()["blocks"]))
    assert world.fake.count("chat.update") >= 3


def test_stale_unsigned_and_forged_requests_are_rejected(
    world: SlackWorld, served: HttpChatApp
) -> None:
    good = world.signer.message_event(INTAKE, "Klagomål", ts=world.next_ts(), event_id="EvX")

    assert world.signer.stale(good).post_to_port(served.port)[0] == 401
    assert world.signer.badly_signed(good).post_to_port(served.port)[0] == 401
    forged_body = good.body.replace("EvX", "EvForged")
    assert forged_body != good.body
    assert world.signer.tampered(good, forged_body).post_to_port(served.port)[0] == 401
    unsigned = urllib.request.Request(
        f"http://127.0.0.1:{served.port}/slack/events",
        data=good.body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(unsigned, timeout=5)  # noqa: S310 - http to loopback
    assert refused.value.code == 401
    empty = replace(good, timestamp="", signature="")
    assert empty.post_to_port(served.port)[0] >= 400
    assert world.case_count() == 0


def test_requests_elsewhere_are_not_found(world: SlackWorld, served: HttpChatApp) -> None:
    good = world.signer.url_verification("abc")
    assert good.post_to_port(served.port, "/other")[0] == 404
    status, body = good.post_to_port(served.port)
    assert status == 200 and json.loads(body) == {"challenge": "abc"}


def test_dispatch_rejects_stale_requests_too(world: SlackWorld) -> None:
    request = world.signer.block_actions(ActionId.CLAIM, "KL-2026-000001")
    assert world.dispatch(world.signer.stale(request)).status == 401
    assert world.dispatch(world.signer.badly_signed(request)).status == 401


def test_socket_mode_starts_with_the_same_listeners_and_closes(world: SlackWorld) -> None:
    app = build_app(world.rt)
    stop = threading.Event()
    socket_cfg = world.cfg.model_copy(
        update={"chat": world.cfg.chat.model_copy(update={"mode": "socket"})}
    )
    world.rt.cfg = socket_cfg

    handle = start_chat_app(world.rt, stop, app=app)

    assert isinstance(handle, SocketChatApp)
    assert handle.handler.app is app
    assert len(app._listeners) == len(build_app(world.rt)._listeners) == 25  # +take-over, +2 review
    # The fake has no Socket Mode endpoint: the handle keeps trying in the background
    # (the mailbox watcher is not held up), against the configured API base URL.
    wait_until(lambda: world.fake.count("apps.connections.open") >= 1)
    assert not handle.connected.is_set()
    stop.set()
    handle.close()
    assert not handle.thread.is_alive()
