"""``POST /api/messages`` as ``complaint-bot run`` serves it, and what it refuses early."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest

from tests.support.teams_auth import activity
from tests.teams.conftest import INTAKE, TeamsWorld


def test_run_serves_the_endpoint_on_the_configured_port(world: TeamsWorld) -> None:
    world.app.close()  # the world's own server; run's takes the configured port instead
    app = world.rt.start_chat_app(threading.Event())
    try:
        deadline = time.monotonic() + 10
        while not app.started:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        post = activity(conversation=INTAKE, user="29:1someone", text="Ett klagomål")
        assert world.http.post(world.url, json=post).status_code == 401  # unsigned
        assert world.send(post).status_code == 200
        assert len(world.bot.cases()) == 1
    finally:
        app.close()


def test_what_is_not_an_activity_gets_400_and_a_huge_body_413(world: TeamsWorld) -> None:
    headers = {"Content-Type": "application/json"}
    assert world.http.post(world.url, content=b"[1, 2]", headers=headers).status_code == 400
    assert world.http.post(world.url, content=b"{nope", headers=headers).status_code == 400
    big = b'{"text": "' + b"x" * 300_000 + b'"}'
    assert world.http.post(world.url, content=big, headers=headers).status_code == 413
    assert world.http.get(world.url).status_code == 405
    assert isinstance(world.http, httpx.Client)


def test_being_added_to_a_channel_logs_its_id_for_the_operator(
    world: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    update = activity("conversationUpdate", conversation=INTAKE, user="29:1admin")
    update["membersAdded"] = [{"id": update["recipient"]["id"]}]
    with caplog.at_level(logging.INFO, logger="handlers.teams.app"):
        assert world.send(update).status_code == 200
    assert f"added to conversation {INTAKE}" in caplog.text
    assert world.bot.cases() == []
