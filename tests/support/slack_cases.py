"""Slack test helpers shared by several test modules: the values of the log-call and
action-plan modals, and a case escalated to the ombudsman by a real deadline."""

from __future__ import annotations

from typing import Any

from sqlmodel import select

from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.store.models import ActionPlan, Escalation
from handlers.slack.enums import ActionId, BlockId
from tests.slack.conftest import OMBUD, STAFF2, SlackWorld
from tests.support.slack_ui import button_value

NO_ANSWER: dict[str, Any] = {
    BlockId.OUTCOME: {"input": {"type": "radio_buttons", "selected_option": {"value": "no_answer"}}}
}


def call_values(
    outcome: str,
    *,
    note: str = "",
    remedy: str = "",
    next_step: str = "",
    resolution: str | None = None,
    options: tuple[str, ...] = (),
) -> dict[str, Any]:
    values: dict[str, Any] = {
        BlockId.OUTCOME: {
            "input": {"type": "radio_buttons", "selected_option": {"value": outcome}}
        },
        BlockId.NOTE: {"input": {"type": "plain_text_input", "value": note}},
        BlockId.REMEDY: {"input": {"type": "plain_text_input", "value": remedy}},
        BlockId.NEXT_STEP: {"input": {"type": "plain_text_input", "value": next_step}},
        BlockId.RESOLUTION: {
            "input": {
                "type": "static_select",
                "selected_option": {"value": resolution} if resolution else None,
            }
        },
        BlockId.OPTIONS: {
            "input": {"type": "checkboxes", "selected_options": [{"value": o} for o in options]}
        },
    }
    return values


OMBUD_DM = f"D{OMBUD}"


def escalated_case(world: SlackWorld) -> tuple[str, dict[str, Any]]:
    """A complaint nobody calls back: two working days later the tick alerts the ombudsman.
    Returns the case reference and the alert as it is in the ombudsman's DM."""
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    assert world.fake.messages(OMBUD_DM) == []
    world.clock.advance(days=3)  # Friday 09:00: the deadline (Wednesday 09:00) is long gone

    run_tick(world.rt)

    return ref, alert(world)


def alert(world: SlackWorld) -> dict[str, Any]:
    (message,) = world.fake.messages(OMBUD_DM)
    return message


def escalation(world: SlackWorld) -> Escalation:
    with session_scope(world.engine) as s:
        (row,) = s.exec(select(Escalation)).all()
        return row


def plans(world: SlackWorld) -> list[ActionPlan]:
    with session_scope(world.engine) as s:
        return list(s.exec(select(ActionPlan)).all())


def press_on_alert(
    world: SlackWorld, action_id: ActionId, message: dict[str, Any], *, user: str = OMBUD
) -> None:
    world.press(
        action_id,
        button_value(message["blocks"], action_id),
        user=user,
        channel=OMBUD_DM,
        message_ts=message["ts"],
    )


def plan_values(
    owner: str | None = STAFF2,
    steps: str = "Ny planering av besöken",
    due: str | None = "2026-12-08",
) -> dict[str, Any]:
    return {
        BlockId.PLAN_OWNER: {"input": {"type": "users_select", "selected_user": owner}},
        BlockId.PLAN_STEPS: {"input": {"type": "plain_text_input", "value": steps}},
        BlockId.PLAN_DUE: {"input": {"type": "datepicker", "selected_date": due}},
    }
