"""The ombudsman's escalation alert: take over, ask the manager for an action plan,
acknowledge; and the open action plans in the ombudsman's App Home.

The alert is posted by a real escalation: the first-contact deadline passes and
``tick`` (``run_tick``) escalates the case and DMs the ombudsman.
"""

from __future__ import annotations

from typing import Any

from handlers.slack.enums import ActionId, BlockId
from tests.slack.conftest import OMBUD, STAFF, STAFF2, SlackWorld, action_ids, block_text
from tests.support import slack_ui
from tests.support.slack_cases import (
    alert,
    escalated_case,
    escalation,
    plan_values,
    plans,
    press_on_alert,
)
from tests.support.slack_ui import button_value


def open_home(world: SlackWorld, user: str = OMBUD) -> dict[str, Any]:
    return slack_ui.open_home(world, user)


def test_the_deadline_alert_reaches_the_ombudsman_with_their_buttons(world: SlackWorld) -> None:
    ref, message = escalated_case(world)

    text = block_text(message["blocks"])
    assert ref in text and "tidsfristen för första kontakt har passerat" in text
    ids = action_ids(message["blocks"])
    for action_id in (
        ActionId.TAKE_OVER,
        ActionId.ASK_FOR_ACTION_PLAN,
        ActionId.ACKNOWLEDGE_ESCALATION,
    ):
        assert action_id in ids
        # Each button names the case and the escalation it is about.
        assert button_value(message["blocks"], action_id) == f"{ref}|{escalation(world).id}"


def test_take_over_makes_the_ombudsman_the_assignee(world: SlackWorld) -> None:
    _, message = escalated_case(world)

    press_on_alert(world, ActionId.TAKE_OVER, message)

    case = world.case()
    assert case["assignee"] == f"slack:{OMBUD}" and case["status"] == "claimed"
    taken = world.audit("taken_over")
    assert [a.actor for a in taken] == [f"slack:{OMBUD}"]
    assert f"Tas av <@{OMBUD}>" in block_text(world.prompt()["blocks"])  # staff see it
    assert f"Tas av <@{OMBUD}>" in block_text(alert(world)["blocks"])  # the alert too
    assert "Du har tagit över" in world.ephemerals(OMBUD)[-1].params["text"]


def test_acknowledge_records_it_once_and_the_alert_shows_who(world: SlackWorld) -> None:
    _, message = escalated_case(world)
    acknowledged_at = world.clock()

    press_on_alert(world, ActionId.ACKNOWLEDGE_ESCALATION, message)

    assert escalation(world).acknowledged_at == acknowledged_at
    updated = alert(world)
    assert updated["ts"] == message["ts"]  # the same message, updated in place
    assert f"Kvitterat av <@{OMBUD}> fre 27/11 09:00" in block_text(updated["blocks"])
    assert ActionId.ACKNOWLEDGE_ESCALATION not in action_ids(updated["blocks"])
    assert ActionId.TAKE_OVER in action_ids(updated["blocks"])

    world.clock.advance(hours=1)
    press_on_alert(world, ActionId.ACKNOWLEDGE_ESCALATION, message)  # the old copy, again
    assert escalation(world).acknowledged_at == acknowledged_at
    assert [a.actor for a in world.audit("escalation_acknowledged")] == [f"slack:{OMBUD}"]
    assert "fre 27/11 09:00" in block_text(alert(world)["blocks"])


def test_asking_for_an_action_plan_records_it_and_tells_the_manager(world: SlackWorld) -> None:
    ref, message = escalated_case(world)

    press_on_alert(world, ActionId.ASK_FOR_ACTION_PLAN, message)
    modal = world.last_view()
    assert modal["callback_id"] == "modal.action_plan"
    elements = {b["block_id"]: b["element"]["type"] for b in modal["blocks"]}
    assert elements == {
        BlockId.PLAN_OWNER: "users_select",
        BlockId.PLAN_STEPS: "plain_text_input",
        BlockId.PLAN_DUE: "datepicker",
    }
    world.submit(modal, plan_values(steps="Ny planering <!channel> av besöken"), user=OMBUD)

    (plan,) = plans(world)
    assert plan.owner == f"slack:{STAFF2}"
    assert plan.steps == "Ny planering <!channel> av besöken"
    assert plan.due_at.astimezone(world.cfg.policy.tz).date().isoformat() == "2026-12-08"
    assert [a.actor for a in world.audit("action_plan_added")] == [f"slack:{OMBUD}"]
    # The manager gets a DM with the case reference and the due date; typed text is inert.
    (dm,) = world.posts(f"D{STAFF2}")
    text = dm.params["text"]
    assert ref in text and "tis 08/12" in text and f"<@{OMBUD}>" in text
    assert "&lt;!channel&gt;" in text and "<!channel>" not in text
    assert "tis 08/12" in world.ephemerals(OMBUD)[-1].params["text"]


