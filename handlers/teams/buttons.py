"""What the buttons on the Teams cards do: the Slack buttons' own work, by ``action_id``.

The card translator keeps each Block Kit button's ``action_id`` and value as
``cb_action``/``cb_value``, so one table maps them to the work functions the Slack
listeners run (:mod:`handlers.slack.actions`, ``ombudsman``, ``offers``, ``review``),
with the same value parsers, audit names and who may press. A press of an unknown
action is answered and changes nothing.

Domain refusals (not on the staff list, no such case, the case is closed) are
told to the presser once, in a personal message or in the dialog.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from bot.errors import CaseNotFound, InvalidAction, NotAllowed
from bot.presenters.render import mrkdwn_escape
from handlers.slack.actions import (
    ask_for_number,
    claim_case,
    open_escalate,
    open_log_call,
    show_full_text,
    snooze_case,
)
from handlers.slack.common import lang_of
from handlers.slack.context import (
    Button,
    Who,
    parse_case,
    parse_escalation,
    parse_offer,
    parse_plan,
    parse_review,
    parse_snooze,
)
from handlers.slack.enums import ActionId
from handlers.slack.errors import error_text
from handlers.slack.labels import say
from handlers.slack.offers import answer_offer, open_hand_over
from handlers.slack.ombudsman import acknowledge, follow_up_done, open_action_plan, take_over
from handlers.slack.once import Replayed
from handlers.slack.review import dismiss_review, open_review
from handlers.teams.activity import Incoming
from handlers.teams.press import act, first_sight, tell

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

DOMAIN_ERRORS = (NotAllowed, InvalidAction, CaseNotFound)
OMBUDSMAN = Who.OMBUDSMAN

BUTTONS: Mapping[str, Button[Any]] = {
    ActionId.CLAIM: Button(claim_case, "claim", parse_case),
    ActionId.TAKE_OVER_CLAIM: Button(
        lambda p: claim_case(p, take_over=True), "take_over_claim", parse_case
    ),
    ActionId.LOG_CALL: Button(open_log_call, "log_call", parse_case),
    ActionId.SNOOZE: Button(snooze_case, "snooze", parse_snooze),
    ActionId.ESCALATE: Button(open_escalate, "escalate", parse_case),
    ActionId.SHOW_FULL_TEXT: Button(show_full_text, "show_full_text", parse_case),
    ActionId.ASK_FOR_NUMBER: Button(ask_for_number, "ask_for_number", parse_case),
    ActionId.TAKE_OVER: Button(take_over, "take_over", parse_escalation, OMBUDSMAN),
    ActionId.ACKNOWLEDGE_ESCALATION: Button(
        acknowledge, "acknowledge_escalation", parse_escalation, OMBUDSMAN
    ),
    ActionId.ASK_FOR_ACTION_PLAN: Button(
        open_action_plan, "ask_for_action_plan", parse_escalation, OMBUDSMAN
    ),
    ActionId.FOLLOW_UP_DONE: Button(follow_up_done, "follow_up_done", parse_plan, OMBUDSMAN),
    ActionId.ACCEPT_OFFER: Button(lambda p: answer_offer(p, True), "accept_offer", parse_offer),
    ActionId.DECLINE_OFFER: Button(lambda p: answer_offer(p, False), "decline_offer", parse_offer),
    ActionId.HAND_OVER: Button(open_hand_over, "hand_over", parse_case),
    ActionId.REVIEW_OPEN: Button(open_review, "review_open", parse_review, own_transactions=True),
    ActionId.REVIEW_DISMISS: Button(
        dismiss_review, "review_dismiss", parse_review, own_transactions=True
    ),
}


def refusal(rt: Runtime, inc: Incoming, error: Exception) -> str | None:
    """What to tell the presser about a domain error, the first time only (a retry of a
    refused activity is refused quietly); anything else is a bug and is raised."""
    text = error_text(lang_of(rt), error)
    if text is None:
        raise error
    return text if first_sight(rt, inc) else None


def press_value(inc: Incoming) -> str:
    """The button's value; for a menu (snooze) shown as a choice set, the choice, which
    the card sends under the menu's ``action_id``."""
    if inc.value:
        return inc.value
    chosen = inc.data.get(inc.action)
    return chosen if isinstance(chosen, str) else ""


def press(rt: Runtime, inc: Incoming) -> None:
    """An ``Action.Submit`` press on a card: do the button's work, once."""
    button = BUTTONS.get(inc.action)
    if button is None:
        log.info("Teams: no action %r; told the presser", inc.action[:40])
        if first_sight(rt, inc):
            # The action came from the sender: shown as text, never as a link or mention.
            reason = mrkdwn_escape(inc.action[:40])
            tell(rt, inc.user, say(lang_of(rt), "invalid_action", reason=reason))
        return
    try:
        act(rt, inc, button, press_value(inc))
    except Replayed:
        return
    except DOMAIN_ERRORS as error:
        text = refusal(rt, inc, error)
        if text:
            tell(rt, inc.user, text)
