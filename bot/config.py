"""One configuration tree, loaded from TOML, validated, frozen.

This module is the only place that reads ``os.environ``: every secret is named
in the file by a ``*_env`` key and resolved here, once, into a ``SecretStr``.
Everything else receives the frozen :class:`Config`.
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from datetime import date, time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
LANGUAGES = ("sv", "nb", "nn", "en")
Language = Literal["sv", "nb", "nn", "en"]
# Attachment types the web form can take, each recognised by its first bytes.
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


class ConfigError(Exception):
    """The configuration cannot be used. The message names file, key and problem."""


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Prefixes of tokens people paste by mistake (Slack, GitHub, GitLab, Stripe, AWS...).
_SECRET_PREFIXES = (
    "xox",
    "xapp-",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "glpat-",
    "sk_",
    "sk-",
    "pk_",
    "AKIA",
    "ASIA",
    "eyJ",
)


def env_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be the name of an environment variable, or None.

    A ``*_env`` key names a variable; a value that looks like the secret itself
    (not a valid name, a known token prefix, long, or a random-looking mix of
    upper case, lower case and digits) is refused. The reason never repeats it.
    """
    random_looking = (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
    )
    if (
        not _ENV_NAME.fullmatch(value)
        or value.startswith(_SECRET_PREFIXES)
        or len(value) > 64
        or random_looking
        or (len(value) >= 20 and "_" not in value and any(c.isdigit() for c in value))
    ):
        return (
            "must be the name of an environment variable (such as SLACK_BOT_TOKEN), "
            "and this looks like a secret itself; put the secret in the environment "
            "(the value is not shown)"
        )
    return None


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*")
    @classmethod
    def _env_names_only(cls, v: Any, info: ValidationInfo) -> Any:
        if (info.field_name or "").endswith("_env") and isinstance(v, str) and v:
            problem = env_name_problem(v)
            if problem:
                raise ValueError(problem)
        return v


class DatabaseConfig(_Section):
    url: str = "sqlite:///var/complaints.db"
    auto_upgrade: bool = True

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, v: str) -> str:
        if not (v.startswith("sqlite") or v.startswith("postgresql")):
            raise ValueError("must start with sqlite:// or postgresql+psycopg://")
        return v


class OAuth2Config(_Section):
    """OAuth2 client-credentials sign-in (Microsoft 365, Google Workspace)."""

    token_url: str
    client_id: str
    client_secret_env: str
    scope: str = "https://outlook.office365.com/.default"
    mechanism: Literal["XOAUTH2", "OAUTHBEARER"] = "XOAUTH2"


class MailboxConfig(_Section):
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
    max_message_bytes: int = Field(10_000_000, ge=1024)
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


class OutgoingConfig(_Section):
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


SlackId = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,}$")]
# A Slack id, or a Teams one: an Entra object id (GUID), a Teams user id (``29:…``) or a
# conversation id (``19:…@thread.tacv2``). Slack deployments are held to SlackId below.
ChatId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9:@._=-]+$", max_length=256)]


class ChatConfig(_Section):
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


class WorkingHours(_Section):
    start: time = time(8, 0)
    end: time = time(16, 30)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


