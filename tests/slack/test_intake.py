"""Complaints in from Slack: intake channel, thread replies, reaction, slash command."""

from __future__ import annotations

from handlers.slack.enums import BlockId
from tests.slack.conftest import (
    CITIZEN,
    INTAKE,
    STAFF,
    STRANGER,
    TRIAGE,
    SlackWorld,
    action_ids,
    block_text,
)


def test_a_message_in_an_intake_channel_opens_a_case_prompts_staff_and_answers_in_thread(
    world: SlackWorld,
) -> None:
    ts, response = world.post_message(
        "Hemtjänsten kom inte i går och min mamma fick ingen mat. Ring mig på 070-123 45 67."
    )

    assert response.status == 200
    case = world.case()
    assert case["source"] == "slack"
    assert case["complainant"] == {
        "name": "Anna Andersson",
        "email": None,
        "phone": "+46701234567",
        "representative_of": None,
    }
    assert case["language"] == "sv"
    assert case["message_ids"] == [f"{INTAKE}:{ts}"]
    # The prompt is in the triage channel, with blocks and buttons.
    prompt = world.prompt()
    text = block_text(prompt["blocks"])
    assert case["ref"] in text
    assert "<tel:+46701234567|070-123 45 67>" in text
    assert "Ring före ons 25/11 09:00" in text
    assert action_ids(prompt["blocks"])[:2] == ["case.claim", "case.log_call"]
    # The complainant gets the reference in the thread of their message.
    replies = [m for m in world.fake.messages(INTAKE) if m.get("thread_ts") == ts]
    assert len(replies) == 1
    assert case["ref"] in replies[0]["text"]


def test_the_case_is_received_when_the_message_was_posted(world: SlackWorld) -> None:
    # Posted at 08:50 Stockholm time; the event is handled at 09:00 (a Slack delay).
    ts = f"{world.clock().timestamp() - 600:.6f}"
    world.fake.add_message(INTAKE, "Jag vill klaga på parkeringen.", ts=ts)

    world.dispatch(
        world.signer.message_event(
            INTAKE, "Jag vill klaga på parkeringen.", ts=ts, event_id="EvLate"
        )
    )

    case = world.case()
    assert case["received_at"] == "2026-11-24T08:50:00+01:00"
    assert case["audit"][0]["at"] == "2026-11-24T09:00:00+01:00"


def test_a_reply_in_the_thread_joins_the_case_and_brings_a_phone_number(world: SlackWorld) -> None:
    ts, _ = world.post_message("Min pappa har inte fått sina mediciner.")
    assert world.case()["complainant"]["phone"] is None
    reply_ts, _ = world.post_message("Ni når mig på 070-765 43 21", thread_ts=ts)

    case = world.case()
    assert world.case_count() == 1
    assert case["message_ids"] == [f"{INTAKE}:{ts}", f"{INTAKE}:{reply_ts}"]
    assert case["complainant"]["phone"] == "+46707654321"
    # Staff hear about it in the prompt's thread; the prompt now has the number.
    prompt = world.prompt()
    assert "+46707654321" in block_text(prompt["blocks"])
    thread = [m for m in world.fake.messages(TRIAGE) if m.get("thread_ts") == prompt["ts"]]
    assert len(thread) == 1
    assert "har skrivit igen" in block_text(thread[0]["blocks"])


def test_bot_messages_edits_and_other_channels_open_nothing(world: SlackWorld) -> None:
    world.post_message("Ett meddelande från en bot", bot_id="B0OTHER")
    world.post_message("Ändrat", subtype="message_changed")
    world.post_message("Någon går med", subtype="channel_join")
    world.post_message("Pratar i triage", channel=TRIAGE, user=STAFF)
    world.post_message("Vårt eget svar", user="U0BOT")

    assert world.case_count() == 0
    assert world.fake.count("chat.postMessage") == 0


def test_a_retried_event_opens_one_case(world: SlackWorld) -> None:
    ts, _ = world.post_message("Klagomål om snöröjningen.", event_id="Ev42")
    request = world.signer.message_event(
        INTAKE, "Klagomål om snöröjningen.", user=CITIZEN, ts=ts, event_id="Ev42"
    )

    again = world.dispatch(
        request, headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    )

    assert again.status == 200
    assert world.case_count() == 1
    assert len(world.posts(TRIAGE)) == 1


def test_the_same_message_under_a_new_event_id_is_still_one_case(world: SlackWorld) -> None:
    ts, _ = world.post_message("Klagomål om bygglovet.")
    world.dispatch(
        world.signer.message_event(
            INTAKE, "Klagomål om bygglovet.", user=CITIZEN, ts=ts, event_id="EvOther"
        )
    )
    assert world.case_count() == 1


