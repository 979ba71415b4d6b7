"""One configuration tree, loaded from TOML, validated, frozen.

:mod:`bot.config.environment` is the only place that reads ``os.environ``:
every secret is named in the file by a ``*_env`` key and resolved there, once,
into a ``SecretStr``. Everything else receives the frozen :class:`Config`.

The package: ``base`` (error, section base, env-name check), one module per
section group (``connections``, ``chat``, ``policy``, ``roster``,
``organisation``, ``web``), ``tree`` (the whole :class:`Config`), ``loader`` (TOML and
error lines) and ``environment`` (secrets). Import from ``bot.config``.
"""

from bot.config.base import (
    LANGUAGES,
    LOOPBACK_HOSTS,
    ChatId,
    ConfigError,
    Language,
    SlackId,
    env_name_problem,
)
from bot.config.chat import ChatConfig
from bot.config.connections import (
    DatabaseConfig,
    MailboxConfig,
    OAuth2Config,
    OutgoingConfig,
)
from bot.config.environment import Secrets, load_secrets
from bot.config.loader import default_config_path, load_config, parse_config
from bot.config.organisation import OrganisationConfig, PrivacyConfig
from bot.config.policy import PolicyConfig, WorkingHours
from bot.config.roster import RosterConfig
from bot.config.tree import Config
from bot.config.web import ATTACHMENT_TYPES, WebConfig

__all__ = [
    "ATTACHMENT_TYPES",
    "LANGUAGES",
    "LOOPBACK_HOSTS",
    "ChatConfig",
    "ChatId",
    "Config",
    "ConfigError",
    "DatabaseConfig",
    "Language",
    "MailboxConfig",
    "OAuth2Config",
    "OrganisationConfig",
    "OutgoingConfig",
    "PolicyConfig",
    "PrivacyConfig",
    "RosterConfig",
    "Secrets",
    "SlackId",
    "WebConfig",
    "WorkingHours",
    "default_config_path",
    "env_name_problem",
    "load_config",
    "load_secrets",
    "parse_config",
]
