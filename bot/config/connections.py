"""Where data lives and how mail travels: database, mailbox, outgoing mail, OAuth2."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, field_validator, model_validator

from bot.config.base import LOOPBACK_HOSTS, Section


class DatabaseConfig(Section):
    url: str = "sqlite:///var/complaints.db"
    auto_upgrade: bool = True

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return v


class OAuth2Config(Section):
    """OAuth2 client-credentials sign-in (Microsoft 365, Google Workspace)."""

    token_url: str
    client_id: str
    client_secret_env: str
    scope: str = "https://outlook.office365.com/.default"
    mechanism: Literal["XOAUTH2", "OAUTHBEARER"] = "XOAUTH2"


class MailboxConfig(Section):
    kind: Literal["imap", "maildir"] = "maildir"
    path: str = "var/inbox"
    seed_dir: str = ""
    host: str = ""
    port: int = Field(993, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "ssl"
    ca_file: str = ""  # trust this CA bundle instead of the system's (private CAs, tests)
    username: str = ""
    password_env: str = ""
    folder: str = "INBOX"
    processed_folder: str = ""
    poll_seconds: float = Field(30.0, gt=0)
    idle_renew_seconds: float = Field(540.0, gt=0, le=600)
    batch_size: int = Field(50, ge=1, le=1000)
    # Worker processes that parse, classify and extract ahead of the database writer
    # (bot.runners.prepare); 0 = all in this process.
    parse_workers: int = Field(1, ge=0, le=64)
    max_message_bytes: int = Field(25_000_000, ge=1024)
    historical: Literal["open_silently", "skip"] = "open_silently"
    since: date | None = None
    oauth2: OAuth2Config | None = None

    @model_validator(mode="after")
    def _check(self) -> MailboxConfig:
        if self.kind == "imap":
            if not self.host:
                raise ValueError("host: required when kind = 'imap'")
            if not self.username:
                raise ValueError("username: required when kind = 'imap'")
            if self.security == "none" and self.host not in LOOPBACK_HOSTS:
                raise ValueError("security: 'none' is only allowed on a loopback host")
            if not self.password_env and self.oauth2 is None:
                raise ValueError(
                    "password_env: required when kind = 'imap' (or set [mailbox.oauth2])"
                )
        return self


class OutgoingConfig(Section):
    kind: Literal["smtp", "folder"] = "folder"
    path: str = "var/outbox"
    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "starttls"
    ca_file: str = ""  # trust this CA bundle instead of the system's (private CAs, tests)
    username: str = ""
    password_env: str = ""
    from_address: str = "Exempel kommun <synpunkter@example.org>"
    reply_to: str = ""
    timeout_seconds: float = Field(30.0, gt=0)
    oauth2: OAuth2Config | None = None

    @model_validator(mode="after")
    def _check(self) -> OutgoingConfig:
        if self.kind == "smtp":
            if not self.host:
                raise ValueError("host: required when kind = 'smtp'")
            if self.security == "none" and self.host not in LOOPBACK_HOSTS:
                raise ValueError("security: 'none' is only allowed on a loopback host")
        if "@" not in self.from_address:
            raise ValueError("from_address: must contain an email address")
        return self
