"""The buttons and modals on the call-back prompt, and the whole staff flow."""

from __future__ import annotations

from handlers.slack.enums import ActionId, BlockId, CallOption
from tests.slack.conftest import (
    OMBUD,
    STAFF,
    STAFF2,
    STRANGER,
    TRIAGE,
    SlackWorld,
    action_ids,
    block_text,
)
from tests.support.slack_cases import NO_ANSWER, call_values


def open_case(
    world: SlackWorld, text: str = "Hemtjänsten kom inte i går. Ring 070-123 45 67."
) -> str:
    world.post_message(text)
    return str(world.case()["ref"])


def test_the_whole_staff_flow_updates_the_prompt_in_place(world: SlackWorld) -> None:
    # An email address, so the written confirmation can be sent at the end.
    world.command()
    world.submit(
        world.last_view(),
        {
            BlockId.PHONE: {"input": {"type": "plain_text_input", "value": "070-123 45 67"}},
            BlockId.EMAIL: {"input": {"type": "email_text_input", "value": "anna@example.se"}},
            BlockId.TEXT: {
                "input": {"type": "plain_text_input", "value": "Hemtjänsten kom inte i går."}
            },
        },
    )
    ref = world.case()["ref"]
    prompt_ts = world.prompt()["ts"]
    updates = world.fake.count("chat.update")

    # Claim: "I'll call".
    world.press(ActionId.CLAIM, ref, message_ts=prompt_ts)
    assert world.case()["assignee"] == f"slack:{STAFF}"
    assert world.case()["status"] == "claimed"
    blocks = world.prompt()["blocks"]
    assert f"Tas av <@{STAFF}>" in block_text(blocks)
    assert ActionId.CLAIM not in action_ids(blocks)
    assert world.fake.count("chat.update") == updates + 1

    # No answer: logged, the deadline keeps running, the email fallback appears.
    world.press(ActionId.LOG_CALL, ref)
    world.submit(world.last_view(), NO_ANSWER)
    case = world.case()
    assert [a["outcome"] for a in case["attempts"]] == ["no_answer"]
    assert case["first_contact_at"] is None
    blocks = world.prompt()["blocks"]
    assert "Samtalsförsök: 1" in block_text(blocks)
    assert ActionId.ASK_FOR_NUMBER in action_ids(blocks)

    # Snooze for an hour.
    world.choose(ActionId.SNOOZE, f"{ref}|60")
    assert [a.detail for a in world.audit("snoozed")] == ['{"minutes": 60}']
    assert "uppskjutet till tis 24/11 10:00" in world.ephemerals(STAFF)[-1].params["text"]

    # The call: reached, resolved through dialogue, written confirmation sent.
    world.clock.advance(hours=1)
    world.press(ActionId.LOG_CALL, ref)
    modal = world.last_view()
    assert CallOption.SEND_CONFIRMATION in str(modal["blocks"])
    world.submit(
        modal,
        call_values(
            "reached",
            note="Pratade med Anna; hon beskrev vad som hänt.",
            remedy="ursäkt",
            next_step="Ny planering av besöken",
            resolution="dialogue",
            options=(CallOption.SEND_CONFIRMATION, CallOption.HARD_CALL),
        ),
    )

    case = world.case()
    assert case["status"] == "closed"
    assert case["resolution"] == "dialogue"
    assert case["first_contact_at"] is not None
    assert case["attempts"][-1] == {
        **case["attempts"][-1],
        "outcome": "reached",
        "remedy": "ursäkt",
        "hard": True,
        "next_step": "Ny planering av besöken",
    }
    subjects = [str(m["Subject"]) for m in world.emails()]
    assert len(subjects) == 2  # the acknowledgement and the confirmation
    final = world.prompt()
    assert final["ts"] == prompt_ts  # the same message all along
    assert "är avslutat" in block_text(final["blocks"])
    assert "Kontakt ✓" in block_text(final["blocks"])
    assert "löst genom dialog" in block_text(final["blocks"])
    assert action_ids(final["blocks"]) == []  # closed: no buttons
    assert world.fake.count("chat.update") >= updates + 3
    # Every step is on the audit trail with the Slack user.
    actions = [(a["actor"], a["action"]) for a in case["audit"]]
    for action in ("claimed", "contact_logged", "snoozed", "closed", "confirmation_sent"):
        assert (f"slack:{STAFF}", action) in actions


