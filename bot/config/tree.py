"""The whole configuration tree: one frozen :class:`Config` of all sections."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from bot.config.base import Section
from bot.config.chat import ChatConfig
from bot.config.connections import DatabaseConfig, MailboxConfig, OutgoingConfig
from bot.config.organisation import OrganisationConfig, PrivacyConfig
from bot.config.policy import PolicyConfig
from bot.config.roster import RosterConfig
from bot.config.web import WebConfig


class Config(Section):
    """The whole configuration. Frozen: nothing changes it after load."""

    database: DatabaseConfig = DatabaseConfig()
    mailbox: MailboxConfig = MailboxConfig()
    outgoing: OutgoingConfig = OutgoingConfig()
    chat: ChatConfig = ChatConfig()
    policy: PolicyConfig = PolicyConfig()
    organisation: OrganisationConfig = OrganisationConfig()
    roster: RosterConfig = RosterConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    web: WebConfig = WebConfig()
    source_path: str = Field("", exclude=True)
    base_dir: str = Field(".", exclude=True)

    def resolve_path(self, p: str) -> Path:
        """Resolve a path from the file relative to the file's own folder."""
        path = Path(p)
        return path if path.is_absolute() else Path(self.base_dir) / path

    @property
    def database_url(self) -> str:
        """The database URL with relative SQLite paths made relative to the config file."""
        url = self.database.url
        prefix = "sqlite:///"
        if url.startswith(prefix) and not url.startswith(prefix + "/") and ":memory:" not in url:
            return prefix + str(self.resolve_path(url[len(prefix) :]))
        return url
