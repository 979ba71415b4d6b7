"""The Teams chat adapter against the fake Bot Connector over HTTP: posts, replies,
updates in place, 1:1 messages, the chart, the app's token and its refresh, and what
401, 429, 5xx and refusals become."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from PIL import Image
from pydantic import SecretStr

from bot.adapters.oauth2 import ClientCredentialsTokens
from bot.adapters.teams.chat import TeamsChat
from bot.adapters.teams.connector import BOT_SCOPE, BotConnector
from bot.clock import FixedClock
from bot.errors import PermanentDeliveryError, TemporaryDeliveryError
from bot.ports import ChatPost, ChatRef
from tests.support.fake_teams import FakeTeams, card_actions, card_text
from tests.support.net import free_port

TRIAGE = "19:triage0000@thread.tacv2"
STAFF = "29:1staffUserAbc"
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def teams(clock: FixedClock) -> Iterator[FakeTeams]:
    with FakeTeams(clock=lambda: clock().timestamp(), token_lifetime=3600) as fake:
        fake.add_conversation(TRIAGE, [STAFF, "29:1ombud"])
        yield fake


def make_chat(
    fake: FakeTeams,
    clock: FixedClock,
    *,
    password: str | None = None,
    sleeps: list[float] | None = None,
    dialog_actions: tuple[str, ...] = (),
) -> TeamsChat:
    tokens = ClientCredentialsTokens(
        fake.login_url,
        fake.app_id,
        SecretStr(password or fake.app_password),
        BOT_SCOPE,
        clock=clock,
    )
    connector = BotConnector(
        fake.service_url,
        tokens,
        backoff=0.01,
        sleep=(sleeps.append if sleeps is not None else lambda _s: None),
    )
    return TeamsChat(
        connector,
        app_id=fake.app_id,
        tenant_id=fake.tenant_id,
        triage_channel=TRIAGE,
        dialog_actions=dialog_actions,
    )


BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "KL-2026-000001"}},
    {
        "type": "section",
        "text": {"type": "mrkdwn", "text": "*Ring* <tel:+46701234567|070-123 45 67>"},
    },
    {
        "type": "actions",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Ta"},
                "action_id": "case.claim",
                "value": "KL-2026-000001",
            },
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Logga samtal"},
                "action_id": "case.log_call",
                "value": "KL-2026-000001",
            },
        ],
    },
]


def test_post_is_one_adaptive_card_in_the_conversation(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock, dialog_actions=("case.log_call",))
    ref = chat.post(TRIAGE, ChatPost("Nytt klagomål KL-2026-000001", BLOCKS))
    [activity] = teams.top_level(TRIAGE)
    assert ref == ChatRef(TRIAGE, activity["id"])
    [attachment] = activity["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["version"] == "1.5"
    assert "Ring 070-123 45 67" in card_text(activity)
    assert activity["summary"] == "Nytt klagomål KL-2026-000001"
    assert card_actions(activity) == [
        {"cb_action": "case.claim", "cb_value": "KL-2026-000001"},
        {
            "cb_action": "case.log_call",
            "cb_value": "KL-2026-000001",
            "msteams": {"type": "task/fetch"},
        },
    ]
    [call] = teams.calls("POST", "/activities")
    assert call.headers["authorization"].startswith("Bearer ")


def test_update_replaces_the_card_in_place(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    ref = chat.post(TRIAGE, ChatPost("first", BLOCKS))
    chat.update(ref, ChatPost("second", [BLOCKS[0]]))
    [activity] = teams.activities(TRIAGE)
    assert activity["id"] == ref.ts and activity["edits"] == 1
    assert card_actions(activity) == []
    assert [c.method for c in teams.calls(path_contains="/activities")] == ["POST", "PUT"]


def test_reply_goes_into_the_thread(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    root = chat.post(TRIAGE, ChatPost("prompt", BLOCKS))
    reply = chat.post(TRIAGE, ChatPost("Påminnelse"), thread_ts=root.ts)
    assert [a["id"] for a in teams.replies(TRIAGE, root.ts)] == [reply.ts]
    assert "Påminnelse" in card_text(teams.replies(TRIAGE, root.ts)[0])


def test_direct_opens_the_1to1_conversation_once_in_the_tenant(
    teams: FakeTeams, clock: FixedClock
) -> None:
    chat = make_chat(teams, clock)
    first = chat.direct(STAFF, ChatPost("En påminnelse"))
    second = chat.direct(STAFF, ChatPost("En till"))
    assert first.channel == second.channel == teams.direct_conversation(STAFF)
    [create] = [c for c in teams.calls("POST") if c.path.endswith("/v3/conversations")]
    assert create.body["tenantId"] == teams.tenant_id
    assert create.body["bot"]["id"] == f"28:{teams.app_id}"
    assert [card_text(a) for a in teams.direct_activities(STAFF)] == ["En påminnelse", "En till"]


def png_of(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (31, 111, 139)).save(out, format="PNG")
    return out.getvalue()


def test_upload_sends_the_chart_inline(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    png = png_of(800, 600)
    receipt = chat.upload(STAFF, "klagomal-2026-02.png", png, "Klagomål 2026-02")
    assert receipt.startswith("uploaded klagomal-2026-02.png")
    [activity] = teams.direct_activities(STAFF)
    [attachment] = activity["attachments"]
    prefix = "data:image/png;base64,"
    assert attachment["contentUrl"].startswith(prefix)
    assert base64.b64decode(attachment["contentUrl"].removeprefix(prefix)) == png
    assert activity["text"] == "Klagomål 2026-02"


def test_a_picture_over_1024_pixels_is_scaled_down(teams: FakeTeams, clock: FixedClock) -> None:
    make_chat(teams, clock).upload(STAFF, "chart.png", png_of(1100, 800), "chart")
    [activity] = teams.direct_activities(STAFF)
    data = base64.b64decode(activity["attachments"][0]["contentUrl"].partition(",")[2])
    with Image.open(io.BytesIO(data)) as image:
        assert image.size == (1024, 745)


def test_check_verifies_the_token_and_the_triage_conversation(
    teams: FakeTeams, clock: FixedClock
) -> None:
    assert "triage conversation reachable (2 members)" in make_chat(teams, clock).check()
    with pytest.raises(TemporaryDeliveryError, match="app token"):
        make_chat(teams, clock, password="wrong").check()
    teams.not_installed.add(TRIAGE)
    with pytest.raises(PermanentDeliveryError, match="BotNotInConversationRoster"):
        make_chat(teams, clock).check()


def test_the_token_is_reused_and_refreshed_before_it_expires(
    teams: FakeTeams, clock: FixedClock
) -> None:
    chat = make_chat(teams, clock)
    chat.post(TRIAGE, ChatPost("one"))
    chat.post(TRIAGE, ChatPost("two"))
    assert teams.tokens_issued == 1
    clock.advance(minutes=54)
    chat.post(TRIAGE, ChatPost("three"))
    assert teams.tokens_issued == 1
    clock.advance(minutes=2)  # within five minutes of the hour's expiry: a new one
    chat.post(TRIAGE, ChatPost("four"))
    assert teams.tokens_issued == 2
    assert all(c.status == 201 for c in teams.calls("POST", "/activities"))


def test_a_refused_token_is_fetched_anew_once(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    chat.post(TRIAGE, ChatPost("one"))
    clock.advance(seconds=5)
    teams.revoke_tokens()
    clock.advance(seconds=5)
    chat.post(TRIAGE, ChatPost("two"))
    assert [c.status for c in teams.calls("POST", "/activities")] == [201, 401, 201]
    assert teams.tokens_issued == 2


def test_a_token_refused_twice_is_a_temporary_setup_error(
    teams: FakeTeams, clock: FixedClock
) -> None:
    chat = make_chat(teams, clock)
    teams.fail_next(method="POST", status=401, times=5, code="Unauthorized")
    with pytest.raises(TemporaryDeliveryError, match="app password"):
        chat.post(TRIAGE, ChatPost("x"))
    assert len(teams.calls("POST", "/activities")) == 2


def test_rate_limit_is_waited_out_then_handed_back(teams: FakeTeams, clock: FixedClock) -> None:
    sleeps: list[float] = []
    chat = make_chat(teams, clock, sleeps=sleeps)
    teams.fail_next(method="POST", status=429, retry_after=2, times=1)
    chat.post(TRIAGE, ChatPost("after one 429"))
    assert sleeps == [2.0]
    teams.fail_next(method="POST", status=429, retry_after=3, times=3)
    with pytest.raises(TemporaryDeliveryError) as raised:
        chat.post(TRIAGE, ChatPost("still limited"))
    assert raised.value.retry_after == 3.0
    assert len(teams.calls("POST", "/activities")) == 2 + 3  # 1 + 2 retries
    teams.fail_next(method="POST", status=429, retry_after=120, times=1)
    with pytest.raises(TemporaryDeliveryError):  # too long to hold the outbox: no wait
        chat.post(TRIAGE, ChatPost("long wait"))
    assert sleeps == [2.0, 3.0, 3.0]


def test_server_errors_are_retried_then_temporary(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    teams.fail_next(method="POST", status=503, times=2)
    chat.post(TRIAGE, ChatPost("third time lucky"))
    teams.fail_next(method="PUT", status=500, times=3)
    with pytest.raises(TemporaryDeliveryError, match="ServiceError"):
        chat.update(ChatRef(TRIAGE, teams.top_level(TRIAGE)[0]["id"]), ChatPost("x"))


def test_refusals_are_permanent(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    with pytest.raises(PermanentDeliveryError, match="ConversationNotFound"):
        chat.post("19:nosuch@thread.tacv2", ChatPost("x"))
    with pytest.raises(PermanentDeliveryError, match="ActivityNotFound"):
        chat.update(ChatRef(TRIAGE, "1700000000000"), ChatPost("x"))
    teams.fail_next(method="POST", status=400, code="BadArgument")
    with pytest.raises(PermanentDeliveryError, match="BadArgument"):
        chat.post(TRIAGE, ChatPost("x"))


def test_a_post_whose_answer_is_lost_is_not_sent_again_in_the_call(
    teams: FakeTeams, clock: FixedClock
) -> None:
    chat = make_chat(teams, clock)
    chat.post(TRIAGE, ChatPost("warm the token"))
    teams.fail_next(method="POST", status=0)
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        chat.post(TRIAGE, ChatPost("may have arrived"))
    assert len(teams.calls("POST", "/activities")) == 2  # no second try inside the call
    teams.fail_next(method="GET", status=0)
    assert "reachable" in chat.check()  # a read is safe to repeat


def test_unreachable_connector_is_temporary(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    chat.post(TRIAGE, ChatPost("warm the token"))
    gone = BotConnector(
        f"http://127.0.0.1:{free_port()}/teams/", chat._connector._tokens, backoff=0.001
    )
    chat = TeamsChat(gone, app_id=teams.app_id, tenant_id=teams.tenant_id)
    with pytest.raises(TemporaryDeliveryError, match="unreachable"):
        chat.post(TRIAGE, ChatPost("x"))


def test_identity_numbers_never_reach_teams_but_ids_do(teams: FakeTeams, clock: FixedClock) -> None:
    chat = make_chat(teams, clock)
    root = chat.post(
        TRIAGE,
        ChatPost(
            "pnr 19121212-1212",
            [
                {
                    "type": "section",
                    "text": {"type": "mrkdwn", "text": "Mitt personnummer är 121212-1212"},
                }
            ],
        ),
    )
    chat.post(TRIAGE, ChatPost("svar"), thread_ts=root.ts)
    [activity] = teams.top_level(TRIAGE)
    assert "1212-1212" not in card_text(activity) + activity["summary"]
    assert "[ID-nummer]" in card_text(activity)
    assert teams.replies(TRIAGE, root.ts)  # the activity id (all digits) went through intact
