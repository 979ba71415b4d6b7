"""Reading what staff submitted in a modal: plain dataclasses, or ``{block_id: error}``
in the staff language when a field is missing or wrong. Pure.

Each input block holds one element whose ``action_id`` is :attr:`ActionId.INPUT`; the
block id says which field it is (see :mod:`handlers.slack.modals`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.store.models import Outcome, Resolution, Source
from handlers.slack.enums import ActionId, BlockId, CallOption
from handlers.slack.labels import words
from handlers.slack.modals import (
    EMAIL_MAX,
    NAME_MAX,
    NEXT_STEP_MAX,
    NOTE_MAX,
    PLAN_STEPS_MAX,
    REASON_MAX,
    REGISTER_SOURCES,
    REMEDY_MAX,
    TEXT_MAX,
)

Values = Mapping[str, Mapping[str, Mapping[str, Any]]]

_EMAIL = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+$")


def _state(values: Values, block: str) -> Mapping[str, Any]:
    return values.get(block, {}).get(ActionId.INPUT, {})


def text_value(values: Values, block: str, limit: int) -> str:
    return str(_state(values, block).get("value") or "").strip()[:limit]


def selected(values: Values, block: str) -> str | None:
    chosen = _state(values, block).get("selected_option")
    return str(chosen["value"]) if isinstance(chosen, Mapping) and chosen.get("value") else None


def checked(values: Values, block: str) -> set[str]:
    chosen = _state(values, block).get("selected_options") or []
    return {str(o.get("value")) for o in chosen if isinstance(o, Mapping)}


@dataclass(frozen=True)
class CallForm:
    outcome: Outcome
    note: str
    remedy: str
    next_step: str
    resolution: Resolution | None
    send_confirmation: bool
    hard: bool


@dataclass(frozen=True)
class ActionPlanForm:
    owner: str  # a chat user id: Slack's, or in Teams the Entra object id picked
    steps: str
    due: date


@dataclass(frozen=True)
class RegisterForm:
    source: Source
    name: str
    phone_text: str
    email: str
    text: str


def read_call_form(values: Values, lang: str) -> CallForm | dict[str, str]:
    """The submitted log-call modal, or ``{block_id: error}`` (outcome missing)."""
    outcome, resolution = selected(values, BlockId.OUTCOME), selected(values, BlockId.RESOLUTION)
    if outcome not in {o.value for o in Outcome}:
        return {BlockId.OUTCOME: words(lang)["outcome"]}
    options = checked(values, BlockId.OPTIONS)
    return CallForm(
        outcome=Outcome(outcome),
        note=text_value(values, BlockId.NOTE, NOTE_MAX),
        remedy=text_value(values, BlockId.REMEDY, REMEDY_MAX),
        next_step=text_value(values, BlockId.NEXT_STEP, NEXT_STEP_MAX),
        resolution=Resolution(resolution) if resolution in {r.value for r in Resolution} else None,
        send_confirmation=CallOption.SEND_CONFIRMATION in options,
        hard=CallOption.HARD_CALL in options,
    )


def read_reason(values: Values) -> str:
    return text_value(values, BlockId.REASON, REASON_MAX)


def is_email(text: str) -> bool:
    return len(text) <= EMAIL_MAX and bool(_EMAIL.match(text))


def read_register_form(values: Values, lang: str) -> RegisterForm | dict[str, str]:
    """The submitted register modal, or ``{block_id: error}`` in ``lang``."""
    w = words(lang)
    source = selected(values, BlockId.SOURCE) or Source.PHONE.value
    email = text_value(values, BlockId.EMAIL, EMAIL_MAX + 1)
    errors: dict[str, str] = {}
    if email and not is_email(email):
        errors[BlockId.EMAIL] = w["invalid_email"]
    text = text_value(values, BlockId.TEXT, TEXT_MAX)
    if not text:
        errors[BlockId.TEXT] = w["register_text"]
    if source not in {s.value for s in REGISTER_SOURCES}:
        source = Source.PHONE.value
    if errors:
        return errors
    return RegisterForm(
        source=Source(source),
        name=text_value(values, BlockId.NAME, NAME_MAX),
        phone_text=text_value(values, BlockId.PHONE, 40),
        email=email,
        text=text,
    )


def read_action_plan_form(
    values: Values, lang: str, today: date
) -> ActionPlanForm | dict[str, str]:
    """The submitted action-plan modal, or ``{block_id: error}``; the due date may be
    ``today`` (the organisation's date) or later."""
    w = words(lang)
    errors: dict[str, str] = {}
    owner = str(_state(values, BlockId.PLAN_OWNER).get("selected_user") or "")
    if not owner:
        errors[BlockId.PLAN_OWNER] = w["plan_owner_missing"]
    steps = text_value(values, BlockId.PLAN_STEPS, PLAN_STEPS_MAX)
    if not steps:
        errors[BlockId.PLAN_STEPS] = w["plan_steps_missing"]
    try:
        due: date | None = date.fromisoformat(
            str(_state(values, BlockId.PLAN_DUE).get("selected_date") or "")
        )
    except ValueError:
        due = None
    if due is None or due < today:
        errors[BlockId.PLAN_DUE] = w["plan_due_past"]
    if errors or due is None:
        return errors
    return ActionPlanForm(owner=owner, steps=steps, due=due)


def read_hand_over(values: Values, lang: str) -> str | dict[str, str]:
    """The colleague picked in the hand-over modal, or ``{block_id: error}``."""
    user = str(_state(values, BlockId.HAND_OVER_TO).get("selected_user") or "")
    if not user:
        return {BlockId.HAND_OVER_TO: words(lang)["hand_over_missing"]}
    return user
