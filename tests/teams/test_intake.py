"""Posts in a Teams intake conversation open cases; the bot answers in the thread."""

from __future__ import annotations

from sqlmodel import select

from bot.store.db import session_scope
from bot.store.models import Audit
from handlers.teams.activity import plain_text
from tests.support.fake_teams import card_text
from tests.support.teams_auth import activity
from tests.teams.conftest import CITIZEN, INTAKE, OUTSIDER, STAFF, TRIAGE, TeamsWorld


def test_a_post_opens_one_case_and_the_bot_answers_in_its_thread(world: TeamsWorld) -> None:
    post = activity(
        conversation=INTAKE,
        user=CITIZEN,
        text="<at>complaint-bot</at> Hemtjänsten kom inte. Ring mig på 070-123 45 67.",
    )
    for _ in range(2):  # Teams retries an activity it got no answer to in time
        assert world.send(post).status_code == 200

    (case,) = world.bot.cases()
    assert case["source"] == "teams"
    assert case["complainant"]["phone"] == "+46701234567"
    assert case["message_ids"] == [f"{INTAKE}:{post['id']}"]
    (reply,) = world.fake.replies(INTAKE, post["id"])
    assert case["ref"] in str(reply.get("text", "")) + card_text(reply)
    assert len(world.fake.top_level(TRIAGE)) == 1  # the call-back prompt
    assert "complaint-bot" not in card_text(world.prompt())


def test_replies_in_the_thread_join_the_case_by_the_slack_rules(world: TeamsWorld) -> None:
    post = world.post("Ingen ringde tillbaka om min pappas hemtjänst.")
    (case,) = world.bot.cases()
    assert case["complainant"]["phone"] is None

    world.post("Mitt nummer är 070-765 43 21", reply_to=post["id"])
    world.post("Jag håller med, ring 070-111 22 33", user=OUTSIDER, reply_to=post["id"])

    (case,) = world.bot.cases()
    assert case["complainant"]["phone"] == "+46707654321"  # the poster's, not the stranger's
    assert len(case["message_ids"]) == 3
    with session_scope(world.rt.db) as session:
        actions = [a.action for a in session.exec(select(Audit)).all()]
    assert "message_added" in actions and "other_sender_message" in actions


def test_posts_elsewhere_by_the_bot_or_empty_open_nothing(world: TeamsWorld) -> None:
    world.send(activity(conversation=TRIAGE, user=STAFF, text="Hej alla"))
    world.send(activity(conversation=INTAKE, user="28:some-bot", text="Ett klagomål"))
    world.send(activity(conversation=INTAKE, user=CITIZEN, text="<at>complaint-bot</at>"))
    assert world.bot.cases() == []


def test_the_case_is_received_when_teams_says_the_post_was_made(world: TeamsWorld) -> None:
    world.clock.advance(minutes=30)  # the activity arrives late; its timestamp is 09:00
    world.post("Maten var kall igen.")
    (case,) = world.bot.cases()
    received = case["received_at"]
    assert received.startswith("2026-11-24T09:00:00"), received  # 08:00 UTC, not 08:30


def test_plain_text_drops_mentions_and_markup() -> None:
    assert plain_text("<at>Bot</at> Hej<br>du &amp; jag <b>nu</b>") == "Hej\ndu & jag nu"
