"""The Slack app manifest asks for what the app listens to."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import load_config
from tests.slack.conftest import SlackWorld

ROOT = Path(__file__).resolve().parents[2]


def test_the_manifest_subscribes_to_the_events_the_app_handles(world: SlackWorld) -> None:
    manifest = (ROOT / "slack_manifest.yaml").read_text(encoding="utf-8")
    events: dict[str, dict[str, Any]] = {
        "message.channels": {
            "type": "message",
            "channel": "C0OTHER",
            "channel_type": "channel",
            "user": "U0X",
            "text": "hej",
            "ts": "1.0",
        },
        "message.groups": {
            "type": "message",
            "channel": "G0OTHER",
            "channel_type": "group",
            "user": "U0X",
            "text": "hej",
            "ts": "2.0",
        },
        "reaction_added": {
            "type": "reaction_added",
            "user": "U0X",
            "reaction": "tada",
            "item": {"type": "message", "channel": "C0OTHER", "ts": "1.0"},
        },
        "app_home_opened": {"type": "app_home_opened", "user": "U0X", "tab": "messages"},
    }
    for subscription, event in events.items():
        assert f"      - {subscription}\n" in manifest
        response = world.dispatch(world.signer.event(event, event_id=world.event_id()))
        assert response.status == 200, subscription
    unhandled = world.dispatch(
        world.signer.event(
            {
                "type": "reaction_removed",
                "user": "U0X",
                "reaction": "tada",
                "item": {"type": "message", "channel": "C0OTHER", "ts": "1.0"},
            },
            event_id=world.event_id(),
        )
    )
    assert unhandled.status == 404
    for scope in (
        "chat:write",
        "channels:history",
        "groups:history",
        "im:write",
        "reactions:read",
        "commands",
        "users:read",
    ):
        assert f"      - {scope} " in manifest
    assert "socket_mode_enabled: true" in manifest
    assert "interactivity:\n    is_enabled: true" in manifest


def test_the_manifest_command_is_the_example_configs() -> None:
    cfg = load_config(ROOT / "config.example.toml")
    manifest = (ROOT / "slack_manifest.yaml").read_text(encoding="utf-8")
    assert f"- command: {cfg.chat.slash_command}\n" in manifest
