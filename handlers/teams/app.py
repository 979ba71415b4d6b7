"""``POST /api/messages``: where Teams delivers activities, served by uvicorn in a thread.

Each request, in order:

1. a body over :data:`MAX_BODY` bytes gets 413 (read no further than that, with
   or without a ``Content-Length``); one that is not a JSON object (or nested
   deeper than the parser can follow) 400;
2. the bearer token is verified (:mod:`handlers.teams.auth`): anything but a
   genuine Bot Framework token for this app and this activity gets 401 and one
   log line (the reason, never the token or the body), and nothing happens;
3. the activity is handled (:func:`handle`) in a worker thread (the database and
   the connector are blocking): a card press, a dialog fetch or submit, a post in
   an intake conversation; anything else is acknowledged and ignored;
4. 200, with the dialog (a task response) as the body of an ``invoke``.

The work is done before answering: Teams waits up to 15 seconds for an invoke
(and a dialog must be in the answer), and retries a message activity that got no
answer, which the activity's replay key then makes harmless.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config import ConfigError
from handlers.slack.case_facts import set_staff_language
from handlers.teams import activity, buttons, dialogs, intake
from handlers.teams.activity import Kind
from handlers.teams.auth import BotFrameworkAuth, Unauthorized

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

MESSAGES_PATH = "/api/messages"
MAX_BODY = 256 * 1024  # Teams activities are at most ~100 KB


def handle(rt: Runtime, body: Mapping[str, Any]) -> dict[str, Any] | None:
    """Do what a verified activity asks; the invoke's answer, if it has one."""
    inc = activity.read(body)
    if inc.kind is Kind.PRESS:
        buttons.press(rt, inc)
    elif inc.kind is Kind.DIALOG_FETCH:
        return dialogs.fetch(rt, inc)
    elif inc.kind is Kind.DIALOG_SUBMIT:
        return dialogs.submit(rt, inc)
    elif inc.kind is Kind.POST:
        intake.handle_post(rt, inc)
    elif body.get("type") == "conversationUpdate" and added_me(body):
        # The operator looks for these ids to fill in triage_channel and intake_channels.
        log.info("Teams: the bot was added to conversation %s", inc.conversation[:200])
    return None


def added_me(body: Mapping[str, Any]) -> bool:
    """A ``conversationUpdate`` that says the bot itself was added."""
    me = (
        (body.get("recipient") or {}).get("id") if isinstance(body.get("recipient"), dict) else None
    )
    added = body.get("membersAdded")
    return (
        bool(me)
        and isinstance(added, list)
        and any(isinstance(m, dict) and m.get("id") == me for m in added)
    )


async def read_at_most(request: Request, limit: int) -> bytes | None:
    """The request's body, or None as soon as it is over ``limit`` bytes (a chunked
    body has no ``Content-Length`` to refuse it by: it is not read to its end)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def build_app(rt: Runtime, auth: BotFrameworkAuth) -> Starlette:
    """The ASGI app with the one endpoint."""

    async def messages(request: Request) -> Response:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > MAX_BODY:
            log.warning("Teams: refused a %s-byte request", declared)
            return Response(status_code=413)
        raw = await read_at_most(request, MAX_BODY)
        if raw is None:
            log.warning("Teams: refused a request of over %d bytes", MAX_BODY)
            return Response(status_code=413)
        try:
            body = json.loads(raw)
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            log.warning("Teams: refused a request that is not an activity (%d bytes)", len(raw))
            return Response(status_code=400)
        try:
            await run_in_threadpool(auth.verify, request.headers.get("authorization"), body)
        except Unauthorized as why:
            log.warning("Teams: refused an activity (%s)", why)
            return Response(status_code=401)
        try:
            answer = await run_in_threadpool(handle, rt, body)
        except Exception:
            log.exception("Teams: handling an activity failed")
            return Response(status_code=500)
        if answer is None:
            return Response(status_code=200)
        return JSONResponse(answer)

    return Starlette(routes=[Route(MESSAGES_PATH, messages, methods=["POST"])])


def auth_for(rt: Runtime) -> BotFrameworkAuth:
    chat = rt.cfg.chat
    if not chat.app_id:
        raise ConfigError(f"{rt.cfg.source_path}: [chat] app_id: required for Teams")
    return BotFrameworkAuth(
        app_id=chat.app_id,
        openid_metadata_url=chat.openid_metadata_url,
        clock=rt.clock,
        service_url=chat.service_url,
    )


class TeamsChatApp:
    """The endpoint served by uvicorn in a background thread until :meth:`close`."""

    def __init__(self, rt: Runtime, host: str, port: int, auth: BotFrameworkAuth) -> None:
        set_staff_language(rt.cfg.chat.staff_language)
        config = uvicorn.Config(
            build_app(rt, auth),
            host=host,
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=30,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="teams-http", daemon=True)
        self.thread.start()
        log.info("Teams: POST %s on %s:%s", MESSAGES_PATH, host, port)

    @property
    def started(self) -> bool:
        return bool(self.server.started)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_chat_app(rt: Runtime, stop: threading.Event) -> TeamsChatApp:
    """Serve ``POST /api/messages`` on ``[chat] http_host:http_port`` in the background."""
    chat = rt.cfg.chat
    return TeamsChatApp(rt, chat.http_host, chat.http_port, auth_for(rt))