class PolicyConfig(_Section):
    timezone: str = "Europe/Stockholm"
    country: Literal["SE", "NO"] = "SE"
    default_language: Language = "sv"
    reference_prefix: str = Field("KL", pattern=r"^[A-Z]{1,6}$")
    working_hours: WorkingHours = WorkingHours()
    working_days: tuple[Annotated[int, Field(ge=1, le=7)], ...] = (1, 2, 3, 4, 5)
    extra_closed_days: tuple[date, ...] = ()
    first_contact_working_hours: float = Field(8.5, gt=0)
    reminder_every_working_hours: float = Field(2.0, gt=0)
    retry_after_no_answer_working_hours: float = Field(2.0, gt=0)
    failed_attempts_before_email: int = Field(3, ge=1)
    ombudsman_after_working_hours: float = Field(17.0, gt=0)
    stage1_response_working_days: int = Field(10, ge=1)
    stage2_response_working_days: int = Field(20, ge=1)
    ack_window_hours: float = Field(24.0, ge=0)
    bounce_block_days: int = Field(60, ge=0)
    reopen_window_days: int = Field(90, ge=0)
    retention_days: int = Field(0, ge=0)
    # Serious keywords per language: a complaint is matched against the list of the
    # language it is written in (Swedish "hot" must not fire on English "hot water").
    serious_keywords_by_language: dict[Language, tuple[str, ...]] = {
        "sv": (
            "hot",
            "hotar",
            "hotad",
            "hotade",
            "våld",
            "misshandel",
            "misshandlad",
            "övergrepp",
            "självmord",
            "lex sarah",
            "lex maria",
        ),
        "nb": (
            "trussel",
            "trusler",
            "truer",
            "truet",
            "vold",
            "overgrep",
            "selvmord",
            "mishandling",
        ),
        "nn": (
            "trugsmål",
            "truar",
            "trussel",
            "vald",
            "vold",
            "overgrep",
            "sjølvmord",
            "mishandling",
        ),
        "en": (
            "threat",
            "threatened",
            "threatening",
            "violence",
            "abuse",
            "abused",
            "suicide",
            "self-harm",
        ),
    }
    # Older configurations: one flat list, matched in every language (kept working).
    serious_keywords: tuple[str, ...] = ()

    def serious_keywords_for(self, language: str) -> tuple[str, ...]:
        """The keywords that mark a complaint in ``language`` as serious."""
        words = self.serious_keywords_by_language.get(language, ())  # type: ignore[call-overload]
        return tuple(dict.fromkeys((*words, *self.serious_keywords)))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class RosterConfig(_Section):
    """Who takes call-backs today, and how unclaimed cases are offered to them.

    Claiming stays the default: only a case nobody claimed within
    ``offer_after_minutes`` working minutes is *offered* (never forced) to the
    on-duty person with the lightest load. See docs/roster.md.
    """

    enabled: bool = True  # offers of unclaimed cases; hard-call care has its own switch
    users: tuple[SlackId, ...] = ()  # empty: [chat] staff_users
    usergroup: str = ""  # Slack user group id (S...), read with usergroups.users.list
    # Per person ISO weekdays (1 = Monday); anyone not listed works [policy] working_days.
    working_days: dict[SlackId, tuple[Annotated[int, Field(ge=1, le=7)], ...]] = {}
    # A Slack status text containing one of these words (whole words, any case) means away.
    away_words: tuple[str, ...] = (
        "semester",
        "ledig",
        "sjuk",
        "sjukskriven",
        "vab",
        "föräldraledig",
        "tjänstledig",
        "ferie",
        "syk",
        "sykemeldt",
        "sykmeldt",
        "foreldrepermisjon",
        "permisjon",
        "vacation",
        "holiday",
        "sick",
        "sick leave",
        "parental leave",
        "out of office",
    )
    away_emojis: tuple[str, ...] = (
        ":palm_tree:",
        ":desert_island:",
        ":beach_with_umbrella:",
        ":airplane:",
        ":face_with_thermometer:",
        ":thermometer:",
        ":mask:",
        ":baby:",
        ":baby_bottle:",
    )
    offer_after_minutes: int = Field(60, ge=1)  # working minutes without a claim
    answer_within_minutes: int = Field(30, ge=1)  # working minutes; then the next person
    daily_cap: int = Field(6, ge=0)  # call-backs per person per day; 0: no cap
    hard_call_weight: float = Field(2.0, ge=0)  # each hard call today counts as this many
    age_weight_per_day: float = Field(0.5, ge=0)  # an open call-back weighs 1 + this per day
    hard_call_care: bool = True  # thank the caller and offer a debrief after a hard call
    debrief_with: str = ""  # a Slack user id; empty: the first of managers, else ombudsman
    managers: tuple[SlackId, ...] = ()  # see the weekly load view (with ombudsman_users)
    # Per intake source ("email", "slack", "phone", "counter", "letter") or Slack intake
    # channel id: false turns offers off for it. Missing: on (when enabled).
    sources: dict[str, bool] = {}

    @field_validator("usergroup", "debrief_with")
    @classmethod
    def _slack_id(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Z0-9]{2,}", v):
            raise ValueError("must be a Slack id such as U0MANAGER or S0STAFF")
        return v

    def offers_for(self, source: str, channel: str | None = None) -> bool:
        """Whether unclaimed cases from ``source`` (or intake ``channel``) are offered."""
        if not self.enabled:
            return False
        if channel and channel in self.sources:
            return self.sources[channel]
        return self.sources.get(source, True)


