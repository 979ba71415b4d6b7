"""A Slack world for the app's tests: the fake Slack Web API over HTTP (reached through
the real slack_sdk), signed requests dispatched into the real bolt app, the test's
database, a folder outbox for emails and a fixed clock.

Listeners run on an inline executor here, so ``app.dispatch`` returns when the work
after ``ack()`` is done; the HTTP-mode test serves the app with Bolt's own thread pool.
As under ``complaint-bot run``, listeners only wake the outbox's delivery loop (a real
thread here); :meth:`SlackWorld.dispatch` then waits until the loop is idle, so a test
sees what the press posted.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import pytest
from pydantic import SecretStr
from slack_bolt import App
from slack_bolt.request import BoltRequest
from slack_bolt.response import BoltResponse
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.actions.case_records import case_detail
from bot.actions.cases import get_case
from bot.adapters.folder import FolderMailer
from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.clock import FixedClock
from bot.config import Config, Secrets
from bot.presenters.render import Renderer
from bot.runners.outbox import DeliveryReport, deliver_due
from bot.store.db import session_scope
from bot.store.models import Audit, Case
from bot.wiring import Runtime
from handlers.slack.app import build_app
from handlers.slack.enums import ActionId
from tests.conftest import make_config
from tests.support.delivery import settle
from tests.support.fake_slack import FakeSlack, SlackCall, fake_slack  # noqa: F401
from tests.support.net import free_port
from tests.support.slack_signing import SignedRequest, SlackSigner

SECRET = "test-signing-secret"
INTAKE = "C0INTAKE"
TRIAGE = "C0TRIAGE"
STAFF = "U0STAFF1"
STAFF2 = "U0STAFF2"
OMBUD = "U0OMBUD"
CITIZEN = "U0CITIZEN"
STRANGER = "U0NOBODY"

P = ParamSpec("P")
T = TypeVar("T")


class InlineExecutor(Executor):
    """Runs each submitted function at once, in the caller's thread."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            future.set_exception(exc)
        return future


# Minimal stand-ins, used only when the package does not ship these templates yet.
_FALLBACK_TEMPLATES = {
    "number_request": (
        "Vi försökte ringa dig [{{ ref }}]",
        "Hej {{ name }}, vi nådde dig inte. Svara med ett nummer. {{ ref }}",
    ),
    "confirmation": (
        "Sammanfattning av vårt samtal [{{ ref }}]",
        "Hej {{ name }}, tack för samtalet {{ call_date }}. Nästa steg: {{ next_step }}. {{ ref }}",
    ),
}


def template_overrides(root: Path) -> Path:
    folder = root / "templates"
    (folder / "email").mkdir(parents=True, exist_ok=True)
    package = Renderer()
    for name, (subject, body) in _FALLBACK_TEMPLATES.items():
        if package.has(f"email/{name}", "sv", "txt"):
            continue
        (folder / "email" / f"{name}.sv.subject.j2").write_text(subject)
        (folder / "email" / f"{name}.sv.txt.j2").write_text(body + "\n")
        (folder / "email" / f"{name}.sv.html.j2").write_text(f"<p>{body}</p>\n")
    return folder


