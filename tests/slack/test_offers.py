"""Call-back offers in Slack: the offer DM's buttons, handing a case over from the prompt,
and the weekly load in App Home (for the ombudsman and managers only).

Offers are made by the real assignment sweep: nobody claims the case for an
hour of working time, and ``run_tick`` offers it to the person with the
lightest load.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.store.models import CaseOffer
from handlers.slack.enums import ActionId, BlockId
from handlers.slack.labels import say
from tests.slack.conftest import OMBUD, STAFF, STAFF2, SlackWorld, action_ids, block_text
from tests.support.slack_ui import button_value, open_home


def dm(user: str) -> str:
    return f"D{user}"


def offers(world: SlackWorld) -> list[CaseOffer]:
    with session_scope(world.engine) as s:
        return list(s.exec(select(CaseOffer).order_by(col(CaseOffer.id))).all())


def offer_dms(world: SlackWorld, user: str) -> list[dict[str, Any]]:
    """Messages in ``user``'s DM that ask them to take a case (they carry the buttons,
    or carried them until answered)."""
    return [
        m
        for m in world.fake.messages(dm(user))
        if ActionId.ACCEPT_OFFER in action_ids(m.get("blocks") or [])
        or any(b.get("block_id") == BlockId.OFFER_ANSWER for b in m.get("blocks") or [])
    ]


def tick(world: SlackWorld, **advance: float) -> None:
    world.clock.advance(**advance)
    result = run_tick(world.rt)
    assert not result.errors, result.errors


def offered_case(world: SlackWorld) -> tuple[str, CaseOffer, dict[str, Any]]:
    """A complaint nobody claims: an hour later the sweep offers it to someone.
    Returns the case reference, the offer and the offer DM."""
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    assert offers(world) == []
    tick(world, minutes=61)  # Tuesday 10:01: the claim window has passed
    (offer,) = offers(world)
    (message,) = offer_dms(world, offer.user)
    return ref, offer, message


def press_on_dm(
    world: SlackWorld,
    action_id: ActionId,
    message: dict[str, Any],
    user: str,
    *,
    as_user: str | None = None,
) -> None:
    world.press(
        action_id,
        button_value(message["blocks"], action_id),
        user=as_user or user,
        channel=dm(user),
        message_ts=message["ts"],
    )


def test_offer_dm_has_accept_and_decline_buttons_for_that_offer(world: SlackWorld) -> None:
    ref, offer, message = offered_case(world)

    assert offer.user in (STAFF, STAFF2)
    assert action_ids(message["blocks"]) == [ActionId.ACCEPT_OFFER, ActionId.DECLINE_OFFER]
    assert button_value(message["blocks"], ActionId.ACCEPT_OFFER) == str(offer.id)
    assert button_value(message["blocks"], ActionId.DECLINE_OFFER) == str(offer.id)
    text = block_text(message["blocks"])
    assert ref in text and "Jag ringer" in text and "Kan inte nu" in text


def test_accepting_claims_the_case_and_the_dm_shows_the_answer(world: SlackWorld) -> None:
    ref, offer, message = offered_case(world)

    press_on_dm(world, ActionId.ACCEPT_OFFER, message, offer.user)

    assert world.case()["assignee"] == f"slack:{offer.user}"
    assert f"<@{offer.user}>" in block_text(world.prompt()["blocks"])
    (answered,) = offer_dms(world, offer.user)
    assert action_ids(answered["blocks"]) == []
    assert "Du tog" in block_text(answered["blocks"]) and ref in block_text(answered["blocks"])
    assert offers(world)[0].outcome == "accepted"


def test_only_the_person_asked_can_answer(world: SlackWorld) -> None:
    _, offer, message = offered_case(world)
    other = STAFF2 if offer.user == STAFF else STAFF

    press_on_dm(world, ActionId.ACCEPT_OFFER, message, offer.user, as_user=other)

    assert world.case()["assignee"] is None
    assert offers(world)[0].answered_at is None
    told = [str(c.params.get("text")) for c in world.ephemerals(other)] + [
        str(c.params.get("text"))
        for c in world.fake.calls("chat.postMessage")
        if c.params.get("channel") == other
    ]
    assert told == [say("sv", "refused")]  # told, through the usual error path


def test_declining_moves_the_offer_to_the_next_person(world: SlackWorld) -> None:
    ref, offer, message = offered_case(world)
    other = STAFF2 if offer.user == STAFF else STAFF

    press_on_dm(world, ActionId.DECLINE_OFFER, message, offer.user)

    (answered,) = offer_dms(world, offer.user)
    assert action_ids(answered["blocks"]) == []
    assert "tackade nej" in block_text(answered["blocks"])
    assert world.case()["assignee"] is None
    tick(world, minutes=5)
    first, second = offers(world)
    assert (first.user, first.outcome) == (offer.user, "declined")
    assert (second.user, second.outcome) == (other, None)
    (next_dm,) = offer_dms(world, other)
    assert button_value(next_dm["blocks"], ActionId.ACCEPT_OFFER) == str(second.id)
    assert ref in block_text(next_dm["blocks"])


def test_hand_over_from_the_prompt_asks_the_colleague_who_can_accept(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.CLAIM, ref, user=STAFF)
    assert ActionId.HAND_OVER in action_ids(world.prompt()["blocks"])

    world.press(ActionId.HAND_OVER, ref, user=STAFF)
    modal = world.last_view()
    nobody = world.submit(
        modal,
        {BlockId.HAND_OVER_TO: {"input": {"type": "users_select", "selected_user": None}}},
        user=STAFF,
    )
    assert '"response_action": "errors"' in nobody.body
    world.submit(
        modal,
        {BlockId.HAND_OVER_TO: {"input": {"type": "users_select", "selected_user": STAFF2}}},
        user=STAFF,
    )

    (offer,) = offers(world)
    assert (offer.user, offer.kind, offer.by) == (STAFF2, "handover", f"slack:{STAFF}")
    assert world.case()["assignee"] == f"slack:{STAFF}"  # asked, not forced
    (message,) = offer_dms(world, STAFF2)
    assert action_ids(message["blocks"]) == [ActionId.ACCEPT_OFFER, ActionId.DECLINE_OFFER]
    assert f"<@{STAFF}>" in block_text(message["blocks"])

    press_on_dm(world, ActionId.ACCEPT_OFFER, message, STAFF2)

    assert world.case()["assignee"] == f"slack:{STAFF2}"
    assert f"<@{STAFF2}>" in block_text(world.prompt()["blocks"])
    assert any(
        f"<@{STAFF2}> tog över {ref}" in str(m.get("text")) for m in world.fake.messages(dm(STAFF))
    )


def test_weekly_load_is_shown_to_the_ombudsman_and_not_to_staff(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    world.press(ActionId.CLAIM, str(world.case()["ref"]), user=STAFF)

    ombud_home = block_text(open_home(world, OMBUD)["blocks"])
    staff_home = block_text(open_home(world, STAFF)["blocks"])

    assert "Belastning per vecka" in ombud_home
    assert "2026-W48" in ombud_home
    assert f"<@{STAFF}>: 1 återuppringningar" in ombud_home
    assert "Belastning" not in staff_home
