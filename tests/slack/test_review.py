"""The review lane in Slack: the post in the triage channel (through the real slack_sdk
against the fake Slack) and its two buttons, pressed with signed requests into the
real Bolt app: "Öppna som ärende" and "Inte ett klagomål", each acting once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from bot.runners.pipeline import Outcome, ingest
from bot.store.db import session_scope
from bot.store.models import Quarantine
from handlers.slack.enums import ActionId, BlockId
from handlers.slack.labels import say
from tests.slack.conftest import STAFF, STAFF2, STRANGER, TRIAGE, SlackWorld, action_ids, block_text
from tests.support.review_step import review_step  # noqa: F401

FIXTURES = Path(__file__).parent.parent / "fixtures" / "eml"


@pytest.fixture
def lane(world: SlackWorld, review_step: None) -> SlackWorld:  # noqa: F811
    return world


def receive(world: SlackWorld, fixture: str) -> list[Outcome]:
    """The message arrives in the mailbox (stamped with the test clock) and is ingested;
    what that queued is delivered."""
    inbox = world.root / "inbox"
    for sub in ("tmp", "new", "cur"):
        (inbox / sub).mkdir(parents=True, exist_ok=True)
    target = inbox / "new" / f"{fixture}.test"
    target.write_bytes((FIXTURES / fixture).read_bytes())
    arrived = world.clock().timestamp()
    os.utime(target, (arrived, arrived))
    outcomes = ingest(world.engine, world.rt.services, world.rt.mailbox)
    world.flush()
    return outcomes


def review_post(world: SlackWorld) -> dict[str, Any]:
    [post] = [
        m
        for m in world.fake.messages(TRIAGE)
        if any(b.get("block_id") == BlockId.REVIEW_REASON for b in m.get("blocks") or [])
    ]
    return post


def item(world: SlackWorld) -> Quarantine:
    with session_scope(world.engine) as s:
        [q] = s.exec(select(Quarantine)).all()
        return q


def press(world: SlackWorld, action: ActionId, user: str = STAFF) -> Any:
    post = review_post(world)
    request = world.signer.block_actions(
        action, str(item(world).id), user=user, channel=TRIAGE, message_ts=post["ts"]
    )
    world.dispatch(request)
    return request


def told(world: SlackWorld, user: str) -> list[str]:
    return [str(c.params.get("text")) for c in world.ephemerals(user)]


def test_the_review_post_is_redacted_escaped_and_has_the_two_buttons(lane: SlackWorld) -> None:
    [outcome] = receive(lane, "review_no_sender.eml")
    assert outcome.review == "no readable sender address"

    post = review_post(lane)
    text = block_text(post["blocks"])
    assert "no readable sender address" in text and "(ingen läsbar avsändare)" in text
    assert "hemtjänsten har inte kommit" in text
    assert "19121212-1212" not in json.dumps(post) and "[ID-nummer]" in text
    # The subject and body say <!channel>: inert in blocks and in the fallback text.
    assert "<!channel>" not in json.dumps(post["blocks"]) and "<!channel>" not in post["text"]
    assert "&lt;!channel&gt;" in text
    assert action_ids(post["blocks"]) == [ActionId.REVIEW_OPEN, ActionId.REVIEW_DISMISS]
    assert "Öppna som ärende" in text and "Inte ett klagomål" in text
    q = item(lane)
    assert (q.post_channel, q.post_ts) == (TRIAGE, post["ts"])
    assert lane.case_count() == 0


def test_the_sender_is_shown_short_and_redacted(lane: SlackWorld) -> None:
    receive(lane, "review_spam_flagged.eml")
    post = review_post(lane)
    assert "k***@example.se" in block_text(post["blocks"])
    assert "karin.berg" not in json.dumps(post)
    assert "flagged as spam by the mail server" in block_text(post["blocks"])


def test_open_as_case_opens_the_case_prompts_and_updates_the_post(lane: SlackWorld) -> None:
    receive(lane, "review_spam_flagged.eml")

    press(lane, ActionId.REVIEW_OPEN)

    case = lane.case()
    assert case["complainant"]["email"] == "karin.berg@example.se"
    [ack] = lane.emails()  # a usable address the classifier took for a person's: acknowledged
    assert f"[{case['ref']}]" in ack["Subject"]
    prompt = [
        m for m in lane.fake.messages(TRIAGE) if ActionId.CLAIM in action_ids(m.get("blocks") or [])
    ]
    assert len(prompt) == 1 and case["ref"] in block_text(prompt[0]["blocks"])
    post = review_post(lane)
    assert action_ids(post["blocks"]) == []
    decision = block_text(post["blocks"])
    assert f"Öppnat som ärende {case['ref']} av <@{STAFF}>" in decision
    assert told(lane, STAFF) == [say("sv", "review_opened_now", ref=case["ref"])]
    [entry] = lane.audit("review_opened")
    assert entry.actor == f"slack:{STAFF}"
    assert "Storgatan" not in entry.detail and "plogats" not in entry.detail


def test_a_replayed_or_second_press_changes_nothing(lane: SlackWorld) -> None:
    receive(lane, "review_no_sender.eml")
    request = press(lane, ActionId.REVIEW_OPEN)
    updates = lane.fake.count("chat.update")
    posts = lane.fake.count("chat.postMessage")

    lane.dispatch(request)  # the same signed payload again
    press(lane, ActionId.REVIEW_OPEN, user=STAFF2)  # a colleague presses too
    press(lane, ActionId.REVIEW_DISMISS, user=STAFF2)

    assert lane.case_count() == 1
    assert len(lane.audit("review_opened")) == 1 and lane.audit("review_dismissed") == []
    assert lane.fake.count("chat.update") == updates
    assert lane.fake.count("chat.postMessage") == posts
    assert lane.emails() == []  # no sender address: never acknowledged
    already = say("sv", "review_already", user=f"<@{STAFF}>")
    assert told(lane, STAFF)[-1] == already and told(lane, STAFF2) == [already, already]
    assert item(lane).decided_by == f"slack:{STAFF}"


def test_not_a_complaint_resolves_the_item_and_updates_the_post(lane: SlackWorld) -> None:
    receive(lane, "review_spam_flagged.eml")

    request = press(lane, ActionId.REVIEW_DISMISS)
    lane.dispatch(request)
    press(lane, ActionId.REVIEW_OPEN)

    assert lane.case_count() == 0 and lane.emails() == []
    q = item(lane)
    assert q.decision == "dismissed" and q.resolved_at == lane.clock()
    post = review_post(lane)
    assert action_ids(post["blocks"]) == []
    assert f"Inte ett klagomål, enligt <@{STAFF}>" in block_text(post["blocks"])
    assert len(lane.audit("review_dismissed")) == 1
    assert told(lane, STAFF)[0] == say("sv", "review_dismissed_now")


def test_someone_not_on_the_staff_list_is_refused(lane: SlackWorld) -> None:
    receive(lane, "review_no_sender.eml")

    press(lane, ActionId.REVIEW_OPEN, user=STRANGER)
    press(lane, ActionId.REVIEW_DISMISS, user=STRANGER)

    assert told(lane, STRANGER) == [say("sv", "refused")] * 2
    assert lane.case_count() == 0
    assert item(lane).resolved_at is None
    assert action_ids(review_post(lane)["blocks"]) == [
        ActionId.REVIEW_OPEN,
        ActionId.REVIEW_DISMISS,
    ]
    assert [json.loads(a.detail)["attempted"] for a in lane.audit("refused")] == [
        "review_open",
        "review_dismiss",
    ]


def test_erasing_the_sender_turns_the_review_post_into_a_stub(world: SlackWorld) -> None:
    # A spam-flagged complaint waits for review; then Karin asks to be erased. The
    # item goes, and its post in the triage channel no longer shows her words.
    from bot.actions.erasure import erase_person
    from bot.actions.privacy import Person

    [outcome] = receive(world, "review_spam_flagged.eml")
    assert outcome.review
    assert "Storgatan" in json.dumps(review_post(world))
    with session_scope(world.engine) as s:
        counts = erase_person(
            s, Person(email="karin.berg@example.se"), world.clock(), "cli:operator"
        )
    assert counts.quarantine_entries == 1
    world.flush()
    with session_scope(world.engine) as s:
        assert s.exec(select(Quarantine)).all() == []
    [post] = [m for m in world.fake.messages(TRIAGE) if "[R-" in str(m.get("text"))]
    # What people see: the text and blocks (not the ts, whose digits may hold "070").
    shown = json.dumps([post.get("text"), post.get("blocks")], ensure_ascii=False)
    assert "raderat" in shown
    for trace in ("Storgatan", "Karin", "k***@example.se", "070-765", "plogats"):
        assert trace not in shown