def test_log_call_without_an_outcome_is_sent_back(world: SlackWorld) -> None:
    ref = open_case(world)
    world.press(ActionId.LOG_CALL, ref)

    response = world.submit(
        world.last_view(),
        call_values("").copy()
        | {BlockId.OUTCOME: {"input": {"type": "radio_buttons", "selected_option": None}}},
    )

    assert '"response_action": "errors"' in response.body
    assert world.case()["attempts"] == []


def test_no_confirmation_checkbox_without_an_email_address(world: SlackWorld) -> None:
    ref = open_case(world)
    world.press(ActionId.LOG_CALL, ref)
    assert CallOption.SEND_CONFIRMATION not in str(world.last_view()["blocks"])
    assert CallOption.HARD_CALL in str(world.last_view()["blocks"])


def test_escalate_asks_for_a_reason_and_alerts_the_ombudsman(world: SlackWorld) -> None:
    ref = open_case(world)
    world.press(ActionId.ESCALATE, ref, user=STAFF2)
    modal = world.last_view()
    assert modal["callback_id"] == "modal.escalate"

    empty = world.submit(
        modal, {BlockId.REASON: {"input": {"type": "plain_text_input", "value": "  "}}}, user=STAFF2
    )
    assert '"response_action": "errors"' in empty.body
    world.submit(
        modal,
        {
            BlockId.REASON: {
                "input": {
                    "type": "plain_text_input",
                    "value": "Hot om våld mot personalen <!channel>",
                }
            }
        },
        user=STAFF2,
    )

    case = world.case()
    assert case["escalated_at"] is not None
    assert case["escalations"][0]["by"] == f"slack:{STAFF2}"
    dm = world.posts(f"D{OMBUD}")
    assert len(dm) == 1
    text = block_text(dm[0].params["blocks"])
    assert "Hot om våld mot personalen &lt;!channel&gt;" in text
    assert "personalen bad om det" in text
    assert "🔺 eskalerat" in block_text(world.prompt()["blocks"])


def test_show_full_text_is_ephemeral_staff_only_and_masks_identity_numbers(
    world: SlackWorld,
) -> None:
    long_text = ("Min mamma, 19340512-1234, fick ingen hjälp. " + "Mer om det. " * 600).strip()
    ref = open_case(world, long_text)

    world.press(ActionId.SHOW_FULL_TEXT, ref)

    (shown,) = world.ephemerals(STAFF)
    assert shown.params["channel"] == TRIAGE
    text = block_text(shown.params["blocks"])
    assert "19340512-1234" not in text
    assert "[ID-nummer]" in text
    sections = [b["text"]["text"] for b in shown.params["blocks"] if b["type"] == "section"]
    assert len(sections) > 1 and all(len(t) <= 3000 for t in sections)
    assert "".join(sections).count("Mer om det.") == 600  # all of it
    assert world.audit("full_text_viewed")[0].actor == f"slack:{STAFF}"
    # Nothing was posted for everyone to see.
    assert world.fake.count("chat.postMessage") == 2  # the prompt and the thread reply