def test_the_intake_reaction_opens_a_case_from_any_message(world: SlackWorld) -> None:
    ts = world.fake.add_message(
        "C0GENERAL",
        "Skolskjutsen kom inte i dag, ring 070-111 22 33",
        user=CITIZEN,
        ts=world.next_ts(),
    )

    response = world.react("C0GENERAL", ts, world.cfg.chat.intake_reaction)

    assert response.status == 200
    case = world.case()
    assert case["message_ids"] == [f"C0GENERAL:{ts}"]
    assert case["complainant"]["phone"] == "+46701112233"
    assert case["audit"][0]["actor"] == f"slack:{STAFF}"
    assert any(m.get("thread_ts") == ts for m in world.fake.messages("C0GENERAL"))
    # Reacting again (or another emoji) does not open another.
    world.react("C0GENERAL", ts, world.cfg.chat.intake_reaction)
    world.react("C0GENERAL", ts, "thumbsup")
    assert world.case_count() == 1


def test_a_reaction_on_a_thread_reply_opens_a_case_from_that_reply(world: SlackWorld) -> None:
    parent = world.fake.add_message(
        "C0GENERAL", "Fråga om sophämtning", user=STAFF, ts=world.next_ts()
    )
    reply = world.fake.add_message(
        "C0GENERAL",
        "Soporna har inte hämtats på tre veckor!",
        user=CITIZEN,
        ts=world.next_ts(),
        thread_ts=parent,
    )

    world.react("C0GENERAL", reply, world.cfg.chat.intake_reaction)

    assert world.case()["message_ids"] == [f"C0GENERAL:{reply}"]


def test_a_reaction_by_someone_not_on_the_staff_list_is_refused_and_audited(
    world: SlackWorld,
) -> None:
    ts = world.fake.add_message("C0GENERAL", "Klagomål", user=CITIZEN, ts=world.next_ts())

    world.react("C0GENERAL", ts, world.cfg.chat.intake_reaction, user=STRANGER)

    assert world.case_count() == 0
    assert [a.actor for a in world.audit("refused")] == [f"slack:{STRANGER}"]
    assert [c.params["channel"] for c in world.ephemerals(STRANGER)] == ["C0GENERAL"]


def test_the_slash_command_registers_a_phone_complaint_and_acknowledges_by_email(
    world: SlackWorld,
) -> None:
    response = world.command(channel=TRIAGE)
    assert response.status == 200
    modal = world.last_view()
    assert modal["callback_id"] == "modal.register_complaint"

    world.submit(
        modal,
        {
            BlockId.SOURCE: {
                "input": {"type": "static_select", "selected_option": {"value": "phone"}}
            },
            BlockId.NAME: {"input": {"type": "plain_text_input", "value": "Bertil Berg"}},
            BlockId.PHONE: {"input": {"type": "plain_text_input", "value": "070-222 33 44"}},
            BlockId.EMAIL: {"input": {"type": "email_text_input", "value": "bertil@example.se"}},
            BlockId.TEXT: {
                "input": {
                    "type": "plain_text_input",
                    "value": "Ringde om att färdtjänsten inte kom i morse.",
                }
            },
        },
    )

    case = world.case()
    assert case["source"] == "phone"
    assert case["complainant"]["name"] == "Bertil Berg"
    assert case["complainant"]["phone"] == "+46702223344"
    assert case["complainant"]["email"] == "bertil@example.se"
    assert case["audit"][0]["actor"] == f"slack:{STAFF}"
    (ack,) = world.emails()
    assert ack["To"].addresses[0].addr_spec == "bertil@example.se"
    assert case["ref"] in str(ack["Subject"])
    assert world.case(case["ref"])["ack_sent_at"] is not None
    assert case["ref"] in block_text(world.prompt()["blocks"])
    assert any(case["ref"] in c.params["text"] for c in world.ephemerals(STAFF))


def test_the_register_modal_rejects_a_bad_phone_number_in_the_acknowledgement(
    world: SlackWorld,
) -> None:
    world.command()
    response = world.submit(
        world.last_view(),
        {
            BlockId.PHONE: {"input": {"type": "plain_text_input", "value": "inte ett nummer"}},
            BlockId.EMAIL: {"input": {"type": "email_text_input", "value": "fel@"}},
            BlockId.TEXT: {"input": {"type": "plain_text_input", "value": "Klagomål"}},
        },
    )

    assert response.status == 200
    assert '"response_action": "errors"' in response.body
    assert BlockId.EMAIL in response.body
    assert world.case_count() == 0


def test_a_registration_without_email_sends_no_email(world: SlackWorld) -> None:
    world.command()
    world.submit(
        world.last_view(),
        {
            BlockId.SOURCE: {
                "input": {"type": "static_select", "selected_option": {"value": "letter"}}
            },
            BlockId.TEXT: {
                "input": {
                    "type": "plain_text_input",
                    "value": "Brev om buller från byggarbetsplatsen.",
                }
            },
        },
    )
    assert world.case()["source"] == "letter"
    assert world.emails() == []


def test_the_slash_command_is_refused_to_others(world: SlackWorld) -> None:
    world.command(user=STRANGER)

    assert world.fake.count("views.open") == 0
    assert [a.actor for a in world.audit("refused")] == [f"slack:{STRANGER}"]
    assert len(world.ephemerals(STRANGER)) == 1
