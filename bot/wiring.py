"""Wiring: the one place that names handlers and adapters and connects them to the core.

Adapters are created on first use, so ``complaint-bot cases`` never opens an
IMAP connection and tests can hand in their own clock and clients.

The core never imports ``handlers``: this module hands it the inbound steps
(:data:`INBOUND_PIPELINE`, modules in ``handlers/inbound/``), the sweeps
(:data:`SWEEPS`, modules in ``handlers/sweeps/``), the Slack blocks and the chat
app. A misspelt name fails at once, loudly, never by a silent skip.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from importlib import import_module
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Engine

from bot.clock import Clock, system_clock
from bot.config import Config, Secrets, load_secrets
from bot.ports import Chat, Mailbox, Mailer
from bot.presenters.render import Renderer, renderer_for
from bot.runners import pipeline
from bot.runners.delivery import DeliveryLoop
from bot.runners.outlets import Outlets
from bot.runners.pipeline import Services
from bot.store import db

if TYPE_CHECKING:
    import threading

    from slack_sdk import WebClient

log = logging.getLogger(__name__)

# What happens to an incoming email, in order. Each name is a module in
# handlers/inbound/ with ``process(ctx: InboundContext) -> None``.
INBOUND_PIPELINE: tuple[str, ...] = (
    "parse",  # bytes -> ParsedEmail; not an email at all -> quarantine
    "classify",  # a person's complaint, robot mail (positive evidence only), or a doubt
    "dedupe",  # this Message-ID (or content, without one) was handled before: stop
    "thread",  # find its case (In-Reply-To/References, reference in the subject); only
    # its complainant joins it, anyone else gets a new case that mentions it
    "robots",  # robot mail is kept and stops (a bounce marks the ack); a doubt -> review
    "open_case",  # no case yet: open one (complainant, phone, language, serious?)
    "record",  # store the message on the case
    "acknowledge",  # can_acknowledge? -> acknowledgement email into the outbox
    "prompt_staff",  # call-back prompt (or "new message" note) into the outbox
)

# Scheduled work, in order. Each name is a module in handlers/sweeps/ with
# ``run(runtime) -> int`` (items acted on).
SWEEPS: tuple[str, ...] = (
    "reminders",
    "assignment",
    "action_plans",
    "digest",
    "monthly_report",
    "retention",
    "replay_keys",
)


def _handler(package: str, name: str, attribute: str) -> Any:
    """``handlers.<package>.<name>`` and its ``attribute``; a misspelt name raises here."""
    module = import_module(f"handlers.{package}.{name}")
    if not callable(getattr(module, attribute, None)):
        raise TypeError(f"handlers.{package}.{name} has no {attribute}()")
    return module


def inbound_steps(names: tuple[str, ...] = INBOUND_PIPELINE) -> list[tuple[str, pipeline.Step]]:
    return [(name, _handler("inbound", name, "process")) for name in names]


def sweeps(names: tuple[str, ...] = SWEEPS) -> list[tuple[str, Callable[[Runtime], int]]]:
    return [(name, _handler("sweeps", name, "run").run) for name in names]


pipeline.use_steps(inbound_steps())


def instance_name() -> str:
    """Who holds a lease: host and process, so leases of a dead process are recognisable."""
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class Runtime:
    cfg: Config
    clock: Clock = system_clock
    secrets: Secrets | None = None
    engine: Engine | None = None
    overrides: dict[str, Any] = field(default_factory=dict)
    owner: str = field(default_factory=instance_name)

    def __post_init__(self) -> None:
        if self.secrets is None:
            self.secrets = load_secrets(self.cfg)
        if self.engine is None:
            self.engine = db.make_engine(self.cfg.database_url)
            if self.cfg.database.auto_upgrade:
                db.upgrade(self.engine)

    @property
    def db(self) -> Engine:
        assert self.engine is not None
        return self.engine

    @cached_property
    def renderer(self) -> Renderer:
        return renderer_for(self.cfg)

    @cached_property
    def services(self) -> Services:
        return Services(cfg=self.cfg, renderer=self.renderer, clock=self.clock)

    @cached_property
    def mailbox(self) -> Mailbox:
        if "mailbox" in self.overrides:
            return self.overrides["mailbox"]
        mb = self.cfg.mailbox
        if mb.kind == "maildir":
            from bot.adapters.maildir import MaildirMailbox

            seed = self.cfg.resolve_path(mb.seed_dir) if mb.seed_dir else None
            return MaildirMailbox(self.cfg.resolve_path(mb.path), seed_dir=seed)
        from bot.adapters.imap import ImapMailbox

        assert self.secrets is not None
        return ImapMailbox(
            mb,
            self.secrets,
            self.db,
            clock=self.clock,
            token_provider=self._token_provider(mb.oauth2, "imap"),
            timezone=self.cfg.policy.tz,
        )

    def _token_provider(self, oauth: Any, which: str) -> Any:
        if oauth is None:
            return None
        from bot.adapters.oauth2 import (
            ClientCredentialsTokens,
        )

        assert self.secrets is not None
        secret = (
            self.secrets.imap_oauth_secret if which == "imap" else self.secrets.smtp_oauth_secret
        )
        assert secret is not None  # load_secrets requires it when oauth2 is configured
        return ClientCredentialsTokens(
            oauth.token_url, oauth.client_id, secret, oauth.scope, clock=self.clock
        )

    @cached_property
    def mailer(self) -> Mailer:
        if "mailer" in self.overrides:
            return self.overrides["mailer"]
        out = self.cfg.outgoing
        if out.kind == "folder":
            from bot.adapters.folder import FolderMailer

            return FolderMailer(self.cfg.resolve_path(out.path))
        from bot.adapters.smtp import SmtpMailer

        assert self.secrets is not None
        return SmtpMailer(
            out, self.secrets, token_provider=self._token_provider(out.oauth2, "smtp")
        )

    @cached_property
    def chat(self) -> Chat:
        if "chat" in self.overrides:
            return self.overrides["chat"]
        chat = self.cfg.chat
        if chat.kind == "console":
            from bot.adapters.console import ConsoleChat

            return ConsoleChat(
                path=self.cfg.resolve_path(chat.console_path) if chat.console_path else None
            )
        if chat.kind == "teams":
            return self._teams_chat()
        from bot.adapters.slack_chat import (
            SlackChat,
            make_web_client,
        )

        assert self.secrets is not None and self.secrets.slack_bot_token is not None
        return SlackChat(make_web_client(chat, self.secrets.slack_bot_token.get_secret_value()))

    def _teams_chat(self) -> Chat:
        """The Bot Connector at ``service_url``, with the app's token from ``login_url``;
        the buttons that open a dialog are named by the Teams handlers."""
        from bot.adapters.oauth2 import ClientCredentialsTokens
        from bot.adapters.teams.chat import TeamsChat
        from bot.adapters.teams.connector import BOT_SCOPE, BotConnector
        from handlers.teams import DIALOG_ACTIONS

        chat = self.cfg.chat
        assert self.secrets is not None and self.secrets.teams_app_password is not None
        tokens = ClientCredentialsTokens(
            chat.login_url,
            chat.app_id,
            self.secrets.teams_app_password,
            BOT_SCOPE,
            clock=self.clock,
        )
        return TeamsChat(
            BotConnector(chat.service_url, tokens, **self.overrides.get("teams_connector", {})),
            app_id=chat.app_id,
            tenant_id=chat.tenant_id,
            triage_channel=chat.triage_channel,
            dialog_actions=DIALOG_ACTIONS,
        )

    @cached_property
    def outlets(self) -> Outlets:
        blocks = self.overrides.get("blocks")
        review_blocks = self.overrides.get("review_blocks")
        # Teams gets the same Block Kit; its adapter turns each post into an Adaptive Card.
        block_kit = self.cfg.chat.kind in ("slack", "teams")
        if blocks is None and block_kit:
            from handlers.slack.messages import build_blocks

            blocks = build_blocks
        if review_blocks is None and block_kit:
            from handlers.slack.review import review_blocks
        return Outlets(
            cfg=self.cfg,
            mailer=self.mailer,
            chat=self.chat,
            renderer=self.renderer,
            blocks=blocks,
            review_blocks=review_blocks,
        )

    @cached_property
    def delivery(self) -> DeliveryLoop:
        """The outbox's delivery loop: ``run`` starts it, the chat app's listeners and
        the mailbox watcher wake it (:mod:`bot.runners.delivery`)."""
        return DeliveryLoop(self)

    @cached_property
    def sweeps(self) -> list[tuple[str, Callable[[Runtime], int]]]:
        return sweeps()

    def web_client(self) -> WebClient | None:
        """The Slack Web API client for look-ups (roster); None with console chat.

        Tests (and the Slack app) hand theirs in as ``overrides["slack_client"]``.
        """
        if self.cfg.chat.kind != "slack":
            return None
        if "slack_client" in self.overrides:
            client: WebClient = self.overrides["slack_client"]
            return client
        from bot.adapters.slack_chat import make_web_client

        assert self.secrets is not None and self.secrets.slack_bot_token is not None
        return make_web_client(self.cfg.chat, self.secrets.slack_bot_token.get_secret_value())

    def start_chat_app(self, stop: threading.Event) -> Any:
        """The chat app: Slack (Socket Mode or HTTP), Teams (``POST /api/messages``), or
        None with console chat."""
        if self.cfg.chat.kind == "teams":
            from handlers.teams.app import start_chat_app as start_teams_app

            return start_teams_app(self, stop)
        if self.cfg.chat.kind != "slack":
            return None
        from handlers.slack.app import start_chat_app

        return start_chat_app(self, stop)

    def start_web_front(self) -> Any:
        """The citizen's form and status page when ``[web] enabled``, else None."""
        if not self.cfg.web.enabled:
            return None
        from handlers.web.server import start_web_front

        return start_web_front(self)

    def close(self) -> None:
        for name in ("mailbox", "mailer", "chat"):
            close = getattr(self.__dict__.get(name), "close", None)
            if close is not None:
                try:
                    close()
                except Exception:
                    log.debug("closing %s failed", name, exc_info=True)
        if self.engine is not None:
            self.engine.dispose()
