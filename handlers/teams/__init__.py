"""Microsoft Teams, inbound: ``POST /api/messages`` and what staff do in Teams.

* :mod:`handlers.teams.auth`: the Bot Framework's bearer token, verified;
* :mod:`handlers.teams.activity`: what an activity means (press, dialog, post);
* :mod:`handlers.teams.press`: who acts (staff lists), once per activity;
* :mod:`handlers.teams.buttons`: card buttons -> the same work as Slack's buttons;
* :mod:`handlers.teams.dialogs`: the log-call, escalate, hand-over and action-plan forms
  as dialogs;
* :mod:`handlers.teams.intake`: posts in intake conversations open cases;
* :mod:`handlers.teams.app`: the HTTP endpoint (Starlette on uvicorn, in a thread).

The outbound side (cards, the connector, the app's token) is
:mod:`bot.adapters.teams`; :data:`DIALOG_ACTIONS` tells it which buttons open a
dialog (``task/fetch``) instead of acting at once.
"""

from __future__ import annotations

from handlers.slack.enums import ActionId

# Buttons whose press opens a dialog (Slack opens a modal for these).
DIALOG_ACTIONS: frozenset[str] = frozenset(
    {
        ActionId.LOG_CALL.value,
        ActionId.ESCALATE.value,
        ActionId.HAND_OVER.value,
        ActionId.ASK_FOR_ACTION_PLAN.value,
    }
)
