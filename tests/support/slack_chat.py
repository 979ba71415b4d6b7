"""The bot's Slack chat adapter, wired to the fake Slack Web API with short retry waits."""

from __future__ import annotations

from slack_sdk.http_retry.builtin_interval_calculators import (
    FixedValueRetryIntervalCalculator,
)

from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.config import ChatConfig
from tests.support.fake_slack import FakeSlack


def chat_for(fake: FakeSlack, *, max_retries: int = 2) -> SlackChat:
    """A SlackChat on the real slack_sdk WebClient, talking to ``fake``."""
    cfg = ChatConfig(kind="slack", api_base_url=fake.url)
    client = make_web_client(
        cfg,
        fake.token,
        max_retries=max_retries,
        interval_calculator=FixedValueRetryIntervalCalculator(0.01),
    )
    return SlackChat(client)
