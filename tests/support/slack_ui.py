"""Reading and driving what Slack shows, shared by the Slack tests: a button's
value in a message's blocks, and a user's App Home as the app publishes it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.slack.conftest import SlackWorld


def button_value(blocks: list[dict[str, Any]], action_id: str) -> str:
    """The value of the button ``action_id`` in a message's ``actions`` blocks."""
    return next(
        str(e["value"])
        for b in blocks
        if b.get("type") == "actions"
        for e in b["elements"]
        if e.get("action_id") == action_id
    )


def open_home(world: SlackWorld, user: str) -> dict[str, Any]:
    """``user`` opens the app's Home tab; the view the app published for them."""
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
    return view
