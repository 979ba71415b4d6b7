"""The log-call, escalate, hand-over and action-plan forms as Teams dialogs (task modules).

``task/fetch`` (a press of a button in :data:`handlers.teams.DIALOG_ACTIONS`) runs the
button's Slack work, which opens the Slack modal; that view becomes the dialog's
Adaptive Card (:func:`bot.adapters.teams.cards.modal_to_card`). Its submission
(``task/submit``) carries ``cb_action`` = the modal's callback id, ``cb_value`` = its
private metadata (the case reference) and one field per input block, named by the
block id. :func:`slack_values` turns those fields back into the Slack view state the
Slack modal readers take, so the form is validated and recorded by the same code
(:func:`handlers.slack.modals.read_call_form`, :func:`handlers.slack.views.record_call`).

The answer to Teams is a task response: the dialog (``continue``), or a message
shown in it (``message``: done, or why not).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from bot.adapters.teams.cards import CARD_CONTENT_TYPE, modal_title, modal_to_card
from handlers.slack.common import lang_of
from handlers.slack.context import Button, CaseValue, parse_case
from handlers.slack.enums import ActionId, CallbackId
from handlers.slack.forms import (
    ActionPlanForm,
    CallForm,
    Values,
    read_action_plan_form,
    read_call_form,
    read_hand_over,
    read_reason,
)
from handlers.slack.labels import say
from handlers.slack.modals import (
    action_plan_modal,
    escalate_modal,
    hand_over_modal,
    log_call_modal,
    read_metadata,
)
from handlers.slack.offers import record_hand_over
from handlers.slack.ombudsman import record_action_plan, today
from handlers.slack.once import Replayed
from handlers.slack.views import record_call, record_escalation
from handlers.teams import DIALOG_ACTIONS
from handlers.teams.activity import Incoming, dialog_inputs
from handlers.teams.buttons import BUTTONS, DOMAIN_ERRORS, OMBUDSMAN, press_value, refusal
from handlers.teams.press import act

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

TaskResponse = dict[str, Any]

# The dialogs' forms, to read a submission by (the element kinds do not depend on the
# case, so an empty reference will do).
FORMS: Mapping[str, Callable[[str], dict[str, Any]]] = {
    CallbackId.LOG_CALL: lambda lang: log_call_modal(lang, "", "", True),
    CallbackId.ESCALATE: lambda lang: escalate_modal(lang, "", ""),
    CallbackId.HAND_OVER: lambda lang: hand_over_modal(lang, "", ""),
    CallbackId.ACTION_PLAN: lambda lang: action_plan_modal(lang, "", "", date.min),
}


def message(text: str) -> TaskResponse:
    return {"task": {"type": "message", "value": text}}


def dialog(view: Mapping[str, Any]) -> TaskResponse:
    card = modal_to_card(view)
    return {
        "task": {
            "type": "continue",
            "value": {
                "title": modal_title(view),
                "card": {"contentType": CARD_CONTENT_TYPE, "content": card},
            },
        }
    }


def slack_values(view: Mapping[str, Any], inputs: Mapping[str, str]) -> Values:
    """A dialog's inputs as the Slack view state of ``view``'s input blocks (pure)."""
    values: dict[str, dict[str, dict[str, Any]]] = {}
    for block in view.get("blocks") or []:
        if block.get("type") != "input":
            continue
        block_id = str(block.get("block_id") or "")
        kind = str((block.get("element") or {}).get("type") or "")
        raw = inputs.get(block_id, "").strip()
        state: dict[str, Any]
        if kind in ("radio_buttons", "static_select"):
            state = {"selected_option": {"value": raw} if raw else None}
        elif kind == "checkboxes":
            state = {"selected_options": [{"value": v} for v in raw.split(",") if v]}
        elif kind in ("users_select",):
            state = {"selected_user": raw or None}
        elif kind == "datepicker":
            state = {"selected_date": raw or None}
        else:
            state = {"value": raw or None}
        values[block_id] = {ActionId.INPUT: state}
    return values


def fetch(rt: Runtime, inc: Incoming) -> TaskResponse:
    """A button asks for its dialog: the same work as the Slack press that opens the modal."""
    button = BUTTONS.get(inc.action) if inc.action in DIALOG_ACTIONS else None
    if button is None:
        return message(say(lang_of(rt), "invalid_action", reason=inc.action[:40]))
    try:
        pressed = act(rt, inc, button, press_value(inc), once=False)
    except DOMAIN_ERRORS as error:
        return message(refusal(rt, inc, error) or "")
    if pressed.dialog is None:
        return message(" ".join(pressed.answers))
    return dialog(pressed.dialog)


def form_button(rt: Runtime, action: str, values: Values) -> Button[CaseValue] | str:
    """The work a submitted form asks for, as the Slack modal's listener would do it, or
    what is missing from the form (validated by the Slack modal readers)."""
    lang = lang_of(rt)
    if action == CallbackId.LOG_CALL:
        call = read_call_form(values, lang)
        if not isinstance(call, CallForm):
            return " ".join(call.values())
        return Button(lambda p: record_call(p, call), "log_call", parse_case)
    if action == CallbackId.HAND_OVER:
        # Teams' people picker answers with the colleague's Entra object id.
        to_user = read_hand_over(values, lang)
        if not isinstance(to_user, str):
            return " ".join(to_user.values())
        return Button(lambda p: record_hand_over(p, to_user), "hand_over", parse_case)
    if action == CallbackId.ACTION_PLAN:
        plan = read_action_plan_form(values, lang, today(rt))
        if not isinstance(plan, ActionPlanForm):
            return " ".join(plan.values())
        return Button(
            lambda p: record_action_plan(p, plan), "ask_for_action_plan", parse_case, OMBUDSMAN
        )
    reason = read_reason(values)
    if not reason:
        return say(lang, "escalate_reason")
    return Button(lambda p: record_escalation(p, reason), "escalate", parse_case)


def submit(rt: Runtime, inc: Incoming) -> TaskResponse | None:
    """The dialog was submitted: validate as Slack does, then act once."""
    lang = lang_of(rt)
    form = FORMS.get(inc.action)
    if form is None:
        return message(say(lang, "invalid_action", reason=inc.action[:40]))
    ref = read_metadata({"private_metadata": inc.value}).get("ref") or inc.value
    button = form_button(rt, inc.action, slack_values(form(lang), dialog_inputs(inc.data)))
    if isinstance(button, str):
        return message(button)
    try:
        pressed = act(rt, inc, button, ref, in_dialog=True)
    except Replayed:
        return None
    except DOMAIN_ERRORS as error:
        text = refusal(rt, inc, error)
        return message(text) if text else None
    # Logging a call answers nothing (the card shows it); an empty answer closes the dialog.
    return message(" ".join(pressed.answers)) if pressed.answers else None
