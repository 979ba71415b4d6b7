"""``POST /api/messages`` against bodies made to hurt it, before any token is looked at,
and activities replayed or reused from another conversation."""

from __future__ import annotations

import asyncio
from collections.abc import MutableMapping
from typing import Any, cast

from handlers.slack.enums import ActionId
from handlers.teams.app import MAX_BODY, build_app
from handlers.teams.auth import BotFrameworkAuth
from tests.support.fake_teams import card_actions
from tests.support.teams_auth import activity
from tests.teams.conftest import STAFF, STAFF_AAD, TRIAGE, TeamsWorld

CHUNK = 64 * 1024


class NeverAsked:
    """An authenticator the endpoint must not reach."""

    def verify(self, *_: Any) -> None:
        raise AssertionError("the token was looked at")


def _post_chunked(chunks: int) -> tuple[int, int]:
    """POST ``chunks`` chunks of 64 KiB with no Content-Length straight into the ASGI app;
    its status and how many bytes it pulled."""
    app = build_app(cast(Any, None), cast(BotFrameworkAuth, NeverAsked()))
    pulled = 0
    sent = 0
    status: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled, sent
        if sent >= chunks:
            return {"type": "http.disconnect"}
        sent += 1
        pulled += CHUNK
        return {"type": "http.request", "body": b" " * CHUNK, "more_body": sent < chunks}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            status.append(message["status"])

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/messages",
        "raw_path": b"/api/messages",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    asyncio.run(app(scope, receive, send))
    return status[0], pulled


def test_a_chunked_body_is_refused_without_being_read_to_its_end() -> None:
    status, pulled = _post_chunked(1000)  # 64 MB offered, no Content-Length
    assert status == 413
    assert pulled <= MAX_BODY + CHUNK


def test_deeply_nested_json_gets_400_not_a_crash(world: TeamsWorld) -> None:
    headers = {"Content-Type": "application/json"}
    for body in (b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 30_000 + b"1" + b"}" * 30_000):
        assert world.http.post(world.url, content=body, headers=headers).status_code == 400


def test_odd_bodies_are_refused_early(world: TeamsWorld) -> None:
    headers = {"Content-Type": "application/json"}
    for body in (b"", b"null", b'"text"', b"1e999999", b"\xff\xfe{}", b"{}" * 10):
        assert world.http.post(world.url, content=body, headers=headers).status_code in (400, 401)
    assert world.bot.cases() == []


def test_a_replayed_post_opens_one_case(world: TeamsWorld) -> None:
    post = world.post("Ingen kom med maten i går.")
    assert world.send(post).status_code == 200
    assert world.send(dict(post)).status_code == 200
    assert len(world.bot.cases()) == 1


def test_the_same_activity_id_in_another_conversation_is_another_activity(
    world: TeamsWorld,
) -> None:
    # Activity ids are unique in their conversation only: a press carrying the id of an
    # intake post is not taken for a replay of it.
    post = world.post("Ingen kom med maten i går.")
    snooze = next(a for a in card_actions(world.prompt()) if a["cb_action"] == ActionId.SNOOZE)
    press = activity(
        conversation=TRIAGE,
        user=STAFF,
        aad=STAFF_AAD,
        value=snooze,
        reply_to=world.prompt()["id"],
        activity_id=post["id"],
    )
    assert world.send(press).status_code == 200
    assert len(world.dms(STAFF)) == 1  # "snoozed until ...": it acted
    assert world.send(press).status_code == 200  # and its own retry is one
    assert len(world.dms(STAFF)) == 1