class SlackWorld:
    """The bot's Slack app against the fake Slack, with helpers that read like what
    people do: post in the intake channel, press a button, submit a modal."""

    def __init__(
        self, cfg: Config, engine: Engine, clock: FixedClock, fake: FakeSlack, root: Path
    ) -> None:
        self.cfg, self.engine, self.clock, self.fake, self.root = cfg, engine, clock, fake, root
        self.signer = SlackSigner(SECRET)
        self.outbox_dir = root / "outbox"
        secrets = Secrets(
            slack_bot_token=SecretStr(fake.token),
            slack_signing_secret=SecretStr(SECRET),
            slack_app_token=SecretStr("xapp-test"),
        )
        # The outbox's own client does not retry inside the call, so a 429 shows up as
        # an outbox retry at Retry-After (the listener's client retries as in production).
        chat = SlackChat(make_web_client(cfg.chat, fake.token, max_retries=0))
        self.rt = Runtime(
            cfg,
            clock=clock,
            secrets=secrets,
            engine=engine,
            overrides={"chat": chat, "mailer": FolderMailer(self.outbox_dir)},
        )
        self.app: App = build_app(self.rt, listener_executor=InlineExecutor())
        # Woken by listeners only: no round of its own while a test looks.
        self.rt.delivery.idle_seconds = 3600.0
        self.rt.delivery.start()
        self._events = 0
        self._ts = 0
        self._triggers = 0

    # -- Slack sending us things ---------------------------------------------

    def dispatch(
        self, request: SignedRequest, headers: dict[str, str] | None = None
    ) -> BoltResponse:
        bolt = request.to_bolt()
        if headers:
            bolt = BoltRequest(
                body=request.body,
                headers={
                    **{k.lower(): v for k, v in request.headers.items()},
                    **{k.lower(): v for k, v in headers.items()},
                },
            )
        response = self.app.dispatch(bolt)
        if self.rt.delivery.running:  # a test may have stopped it, to look in between
            settle(self.rt.delivery)
        return response

    def next_ts(self) -> str:
        """A Slack ts at the clock's time (unique, increasing)."""
        self._ts += 1
        return f"{self.clock().timestamp() + self._ts / 1000:.6f}"

    def event_id(self) -> str:
        self._events += 1
        return f"Ev{self._events:06d}"

    def post_message(
        self,
        text: str,
        *,
        channel: str = INTAKE,
        user: str = CITIZEN,
        thread_ts: str | None = None,
        event_id: str | None = None,
        **event_fields: Any,
    ) -> tuple[str, BoltResponse]:
        """Someone writes in a channel: the message exists in Slack, and the event arrives."""
        ts = self.next_ts()
        self.fake.add_message(channel, text, user=user, ts=ts, thread_ts=thread_ts)
        request = self.signer.message_event(
            channel,
            text,
            user=user,
            ts=ts,
            thread_ts=thread_ts,
            event_id=event_id or self.event_id(),
        )
        if event_fields:
            body = json.loads(request.body)
            body["event"].update(event_fields)
            request = self.signer.json(body)
        return ts, self.dispatch(request)

    def react(
        self, channel: str, ts: str, reaction: str, user: str = STAFF, event_id: str | None = None
    ) -> BoltResponse:
        return self.dispatch(
            self.signer.reaction_added(
                channel, ts, reaction, user=user, event_id=event_id or self.event_id()
            )
        )

    def press(
        self,
        action_id: ActionId,
        value: str,
        *,
        user: str = STAFF,
        channel: str = TRIAGE,
        message_ts: str | None = None,
    ) -> BoltResponse:
        return self.dispatch(
            self.signer.block_actions(
                action_id,
                value,
                user=user,
                channel=channel,
                message_ts=message_ts or "1700000000.000100",
            )
        )

    def choose(
        self, action_id: ActionId, value: str, *, user: str = STAFF, channel: str = TRIAGE
    ) -> BoltResponse:
        """Pick an option in a static_select (Slack sends ``selected_option``)."""
        return self.dispatch(
            self.signer.interactive(
                {
                    "type": "block_actions",
                    "user": {"id": user, "team_id": "T0TEAM"},
                    "api_app_id": "A0APP",
                    "token": "legacy",
                    "team": {"id": "T0TEAM"},
                    "trigger_id": "T.trigger",
                    "response_url": self.signer.response_url,
                    "container": {
                        "type": "message",
                        "message_ts": "1700000000.000100",
                        "channel_id": channel,
                        "is_ephemeral": False,
                    },
                    "channel": {"id": channel},
                    "message": {"type": "message", "ts": "1700000000.000100", "text": ""},
                    "actions": [
                        {
                            "type": "static_select",
                            "action_id": action_id,
                            "block_id": "b1",
                            "selected_option": {
                                "text": {"type": "plain_text", "text": value},
                                "value": value,
                            },
                            "action_ts": "1700000000.000200",
                        }
                    ],
                }
            )
        )

    def submit(
        self, view: dict[str, Any], values: dict[str, Any], *, user: str = STAFF
    ) -> BoltResponse:
        """Submit a modal the app opened (``view`` as the fake stored it)."""
        return self.dispatch(
            self.signer.view_submission(
                view["callback_id"],
                values,
                private_metadata=view.get("private_metadata", ""),
                user=user,
                view_id=view["id"],
            )
        )

    def command(self, text: str = "", *, user: str = STAFF, channel: str = TRIAGE) -> BoltResponse:
        # Slack gives every invocation its own trigger_id (a replay repeats it).
        self._triggers += 1
        return self.dispatch(
            self.signer.slash_command(
                self.cfg.chat.slash_command,
                text,
                user=user,
                channel=channel,
                trigger_id=f"T.trigger.{self._triggers}",
            )
        )

    # -- what happened --------------------------------------------------------

    def flush(self) -> DeliveryReport:
        return deliver_due(self.engine, self.rt.outlets, self.clock, self.rt.owner)

    def case(self, ref: str | None = None) -> dict[str, Any]:
        with session_scope(self.engine) as s:
            if ref is None:
                cases = list(s.exec(select(Case)).all())
                assert len(cases) == 1, f"expected one case, found {len(cases)}"
                ref = cases[0].ref
            return case_detail(s, self.cfg, get_case(s, ref))

    def case_count(self) -> int:
        with session_scope(self.engine) as s:
            return len(s.exec(select(Case)).all())

    def audit(self, action: str) -> list[Audit]:
        with session_scope(self.engine) as s:
            return list(s.exec(select(Audit).where(Audit.action == action)).all())

    def posts(self, channel: str = TRIAGE) -> list[SlackCall]:
        return [
            c
            for c in self.fake.calls("chat.postMessage")
            if c.params.get("channel") == channel and c.status == 200
        ]

    def prompt(self) -> dict[str, Any]:
        """The prompt message as it is in the triage channel now."""
        prompts = [m for m in self.fake.messages(TRIAGE) if not m.get("thread_ts")]
        assert len(prompts) == 1, f"expected one prompt, found {len(prompts)}"
        return prompts[0]

    def last_view(self) -> dict[str, Any]:
        opened = self.fake.calls("views.open")
        assert opened, "no modal was opened"
        view_id = opened[-1].response["view"]["id"] if opened[-1].response else None
        return self.fake.views()[str(view_id)]

    def ephemerals(self, user: str | None = None) -> list[SlackCall]:
        return [
            c
            for c in self.fake.calls("chat.postEphemeral")
            if user is None or c.params.get("user") == user
        ]

    def emails(self) -> list[EmailMessage]:
        if not self.outbox_dir.exists():
            return []
        out = []
        for f in sorted(self.outbox_dir.glob("*.eml")):
            msg = message_from_bytes(f.read_bytes(), policy=policy.default)
            assert isinstance(msg, EmailMessage)
            out.append(msg)
        return out


