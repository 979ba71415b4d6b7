"""Where a press happened, and what its work may do there: the one interface the
button work (:mod:`handlers.slack.context`'s :class:`~handlers.slack.context.Press`)
asks of the chat, so the same work serves Slack and Teams.

Slack implements it with its Web API client (:class:`handlers.slack.context.SlackSurface`),
Teams with the chat port and the dialog it answers (:class:`handlers.teams.press.TeamsSurface`).
The press calls these after its transaction is committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

Blocks = list[dict[str, Any]]


class Surface(Protocol):
    """One press's chat: the presser, the conversation and the message pressed on."""

    @property
    def channel(self) -> str | None:
        """The conversation the press came from (where a form opened from it answers)."""
        ...

    def tell(self, text: str, blocks: Blocks | None = None) -> None:
        """Tell the presser only: in Slack an ephemeral message (else a DM), in Teams a
        personal message, or the message shown in the dialog being submitted."""
        ...

    def open_form(self, view: Mapping[str, Any]) -> None:
        """Show a form (a Slack modal view): Slack opens the modal, Teams answers the
        dialog request with it as an Adaptive Card."""
        ...

    def update_pressed(self, text: str, blocks: Blocks) -> None:
        """Replace the message the button was on, in place. A failure is only logged:
        the action itself is recorded; only the message's look is stale."""
        ...

    def refresh_home(self) -> None:
        """Show the presser their overview again where the chat has one (Slack's App
        Home); a chat without one does nothing."""
        ...
