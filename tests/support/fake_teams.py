"""A fake Microsoft Bot Connector and Entra ID token endpoint on 127.0.0.1.

Point the Teams adapter at it with ``service_url = fake.service_url`` and
``login_url = fake.login_url``. The token endpoint issues RS256 JWTs signed by a test
key for the app's client credentials (``app_id``/``app_password``); every connector
call must carry one that is valid, unexpired (by the fake's ``clock``) and not
revoked, else it gets 401. Every request is recorded (method, path, JSON body,
headers, status), and the conversations keep their activities, so that a reply, an
update (PUT) or a 1:1 conversation is seen as Teams would see it. Failures can be
injected: 429 with ``Retry-After``, 5xx, or any status with an error code.

Paths follow the Bot Framework REST API: ``POST /v3/conversations``, ``POST
/v3/conversations/{id}/activities``, ``POST|PUT .../activities/{activityId}``,
``GET /v3/conversations/{id}/members``, all under ``/teams/`` (as the public service
URL ``https://smba.trafficmanager.net/teams/``).
"""

from __future__ import annotations

import base64
import json
import struct
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

PREFIX = "/teams"
SCOPE = "https://api.botframework.com/.default"
AUDIENCE = "https://api.botframework.com"
KEY_ID = "fake-teams-connector-key"
# The connector refuses a larger activity (413 MessageSizeTooBig): about 100 KB counted
# in UTF-16, base64 images not included; an inline picture is at most 1 MB and
# 1024x1024 pixels.
MAX_ACTIVITY_UTF16 = 100 * 1024
MAX_IMAGE_BYTES = 1024 * 1024
MAX_IMAGE_SIDE = 1024
CARD = "application/vnd.microsoft.card.adaptive"


@dataclass(frozen=True)
class TeamsCall:
    """One request the fake received (token requests have ``path`` ``/token``)."""

    method: str
    path: str
    body: Any
    headers: dict[str, str]
    status: int


@dataclass
class _Rule:
    method: str | None
    path_contains: str | None
    remaining: int
    status: int
    retry_after: int | None
    code: str


@dataclass
class Conversation:
    id: str
    members: list[dict[str, str]] = field(default_factory=list)
    activities: list[dict[str, Any]] = field(default_factory=list)
    is_group: bool = True