def block_text(blocks: list[dict[str, Any]]) -> str:
    """Every text in ``blocks`` (as Slack would parse it), joined, for assertions."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") in ("mrkdwn", "plain_text") and "text" in node:
                out.append(str(node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return "\n".join(out)


def action_ids(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        e.get("action_id", "") for b in blocks if b.get("type") == "actions" for e in b["elements"]
    ]


@pytest.fixture
def slack_cfg(tmp_path: Path, db_url: str, fake_slack: FakeSlack) -> Config:  # noqa: F811
    return make_config(
        tmp_path,
        db_url,
        chat={
            "kind": "slack",
            "mode": "http",
            "api_base_url": fake_slack.url,
            "http_host": "127.0.0.1",
            "http_port": free_port(),
            "staff_users": [STAFF, STAFF2],
            "ombudsman_users": [OMBUD],
        },
        organisation={"templates_dir": str(template_overrides(tmp_path))},
    )


@pytest.fixture
def world(
    slack_cfg: Config,
    engine: Engine,
    clock: FixedClock,
    fake_slack: FakeSlack,  # noqa: F811
    tmp_path: Path,
) -> Iterator[SlackWorld]:
    for user, name in (
        (CITIZEN, "Anna Andersson"),
        (STAFF, "Sara Staff"),
        (STAFF2, "Per Staff"),
        (OMBUD, "Olle Ombud"),
        (STRANGER, "Nils Nobody"),
    ):
        fake_slack.add_user(user, real_name=name)
    w = SlackWorld(slack_cfg, engine, clock, fake_slack, tmp_path)
    yield w
    w.rt.delivery.stop()
