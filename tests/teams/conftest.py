"""A Teams world for the inbound tests: the bot's real ``POST /api/messages`` served by
uvicorn on 127.0.0.1, activities signed by the test Bot Framework key
(tests/support/teams_auth.py), the Teams chat adapter the wiring builds posting to
the fake Bot Connector (tests/support/fake_teams.py), a Maildir inbox, the test's
database and a fixed clock."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.adapters.teams.chat import TeamsChat
from bot.clock import FixedClock
from bot.config import Secrets
from bot.wiring import Runtime
from handlers.teams.app import TeamsChatApp, auth_for
from tests.conftest import make_config
from tests.harness import Bot, email
from tests.support.delivery import settle
from tests.support.fake_teams import Conversation, FakeTeams, card_actions
from tests.support.net import HOST, free_port
from tests.support.teams_auth import SERVICE_URL, BotFrameworkKeys, activity

TRIAGE = "19:triage0000@thread.tacv2"
INTAKE = "19:intake0000@thread.tacv2"
STAFF = "29:1staffUserAbc"
STAFF_AAD = "6f1c2d3e-0000-4000-8000-00000000a001"
STAFF2_AAD = "6f1c2d3e-0000-4000-8000-00000000a002"
OMBUD = "29:1ombudUserAbc"
OMBUD_AAD = "6f1c2d3e-0000-4000-8000-00000000a0b0"
OUTSIDER = "29:1outsiderAbc"
OUTSIDER_AAD = "6f1c2d3e-0000-4000-8000-00000000dead"
CITIZEN = "29:1citizenAbc"

COMPLAINT = (
    "Hej!\nHemtjänsten kom inte i går kväll och min mamma fick ingen mat. "
    "Ring mig på 070-123 45 67.\nMvh Anna Andersson"
)


class TeamsWorld:
    """People in Teams and the bot: post, press a card button, open and submit a dialog."""

    def __init__(
        self,
        conversations: dict[str, Conversation],
        db_url: str,
        engine: Engine,
        clock: FixedClock,
        root: Path,
        fake: FakeTeams,
        keys: BotFrameworkKeys,
    ) -> None:
        self.clock, self.fake, self.keys = clock, fake, keys
        self.conversations = conversations
        port = free_port()
        self.cfg = make_config(
            root,
            db_url,
            chat={
                "kind": "teams",
                "app_id": fake.app_id,
                "tenant_id": fake.tenant_id,
                "service_url": fake.service_url,
                "login_url": fake.login_url,
                "openid_metadata_url": keys.metadata_url,
                "http_host": HOST,
                "http_port": port,
                "triage_channel": TRIAGE,
                "intake_channels": [INTAKE],
                "staff_users": [STAFF_AAD, STAFF2_AAD],
                "ombudsman_users": [OMBUD],  # by Teams user id: either form is accepted
            },
        )
        self.bot = Bot(self.cfg, engine, clock, root)
        # The chat is the one the wiring builds from [chat] (TeamsChat with the app's
        # token); only the mailbox and the mailer are the harness's.
        self.bot.rt = self.rt = Runtime(
            self.cfg,
            clock=clock,
            secrets=Secrets(teams_app_password=SecretStr(fake.app_password)),
            engine=engine,
            overrides={
                "mailbox": self.bot.rt.mailbox,
                "mailer": self.bot.rt.mailer,
                "teams_connector": {"backoff": 0.001, "sleep": lambda _s: None},
            },
        )
        assert isinstance(self.rt.chat, TeamsChat)
        # As under `complaint-bot run`: handlers only wake the outbox's delivery loop.
        # Woken by them only, no round of its own while a test looks.
        self.rt.delivery.idle_seconds = 3600.0
        self.rt.delivery.start()
        self.app = TeamsChatApp(self.rt, HOST, port, auth_for(self.rt))
        self.url = f"http://{HOST}:{port}/api/messages"
        deadline = time.monotonic() + 10
        while not self.app.started:
            assert time.monotonic() < deadline, "the Teams endpoint did not start"
            time.sleep(0.02)
        self.http = httpx.Client(timeout=30)

    def close(self) -> None:
        self.http.close()
        self.app.close()
        self.rt.delivery.stop()
        self.rt.close()

    # -- Teams sending us things ---------------------------------------------

    def send(
        self, act: dict[str, Any], headers: dict[str, str] | None = None, **claims: Any
    ) -> httpx.Response:
        """POST the activity as Teams does: signed, unless ``headers`` are given. A post
        (text) is first put in its conversation, as it is in Teams when the bot hears it."""
        if act.get("serviceUrl") == SERVICE_URL:
            # Teams names the connector the bot is configured for: here the fake's.
            act["serviceUrl"] = self.fake.service_url
        base = str(act["conversation"]["id"]).partition(";")[0]
        if act.get("text") and base in self.conversations:
            known = self.conversations[base].activities
            if all(a["id"] != act["id"] for a in known):
                known.append({k: act[k] for k in ("id", "type", "text", "from")})
        if headers is None:
            headers = self.keys.sign(act, self.fake.app_id, self.clock(), **claims)
        response = self.http.post(self.url, json=act, headers=headers)
        settle(self.rt.delivery)  # what the activity queued has reached the connector
        return response

    def post(
        self, text: str, *, user: str = CITIZEN, reply_to: str | None = None
    ) -> dict[str, Any]:
        """Someone writes in the intake conversation (a reply when ``reply_to``)."""
        act = activity(conversation=INTAKE, user=user, text=text, reply_to=reply_to)
        assert self.send(act).status_code == 200
        return act

    def press_activity(
        self, data: dict[str, Any], *, user: str = STAFF, aad: str | None = STAFF_AAD
    ) -> dict[str, Any]:
        card = self.prompt()
        return activity(conversation=TRIAGE, user=user, aad=aad, value=data, reply_to=card["id"])

    def invoke(
        self, name: str, data: dict[str, Any], *, user: str = STAFF, aad: str | None = STAFF_AAD
    ) -> dict[str, Any]:
        return activity(
            "invoke",
            conversation=TRIAGE,
            user=user,
            aad=aad,
            name=name,
            value={"data": data, "context": {"theme": "default"}},
        )

    # -- what the bot did ----------------------------------------------------

    def complaint_by_mail(self, body: str = COMPLAINT) -> str:
        self.bot.deliver(email(body=body))
        self.bot.run_once()
        cases = self.bot.cases()
        return str(cases[-1]["ref"])

    def prompt(self) -> dict[str, Any]:
        """The one call-back prompt card in the triage conversation, as it is now."""
        cards = self.fake.top_level(TRIAGE)
        assert len(cards) == 1, cards
        return cards[0]

    def button(self, action_id: str) -> dict[str, Any]:
        for data in card_actions(self.prompt()):
            if data.get("cb_action") == action_id:
                return dict(data)
        raise AssertionError(f"no {action_id} on the prompt")

    def dms(self, user: str) -> list[dict[str, Any]]:
        return self.fake.direct_activities(user)


@pytest.fixture
def world(db_url: str, engine: Engine, clock: FixedClock, tmp_path: Path) -> Iterator[TeamsWorld]:
    keys = BotFrameworkKeys()
    with FakeTeams(clock=lambda: clock().timestamp()) as fake:
        conversations = {
            TRIAGE: fake.add_conversation(TRIAGE, [STAFF, OMBUD, OUTSIDER]),
            INTAKE: fake.add_conversation(INTAKE, [STAFF, CITIZEN]),
        }
        w = TeamsWorld(conversations, db_url, engine, clock, tmp_path, fake, keys)
        try:
            yield w
        finally:
            w.close()
            keys.close()
