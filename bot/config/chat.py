"""The chat section: Slack, Teams or console, channels, staff and ombudsman users."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from bot.config.base import ChatId, Language, Section


class ChatConfig(Section):
    kind: Literal["slack", "console", "teams"] = "console"
    mode: Literal["socket", "http"] = "socket"
    api_base_url: str = "https://slack.com/api/"
    http_port: int = Field(3000, ge=1, le=65535)
    http_host: str = "0.0.0.0"  # noqa: S104 - Slack must reach the HTTP endpoint
    # Names of environment variables, not secrets themselves.
    bot_token_env: str = "SLACK_BOT_TOKEN"  # noqa: S105
    app_token_env: str = "SLACK_APP_TOKEN"  # noqa: S105
    signing_secret_env: str = "SLACK_SIGNING_SECRET"  # noqa: S105
    intake_channels: tuple[ChatId, ...] = ()
    triage_channel: str = "C0TRIAGE"
    team_channel: str = ""
    staff_users: tuple[ChatId, ...] = ()
    ombudsman_users: tuple[ChatId, ...] = ()
    intake_reaction: str = "klagomal"
    slash_command: str = "/klagomal"
    console_path: str = ""  # console chat: also append what is shown to this file
    team_id: str = ""  # when set, requests from any other Slack workspace are refused
    staff_language: Language = "sv"
    # Microsoft Teams (kind = "teams"): the bot's Entra app, and where the Bot Framework is.
    app_id: str = ""
    app_password_env: str = "TEAMS_APP_PASSWORD"  # noqa: S105 - a variable's name
    tenant_id: str = ""
    service_url: str = "https://smba.trafficmanager.net/teams/"
    login_url: str = "https://login.microsoftonline.com/botframework.com/oauth2/v2.0/token"
    openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"

    @model_validator(mode="after")
    def _ids_fit_the_platform(self) -> ChatConfig:
        if self.kind == "teams" and not self.app_id:
            raise ValueError('app_id: required when kind = "teams" (the bot\'s Entra app id)')
        if self.kind != "slack":
            return self
        for key in ("intake_channels", "staff_users", "ombudsman_users"):
            for i, value in enumerate(getattr(self, key)):
                if not re.fullmatch(r"[A-Z0-9]{2,}", value):
                    raise ValueError(f"{key}: item {i} is not a Slack id: {value[:40]!r}")
        return self
