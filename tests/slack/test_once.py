"""Every Slack action acts once per payload, however often the signed request is replayed
within Slack's five-minute window; "ask for a number" at most once per case per working
day; a claim never silently takes a case from someone else.

Replays are the same signed bytes dispatched again into the real Bolt app, which
verifies the signature each time (as an attacker with a captured request would send it).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import pytest
from sqlmodel import col, select

from bot.actions.cases import EscalationReason, escalate, get_case
from bot.actions.trail import authorize
from bot.store.db import session_scope
from bot.store.models import ActionPlan, Case, CaseOffer, Complainant, Escalation, Message
from handlers.slack.enums import ActionId, BlockId
from handlers.slack.once import Replayed, acting_once, payload_key
from tests.slack.conftest import OMBUD, STAFF, STAFF2, TRIAGE, SlackWorld, action_ids
from tests.support.slack_cases import (
    NO_ANSWER,
    call_values,
    escalated_case,
    plan_values,
    press_on_alert,
)
from tests.support.slack_signing import SignedRequest


def ombud_dms(world: SlackWorld) -> list[dict[str, Any]]:
    return world.fake.messages(f"D{OMBUD}")


def escalations(world: SlackWorld) -> list[Escalation]:
    with session_scope(world.engine) as s:
        return list(s.exec(select(Escalation)).all())


def submission(world: SlackWorld, values: dict[str, Any], user: str = STAFF) -> SignedRequest:
    """The signed submission of the modal the app opened last."""
    view = world.last_view()
    return world.signer.view_submission(
        view["callback_id"],
        values,
        private_metadata=view.get("private_metadata", ""),
        user=user,
        view_id=view["id"],
    )


def press_request(
    world: SlackWorld, action_id: ActionId, value: str, user: str = STAFF
) -> SignedRequest:
    return world.signer.block_actions(action_id, value, user=user, channel=TRIAGE)


def body_of(request: SignedRequest) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(parse_qs(request.body)["payload"][0])
    return payload


def newest_ref(world: SlackWorld) -> str:
    with session_scope(world.engine) as s:
        return str(s.exec(select(Case.ref).order_by(col(Case.id).desc())).first())


def registered(
    world: SlackWorld, email: str = "anna@example.se", text: str = "Hemtjänsten kom inte i går."
) -> str:
    """A complaint taken by phone and registered with the slash command's form."""
    world.command()
    world.dispatch(
        submission(
            world,
            {
                BlockId.EMAIL: {"input": {"type": "email_text_input", "value": email}},
                BlockId.TEXT: {"input": {"type": "plain_text_input", "value": text}},
            },
        )
    )
    return newest_ref(world)


def number_requests(world: SlackWorld) -> list[Any]:
    return [m for m in world.emails() if ".number_request.KL-" in str(m["Message-ID"])]


def acks(world: SlackWorld) -> list[Any]:
    return [m for m in world.emails() if ".ack.KL-" in str(m["Message-ID"])]


def ephemeral_texts(world: SlackWorld, user: str = STAFF) -> list[str]:
    return [str(c.params.get("text")) for c in world.ephemerals(user)]


# --- the payload key --------------------------------------------------------------------


def test_the_payload_key_tells_presses_apart_and_replays_together(world: SlackWorld) -> None:
    first = body_of(press_request(world, ActionId.CLAIM, "KL-2026-000001"))
    again = json.loads(json.dumps(first))
    other_press = json.loads(json.dumps(first))
    other_press["actions"][0]["action_ts"] = "1999999999.000001"
    other_user = json.loads(json.dumps(first))
    other_user["user"]["id"] = STAFF2
    assert payload_key(first) == payload_key(again)
    assert len({payload_key(first), payload_key(other_press), payload_key(other_user)}) == 3
    view = body_of(world.signer.view_submission("modal.escalate", {}, view_id="V1"))
    updated = json.loads(json.dumps(view))
    updated["view"]["hash"] = "h2"
    assert payload_key(view) != payload_key(updated)
    assert payload_key({"type": "view_submission", "view": {}}) is None
    assert str(payload_key(first)).startswith("slack-action:")
    assert len(str(payload_key(view))) <= 128  # fits processed_event.event_id