def test_an_action_plan_needs_an_owner_steps_and_a_date_from_today(world: SlackWorld) -> None:
    _, message = escalated_case(world)
    press_on_alert(world, ActionId.ASK_FOR_ACTION_PLAN, message)

    response = world.submit(
        world.last_view(), plan_values(owner=None, steps=" ", due="2026-11-26"), user=OMBUD
    )

    assert '"response_action": "errors"' in response.body
    for block_id in (BlockId.PLAN_OWNER, BlockId.PLAN_STEPS, BlockId.PLAN_DUE):
        assert block_id in response.body
    assert plans(world) == []
    assert world.posts(f"D{STAFF2}") == []


def test_staff_may_not_use_the_ombudsmans_buttons(world: SlackWorld) -> None:
    ref, message = escalated_case(world)
    updates = world.fake.count("chat.update")

    for action_id in (
        ActionId.TAKE_OVER,
        ActionId.ASK_FOR_ACTION_PLAN,
        ActionId.ACKNOWLEDGE_ESCALATION,
    ):
        press_on_alert(world, action_id, message, user=STAFF)
    # A forged submission of the modal is refused as well.
    world.dispatch(
        world.signer.view_submission(
            "modal.action_plan", plan_values(), private_metadata=f'{{"ref": "{ref}"}}', user=STAFF
        )
    )

    case = world.case()
    assert case["assignee"] is None
    assert escalation(world).acknowledged_at is None
    assert plans(world) == []
    assert world.fake.count("views.open") == 0
    assert world.fake.count("chat.update") == updates
    # Told privately: ephemeral where they pressed; a modal has no channel, so by DM.
    refusals = [*world.ephemerals(STAFF), *world.posts(STAFF)]
    assert len(refusals) == 4
    assert all("Bara klagomålsombudet" in c.params["text"] for c in refusals)
    refused = [a for a in case["audit"] if a["action"] == "refused"]
    assert [a["detail"]["attempted"] for a in refused] == [
        "take_over",
        "ask_for_action_plan",
        "acknowledge_escalation",
        "ask_for_action_plan",
    ]
    assert {a["actor"] for a in refused} == {f"slack:{STAFF}"}


def test_the_ombudsman_follows_up_action_plans_in_app_home(world: SlackWorld) -> None:
    ref, message = escalated_case(world)
    press_on_alert(world, ActionId.ASK_FOR_ACTION_PLAN, message)
    world.submit(world.last_view(), plan_values(due="2026-12-08"), user=OMBUD)

    home = block_text(open_home(world)["blocks"])
    _, plans_part = home.split("Öppna åtgärdsplaner")
    plans_part, _ = plans_part.split("Försenade ärenden")
    assert f"*{ref}* · ansvarig <@{STAFF2}> · senast tis 08/12" in plans_part
    assert "försenad" not in plans_part
    assert "Öppna åtgärdsplaner" not in block_text(open_home(world, STAFF)["blocks"])

    world.clock.advance(days=12)  # Wednesday 9 December: the plan is overdue
    view = open_home(world)
    assert "senast tis 08/12 · ⏰ försenad" in block_text(view["blocks"])

    # Staff may not mark the follow-up done.
    world.dispatch(
        world.signer.block_actions(
            ActionId.FOLLOW_UP_DONE, ref, user=STAFF, view=open_home(world, STAFF)
        )
    )
    assert plans(world)[0].done_at is None
    world.dispatch(world.signer.block_actions(ActionId.FOLLOW_UP_DONE, ref, user=OMBUD, view=view))

    (plan,) = plans(world)
    assert plan.done_at == world.clock()
    assert [a.actor for a in world.audit("action_plan_done")] == [f"slack:{OMBUD}"]
    republished = block_text(world.fake.views()[f"VHOME{OMBUD}"]["blocks"])
    assert "Öppna åtgärdsplaner" in republished and ref + "* · ansvarig" not in republished
