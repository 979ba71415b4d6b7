"""The door to ``POST /slack/events``: only signed, fresh, well-formed requests from
our own workspace reach Bolt.

:func:`check_request` is the decision (a pure function of the headers, the body,
the secret, the time and the configured workspace). :class:`SlackGate` is the
WSGI wrapper around Bolt's handler that applies it before Bolt reads anything,
so a refused request is answered 400/401/413 and logged as *one* line with the
reason and the body's size, never its content (Bolt's own refusal logs the whole
body). :func:`workspace_guard` and :func:`redacting_client` are Bolt middleware
for the paths that do not come through the gate (Socket Mode, ``app.dispatch``).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_bolt import BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.adapters.slack_chat import SLACK_DATA_KEYS, redacting
from bot.redact import redact_tree

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 1_000_000  # Slack's largest payloads (a full modal's state) are far smaller
MAX_AGE_SECONDS = 5 * 60  # as Slack's documentation and Bolt
_NO_WORKSPACE_TYPES = frozenset({"url_verification"})

StartResponse = Callable[..., Any]
WsgiApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


@dataclass(frozen=True)
class Refusal:
    """Why a request is not served, and the HTTP status it gets."""

    status: int
    reason: str


def parse_body(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The request as Bolt would read it (JSON, or a form with an optional JSON
    ``payload``); None when it is neither."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    kind = content_type.split(";", 1)[0].strip().lower()
    try:
        if kind == "application/json":
            parsed = json.loads(text)
            return parsed if isinstance(parsed, dict) else None
        if kind == "application/x-www-form-urlencoded":
            form = {k: v[0] for k, v in parse_qs(text, keep_blank_values=True).items()}
            if "payload" in form:
                payload = json.loads(form["payload"])
                return payload if isinstance(payload, dict) else None
            return form if form else None
    except ValueError:
        return None
    return None


def team_of(request: Mapping[str, Any]) -> str | None:
    """The workspace a parsed request comes from, wherever its kind keeps it."""
    for holder, key in (
        (request, "team_id"),
        (request.get("team"), "id"),
        (request.get("user"), "team_id"),
        (request.get("view"), "team_id"),
    ):
        if isinstance(holder, Mapping) and holder.get(key):
            return str(holder[key])
    return None


def workspace_refusal(request: Mapping[str, Any], team_id: str) -> Refusal | None:
    """Refuse a request from any workspace but ``team_id`` (when one is configured)."""
    if not team_id or request.get("type") in _NO_WORKSPACE_TYPES or "ssl_check" in request:
        return None
    team = team_of(request)
    if team is None:
        return Refusal(401, "no workspace in the request")
    if team != team_id:
        return Refusal(401, "another workspace")
    return None


def check_request(
    headers: Mapping[str, str], body: bytes, *, signing_secret: str, now: float, team_id: str = ""
) -> Refusal | None:
    """None when the request may be served, else why not.

    ``headers`` are lower-case names. Order: signature headers present and
    readable, fresh, signature right, body readable, workspace ours.
    """
    timestamp = headers.get("x-slack-request-timestamp", "").strip()
    signature = headers.get("x-slack-signature", "").strip()
    if not timestamp or not signature:
        return Refusal(401, "unsigned")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return Refusal(400, "malformed timestamp")
    if abs(now - int(timestamp)) > MAX_AGE_SECONDS:
        return Refusal(401, "stale timestamp")
    expected = (
        "v0="
        + hmac.new(
            signing_secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256
        ).hexdigest()
    )
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
        return Refusal(401, "bad signature")
    parsed = parse_body(body, headers.get("content-type", ""))
    if parsed is None:
        return Refusal(400, "unreadable body")
    return workspace_refusal(parsed, team_id)


def _headers(environ: Mapping[str, Any]) -> dict[str, str]:
    out = {
        key[5:].replace("_", "-").lower(): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    out["content-type"] = str(environ.get("CONTENT_TYPE", ""))
    return out


class SlackGate:
    """WSGI middleware: refuse what :func:`check_request` refuses, pass the rest to
    ``inner`` (Bolt's handler) and mask identity numbers in what it answers."""

    def __init__(
        self,
        inner: WsgiApp,
        *,
        path: str,
        signing_secret: str,
        team_id: str = "",
        now: Callable[[], float] = time.time,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.inner, self.path, self.team_id = inner, path, team_id
        self._secret, self._now, self._max_body = signing_secret, now, max_body

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != self.path or environ.get("REQUEST_METHOD") != "POST":
            return self.inner(environ, start_response)  # Bolt answers 404/405
        raw_length = str(environ.get("CONTENT_LENGTH") or "0").strip()
        if not raw_length.isdigit():
            return self._refuse(start_response, Refusal(400, "unreadable Content-Length"), 0)
        length = int(raw_length)
        if length > self._max_body:
            return self._refuse(start_response, Refusal(413, "body too large"), length)
        try:
            body = environ["wsgi.input"].read(length) if length else b""
        except (OSError, ValueError):
            return self._refuse(start_response, Refusal(400, "body not received"), length)
        refusal = check_request(
            _headers(environ),
            body,
            signing_secret=self._secret,
            now=self._now(),
            team_id=self.team_id,
        )
        if refusal is not None:
            return self._refuse(start_response, refusal, len(body))
        environ = {**environ, "wsgi.input": io.BytesIO(body), "CONTENT_LENGTH": str(len(body))}
        return self._serve(environ, start_response)

    def _serve(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        captured: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            captured["status"], captured["headers"] = status, headers
            return lambda data: None

        try:
            chunks = self.inner(environ, capture)
            data = b"".join(chunks)
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        except Exception as exc:
            log.error("Slack request failed in the app: %s", type(exc).__name__, exc_info=True)
            start_response(
                "500 Internal Server Error",
                [("Content-Type", "text/plain"), ("Content-Length", "0")],
            )
            return [b""]
        headers = [(k, v) for k, v in captured.get("headers", []) if k.lower() != "content-length"]
        content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
        if data and "json" in content_type:
            # What ack() answers (modal errors, messages) leaves here: mask it too.
            with contextlib.suppress(ValueError):
                data = json.dumps(
                    redact_tree(json.loads(data), SLACK_DATA_KEYS), ensure_ascii=False
                ).encode()
        start_response(
            captured.get("status", "200 OK"), [*headers, ("Content-Length", str(len(data)))]
        )
        return [data]

    @staticmethod
    def _refuse(start_response: StartResponse, refusal: Refusal, size: int) -> list[bytes]:
        log.warning(
            "Slack request refused: %s (HTTP %s, %d bytes)", refusal.reason, refusal.status, size
        )
        phrase = {400: "Bad Request", 401: "Unauthorized", 413: "Payload Too Large"}
        start_response(
            f"{refusal.status} {phrase.get(refusal.status, 'Refused')}",
            [("Content-Type", "text/plain"), ("Content-Length", "0")],
        )
        return [b""]


# --- Bolt middleware (Socket Mode and app.dispatch come this way) ------------


def learned_workspace(client: WebClient) -> Callable[[], str]:
    """The workspace the bot's own token belongs to (``auth.test``), asked once.

    Used when ``[chat] team_id`` is not configured: a signed request from any other
    workspace is still refused. Until Slack has answered (an outage at start-up),
    nothing is refused on this ground; the signature check still applies.
    """
    known: list[str] = []
    lock = threading.Lock()

    def team() -> str:
        with lock:
            if not known:
                try:
                    answer = client.auth_test()
                    if answer.get("team_id"):
                        known.append(str(answer["team_id"]))
                except Exception as exc:  # any failure: ask again next time
                    log.warning(
                        "Slack auth.test failed (%s): the workspace is not known yet",
                        type(exc).__name__,
                    )
            return known[0] if known else ""

    return team


def workspace_guard(team_id: str | Callable[[], str]) -> Callable[..., BoltResponse | None]:
    """Bolt middleware refusing requests from any workspace but ``team_id`` (a fixed id,
    or a function that returns the bot's own workspace)."""

    def guard(
        req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        body = req.body if isinstance(req.body, Mapping) else {}
        expected = team_id if isinstance(team_id, str) else team_id()
        refusal = workspace_refusal(body, expected)
        if refusal is not None:
            log.warning(
                "Slack request refused: %s (HTTP %s, %d bytes)",
                refusal.reason,
                refusal.status,
                len(req.raw_body or ""),
            )
            return BoltResponse(status=refusal.status, body="")
        return next()

    return guard


def redacting_client(context: BoltContext, next: Callable[[], BoltResponse]) -> BoltResponse:
    """Bolt middleware: listeners get a WebClient that masks identity numbers.

    Bolt builds a plain WebClient per request; this one wraps it, so what a
    listener sends (``client.chat_postMessage``, ``say``, ``views_open``...)
    passes :func:`bot.redact.redact` whoever wrote the text.
    """
    if context.client is not None:
        context["client"] = redacting(context.client)
    return next()
