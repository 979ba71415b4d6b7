"""The ombudsman's buttons and the review lane's, pressed in Teams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlmodel import select

from bot.store.db import session_scope
from bot.store.models import ActionPlan, Audit
from handlers.slack.enums import ActionId, BlockId
from tests.support.fake_teams import card_actions, card_text
from tests.support.review_step import review_step  # noqa: F401 - a fixture
from tests.support.teams_auth import activity
from tests.teams.conftest import OMBUD, STAFF, STAFF2_AAD, STAFF_AAD, TRIAGE, TeamsWorld

NO_SENDER = (
    Path(__file__).parent.parent / "fixtures" / "eml" / "review_no_sender.eml"
).read_bytes()


def action(card: dict[str, Any], action_id: str) -> dict[str, Any]:
    return next(a for a in card_actions(card) if a["cb_action"] == action_id)


def escalate(world: TeamsWorld) -> str:
    """Staff escalate the case through the dialog; the ombudsman gets an alert."""
    ref = world.complaint_by_mail()
    fetched = world.send(world.invoke("task/fetch", world.button(ActionId.ESCALATE))).json()
    form = fetched["task"]["value"]["card"]["content"]
    submit = next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"]
    answer = world.send(world.invoke("task/submit", {**submit, "escalate.reason": "Hot om våld"}))
    assert answer.json()["task"]["type"] == "message"  # "escalated", in the dialog
    return ref


def test_the_ombudsman_takes_over_from_the_alert(world: TeamsWorld) -> None:
    ref = escalate(world)
    assert world.bot.case(ref)["escalated_at"] is not None
    alert = next(a for a in world.dms(OMBUD) if card_actions(a))
    take_over = action(alert, ActionId.TAKE_OVER)

    conversation = world.fake.direct_conversation(OMBUD)
    assert conversation is not None
    press = activity(conversation=conversation, user=OMBUD, value=take_over, reply_to=alert["id"])
    assert world.send(press).status_code == 200

    case = world.bot.case(ref)
    assert case["status"] == "claimed"
    assert world.rt.cfg.chat.ombudsman_users == (OMBUD,)  # listed by Teams user id


def test_staff_may_not_press_the_ombudsmans_buttons(world: TeamsWorld) -> None:
    ref = escalate(world)
    alert = next(a for a in world.dms(OMBUD) if card_actions(a))
    press = world.press_activity(action(alert, ActionId.TAKE_OVER))
    assert world.send(press).status_code == 200
    assert world.bot.case(ref)["status"] != "claimed"
    (told,) = world.dms(STAFF)
    assert "Bara klagomålsombudet" in card_text(told)


def test_open_as_case_from_the_review_lane(world: TeamsWorld, review_step: None) -> None:  # noqa: F811
    world.bot.deliver(NO_SENDER)
    world.bot.run_once()
    (post,) = world.fake.top_level(TRIAGE)
    assert world.bot.cases() == []

    press = activity(
        conversation=TRIAGE,
        user=STAFF,
        aad=world.rt.cfg.chat.staff_users[0],
        value=action(post, ActionId.REVIEW_OPEN),
        reply_to=post["id"],
    )
    assert world.send(press).status_code == 200
    assert world.send(press).status_code == 200  # a retry is told who decided, opens nothing
    (case,) = world.bot.cases()
    assert len(world.fake.top_level(TRIAGE)) == 2  # the review post and the new prompt
    assert case["status"] in ("new", "acknowledged")


def test_acknowledging_the_alert_updates_that_card_in_place(world: TeamsWorld) -> None:
    escalate(world)
    alert = next(a for a in world.dms(OMBUD) if card_actions(a))
    conversation = world.fake.direct_conversation(OMBUD)
    assert conversation is not None
    ack = action(alert, ActionId.ACKNOWLEDGE_ESCALATION)
    press = activity(conversation=conversation, user=OMBUD, value=ack, reply_to=alert["id"])

    assert world.send(press).status_code == 200

    (updated,) = [a for a in world.dms(OMBUD) if a["id"] == alert["id"]]
    assert updated.get("edits") == 1  # replaced (PUT), not posted again
    actions = {a["cb_action"] for a in card_actions(updated)}
    assert ActionId.ACKNOWLEDGE_ESCALATION not in actions and ActionId.TAKE_OVER in actions


def ombudsman_invoke(world: TeamsWorld, name: str, data: dict[str, Any]) -> dict[str, Any]:
    """An invoke from the ombudsman in their 1:1 chat with the bot (where alerts are)."""
    conversation = world.fake.direct_conversation(OMBUD)
    assert conversation is not None
    return activity(
        "invoke", conversation=conversation, user=OMBUD, name=name, value={"data": data}
    )


def ask_for_plan(world: TeamsWorld, owner: str) -> tuple[str, dict[str, Any]]:
    """The ombudsman asks ``owner`` for an action plan from the escalation alert."""
    ref = escalate(world)
    alert = next(a for a in world.dms(OMBUD) if card_actions(a))
    ask = action(alert, ActionId.ASK_FOR_ACTION_PLAN)
    assert ask.get("msteams", {}).get("type") == "task/fetch"  # the button opens a dialog

    fetched = world.send(ombudsman_invoke(world, "task/fetch", ask)).json()
    assert fetched["task"]["type"] == "continue"
    form = fetched["task"]["value"]["card"]["content"]
    picker = next(e for e in form["body"] if e.get("id") == BlockId.PLAN_OWNER)
    assert picker["choices.data"]["dataset"] == "graph.microsoft.com/users"
    data = next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"]
    filled = {
        **data,
        BlockId.PLAN_OWNER: owner,  # the people picker answers with the Entra object id
        BlockId.PLAN_STEPS: "Ny rutin för kvällsbesöken",
        BlockId.PLAN_DUE: "2026-12-15",
    }
    submission = ombudsman_invoke(world, "task/submit", filled)
    answer = world.send(submission).json()
    assert world.send(submission).status_code == 200  # Teams' retry records nothing more
    assert answer["task"]["type"] == "message" and ref in answer["task"]["value"]
    return ref, answer


def test_the_ombudsman_asks_for_an_action_plan_in_a_dialog(world: TeamsWorld) -> None:
    ref, _ = ask_for_plan(world, STAFF2_AAD)

    with session_scope(world.rt.db) as session:
        plans = [(p.owner, p.due_at.date().isoformat()) for p in session.exec(select(ActionPlan))]
        added = session.exec(select(Audit).where(Audit.action == "action_plan_added")).all()
        assert [a.actor for a in added] == [f"teams:{OMBUD}"]
    assert plans == [(f"teams:{STAFF2_AAD}", "2026-12-15")]
    (request,) = world.dms(STAFF2_AAD)  # the owner is asked in their 1:1 chat
    assert ref in card_text(request) and "kvällsbesöken" in card_text(request)


def test_the_plans_follow_up_is_done_from_teams(world: TeamsWorld) -> None:
    ref, _ = ask_for_plan(world, STAFF2_AAD)
    conversation = world.fake.direct_conversation(OMBUD)
    assert conversation is not None
    done = {"cb_action": ActionId.FOLLOW_UP_DONE.value, "cb_value": ref}

    # Slack refreshes App Home after this; Teams has none, and the press still works.
    assert (
        world.send(activity(conversation=conversation, user=OMBUD, value=done)).status_code == 200
    )

    with session_scope(world.rt.db) as session:
        (plan,) = session.exec(select(ActionPlan)).all()
        assert plan.done_at is not None


def test_staff_may_not_ask_for_an_action_plan(world: TeamsWorld) -> None:
    escalate(world)
    alert = next(a for a in world.dms(OMBUD) if card_actions(a))
    fetch = world.invoke("task/fetch", action(alert, ActionId.ASK_FOR_ACTION_PLAN))
    answer = world.send(fetch).json()
    assert answer["task"]["type"] == "message"
    assert "Bara klagomålsombudet" in answer["task"]["value"]
    with session_scope(world.rt.db) as session:
        refused = session.exec(select(Audit).where(Audit.action == "refused")).all()
        assert [a.actor for a in refused] == [f"teams:{STAFF_AAD}"]
        assert session.exec(select(ActionPlan)).all() == []
