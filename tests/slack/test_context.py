"""The listener context: button values parsed in one place, the presser authorised once."""

from __future__ import annotations

import pytest

from bot.errors import InvalidAction
from handlers.slack.context import (
    CaseValue,
    EscalationValue,
    IdValue,
    PlanValue,
    SnoozeValue,
    parse_case,
    parse_escalation,
    parse_offer,
    parse_plan,
    parse_review,
    parse_snooze,
)
from handlers.slack.enums import ActionId
from tests.slack.conftest import STAFF, STRANGER, SlackWorld


def test_button_values_parse_into_typed_values() -> None:
    assert parse_case("KL-2026-000001") == CaseValue("KL-2026-000001")
    assert parse_snooze("KL-2026-000001|30") == SnoozeValue("KL-2026-000001", 30)
    assert parse_escalation("KL-2026-000001|7") == EscalationValue("KL-2026-000001", 7)
    assert parse_escalation("KL-2026-000001") == EscalationValue("KL-2026-000001", None)
    assert parse_plan("KL-2026-000001|3") == PlanValue("KL-2026-000001", 3)
    assert parse_plan("KL-2026-000001|") == PlanValue("KL-2026-000001", None)
    assert parse_offer("12") == IdValue(12) and parse_review("5") == IdValue(5)


@pytest.mark.parametrize(
    ("parse", "value"),
    [
        (parse_snooze, "KL-2026-000001|soon"),
        (parse_snooze, "KL-2026-000001"),
        (parse_offer, "12; drop table"),
        (parse_review, ""),
    ],
)
def test_a_value_that_does_not_parse_is_an_invalid_action(parse: object, value: str) -> None:
    with pytest.raises(InvalidAction):
        parse(value)  # type: ignore[operator]


def test_a_forged_value_is_refused_to_a_stranger_and_explained_to_staff(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = world.case()["ref"]
    world.choose(ActionId.SNOOZE, f"{ref}|later", user=STRANGER)
    world.choose(ActionId.SNOOZE, f"{ref}|later")
    stranger = world.ephemerals(STRANGER)
    assert len(stranger) == 1 and "personallistan" in stranger[0].params["text"]
    told = world.ephemerals(STAFF)
    assert len(told) == 1 and "not a snooze" in told[0].params["text"]
    assert world.audit("snoozed") == []
    assert len(world.audit("refused")) == 1  # the stranger's attempt
