"""SlackChat with the real slack_sdk WebClient against the fake Slack Web API."""

from __future__ import annotations

import time

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import (
    FixedValueRetryIntervalCalculator,
)

from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.config import ChatConfig
from bot.errors import PermanentDeliveryError, TemporaryDeliveryError
from bot.ports import ChatPost, ChatRef
from tests.support.fake_slack import FakeSlack
from tests.support.slack_chat import chat_for

PROMPT = ChatPost(
    text="Nytt klagomål KL-2026-000123: ring Anna",
    blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "*Ring Anna*"}}],
)


def test_post_sends_text_and_blocks_without_unfurling(fake_slack: FakeSlack) -> None:
    ref = chat_for(fake_slack).post("C0TRIAGE", PROMPT)

    [call] = fake_slack.calls("chat.postMessage")
    assert call.params["channel"] == "C0TRIAGE"
    assert call.params["text"] == PROMPT.text
    assert call.params["blocks"] == PROMPT.blocks
    assert call.params["unfurl_links"] in (False, "0")
    assert "thread_ts" not in call.params
    assert call.headers["authorization"] == f"Bearer {fake_slack.token}"
    assert call.response is not None
    assert ref == ChatRef(channel="C0TRIAGE", ts=call.response["ts"])


def test_post_in_a_thread_and_timestamps_increase(fake_slack: FakeSlack) -> None:
    chat = chat_for(fake_slack)
    parent = chat.post("C0TRIAGE", PROMPT)
    reply = chat.post(
        "C0TRIAGE", ChatPost(text="Påminnelse: ingen har ringt än"), thread_ts=parent.ts
    )

    assert fake_slack.calls("chat.postMessage")[1].params["thread_ts"] == parent.ts
    assert float(reply.ts) > float(parent.ts)
    assert [m["ts"] for m in fake_slack.messages("C0TRIAGE")] == [parent.ts, reply.ts]


def test_update_replaces_text_and_clears_blocks(fake_slack: FakeSlack) -> None:
    chat = chat_for(fake_slack)
    ref = chat.post("C0TRIAGE", PROMPT)

    chat.update(ref, ChatPost(text="KL-2026-000123: Anna är uppringd"))

    [call] = fake_slack.calls("chat.update")
    assert (call.params["channel"], call.params["ts"]) == (ref.channel, ref.ts)
    [message] = fake_slack.messages("C0TRIAGE")
    assert message["text"] == "KL-2026-000123: Anna är uppringd"
    assert message["blocks"] == []


def test_direct_opens_a_dm_and_posts_there(fake_slack: FakeSlack) -> None:
    ref = chat_for(fake_slack).direct("U0STAFF", PROMPT)

    assert fake_slack.calls("conversations.open")[0].params["users"] == "U0STAFF"
    assert ref.channel == "DU0STAFF"
    assert fake_slack.calls("chat.postMessage")[0].params["channel"] == "DU0STAFF"


def test_rate_limit_is_retried_after_retry_after_and_then_posts(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next(1, status=429, retry_after=0, method="chat.postMessage")

    started = time.monotonic()
    ref = chat_for(fake_slack).post("C0TRIAGE", PROMPT)

    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [429, 200]
    assert ref.ts == fake_slack.messages("C0TRIAGE")[0]["ts"]
    assert time.monotonic() - started < 3


def test_rate_limit_that_persists_is_temporary_with_retry_after(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next(5, status=429, retry_after=0, method="chat.postMessage")

    with pytest.raises(TemporaryDeliveryError) as caught:
        chat_for(fake_slack, max_retries=1).post("C0TRIAGE", PROMPT)

    assert caught.value.retry_after == 0
    assert fake_slack.count("chat.postMessage") == 2
    assert fake_slack.messages("C0TRIAGE") == []


def test_server_error_once_is_retried(fake_slack: FakeSlack) -> None:
    fake_slack.fail_next(1, status=503)

    chat_for(fake_slack).post("C0TRIAGE", PROMPT)

    assert [c.status for c in fake_slack.calls("chat.postMessage")] == [503, 200]


def test_persistent_server_error_is_temporary_after_bounded_retries(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.fail_next(10, status=500)

    with pytest.raises(TemporaryDeliveryError, match="500"):
        chat_for(fake_slack, max_retries=2).post("C0TRIAGE", PROMPT)

    assert fake_slack.count("chat.postMessage") == 3


def test_unknown_channel_is_permanent(fake_slack: FakeSlack) -> None:
    fake_slack.missing_channels.add("C0GONE")

    with pytest.raises(PermanentDeliveryError, match="channel_not_found"):
        chat_for(fake_slack).post("C0GONE", PROMPT)
    assert fake_slack.count("chat.postMessage") == 1  # no point in retrying


def test_bot_not_in_channel_is_permanent(fake_slack: FakeSlack) -> None:
    fake_slack.not_in_channels.add("C0PRIVATE")

    with pytest.raises(PermanentDeliveryError, match="not_in_channel"):
        chat_for(fake_slack).post("C0PRIVATE", PROMPT)


def test_too_long_text_is_permanent(fake_slack: FakeSlack) -> None:
    with pytest.raises(PermanentDeliveryError, match="msg_too_long"):
        chat_for(fake_slack).post("C0TRIAGE", ChatPost(text="x" * 40001))


def test_updating_a_missing_message_is_permanent(fake_slack: FakeSlack) -> None:
    with pytest.raises(PermanentDeliveryError, match="message_not_found"):
        chat_for(fake_slack).update(ChatRef("C0TRIAGE", "1.000001"), PROMPT)


def test_revoked_token_is_temporary_so_queued_posts_survive_the_fix(
    fake_slack: FakeSlack,
) -> None:
    fake_slack.error_next(1, "token_revoked")

    with pytest.raises(TemporaryDeliveryError, match="token_revoked"):
        chat_for(fake_slack).post("C0TRIAGE", PROMPT)


def test_wrong_token_is_refused_by_the_fake(fake_slack: FakeSlack) -> None:
    cfg = ChatConfig(kind="slack", api_base_url=fake_slack.url)
    chat = SlackChat(make_web_client(cfg, "xoxb-wrong"))

    with pytest.raises(TemporaryDeliveryError, match="invalid_auth"):
        chat.post("C0TRIAGE", PROMPT)


def test_slack_unreachable_is_temporary() -> None:
    fake = FakeSlack().start()
    url = fake.url
    fake.stop()  # nothing listens on that port any more
    chat = SlackChat(
        make_web_client(
            ChatConfig(kind="slack", api_base_url=url),
            "xoxb-test-token",
            max_retries=1,
            interval_calculator=FixedValueRetryIntervalCalculator(0.01),
        )
    )

    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        chat.post("C0TRIAGE", PROMPT)
