"""Building the Slack bolt app and serving it, in Socket Mode or over HTTP.

``build_app`` wires the listeners of every concern (intake, actions, views,
home) and one error handler that turns the domain's refusals into an
ephemeral message. ``start_chat_app`` serves it in the background for
``complaint-bot run``:

* Socket Mode (default): no public URL; the connection is retried in the
  background, so a Slack outage at start-up does not stop the mailbox watcher.
* HTTP mode: ``POST /slack/events`` on ``[chat] http_host:http_port`` (events,
  interactivity and slash commands on one endpoint, as in Bolt's default).
  :class:`handlers.slack.gate.SlackGate` stands before Bolt: unsigned, stale,
  forged, malformed, oversized or other-workspace requests get 400/401/413 and
  one log line (reason and size, never the body).

Every listener's Slack client masks identity numbers in what it sends
(:func:`handlers.slack.gate.redacting_client`), and Bolt logs through our
``slack_bolt`` logger, which :mod:`bot.logs` keeps at WARNING.
"""

from __future__ import annotations

import logging
import threading
from concurrent.futures import Executor
from socketserver import ThreadingMixIn
from typing import TYPE_CHECKING, Any, Protocol
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

from bot.adapters.slack_chat import make_web_client
from bot.config import ConfigError
from handlers.slack import (
    actions,
    home,
    intake,
    offers,
    ombudsman,
    registration,
    review,
    views,
)
from handlers.slack.case_facts import set_staff_language
from handlers.slack.errors import report_error
from handlers.slack.gate import SlackGate, learned_workspace, redacting_client, workspace_guard

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"


def build_app(rt: Runtime, *, listener_executor: Executor | None = None) -> App:
    """The bolt app with every listener registered.

    ``listener_executor`` runs listeners after their ``ack``; the default is a
    thread pool. Tests may pass one that runs them at once, to assert on the
    result of ``app.dispatch`` without waiting.
    """
    chat, secrets = rt.cfg.chat, rt.secrets
    if secrets is None or secrets.slack_bot_token is None:
        raise ConfigError(f"{rt.cfg.source_path}: [chat] bot_token_env: no Slack bot token")
    signing_secret = (
        secrets.slack_signing_secret.get_secret_value() if secrets.slack_signing_secret else ""
    )
    if chat.mode == "http" and not signing_secret:
        raise ConfigError(f"{rt.cfg.source_path}: [chat] signing_secret_env: required in HTTP mode")
    set_staff_language(chat.staff_language)
    app = App(
        name="complaint-bot",
        client=make_web_client(chat, secrets.slack_bot_token.get_secret_value()),
        # Never "" -> Bolt would read SLACK_SIGNING_SECRET itself; Socket Mode
        # requests are not signed, so an empty secret only matters in HTTP mode.
        signing_secret=signing_secret,
        process_before_response=False,
        # auth.test runs on the first request instead of here, so a Slack outage
        # at start-up does not keep the bot (and its mailbox watcher) from starting.
        token_verification_enabled=False,
        listener_executor=listener_executor,
        # Bolt's loggers inherit from "slack_bolt" (level set in bot.logs) instead
        # of copying the root level, as they do without a logger of ours.
        logger=logging.getLogger("slack_bolt.complaint_bot"),
    )
    app.use(redacting_client)
    # Only our own workspace is served: the configured one, else the bot token's own.
    app.use(workspace_guard(chat.team_id or learned_workspace(app.client)))
    intake.register(app, rt)
    registration.register(app, rt)
    actions.register(app, rt)
    views.register(app, rt)
    home.register(app, rt)
    ombudsman.register(app, rt)
    offers.register(app, rt)
    review.register(app, rt)

    @app.error
    def on_error(error: Exception, body: dict[str, Any], client: WebClient) -> None:
        report_error(rt, error, body, client)

    return app


# --- serving -----------------------------------------------------------------


class ChatAppHandle(Protocol):
    def close(self) -> None: ...


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # socketserver prints a traceback to stderr; one line in our log instead.
        log.warning("Slack HTTP: connection failed", exc_info=True)


class _QuietHandler(WSGIRequestHandler):
    timeout = 30  # a client that announces more body than it sends is dropped

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("slack http: " + format, *args)


class HttpChatApp:
    """``POST /slack/events`` served by a threaded WSGI server in a background thread."""

    def __init__(
        self, app: App, host: str, port: int, *, signing_secret: str, team_id: str = ""
    ) -> None:
        gate = SlackGate(
            SlackRequestHandler(app, path=EVENTS_PATH),
            path=EVENTS_PATH,
            signing_secret=signing_secret,
            team_id=team_id,
        )
        self.server = make_server(
            host, port, gate, server_class=_ThreadingWSGIServer, handler_class=_QuietHandler
        )
        self.port = int(self.server.server_address[1])
        self.thread = threading.Thread(
            target=self.server.serve_forever,
            name="slack-http",
            kwargs={"poll_interval": 0.2},
            daemon=True,
        )
        self.thread.start()
        log.info("Slack HTTP mode: POST %s on %s:%s", EVENTS_PATH, host, self.port)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


class SocketChatApp:
    """Socket Mode, connecting in the background and retrying until it succeeds."""

    def __init__(
        self, app: App, app_token: str, stop: threading.Event, retry_seconds: float = 30.0
    ) -> None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        self.handler = SocketModeHandler(app, app_token)
        self._stop = stop
        self._closed = threading.Event()
        self._retry_seconds = retry_seconds
        self.connected = threading.Event()
        self.thread = threading.Thread(target=self._connect, name="slack-socket", daemon=True)
        self.thread.start()

    def _connect(self) -> None:
        while not (self._stop.is_set() or self._closed.is_set()):
            try:
                self.handler.connect()  # returns at once; the client keeps the socket alive
                self.connected.set()
                log.info("Slack Socket Mode connected")
                return
            except Exception as exc:
                log.warning(
                    "Slack Socket Mode: cannot connect (%s); retrying in %ss",
                    exc,
                    self._retry_seconds,
                )
                self._closed.wait(self._retry_seconds)

    def close(self) -> None:
        self._closed.set()
        self.thread.join(timeout=5)
        try:
            self.handler.close()
        except Exception:
            log.debug("closing Socket Mode failed", exc_info=True)


def start_chat_app(
    rt: Runtime, stop: threading.Event, *, app: App | None = None
) -> HttpChatApp | SocketChatApp:
    """Serve the Slack app in the background until ``close()``: Socket Mode or HTTP."""
    chat = rt.cfg.chat
    app = app or build_app(rt)
    secrets = rt.secrets
    if chat.mode == "http":
        secret = (
            secrets.slack_signing_secret.get_secret_value()
            if secrets is not None and secrets.slack_signing_secret
            else ""
        )
        if not secret:
            raise ConfigError(
                f"{rt.cfg.source_path}: [chat] signing_secret_env: required in HTTP mode"
            )
        return HttpChatApp(
            app, chat.http_host, chat.http_port, signing_secret=secret, team_id=chat.team_id
        )
    if secrets is None or secrets.slack_app_token is None:
        raise ConfigError(f"{rt.cfg.source_path}: [chat] app_token_env: required in Socket Mode")
    return SocketChatApp(app, secrets.slack_app_token.get_secret_value(), stop)