class FakeTeams:
    """A threaded HTTP server: Entra ID's token endpoint and the Bot Connector."""

    def __init__(
        self,
        *,
        app_id: str = "8b5f3c2e-0000-4000-8000-00000000b07a",
        app_password: str = "fake-teams-app-password",  # noqa: S107 - a fake's fake secret
        tenant_id: str = "4a1f0e7d-0000-4000-8000-000000000a07",
        clock: Callable[[], float] = time.time,
        token_lifetime: int = 3600,
    ) -> None:
        self.app_id = app_id
        self.app_password = app_password
        self.tenant_id = tenant_id
        self.token_lifetime = token_lifetime
        self.private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.public_key = self.private_key.public_key()
        self.tokens_issued = 0
        self.revoked_before = 0.0
        self.not_installed: set[str] = set()  # conversations the bot is not a member of
        self._clock = clock
        self._cond = threading.Condition()
        self._calls: list[TeamsCall] = []
        self._rules: list[_Rule] = []
        self._conversations: dict[str, Conversation] = {}
        self._direct: dict[str, str] = {}
        self._last_id = 0
        self._server: ThreadingHTTPServer | None = None

    # -- life cycle -----------------------------------------------------------

    def start(self) -> FakeTeams:
        if self._server is None:
            self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
            self._server.daemon_threads = True
            threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
            ).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> FakeTeams:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def service_url(self) -> str:
        return f"{self.url}{PREFIX}/"

    @property
    def login_url(self) -> str:
        return f"{self.url}/{self.tenant_id}/oauth2/v2.0/token"

    # -- state and assertions -------------------------------------------------

    def add_conversation(self, conversation_id: str, members: Iterable[str] = ()) -> Conversation:
        """A channel (or group chat) the bot is installed in, with these user ids."""
        with self._cond:
            conv = Conversation(conversation_id, [{"id": m, "name": m} for m in members])
            self._conversations[conversation_id] = conv
            return conv

    def activities(self, conversation_id: str) -> list[dict[str, Any]]:
        """Every activity in the conversation as it is now (replies and updates applied)."""
        with self._cond:
            conv = self._conversations.get(conversation_id)
            return [dict(a) for a in conv.activities] if conv else []

    def top_level(self, conversation_id: str) -> list[dict[str, Any]]:
        return [a for a in self.activities(conversation_id) if not a.get("replyToId")]

    def replies(self, conversation_id: str, parent_id: str) -> list[dict[str, Any]]:
        return [a for a in self.activities(conversation_id) if a.get("replyToId") == parent_id]

    def direct_conversation(self, user: str) -> str | None:
        """The 1:1 conversation created with ``user``, if any."""
        with self._cond:
            return self._direct.get(user)

    def direct_activities(self, user: str) -> list[dict[str, Any]]:
        conversation = self.direct_conversation(user)
        return self.activities(conversation) if conversation else []

    def calls(self, method: str | None = None, path_contains: str = "") -> list[TeamsCall]:
        with self._cond:
            return [
                c
                for c in self._calls
                if (method is None or c.method == method) and path_contains in c.path
            ]

    def fail_next(
        self,
        *,
        method: str | None = None,
        path_contains: str | None = None,
        status: int = 500,
        times: int = 1,
        retry_after: int | None = None,
        code: str = "ServiceError",
    ) -> None:
        """Answer the next ``times`` matching connector calls with ``status`` (0: the
        request is recorded, then the connection drops without an answer)."""
        with self._cond:
            self._rules.append(_Rule(method, path_contains, times, status, retry_after, code))

    def revoke_tokens(self) -> None:
        """Refuse every token issued so far (as when the app's secret was rotated)."""
        self.revoked_before = self._clock() + 1

    def wait_for(
        self, method: str, path_contains: str, count: int = 1, timeout: float = 5.0
    ) -> None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self.calls(method, path_contains)) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"fewer than {count} {method} {path_contains} calls")
                self._cond.wait(left)

    # -- the token endpoint ---------------------------------------------------

    def issue_token(self, lifetime: int | None = None) -> str:
        now = int(self._clock())
        claims = {
            "aud": AUDIENCE,
            "iss": f"https://sts.windows.net/{self.tenant_id}/",
            "iat": now,
            "nbf": now,
            "exp": now + (self.token_lifetime if lifetime is None else lifetime),
            "appid": self.app_id,
            "tid": self.tenant_id,
            "jti": uuid.uuid4().hex,
        }
        self.tokens_issued += 1
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers={"kid": KEY_ID})

    def _token(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if form.get("grant_type") != "client_credentials":
            return 400, {"error": "unsupported_grant_type"}
        if form.get("client_id") != self.app_id or form.get("client_secret") != self.app_password:
            return 401, {
                "error": "invalid_client",
                "error_description": "AADSTS7000215: Invalid client secret provided.",
            }
        if form.get("scope") != SCOPE:
            return 400, {"error": "invalid_scope"}
        return 200, {
            "token_type": "Bearer",
            "expires_in": self.token_lifetime,
            "ext_expires_in": self.token_lifetime,
            "access_token": self.issue_token(),
        }

    # -- the connector ----------------------------------------------------------

    def _authorised(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return False
        try:
            claims = jwt.decode(
                token,
                self.public_key,
                algorithms=["RS256"],
                audience=AUDIENCE,
                options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
            )
        except jwt.PyJWTError:
            return False
        now = self._clock()
        return (
            claims.get("appid") == self.app_id
            and float(claims.get("exp", 0)) > now
            and float(claims.get("iat", 0)) >= self.revoked_before
        )

    def _take_rule(self, method: str, path: str) -> _Rule | None:
        for rule in self._rules:
            if (
                rule.remaining > 0
                and rule.method in (None, method)
                and (rule.path_contains is None or rule.path_contains in path)
            ):
                rule.remaining -= 1
                return rule
        return None

    def _next_id(self) -> str:
        self._last_id = max(self._last_id + 1, int(self._clock() * 1000))
        return str(self._last_id)

    def handle(
        self, method: str, path: str, body: Any, headers: dict[str, str], size: int
    ) -> tuple[int, dict[str, str], Any]:
        with self._cond:
            if path.endswith("/oauth2/v2.0/token") and method == "POST":
                status, answer = self._token(body if isinstance(body, dict) else {})
                extra: dict[str, str] = {}
            else:
                status, extra, answer = self._connector(method, path, body, headers, size)
            self._calls.append(TeamsCall(method, path, body, headers, status))
            self._cond.notify_all()
            return status, extra, answer

    def _connector(
        self, method: str, path: str, body: Any, headers: dict[str, str], size: int
    ) -> tuple[int, dict[str, str], Any]:
        if not self._authorised(headers):
            return 401, {}, {"message": "Authorization has been denied for this request."}
        rule = self._take_rule(method, path)
        if rule is not None:
            extra = {"Retry-After": str(rule.retry_after)} if rule.retry_after is not None else {}
            return rule.status, extra, {"error": {"code": rule.code, "message": "injected"}}
        if _utf16_size(body) > MAX_ACTIVITY_UTF16:
            return 413, {}, {"error": {"code": "MessageSizeTooBig", "message": "too large"}}
        parts = [unquote(p) for p in path.removeprefix(PREFIX + "/v3/").split("/")]
        if parts == ["conversations"] and method == "POST":
            return self._create(body)
        if len(parts) < 3 or parts[0] != "conversations":
            return 404, {}, {"error": {"code": "NotFound", "message": path}}
        conv = self._conversations.get(parts[1])
        if conv is None:
            return 404, {}, {"error": {"code": "ConversationNotFound", "message": "no such"}}
        if parts[1] in self.not_installed:
            return 403, {}, {"error": {"code": "BotNotInConversationRoster", "message": "no"}}
        if parts[2] == "members" and method == "GET":
            return 200, {}, conv.members
        if parts[2] != "activities":
            return 404, {}, {"error": {"code": "NotFound", "message": path}}
        problem = _card_problem(body)
        if problem:
            return 400, {}, {"error": {"code": "BadArgument", "message": problem}}
        target = parts[3] if len(parts) > 3 else None
        existing = next((a for a in conv.activities if a["id"] == target), None)
        if target is not None and existing is None:
            return 404, {}, {"error": {"code": "ActivityNotFound", "message": "no such"}}
        if method == "PUT" and existing is not None:
            existing.update({**body, "id": existing["id"], "replyToId": existing.get("replyToId")})
            existing["edits"] = existing.get("edits", 0) + 1
            return 200, {}, {"id": existing["id"]}
        if method != "POST":
            return 405, {}, {"error": {"code": "MethodNotAllowed", "message": method}}
        activity = {**body, "id": self._next_id(), "replyToId": target}
        conv.activities.append(activity)
        return 201, {}, {"id": activity["id"]}

    def _create(self, body: Any) -> tuple[int, dict[str, str], Any]:
        members = body.get("members") if isinstance(body, dict) else None
        tenant = (body.get("channelData") or {}).get("tenant", {}).get("id") or body.get("tenantId")
        if not members or not isinstance(members, list) or tenant != self.tenant_id:
            return 400, {}, {"error": {"code": "BadArgument", "message": "members and tenant"}}
        user = str(members[0].get("id"))
        conversation = self._direct.get(user)
        if conversation is None:
            conversation = f"a:1{uuid.uuid4().hex}"
            self._direct[user] = conversation
            self._conversations[conversation] = Conversation(
                conversation, [{"id": user, "name": user}], is_group=False
            )
        return 201, {}, {"id": conversation}


def _card_problem(activity: Any) -> str:
    """Why the connector would refuse this activity ('' when it would not)."""
    if not isinstance(activity, dict) or activity.get("type") != "message":
        return "activity.type must be message"
    for attachment in activity.get("attachments") or []:
        if attachment.get("contentType") == CARD:
            card = attachment.get("content") or {}
            if card.get("type") != "AdaptiveCard" or not isinstance(card.get("body"), list):
                return "not an Adaptive Card"
        elif not str(attachment.get("contentUrl", "")).startswith(("data:", "https://")):
            return "attachment without content"
        else:
            problem = _image_problem(str(attachment["contentUrl"]))
            if problem:
                return problem
    return ""


def _without_images(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: "" if k == "contentUrl" and str(v).startswith("data:") else _without_images(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_without_images(v) for v in value]
    return value


def _utf16_size(activity: Any) -> int:
    """The activity's size as the connector counts it (UTF-16, without inline images)."""
    return len(json.dumps(_without_images(activity), ensure_ascii=False).encode("utf-16-le"))


def _image_problem(url: str) -> str:
    """Why an inline ``data:`` picture would be refused ('' when it would not)."""
    if not url.startswith("data:"):
        return ""
    head, _, encoded = url.partition(",")
    if not head.endswith(";base64"):
        return "inline picture must be base64"
    data = base64.b64decode(encoded)
    if len(data) > MAX_IMAGE_BYTES:
        return "inline picture over 1 MB"
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        width, height = struct.unpack(">II", data[16:24])
        if max(width, height) > MAX_IMAGE_SIDE:
            return f"inline picture {width}x{height} is over 1024x1024"
    return ""


# -- reading cards in tests ---------------------------------------------------


def cards(activity: dict[str, Any]) -> list[dict[str, Any]]:
    return [a["content"] for a in activity.get("attachments") or [] if a.get("contentType") == CARD]


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk(item)


def card_text(activity: dict[str, Any]) -> str:
    """Every text a person reads in the activity's cards, one block per line."""
    lines = []
    for element in _walk(cards(activity)):
        if element.get("type") == "RichTextBlock":
            lines.append("".join(r.get("text", "") for r in element.get("inlines") or []))
        elif element.get("type") == "TextBlock":
            lines.append(str(element.get("text", "")))
    return "\n".join(lines)


def card_actions(activity: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ``Action.Submit``'s data in the activity's cards (menus' options too)."""
    return [
        e["data"]
        for e in _walk(cards(activity))
        if e.get("type") == "Action.Submit" and isinstance(e.get("data"), dict)
    ]


def _make_handler(fake: FakeTeams) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the calls are recorded instead

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_GET(self) -> None:
            self._serve("GET")

        def _serve(self, method: str) -> None:
            path = urlsplit(self.path).path
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            body: Any
            try:
                if headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
                    body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
                else:
                    body = json.loads(raw) if raw else None
            except (ValueError, UnicodeDecodeError):
                self._reply(400, {}, {"error": {"code": "BadSyntax", "message": "not JSON"}})
                return
            status, extra, answer = fake.handle(method, path, body, headers, len(raw))
            if status == 0:  # fail_next(status=0): the connection drops, no answer
                self.close_connection = True
                return
            self._reply(status, extra, answer)

        def _reply(self, status: int, extra: dict[str, str], answer: Any) -> None:
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for name, value in extra.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def fake_teams() -> Iterator[FakeTeams]:
    """A started fake Bot Connector and token endpoint (see the module doc)."""
    with FakeTeams() as fake:
        yield fake