# --- modals -----------------------------------------------------------------------------


def test_a_replayed_escalation_escalates_once_and_alerts_the_ombudsman_once(
    world: SlackWorld,
) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.ESCALATE, ref)
    request = submission(
        world,
        {BlockId.REASON: {"input": {"type": "plain_text_input", "value": "Hot mot personal"}}},
    )

    for _ in range(3):
        response = world.dispatch(request)
        assert response.status == 200  # Bolt verified the signature each time
    world.flush()

    assert len(escalations(world)) == 1
    assert len(ombud_dms(world)) == 1
    assert [a["action"] for a in world.case()["audit"]].count("escalated") == 1
    told = [t for t in ephemeral_texts(world) if "eskalerat" in t]
    assert len(told) == 1  # the replays are acknowledged quietly
    assert not [t for t in ephemeral_texts(world) if "Det gick inte" in t]


def test_a_replay_after_the_action_died_mid_transaction_acts_once(world: SlackWorld) -> None:
    """The payload's key is written in the action's own transaction: when the process
    dies before commit, neither is kept, and the replay does the work (once)."""
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.ESCALATE, ref)
    request = submission(
        world,
        {BlockId.REASON: {"input": {"type": "plain_text_input", "value": "Hot mot personal"}}},
    )
    with pytest.raises(RuntimeError), acting_once(world.rt, body_of(request)) as s:
        escalate(
            s,
            world.cfg,
            get_case(s, ref),
            authorize(world.cfg, f"slack:{STAFF}"),
            world.clock(),
            reason=EscalationReason.STAFF,
            note="x",
        )
        raise RuntimeError("killed before commit")
    assert escalations(world) == []

    world.dispatch(request)
    world.dispatch(request)
    world.flush()

    assert len(escalations(world)) == 1
    assert len(ombud_dms(world)) == 1
    with pytest.raises(Replayed), acting_once(world.rt, body_of(request)):
        pass


def test_a_replayed_log_call_and_close_logs_one_call_and_closes_without_an_error(
    world: SlackWorld,
) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.LOG_CALL, ref)
    no_answer = submission(world, NO_ANSWER)
    world.dispatch(no_answer)
    world.dispatch(no_answer)
    world.press(ActionId.LOG_CALL, ref)
    reached = submission(world, call_values("reached", note="Pratade", resolution="dialogue"))
    world.dispatch(reached)
    world.dispatch(reached)

    case = world.case()
    assert [a["outcome"] for a in case["attempts"]] == ["no_answer", "reached"]
    assert [a["action"] for a in case["audit"]].count("closed") == 1
    assert case["status"] == "closed"
    # The replayed close does not tell anyone "the case is closed".
    assert [t for t in ephemeral_texts(world) if "Det gick inte" in t] == []
    assert world.posts(STAFF) == []


def test_a_replayed_action_plan_request_records_one_plan_and_one_dm(world: SlackWorld) -> None:
    _, message = escalated_case(world)
    press_on_alert(world, ActionId.ASK_FOR_ACTION_PLAN, message)
    request = submission(world, plan_values(), user=OMBUD)

    world.dispatch(request)
    world.dispatch(request)

    with session_scope(world.engine) as s:
        assert len(s.exec(select(ActionPlan)).all()) == 1
    assert len(world.posts(f"D{STAFF2}")) == 1


def test_replayed_hand_over_and_offer_answers_act_once(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.CLAIM, ref)
    world.press(ActionId.HAND_OVER, ref)
    hand_over = submission(
        world, {BlockId.HAND_OVER_TO: {"input": {"type": "users_select", "selected_user": STAFF2}}}
    )
    world.dispatch(hand_over)
    world.dispatch(hand_over)
    with session_scope(world.engine) as s:
        (offer,) = s.exec(select(CaseOffer)).all()
    accept = world.signer.block_actions(
        ActionId.ACCEPT_OFFER, str(offer.id), user=STAFF2, channel=f"D{STAFF2}"
    )

    world.dispatch(accept)
    world.dispatch(accept)

    assert world.case()["assignee"] == f"slack:{STAFF2}"
    assert len(world.audit("offer_accepted")) == 1
    # No "this offer was already answered" for the replay.
    assert [t for t in ephemeral_texts(world, STAFF2) if "Det gick inte" in t] == []


