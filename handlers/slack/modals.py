"""The modals (log a call, escalate, register a complaint, hand over, ask for an action
plan). Pure: views out; :mod:`handlers.slack.forms` reads what was submitted.

Each input block holds one element whose ``action_id`` is :attr:`ActionId.INPUT`;
the block id says which field it is. ``private_metadata`` carries the case
reference and the channel to answer in, as JSON.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.store.models import Outcome, Resolution, Source
from handlers.slack.blockkit import (
    HINT,
    INPUT_LABEL,
    METADATA,
    MODAL_BUTTON,
    MODAL_TITLE,
    PLACEHOLDER,
    option,
    plain,
)
from handlers.slack.enums import ActionId, BlockId, CallbackId, CallOption
from handlers.slack.labels import words

View = dict[str, Any]

LOG_OUTCOMES = (
    Outcome.REACHED,
    Outcome.NO_ANSWER,
    Outcome.VOICEMAIL,
    Outcome.WRONG_NUMBER,
    Outcome.MEETING,
)
REGISTER_SOURCES = (Source.PHONE, Source.COUNTER, Source.LETTER)

NOTE_MAX = 3000
REMEDY_MAX = 200
NEXT_STEP_MAX = 500
REASON_MAX = 2000
NAME_MAX = 200
EMAIL_MAX = 320
TEXT_MAX = 3000
PLAN_STEPS_MAX = 3000


# --- building --------------------------------------------------------------


def metadata(**values: str) -> str:
    return json.dumps(values)[:METADATA]


def read_metadata(view: Mapping[str, Any]) -> dict[str, str]:
    try:
        data = json.loads(view.get("private_metadata") or "{}")
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def _modal(
    lang: str,
    callback_id: str,
    title_key: str,
    submit_key: str,
    blocks: list[View],
    private_metadata: str,
) -> View:
    w = words(lang)
    return {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(w[title_key], MODAL_TITLE),
        "submit": plain(w[submit_key], MODAL_BUTTON),
        "close": plain(w["cancel"], MODAL_BUTTON),
        "private_metadata": private_metadata,
        "blocks": blocks,
    }


def _input(
    block_id: str, label: str, element: View, *, optional: bool = False, hint: str | None = None
) -> View:
    block: View = {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, INPUT_LABEL),
        "element": element,
    }
    if hint:
        block["hint"] = plain(hint, HINT)
    return block


def _text(max_length: int, multiline: bool = False) -> View:
    return {
        "type": "plain_text_input",
        "action_id": ActionId.INPUT,
        "multiline": multiline,
        "max_length": max_length,
    }


def log_call_modal(lang: str, ref: str, channel: str, can_confirm: bool) -> View:
    """Log a call: outcome, neutral note, remedy, next step, optional resolution (closes)."""
    w = words(lang)
    options = [option(w["hard_call"], CallOption.HARD_CALL)]
    if can_confirm:
        options.insert(0, option(w["send_confirmation"], CallOption.SEND_CONFIRMATION))
    blocks = [
        _input(
            BlockId.OUTCOME,
            w["outcome"],
            {
                "type": "radio_buttons",
                "action_id": ActionId.INPUT,
                "options": [option(w[f"outcome_{o.value}"], o.value) for o in LOG_OUTCOMES],
            },
        ),
        _input(
            BlockId.NOTE,
            w["note"],
            _text(NOTE_MAX, multiline=True),
            optional=True,
            hint=w["note_hint"],
        ),
        _input(BlockId.REMEDY, w["remedy"], _text(REMEDY_MAX), optional=True),
        _input(
            BlockId.NEXT_STEP, w["next_step"], _text(NEXT_STEP_MAX, multiline=True), optional=True
        ),
        _input(
            BlockId.RESOLUTION,
            w["resolution"],
            {
                "type": "static_select",
                "action_id": ActionId.INPUT,
                "placeholder": plain(w["resolution"]),
                "options": [option(w[f"resolution_{r.value}"], r.value) for r in Resolution],
            },
            optional=True,
            hint=w["resolution_hint"],
        ),
        _input(
            BlockId.OPTIONS,
            w["options"],
            {"type": "checkboxes", "action_id": ActionId.INPUT, "options": options},
            optional=True,
        ),
    ]
    return _modal(
        lang,
        CallbackId.LOG_CALL,
        "modal_log_call",
        "save",
        blocks,
        metadata(ref=ref, channel=channel),
    )


def escalate_modal(lang: str, ref: str, channel: str) -> View:
    w = words(lang)
    blocks = [_input(BlockId.REASON, w["escalate_reason"], _text(REASON_MAX, multiline=True))]
    return _modal(
        lang,
        CallbackId.ESCALATE,
        "modal_escalate",
        "submit_escalate",
        blocks,
        metadata(ref=ref, channel=channel),
    )


def register_modal(lang: str, channel: str) -> View:
    """Register a complaint received by phone, at the counter or by letter."""
    w = words(lang)
    sources = [option(w[f"source_{s.value}"], s.value) for s in REGISTER_SOURCES]
    blocks = [
        _input(
            BlockId.SOURCE,
            w["register_source"],
            {
                "type": "static_select",
                "action_id": ActionId.INPUT,
                "options": sources,
                "initial_option": sources[0],
            },
        ),
        _input(BlockId.NAME, w["register_name"], _text(NAME_MAX), optional=True),
        _input(BlockId.PHONE, w["register_phone"], _text(40), optional=True),
        _input(
            BlockId.EMAIL,
            w["register_email"],
            {"type": "email_text_input", "action_id": ActionId.INPUT},
            optional=True,
        ),
        _input(BlockId.TEXT, w["register_text"], _text(TEXT_MAX, multiline=True)),
    ]
    return _modal(
        lang,
        CallbackId.REGISTER,
        "modal_register",
        "submit_register",
        blocks,
        metadata(channel=channel),
    )


def hand_over_modal(lang: str, ref: str, channel: str) -> View:
    """Ask a colleague to take the case over: whom (they may say no)."""
    w = words(lang)
    blocks = [
        _input(
            BlockId.HAND_OVER_TO,
            w["hand_over_to"],
            {
                "type": "users_select",
                "action_id": ActionId.INPUT,
                "placeholder": plain(w["hand_over_to"], PLACEHOLDER),
            },
            hint=w["hand_over_hint"],
        )
    ]
    return _modal(
        lang,
        CallbackId.HAND_OVER,
        "modal_hand_over",
        "submit_hand_over",
        blocks,
        metadata(ref=ref, channel=channel),
    )


def action_plan_modal(lang: str, ref: str, channel: str, initial_due: date) -> View:
    """The ombudsman asks a manager for an action plan: who, what it must cover, by when."""
    w = words(lang)
    blocks = [
        _input(
            BlockId.PLAN_OWNER,
            w["plan_owner"],
            {
                "type": "users_select",
                "action_id": ActionId.INPUT,
                "placeholder": plain(w["plan_owner"], PLACEHOLDER),
            },
        ),
        _input(BlockId.PLAN_STEPS, w["plan_steps"], _text(PLAN_STEPS_MAX, multiline=True)),
        _input(
            BlockId.PLAN_DUE,
            w["plan_due"],
            {
                "type": "datepicker",
                "action_id": ActionId.INPUT,
                "initial_date": initial_due.isoformat(),
            },
        ),
    ]
    return _modal(
        lang,
        CallbackId.ACTION_PLAN,
        "modal_action_plan",
        "submit_action_plan",
        blocks,
        metadata(ref=ref, channel=channel),
    )
