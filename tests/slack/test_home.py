"""App Home: staff see their open cases and deadlines, the ombudsman escalated and overdue."""

from __future__ import annotations

from typing import Any

from handlers.slack.enums import ActionId
from tests.slack.conftest import OMBUD, STAFF, STAFF2, STRANGER, SlackWorld, block_text


def open_home(world: SlackWorld, user: str) -> str:
    world.dispatch(
        world.signer.event(
            {
                "type": "app_home_opened",
                "user": user,
                "channel": f"D{user}",
                "tab": "home",
                "event_ts": "1700000000.000100",
            },
            event_id=world.event_id(),
        )
    )
    view: dict[str, Any] = world.fake.views()[f"VHOME{user}"]
    assert view["type"] == "home"
    assert len(view["blocks"]) <= 100
    return block_text(view["blocks"])


def test_staff_see_their_open_cases_with_deadlines(world: SlackWorld) -> None:
    world.post_message("Första klagomålet <!channel>. Ring 070-123 45 67.", user="U0CIT1")
    world.post_message("Andra klagomålet. Ring 070-765 43 21.", user="U0CIT2")
    first = world.case("KL-2026-000001")
    world.press(ActionId.CLAIM, first["ref"], user=STAFF)

    mine = open_home(world, STAFF)
    assert "Dina öppna ärenden" in mine
    assert "*KL-2026-000001*" in mine and "Ring före ons 25/11 09:00" in mine
    mine_part, unclaimed_part = mine.split("Ärenden som ingen har tagit")
    assert "KL-2026-000002" in unclaimed_part and "KL-2026-000002" not in mine_part

    other = open_home(world, STAFF2)
    assert "Du har inga öppna ärenden." in other


def test_the_ombudsman_sees_escalated_and_overdue_cases(world: SlackWorld) -> None:
    world.post_message("Personalen hotar mig. Ring 070-123 45 67.")
    world.post_message("Vanligt klagomål om parkering. Ring 070-765 43 21.")
    world.clock.advance(days=3)

    home = open_home(world, OMBUD)
    _, rest = home.split("Eskalerade ärenden")
    escalated, overdue = rest.split("Försenade ärenden")
    assert "KL-2026-000001" in escalated and "KL-2026-000002" not in escalated
    assert "KL-2026-000001" in overdue and "KL-2026-000002" in overdue


def test_others_are_told_they_are_not_on_the_staff_list(world: SlackWorld) -> None:
    world.post_message("Klagomål. Ring 070-123 45 67.")
    home = open_home(world, STRANGER)
    assert "inte på personallistan" in home
    assert "KL-2026-000001" not in home