# --- buttons ----------------------------------------------------------------------------


def test_replayed_button_presses_act_once(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    claim = press_request(world, ActionId.CLAIM, ref)
    snooze = world.signer.interactive(
        {
            **body_of(press_request(world, ActionId.SNOOZE, "")),
            "actions": [
                {
                    "type": "static_select",
                    "action_id": ActionId.SNOOZE,
                    "block_id": "b1",
                    "selected_option": {"value": f"{ref}|30"},
                    "action_ts": "1700000000.000300",
                }
            ],
        }
    )
    full_text = press_request(world, ActionId.SHOW_FULL_TEXT, ref)

    for request in (claim, snooze, full_text):
        world.dispatch(request)
        world.dispatch(request)

    assert len(world.audit("claimed")) == 1
    assert len(world.audit("snoozed")) == 1
    assert len(world.audit("full_text_viewed")) == 1
    texts = ephemeral_texts(world)
    assert len([t for t in texts if "uppskjutet" in t]) == 1
    assert len([t for t in texts if "Hela texten" in t]) == 1


def test_a_replayed_press_that_was_refused_is_refused_once(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.LOG_CALL, ref)
    world.dispatch(submission(world, call_values("reached", resolution="dialogue")))
    snooze_on_closed = world.signer.interactive(
        {
            **body_of(press_request(world, ActionId.SNOOZE, "")),
            "actions": [
                {
                    "type": "static_select",
                    "action_id": ActionId.SNOOZE,
                    "block_id": "b1",
                    "selected_option": {"value": f"{ref}|30"},
                    "action_ts": "1700000000.000400",
                }
            ],
        }
    )

    world.dispatch(snooze_on_closed)
    world.dispatch(snooze_on_closed)

    assert len([t for t in ephemeral_texts(world) if "Det gick inte" in t]) == 1


# --- ask for a number -------------------------------------------------------------------


def test_ask_for_a_number_twice_sends_one_email_and_says_why_not_the_second_time(
    world: SlackWorld,
) -> None:
    ref = registered(world)
    world.press(ActionId.ASK_FOR_NUMBER, ref)
    world.press(ActionId.ASK_FOR_NUMBER, ref, user=STAFF2)
    world.press(ActionId.ASK_FOR_NUMBER, ref)
    world.flush()

    assert len(number_requests(world)) == 1
    assert any("får ett e-postmeddelande" in t for t in ephemeral_texts(world))
    assert any("redan fått en fråga om nummer i dag" in t for t in ephemeral_texts(world, STAFF2))
    assert len(world.audit("number_requested")) == 1
    assert [a.detail for a in world.audit("number_request_skipped")] == [
        '{"reason": "already_today"}'
    ] * 2

    # The next working day (Wednesday) it may be asked again.
    world.clock.advance(days=1)
    world.press(ActionId.ASK_FOR_NUMBER, ref)
    world.flush()
    assert len(number_requests(world)) == 2


def test_ask_for_a_number_on_friday_evening_and_saturday_counts_once(world: SlackWorld) -> None:
    ref = registered(world)
    world.clock.advance(days=3, hours=10)  # Friday 19:00: still Friday's working day
    world.press(ActionId.ASK_FOR_NUMBER, ref)
    world.clock.advance(hours=15)  # Saturday 10:00: counts towards Monday
    world.press(ActionId.ASK_FOR_NUMBER, ref)
    world.clock.advance(days=2)  # Monday 10:00: Monday's request was made on Saturday
    world.press(ActionId.ASK_FOR_NUMBER, ref)
    world.flush()

    assert len(number_requests(world)) == 2


def test_two_staff_asking_for_a_number_at_the_same_moment_send_one_email(world: SlackWorld) -> None:
    ref = registered(world)
    requests = [press_request(world, ActionId.ASK_FOR_NUMBER, ref, user=u) for u in (STAFF, STAFF2)]
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def press(request: SignedRequest) -> Callable[[], None]:
        def run() -> None:
            try:
                start.wait()
                world.dispatch(request)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        return run

    threads = [threading.Thread(target=press(r)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    world.flush()

    assert errors == []
    assert len(number_requests(world)) == 1
    told = ephemeral_texts(world, STAFF) + ephemeral_texts(world, STAFF2)
    assert len([t for t in told if "får ett e-postmeddelande" in t]) == 1
    assert len([t for t in told if "redan fått en fråga" in t]) == 1


def test_no_number_request_on_a_closed_case_nor_without_a_working_address(
    world: SlackWorld,
) -> None:
    closed = registered(world, email="anna@example.se")
    world.press(ActionId.LOG_CALL, closed)
    world.dispatch(submission(world, call_values("reached", resolution="dialogue")))
    world.press(ActionId.ASK_FOR_NUMBER, closed)

    world.post_message("Min pappa har inte fått sina mediciner.")  # Slack: no email address
    no_email = newest_ref(world)
    world.press(ActionId.ASK_FOR_NUMBER, no_email)

    bounced = registered(world, email="per@example.se", text="Parkeringen är stängd.")
    with session_scope(world.engine) as s:
        person = s.exec(select(Complainant).where(Complainant.email == "per@example.se")).one()
        person.email_bounced_at = world.clock()
    world.press(ActionId.ASK_FOR_NUMBER, bounced)
    world.flush()

    assert number_requests(world) == []
    texts = ephemeral_texts(world)
    assert any(f"{closed} är avslutat. Inget e-postmeddelande skickades." in t for t in texts)
    assert any(f"{no_email}: ingen e-postadress" in t for t in texts)
    assert any(f"{bounced}: e-post till den klagande studsar" in t for t in texts)
    reasons = [json.loads(a.detail)["reason"] for a in world.audit("number_request_skipped")]
    assert reasons == ["closed", "no_email", "bounced"]


# --- claim ------------------------------------------------------------------------------


def test_a_claim_on_a_claimed_case_names_the_owner_and_takes_over_only_when_asked(
    world: SlackWorld,
) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.CLAIM, ref)

    world.press(ActionId.CLAIM, ref, user=STAFF2)

    assert world.case()["assignee"] == f"slack:{STAFF}"
    (told,) = world.ephemerals(STAFF2)
    assert f"{ref} har redan tagits av <@{STAFF}>" in told.params["text"]
    assert action_ids(told.params["blocks"]) == [ActionId.TAKE_OVER_CLAIM]
    assert len(world.audit("claimed")) == 1

    take_over = press_request(world, ActionId.TAKE_OVER_CLAIM, ref, user=STAFF2)
    world.dispatch(take_over)
    world.dispatch(take_over)  # a replay does not take it (or tell anyone) twice
    world.flush()

    case = world.case()
    assert case["assignee"] == f"slack:{STAFF2}"
    claims = [a for a in case["audit"] if a["action"] == "claimed"]
    assert [(a["actor"], a["detail"]) for a in claims] == [
        (f"slack:{STAFF}", {}),
        (f"slack:{STAFF2}", {"taken_over_from": f"slack:{STAFF}"}),
    ]
    (dm,) = world.fake.messages(f"D{STAFF}")
    assert f"<@{STAFF2}> har tagit över {ref} från dig" in dm["text"]
    assert f"<@{STAFF2}>" in json.dumps(world.prompt()["blocks"])
    assert len([t for t in ephemeral_texts(world, STAFF2) if "tagit över" in t]) == 1


def test_two_claims_at_the_same_moment_give_the_case_to_one(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    requests = [press_request(world, ActionId.CLAIM, ref, user=u) for u in (STAFF, STAFF2)]
    start = threading.Barrier(2)

    def run(request: SignedRequest) -> None:
        start.wait()
        world.dispatch(request)

    threads = [threading.Thread(target=run, args=(r,)) for r in requests]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assignee = world.case()["assignee"]
    assert assignee in (f"slack:{STAFF}", f"slack:{STAFF2}")
    loser = STAFF2 if assignee == f"slack:{STAFF}" else STAFF
    assert len(world.audit("claimed")) == 1
    assert any("har redan tagits av" in t for t in ephemeral_texts(world, loser))


# --- the register form ------------------------------------------------------------------


def test_the_register_form_acknowledges_only_whom_can_acknowledge_allows(world: SlackWorld) -> None:
    for address in ("noreply@example.se", "postmaster@example.se", "synpunkter+test@example.org"):
        registered(world, email=address)
    world.flush()
    assert acks(world) == []
    reasons = [json.loads(a.detail)["reason"] for a in world.audit("ack_skipped")]
    assert reasons == ["no-reply sender", "no-reply sender", "sender is one of our own addresses"]

    registered(world, email="anna@example.se")
    registered(world, email="anna@example.se", text="Och maten var kall.")  # within the window
    world.flush()
    assert [str(m["To"]) for m in acks(world)] == ["anna@example.se"]

    with session_scope(world.engine) as s:
        person = s.exec(select(Complainant).where(Complainant.email == "anna@example.se")).one()
        person.email_bounced_at = world.clock()
    world.clock.advance(days=2)
    registered(world, email="anna@example.se", text="Ingen har ringt.")
    world.flush()
    assert len(acks(world)) == 1
    assert (
        json.loads(world.audit("ack_skipped")[-1].detail)["reason"]
        == "mail to this sender bounced recently"
    )


def test_a_replayed_register_submission_opens_one_case_with_one_ack(world: SlackWorld) -> None:
    world.command()
    request = submission(
        world,
        {
            BlockId.EMAIL: {"input": {"type": "email_text_input", "value": "anna@example.se"}},
            BlockId.TEXT: {"input": {"type": "plain_text_input", "value": "Maten var kall."}},
        },
    )

    for _ in range(3):
        world.dispatch(request)
    world.flush()

    assert world.case_count() == 1
    assert len(acks(world)) == 1
    assert len([t for t in ephemeral_texts(world) if "är registrerat" in t]) == 1


# --- intake: photos and files -----------------------------------------------------------


def test_a_photo_posted_in_the_intake_channel_opens_a_case(world: SlackWorld) -> None:
    files = [
        {
            "id": "F0PHOTO",
            "name": "trasig_ramp.jpg",
            "title": "trasig_ramp.jpg",
            "mimetype": "image/jpeg",
            "size": 123456,
        },
        {"id": "F0PDF", "name": "beslut.pdf", "mimetype": "application/pdf", "size": 999},
    ]
    ts, response = world.post_message("", subtype="file_share", files=files, upload=False)

    assert response.status == 200
    case = world.case()
    assert case["source"] == "slack"
    assert "trasig_ramp.jpg" in case["summary"] and "beslut.pdf" in case["summary"]
    with session_scope(world.engine) as s:
        (message,) = s.exec(select(Message)).all()
        assert json.loads(message.attachments) == [
            {"filename": "trasig_ramp.jpg", "content_type": "image/jpeg", "size": 123456},
            {"filename": "beslut.pdf", "content_type": "application/pdf", "size": 999},
        ]
    assert world.fake.count("files.info") == 0  # nothing is downloaded
    assert case["ref"] in json.dumps(world.prompt()["blocks"])
    replies = [m for m in world.fake.messages("C0INTAKE") if m.get("thread_ts") == ts]
    assert len(replies) == 1 and case["ref"] in replies[0]["text"]


def test_a_photo_with_a_caption_keeps_the_caption_and_notes_the_file(world: SlackWorld) -> None:
    world.post_message(
        "Hemtjänsten kom inte i går och rampen är trasig. Ring mig på 070-123 45 67",
        subtype="file_share",
        files=[{"id": "F1", "name": "ramp.png", "mimetype": "image/png"}],
    )

    case = world.case()
    assert case["complainant"]["phone"] == "+46701234567"
    assert case["subject"].startswith("Hemtjänsten kom inte i går")
    assert "ramp.png" in case["summary"]


def test_an_empty_post_without_files_is_still_not_a_complaint(world: SlackWorld) -> None:
    world.post_message("", subtype="file_share", files=[])
    world.post_message("   ")
    assert world.case_count() == 0
