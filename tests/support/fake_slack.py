"""A fake Slack Web API on 127.0.0.1 for the real ``slack_sdk.WebClient``.

Point a client at it with ``WebClient(token=fake.token, base_url=fake.url)``.
Every call is recorded (method, params, headers, status), the channel state
(messages, threads, reactions, views) is kept so that reads see earlier
writes, and failures can be injected: HTTP 429 with ``Retry-After``, 500/503,
or an ``ok: false`` error such as ``channel_not_found`` or ``invalid_auth``.

Params are recorded as the server saw them: form fields are strings (booleans
arrive as ``"0"``/``"1"``), JSON bodies keep their types, and fields that
carry JSON inside a form (``blocks``, ``view``, ``files``...) are decoded.
Header names are recorded in lower case.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

JSON_FIELDS = frozenset({"blocks", "attachments", "view", "metadata", "files", "user_auth_blocks"})


class SlackError(Exception):
    """Answer ``{"ok": false, "error": code}``."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class SlackCall:
    """One request the fake received."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    response: dict[str, Any] | None


@dataclass
class FakeUser:
    id: str
    name: str = ""
    real_name: str = ""
    tz: str = "Europe/Stockholm"
    tz_offset: int = 3600
    status_text: str = ""
    status_emoji: str = ""
    email: str = ""
    is_bot: bool = False
    deleted: bool = False

    def profile(self) -> dict[str, Any]:
        return {
            "real_name": self.real_name,
            "display_name": self.name,
            "status_text": self.status_text,
            "status_emoji": self.status_emoji,
            "email": self.email,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "real_name": self.real_name,
            "tz": self.tz,
            "tz_offset": self.tz_offset,
            "is_bot": self.is_bot,
            "deleted": self.deleted,
            "profile": self.profile(),
        }


@dataclass
class _Rule:
    method: str | None
    remaining: int
    status: int = 200
    retry_after: int | None = None
    error: str | None = None


@dataclass
class _State:
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    reactions: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    views: dict[str, dict[str, Any]] = field(default_factory=dict)
    uploads: dict[str, dict[str, Any]] = field(default_factory=dict)


class FakeSlack:
    """A threaded HTTP server that answers like ``https://slack.com/api/``.

    ``clock`` (seconds since the epoch) makes message timestamps; they always
    increase, even when the clock stands still.
    """

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",  # noqa: S107 - a fake server's fake token
        bot_user_id: str = "U0BOT",
        team_id: str = "T0TEAM",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self.missing_channels: set[str] = set()
        self.not_in_channels: set[str] = set()
        self._clock = clock
        self._cond = threading.Condition()
        self._calls: list[SlackCall] = []
        self._rules: list[_Rule] = []
        self._users: dict[str, FakeUser] = {}
        self._usergroups: dict[str, list[str]] = {}
        self._state = _State()
        self._last_ts = 0.0
        self._ids = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- life cycle -----------------------------------------------------------

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None, "FakeSlack is not started"
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The ``base_url`` for ``WebClient`` (ends with a slash, as slack_sdk expects)."""
        return f"http://127.0.0.1:{self.port}/api/"

    # -- setting the scene ----------------------------------------------------

    def add_user(self, user_id: str, **fields: Any) -> FakeUser:
        """Make ``users.info``/``users.profile.get`` know ``user_id`` (fields: see FakeUser)."""
        user = FakeUser(id=user_id, **fields)
        with self._cond:
            self._users[user_id] = user
        return user

    def add_usergroup(self, usergroup_id: str, users: list[str]) -> None:
        with self._cond:
            self._usergroups[usergroup_id] = list(users)

    def add_message(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U0CITIZEN",
        ts: str | None = None,
        thread_ts: str | None = None,
        **extra: Any,
    ) -> str:
        """Put a message in a channel as if someone wrote it; return its ts."""
        with self._cond:
            ts = ts or self._next_ts()
            message: dict[str, Any] = {
                "type": "message",
                "user": user,
                "text": text,
                "ts": ts,
                **extra,
            }
            if thread_ts:
                message["thread_ts"] = thread_ts
            self._state.messages.setdefault(channel, []).append(message)
            return ts

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """The channel as it is now (oldest first, thread replies included)."""
        with self._cond:
            return [dict(m) for m in self._state.messages.get(channel, [])]

    def reactions(self, channel: str, ts: str) -> list[str]:
        with self._cond:
            return list(self._state.reactions.get((channel, ts), []))

    def views(self) -> dict[str, dict[str, Any]]:
        with self._cond:
            return {k: dict(v) for k, v in self._state.views.items()}

    # -- failure injection ----------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        method: str | None = None,
    ) -> None:
        """Answer the next ``count`` calls (of ``method``, or any) with HTTP ``status``.

        ``retry_after`` is sent as ``Retry-After`` on a 429.
        """
        with self._cond:
            self._rules.append(
                _Rule(
                    method, count, status=status, retry_after=retry_after if status == 429 else None
                )
            )

    def error_next(
        self, count: int = 1, error: str = "invalid_auth", *, method: str | None = None
    ) -> None:
        """Answer the next ``count`` calls with HTTP 200 and ``{"ok": false, "error": error}``."""
        with self._cond:
            self._rules.append(_Rule(method, count, error=error))

    # -- what happened --------------------------------------------------------

    def calls(self, method: str | None = None) -> list[SlackCall]:
        with self._cond:
            return [c for c in self._calls if method is None or c.method == method]

    def count(self, method: str | None = None) -> int:
        return len(self.calls(method))

    def reset(self) -> None:
        """Forget calls, rules and state; keep users, usergroups and the port."""
        with self._cond:
            self._calls.clear()
            self._rules.clear()
            self._state = _State()
            self.missing_channels.clear()
            self.not_in_channels.clear()

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[SlackCall]:
        """Block until ``method`` was called ``count`` times; fail the test otherwise."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [c for c in self._calls if c.method == method]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} call(s) to {method}, got {len(got)}")
                self._cond.wait(left)

    # -- serving (called from the HTTP threads) -------------------------------

    def _next_ts(self) -> str:
        ts = max(round(self._clock(), 6), round(self._last_ts + 0.000001, 6))
        self._last_ts = ts
        return f"{ts:.6f}"

    def _next_id(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}{self._ids:07d}"

    def _take_rule(self, method: str) -> _Rule | None:
        for rule in self._rules:
            if rule.remaining > 0 and rule.method in (None, method):
                rule.remaining -= 1
                return rule
        return None

    def handle(
        self, method: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, str], bytes]:
        """Answer one call; returns (status, extra headers, body)."""
        status, extra, response = 200, {}, None
        with self._cond:
            rule = self._take_rule(method)
            try:
                if rule is not None and rule.status != 200:
                    status = rule.status
                    if rule.retry_after is not None:
                        extra["Retry-After"] = str(rule.retry_after)
                    if status == 429:
                        response = {"ok": False, "error": "ratelimited"}
                elif rule is not None and rule.error:
                    raise SlackError(rule.error)
                else:
                    self._check_token(params, headers)
                    response = {"ok": True, **self._dispatch(method, params)}
            except SlackError as exc:
                response = {"ok": False, "error": exc.code}
            self._calls.append(SlackCall(method, params, headers, status, response))
            self._cond.notify_all()
        if response is None:
            return status, {"Content-Type": "text/plain"}, b"Service unavailable"
        return (
            status,
            {**extra, "Content-Type": "application/json; charset=utf-8"},
            json.dumps(response).encode(),
        )

    def _check_token(self, params: dict[str, Any], headers: dict[str, str]) -> None:
        auth = headers.get("authorization", "")
        token = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
        token = token or str(params.get("token", ""))
        if not token:
            raise SlackError("not_authed")
        if token != self.token:
            raise SlackError("invalid_auth")

    def _dispatch(self, method: str, p: dict[str, Any]) -> dict[str, Any]:
        handler = _METHODS.get(method)
        if handler is None:
            raise SlackError("unknown_method")
        return handler(self, p)

    # -- the methods ----------------------------------------------------------

    def _channel(self, p: dict[str, Any], key: str = "channel") -> str:
        channel = str(p.get(key) or "")
        if not channel:
            raise SlackError("channel_not_found")
        if channel in self.missing_channels:
            raise SlackError("channel_not_found")
        if channel in self.not_in_channels:
            raise SlackError("not_in_channel")
        if channel.startswith("U") and channel in self._users:
            channel = "D" + channel  # posting to a user id lands in the DM
        return channel

    @staticmethod
    def _check_content(p: dict[str, Any], *, required: bool = True) -> None:
        text, blocks = p.get("text"), p.get("blocks")
        if blocks is not None and (
            not isinstance(blocks, list)
            or len(blocks) > 50
            or not all(isinstance(b, dict) and b.get("type") for b in blocks)
        ):
            raise SlackError("invalid_blocks")
        if required and not text and not blocks:
            raise SlackError("no_text")
        if text and len(str(text)) > 40000:
            raise SlackError("msg_too_long")

    def _find(self, channel: str, ts: str) -> dict[str, Any]:
        for message in self._state.messages.get(channel, []):
            if message["ts"] == ts:
                return message
        raise SlackError("message_not_found")

    def auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": "https://fake.slack.test/",
            "team": "Fake",
            "user": "bot",
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": "B0BOT",
        }

    def chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        self._check_content(p)
        thread_ts = p.get("thread_ts") or None
        if thread_ts:
            self._find(channel, str(thread_ts))
        message = {
            "type": "message",
            "user": self.bot_user_id,
            "bot_id": "B0BOT",
            "text": p.get("text", ""),
            "blocks": p.get("blocks") or [],
            "ts": self._next_ts(),
        }
        if thread_ts:
            message["thread_ts"] = thread_ts
        self._state.messages.setdefault(channel, []).append(message)
        return {"channel": channel, "ts": message["ts"], "message": dict(message)}

    def chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        self._check_content(p, required=False)
        message = self._find(channel, str(p.get("ts", "")))
        if "text" in p:
            message["text"] = p["text"]
        if "blocks" in p:
            message["blocks"] = p["blocks"] or []
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        return {
            "channel": channel,
            "ts": message["ts"],
            "text": message["text"],
            "message": dict(message),
        }

    def chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        self._channel(p)
        self._check_content(p)
        if not p.get("user"):
            raise SlackError("user_not_found")
        return {"message_ts": self._next_ts()}

    def chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        ts = str(p.get("message_ts", ""))
        if not ts:
            raise SlackError("message_not_found")
        return {
            "channel": channel,
            "permalink": f"https://fake.slack.test/archives/{channel}/p{ts.replace('.', '')}",
        }

    def conversations_open(self, p: dict[str, Any]) -> dict[str, Any]:
        users = [u for u in str(p.get("users", "")).split(",") if u]
        if not users:
            raise SlackError("users_list_not_supplied")
        if self._users and any(u not in self._users for u in users):
            raise SlackError("user_not_found")
        prefix = "D" if len(users) == 1 else "G"
        return {"channel": {"id": prefix + users[0] if prefix == "D" else prefix + "".join(users)}}

    def conversations_history(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        oldest, latest = float(p.get("oldest") or 0), float(p.get("latest") or "inf")
        limit = int(p.get("limit") or 100)
        top = [
            m
            for m in self._state.messages.get(channel, [])
            if m.get("thread_ts") in (None, m["ts"]) and oldest <= float(m["ts"]) <= latest
        ]
        top.sort(key=lambda m: float(m["ts"]), reverse=True)
        return {"messages": [dict(m) for m in top[:limit]], "has_more": len(top) > limit}

    def conversations_replies(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        ts = str(p.get("ts", ""))
        thread = [
            m
            for m in self._state.messages.get(channel, [])
            if m["ts"] == ts or m.get("thread_ts") == ts
        ]
        if not thread:
            raise SlackError("thread_not_found")
        thread.sort(key=lambda m: float(m["ts"]))
        return {"messages": [dict(m) for m in thread], "has_more": False}

    def _store_view(self, view: Any, view_id: str | None = None) -> dict[str, Any]:
        if not isinstance(view, dict) or not view.get("type"):
            raise SlackError("invalid_arguments")
        stored = {
            **view,
            "id": view_id or self._next_id("V"),
            "hash": self._next_id("h"),
            "team_id": self.team_id,
        }
        self._state.views[stored["id"]] = stored
        return {"view": dict(stored)}

    def views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("trigger_id"):
            raise SlackError("invalid_trigger_id")
        return self._store_view(p.get("view"))

    def views_push(self, p: dict[str, Any]) -> dict[str, Any]:
        return self.views_open(p)

    def views_update(self, p: dict[str, Any]) -> dict[str, Any]:
        view_id = p.get("view_id")
        if not view_id and p.get("external_id"):
            view_id = next(
                (
                    k
                    for k, v in self._state.views.items()
                    if v.get("external_id") == p["external_id"]
                ),
                None,
            )
        if not view_id or view_id not in self._state.views:
            raise SlackError("not_found")
        if p.get("hash") and p["hash"] != self._state.views[view_id]["hash"]:
            raise SlackError("hash_conflict")
        return self._store_view(p.get("view"), view_id)

    def views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("user_id"):
            raise SlackError("invalid_arguments")
        return self._store_view(p.get("view"), f"VHOME{p['user_id']}")

    def _user(self, p: dict[str, Any]) -> FakeUser:
        user = self._users.get(str(p.get("user", "")))
        if user is None:
            raise SlackError("user_not_found")
        return user

    def users_info(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"user": self._user(p).as_dict()}

    def users_profile_get(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"profile": self._user(p).profile()}

    def usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        users = self._usergroups.get(str(p.get("usergroup", "")))
        if users is None:
            raise SlackError("no_such_subteam")
        return {"users": list(users)}

    def reactions_add(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = self._channel(p)
        name = str(p.get("name", ""))
        if not name:
            raise SlackError("invalid_name")
        names = self._state.reactions.setdefault((channel, str(p.get("timestamp", ""))), [])
        if name in names:
            raise SlackError("already_reacted")
        names.append(name)
        return {}

    def files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not p.get("length"):
            raise SlackError("invalid_arguments")
        file_id = self._next_id("F")
        self._state.uploads[file_id] = {"id": file_id, "name": p["filename"], "data": b""}
        return {"upload_url": f"http://127.0.0.1:{self.port}/upload/{file_id}", "file_id": file_id}

    def files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        files = p.get("files")
        if not isinstance(files, list) or not files:
            raise SlackError("invalid_arguments")
        out = []
        for f in files:
            if f.get("id") not in self._state.uploads:
                raise SlackError("file_not_found")
            out.append({"id": f["id"], "title": f.get("title", "")})
        return {"files": out}

    def _upload(self, file_id: str, data: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        with self._cond:
            known = file_id in self._state.uploads
            if known:
                self._state.uploads[file_id]["data"] = data
            status = 200 if known else 404
            self._calls.append(
                SlackCall("upload", {"file_id": file_id, "size": len(data)}, headers, status, None)
            )
            self._cond.notify_all()
        return status, f"OK - {len(data)}".encode()


_METHODS: dict[str, Callable[[FakeSlack, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": FakeSlack.auth_test,
    "chat.postMessage": FakeSlack.chat_postMessage,
    "chat.update": FakeSlack.chat_update,
    "chat.postEphemeral": FakeSlack.chat_postEphemeral,
    "chat.getPermalink": FakeSlack.chat_getPermalink,
    "conversations.open": FakeSlack.conversations_open,
    "conversations.history": FakeSlack.conversations_history,
    "conversations.replies": FakeSlack.conversations_replies,
    "views.open": FakeSlack.views_open,
    "views.push": FakeSlack.views_push,
    "views.update": FakeSlack.views_update,
    "views.publish": FakeSlack.views_publish,
    "users.info": FakeSlack.users_info,
    "users.profile.get": FakeSlack.users_profile_get,
    "usergroups.users.list": FakeSlack.usergroups_users_list,
    "reactions.add": FakeSlack.reactions_add,
    "files.getUploadURLExternal": FakeSlack.files_getUploadURLExternal,
    "files.completeUploadExternal": FakeSlack.files_completeUploadExternal,
}


def parse_params(body: bytes, content_type: str, query: str = "") -> dict[str, Any]:
    """Form or JSON body (plus query string) as one dict, JSON-in-form fields decoded."""
    params: dict[str, Any] = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
    if body:
        if content_type.startswith("application/json"):
            decoded = json.loads(body)
            if isinstance(decoded, dict):
                params.update(decoded)
        else:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            params.update({k: v[-1] for k, v in form.items()})
    for key in JSON_FIELDS & params.keys():
        value = params[key]
        if isinstance(value, str) and value[:1] in ("[", "{"):
            # Left as sent when it is not JSON, so the method can refuse it.
            with contextlib.suppress(ValueError):
                params[key] = json.loads(value)
    return params


def _make_handler(fake: FakeSlack) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the calls are recorded instead

        def do_POST(self) -> None:
            self._serve()

        def do_GET(self) -> None:
            self._serve()

        def _serve(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            if parts.path.startswith("/upload/"):
                status, data = fake._upload(parts.path.removeprefix("/upload/"), body, headers)
                self._reply(status, {"Content-Type": "text/plain"}, data)
                return
            if not parts.path.startswith("/api/"):
                self._reply(404, {"Content-Type": "text/plain"}, b"not found")
                return
            method = parts.path.removeprefix("/api/")
            try:
                params = parse_params(body, headers.get("content-type", ""), parts.query)
            except (ValueError, UnicodeDecodeError):
                self._reply(
                    400,
                    {"Content-Type": "application/json"},
                    b'{"ok": false, "error": "invalid_json"}',
                )
                return
            status, extra, data = fake.handle(method, params, headers)
            self._reply(status, extra, data)

        def _reply(self, status: int, headers: dict[str, str], data: bytes) -> None:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    """A started fake Slack Web API; ``fake_slack.url`` is the WebClient ``base_url``."""
    with FakeSlack() as fake:
        yield fake
