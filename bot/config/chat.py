"""The chat section: Slack or console, channels, staff and ombudsman users."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from bot.config.base import Language, Section, SlackId


class ChatConfig(Section):
    kind: Literal["slack", "console"] = "console"
    mode: Literal["socket", "http"] = "socket"
    api_base_url: str = "https://slack.com/api/"
    http_port: int = Field(3000, ge=1, le=65535)
    http_host: str = "0.0.0.0"  # noqa: S104 - Slack must reach the HTTP endpoint
    # Names of environment variables, not secrets themselves.
    bot_token_env: str = "SLACK_BOT_TOKEN"  # noqa: S105
    app_token_env: str = "SLACK_APP_TOKEN"  # noqa: S105
    signing_secret_env: str = "SLACK_SIGNING_SECRET"  # noqa: S105
    intake_channels: tuple[SlackId, ...] = ()
    triage_channel: str = "C0TRIAGE"
    team_channel: str = ""
    staff_users: tuple[SlackId, ...] = ()
    ombudsman_users: tuple[SlackId, ...] = ()
    intake_reaction: str = "klagomal"
    slash_command: str = "/klagomal"
    console_path: str = ""  # console chat: also append what is shown to this file
    team_id: str = ""  # when set, requests from any other Slack workspace are refused
    staff_language: Language = "sv"