def test_ask_for_a_number_emails_the_complainant(world: SlackWorld) -> None:
    world.command()
    world.submit(
        world.last_view(),
        {
            BlockId.EMAIL: {"input": {"type": "email_text_input", "value": "cecilia@example.se"}},
            BlockId.TEXT: {"input": {"type": "plain_text_input", "value": "Klagar på skolmaten."}},
        },
    )
    blocks = world.prompt()["blocks"]
    assert ActionId.ASK_FOR_NUMBER in action_ids(blocks)  # no phone number known

    world.press(ActionId.ASK_FOR_NUMBER, world.case()["ref"])

    emails = world.emails()
    assert len(emails) == 2
    assert world.case()["ref"] in str(emails[1]["Subject"])
    assert world.audit("number_requested")[0].actor == f"slack:{STAFF}"
    assert "nummer" in world.ephemerals(STAFF)[-1].params["text"]


def test_no_email_fallback_before_a_failed_call(world: SlackWorld) -> None:
    open_case(world)
    assert ActionId.ASK_FOR_NUMBER not in action_ids(world.prompt()["blocks"])


def test_someone_not_on_the_staff_list_is_refused_every_action_and_audited(
    world: SlackWorld,
) -> None:
    ref = open_case(world)
    updates = world.fake.count("chat.update")

    world.press(ActionId.CLAIM, ref, user=STRANGER)
    world.press(ActionId.LOG_CALL, ref, user=STRANGER)
    world.press(ActionId.ESCALATE, ref, user=STRANGER)
    world.press(ActionId.SHOW_FULL_TEXT, ref, user=STRANGER)
    world.press(ActionId.ASK_FOR_NUMBER, ref, user=STRANGER)
    world.choose(ActionId.SNOOZE, f"{ref}|30", user=STRANGER)

    case = world.case()
    assert case["assignee"] is None
    assert world.fake.count("views.open") == 0
    assert world.fake.count("chat.update") == updates
    refusals = world.ephemerals(STRANGER)
    assert len(refusals) == 6
    assert all("personallistan" in c.params["text"] and "blocks" not in c.params for c in refusals)
    refused = [a for a in case["audit"] if a["action"] == "refused"]
    assert [a["detail"]["attempted"] for a in refused] == [
        "claim",
        "log_call",
        "escalate",
        "show_full_text",
        "ask_for_number",
        "snooze",
    ]
    assert {a["actor"] for a in refused} == {f"slack:{STRANGER}"}


def test_the_ombudsman_may_act_too(world: SlackWorld) -> None:
    ref = open_case(world)
    world.press(ActionId.CLAIM, ref, user=OMBUD)
    assert world.case()["assignee"] == f"slack:{OMBUD}"


def test_acting_on_a_closed_case_says_why(world: SlackWorld) -> None:
    ref = open_case(world)
    world.press(ActionId.LOG_CALL, ref)
    world.submit(world.last_view(), call_values("reached", resolution="withdrawn"))

    world.press(ActionId.CLAIM, ref, user=STAFF2)

    (said,) = world.ephemerals(STAFF2)
    assert "Det gick inte" in said.params["text"] and "closed" in said.params["text"]


def test_an_unknown_case_says_so(world: SlackWorld) -> None:
    world.press(ActionId.CLAIM, "KL-2026-999999")
    assert world.ephemerals(STAFF)[0].params["text"] == "Ärendet finns inte."


def test_a_slack_rate_limit_delays_the_prompt_but_loses_nothing(world: SlackWorld) -> None:
    world.fake.fail_next(1, status=429, retry_after=30, method="chat.postMessage")

    world.post_message("Klagomål om gatubelysningen. Ring 070-123 45 67.")

    assert world.case_count() == 1
    assert world.fake.calls("chat.postMessage")[0].status == 429
    assert [m for m in world.fake.messages(TRIAGE)] == []
    world.clock.advance(seconds=20)
    world.flush()
    assert world.fake.messages(TRIAGE) == []  # Retry-After is honoured
    world.clock.advance(seconds=15)
    world.flush()
    world.flush()
    assert world.case()["ref"] in block_text(world.prompt()["blocks"])
    assert len(world.posts(TRIAGE)) == 1
