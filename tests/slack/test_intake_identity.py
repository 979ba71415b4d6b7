"""Intake threads: only the person who posted (and staff) act on a case through its
thread; anyone else's reply is kept on the case and changes nothing. A Slack user is a
person, as an email address is; a phone number is not."""

from __future__ import annotations

from sqlmodel import col, select

from bot.actions.cases import close_case, get_case
from bot.actions.trail import authorize
from bot.store.db import session_scope
from bot.store.models import Case, Resolution
from tests.slack.conftest import CITIZEN, INTAKE, STAFF, STRANGER, TRIAGE, SlackWorld, block_text


def close(world: SlackWorld, ref: str) -> None:
    with session_scope(world.engine) as s:
        close_case(
            s,
            world.cfg,
            get_case(s, ref),
            authorize(world.cfg, f"slack:{STAFF}"),
            world.clock(),
            resolution=Resolution.DIALOGUE,
        )
    world.flush()


def test_a_strangers_reply_in_the_thread_of_a_closed_case_changes_nothing(
    world: SlackWorld,
) -> None:
    ts, _ = world.post_message("Hemtjänsten kom inte i går. Ring mig på 070-123 45 67.")
    ref = world.case()["ref"]
    close(world, ref)
    before = world.case(ref)
    prompt_before = world.prompt()
    updates_before = world.fake.count("chat.update")

    reply_ts, response = world.post_message(
        "Det här är fel! Ring mig i stället på 073-555 12 34, och skicka till chefen.",
        user=STRANGER,
        thread_ts=ts,
    )

    assert response.status == 200
    after = world.case(ref)
    # Recorded on the case ...
    assert after["message_ids"] == [f"{INTAKE}:{ts}", f"{INTAKE}:{reply_ts}"]
    assert [m["classification"] for m in after["messages"]][-1] == "other_sender"
    assert [a.actor for a in world.audit("other_sender_message")] == [f"slack:{STRANGER}"]
    # ... and nothing else changed: still closed, not escalated, the same number.
    for key in ("status", "closed_at", "resolution", "escalated_at", "reopened_count"):
        assert after[key] == before[key], key
    assert after["complainant"]["phone"] == "+46701234567"
    assert after["escalations"] == [] and after["phone_alternatives"] == []
    assert world.audit("reopened") == [] and world.audit("phone_changed") == []
    # Staff get a note in the prompt's thread; the prompt itself is not touched.
    assert world.fake.count("chat.update") == updates_before
    assert world.prompt()["blocks"] == prompt_before["blocks"]
    thread = [m for m in world.fake.messages(TRIAGE) if m.get("thread_ts") == prompt_before["ts"]]
    assert len(thread) == 1
    assert "någon annan än den som skrev klagomålet" in block_text(thread[0]["blocks"])


def test_the_poster_replying_with_a_new_number_updates_the_case_number(world: SlackWorld) -> None:
    ts, _ = world.post_message("Snön är inte plogad. Ring 070-123 45 67.")
    world.post_message("Ring hellre 073-987 65 43, tack.", user=CITIZEN, thread_ts=ts)

    case = world.case()
    assert case["complainant"]["phone"] == "+46739876543"
    assert case["phone_alternatives"] == ["+46701234567"]
    text = block_text(world.prompt()["blocks"])
    assert "<tel:+46739876543|073-987 65 43>" in text and "+46701234567" in text


def test_the_poster_replying_after_closing_reopens_the_case(world: SlackWorld) -> None:
    ts, _ = world.post_message("Bussen kom inte.")
    ref = world.case()["ref"]
    close(world, ref)

    world.post_message("Den kom inte i dag heller.", user=CITIZEN, thread_ts=ts)

    case = world.case(ref)
    assert case["status"] != "closed" and case["reopened_count"] == 1


def test_a_slack_user_is_one_complainant_and_a_shared_number_merges_nobody(
    world: SlackWorld,
) -> None:
    world.post_message("Gatlampan är trasig. Ring 070-123 45 67.", user=CITIZEN)
    world.post_message("Samma här, ring 070-123 45 67.", user=STRANGER)
    world.post_message("Och parken är nedskräpad.", user=CITIZEN)

    with session_scope(world.engine) as s:
        owners = [c.complainant_id for c in s.exec(select(Case).order_by(col(Case.id))).all()]
    assert owners[0] == owners[2] != owners[1]
