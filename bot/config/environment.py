"""Secrets from the environment: the one place in the bot that reads ``os.environ``.

Every secret is named in the file by a ``*_env`` key and resolved here, once,
into a ``SecretStr``.
"""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, SecretStr

from bot.config.base import ConfigError, env_name_problem
from bot.config.tree import Config


class Secrets(BaseModel):
    """Secrets resolved from the environment. Never logged, never written."""

    model_config = ConfigDict(frozen=True)

    imap_password: SecretStr | None = None
    imap_oauth_secret: SecretStr | None = None
    smtp_password: SecretStr | None = None
    smtp_oauth_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    teams_app_password: SecretStr | None = None
    web_form_secret: SecretStr | None = None


def _env(cfg: Config, section: str, key: str, name: str, required: bool) -> SecretStr | None:
    if not name:
        return None
    value = os.environ.get(name)
    if value is None or value == "":
        if required:
            # The name was checked on loading; never echo something that looks like a secret.
            shown = "named there" if env_name_problem(name) else name
            raise ConfigError(
                f"{cfg.source_path}: [{section}] {key}: environment variable {shown} is not set"
            )
        return None
    return SecretStr(value)


def load_secrets(cfg: Config) -> Secrets:
    """Resolve every ``*_env`` key that the configured adapters need.

    A missing variable for an adapter that is in use is a :class:`ConfigError`.
    """
    mb, out, chat = cfg.mailbox, cfg.outgoing, cfg.chat
    imap = mb.kind == "imap"
    smtp = out.kind == "smtp"
    slack = chat.kind == "slack"
    return Secrets(
        imap_password=_env(
            cfg, "mailbox", "password_env", mb.password_env, imap and mb.oauth2 is None
        ),
        imap_oauth_secret=_env(
            cfg,
            "mailbox.oauth2",
            "client_secret_env",
            mb.oauth2.client_secret_env if mb.oauth2 else "",
            imap,
        ),
        smtp_password=_env(
            cfg,
            "outgoing",
            "password_env",
            out.password_env,
            smtp and bool(out.username) and out.oauth2 is None,
        ),
        smtp_oauth_secret=_env(
            cfg,
            "outgoing.oauth2",
            "client_secret_env",
            out.oauth2.client_secret_env if out.oauth2 else "",
            smtp,
        ),
        slack_bot_token=_env(cfg, "chat", "bot_token_env", chat.bot_token_env, slack),
        teams_app_password=_env(
            cfg, "chat", "app_password_env", chat.app_password_env, chat.kind == "teams"
        ),
        slack_app_token=_env(
            cfg, "chat", "app_token_env", chat.app_token_env, slack and chat.mode == "socket"
        ),
        slack_signing_secret=_env(
            cfg,
            "chat",
            "signing_secret_env",
            chat.signing_secret_env,
            slack and chat.mode == "http",
        ),
        web_form_secret=_env(cfg, "web", "secret_env", cfg.web.secret_env, cfg.web.enabled),
    )