class OrganisationConfig(_Section):
    name: str = "Exempel kommun"
    phone: str = "+46 8 123 456 00"
    own_numbers: tuple[str, ...] = ()
    ombudsman_contact: str = "klagoombudet@example.org"
    privacy_url: str = "https://example.org/personuppgifter"
    own_addresses: tuple[str, ...] = ()
    templates_dir: str = ""


class PrivacyConfig(_Section):
    """Retention and subject access (see docs/privacy.md)."""

    retention_sweep: bool = True  # run the retention sweep in ``run`` and ``tick``
    closed_case_days: int = Field(730, ge=0)  # anonymise cases closed this long ago (0: never)
    quarantine_days: int = Field(90, ge=0)  # delete quarantined and unattached mail (0: never)
    export_dir: str = "var/exports"  # subject-access exports without --out go here (0700)


class WebConfig(_Section):
    """The citizen's complaint form and status page (``complaint-bot run``; docs/web.md)."""

    enabled: bool = False
    host: str = "127.0.0.1"  # behind a reverse proxy; "0.0.0.0" to listen everywhere
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = "https://synpunkter.example.org"  # links in emails and the snippet
    # Signs the form tokens (CSRF, fill time) and derives status links. A name, not the secret.
    secret_env: str = "WEB_FORM_SECRET"  # noqa: S105
    privacy_url: str = ""  # the privacy page the form links; empty: [organisation] privacy_url
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For counts
    frame_ancestors: tuple[str, ...] = ()  # origins that may embed the form in an iframe
    min_fill_seconds: float = Field(2.0, ge=0)  # a form sent faster than this is refused
    rate_window_seconds: int = Field(600, ge=1)
    rate_per_address: int = Field(5, ge=1)  # submissions per client address per window
    rate_overall: int = Field(200, ge=1)  # submissions per window, all addresses together
    max_message_chars: int = Field(10_000, ge=100, le=100_000)
    max_attachment_bytes: int = Field(5_000_000, ge=0, le=50_000_000)  # 0: no attachments
    attachment_types: tuple[str, ...] = ("image/jpeg", "image/png", "application/pdf")
    status_days: int = Field(180, ge=1)  # a status link works this long after it was made

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", v):
            raise ValueError(
                "must be an absolute http(s) URL such as https://synpunkter.example.org"
            )
        return v.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return v

    @field_validator("attachment_types")
    @classmethod
    def _known_types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(ATTACHMENT_TYPES))
        if unknown:
            raise ValueError(f"unknown type {unknown[0]!r}; known: {', '.join(ATTACHMENT_TYPES)}")
        return v


class Config(_Section):
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


def _format_loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"  # list items: staff_users[0]
        else:
            parts.append(str(p))
    if not parts:
        return "(top level)"
    if len(parts) == 1:
        return parts[0]
    section = ".".join(parts[:-1])
    return f"[{section}] {parts[-1]}"


def _format_error(path: str, err: Mapping[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        msg = "unknown key"
    # model-level validators prefix their message with the key: "host: required ..."
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        if ": " in msg and " " not in msg.split(": ", 1)[0]:
            key, msg = msg.split(": ", 1)
            loc = (*loc, key)
    return f"{path}: {_format_loc(loc)}: {msg}"


def load_config(path: str | Path) -> Config:
    """Read, validate and freeze the configuration at ``path``.

    Raises :class:`ConfigError` with one line per problem, each naming the file and key.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    return parse_config(raw, source=str(p), base_dir=str(p.resolve().parent))


def parse_config(
    raw: Mapping[str, Any], *, source: str = "<config>", base_dir: str = "."
) -> Config:
    """Validate a mapping (as read from TOML) into a :class:`Config`."""
    try:
        return Config.model_validate({**raw, "source_path": source, "base_dir": base_dir})
    except ValidationError as exc:
        lines = [_format_error(source, e) for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


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


def default_config_path() -> Path:
    """``./config.toml`` if present, else ``config.example.toml``."""
    local = Path("config.toml")
    return local if local.exists() else Path("config.example.toml")
