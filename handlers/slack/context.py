"""The listener context: what a Slack button listener receives, in the style of
Netflix Dispatch's Slack middleware.

A button is declared once, as a :class:`Button`: the work to do, the audit name
of the attempt, how its value is parsed and who may press it. :func:`on_press`
registers it; for every press the middleware then, in this order:

1. parses the button's value into a typed value (:class:`CaseValue`,
   :class:`SnoozeValue`, :class:`EscalationValue`, :class:`PlanValue`,
   :class:`IdValue`); a value that does not parse is an :class:`InvalidAction`;
2. authorises the presser once (staff or ombudsman; a refusal is audited);
3. opens one transaction that also records the payload
   (:func:`handlers.slack.once.acting_once`, so a replay does nothing) and loads the
   case the value names (a button whose action keeps its own transactions, the
   review lane's, gets neither);
4. calls the work with a :class:`Press`, which carries all of that;
5. after the commit, runs what the work asked for afterwards: answers to the
   presser, delivering the outbox, opening a modal, updating a message.

A modal submission about a case goes through the same steps with :func:`submit`:
the value is the reference in the modal's metadata, and answers go to the channel
the modal was opened from. Domain errors are reported to the presser once
(:func:`handlers.slack.errors.after_ack`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from slack_bolt import Ack, App
from slack_sdk import WebClient
from sqlmodel import Session

from bot.actions.cases import get_case
from bot.actions.trail import Actor
from bot.errors import InvalidAction
from bot.store.models import Case
from handlers.slack.common import (
    Body,
    action_value,
    answer,
    channel_of,
    deliver,
    lang_of,
    require_ombudsman,
    require_staff,
    user_id_of,
)
from handlers.slack.errors import after_ack
from handlers.slack.modals import read_metadata
from handlers.slack.once import acting_once

if TYPE_CHECKING:
    from bot.wiring import Runtime

# --- typed button values, parsed in one place -------------------------------------


@dataclass(frozen=True)
class CaseValue:
    """A button about a case: its value is the case reference."""

    ref: str


@dataclass(frozen=True)
class SnoozeValue:
    """``KL-2026-000001|30``: snooze the case for 30 minutes."""

    ref: str
    minutes: int


@dataclass(frozen=True)
class EscalationValue:
    """``KL-2026-000001|7`` (escalation 7) or a bare reference (the latest escalation)."""

    ref: str
    escalation_id: int | None


@dataclass(frozen=True)
class PlanValue:
    """``KL-2026-000001|3``: action plan 3 of the case (or the open one)."""

    ref: str
    plan_id: int | None


@dataclass(frozen=True)
class IdValue:
    """A button about a row that is not a case (an offer, a review item): its id."""

    id: int
    ref: None = None


def _number(text: str, what: str, value: str) -> int:
    if not text.isdigit():
        raise InvalidAction(f"not {what}: {value[:40]!r}")
    return int(text)


def parse_case(value: str) -> CaseValue:
    return CaseValue(value)


def parse_snooze(value: str) -> SnoozeValue:
    ref, _, minutes = value.rpartition("|")
    return SnoozeValue(ref, _number(minutes, "a snooze", value))


def parse_escalation(value: str) -> EscalationValue:
    ref, _, escalation_id = value.partition("|")
    return EscalationValue(ref, int(escalation_id) if escalation_id.isdigit() else None)


def parse_plan(value: str) -> PlanValue:
    ref, _, plan = value.partition("|")
    return PlanValue(ref, int(plan) if plan.isdigit() else None)


def parse_offer(value: str) -> IdValue:
    return IdValue(_number(value, "an offer", value))


def parse_review(value: str) -> IdValue:
    return IdValue(_number(value, "a review item", value))


V = TypeVar("V", CaseValue, SnoozeValue, EscalationValue, PlanValue, IdValue)


# --- the press ------------------------------------------------------------------


class Who(enum.StrEnum):
    STAFF = "staff"
    OMBUDSMAN = "ombudsman"


@dataclass
class Press(Generic[V]):
    """One button press (or modal submission), authorised, inside its transaction."""

    rt: Runtime
    body: Body
    client: WebClient
    value: V
    user: str  # the Slack user id
    actor: Actor  # the authorised actor (``slack:U…``), checked once per press
    open_session: Session | None  # None for a button whose action keeps its own transactions
    case: Case | None  # the case the value names, when it names one
    reply_to: str | None = None  # where a modal's answers go: the channel it was opened from
    afterwards: list[Callable[[], object]] = field(default_factory=list)

    @property
    def session(self) -> Session:
        assert self.open_session is not None, "this button keeps its own transactions"
        return self.open_session

    @property
    def lang(self) -> str:
        return lang_of(self.rt)

    @property
    def channel(self) -> str | None:
        """Where to answer: the channel pressed in, or the one a modal was opened from."""
        return self.reply_to or channel_of(self.body)

    @property
    def the_case(self) -> Case:
        assert self.case is not None, "this button names no case"
        return self.case

    def then(self, work: Callable[[], object]) -> None:
        """Do ``work`` once the transaction is committed."""
        self.afterwards.append(work)

    def answer(self, text: str, blocks: list[dict[str, Any]] | None = None) -> None:
        """Tell the presser only, after the commit."""
        self.then(lambda: answer(self.client, self.user, self.channel, text, blocks))

    def deliver(self) -> None:
        """Wake the delivery loop for what the press queued, after the commit."""
        self.then(lambda: deliver(self.rt))

    def open_modal(self, view: dict[str, Any]) -> None:
        self.then(lambda: self.client.views_open(trigger_id=self.body["trigger_id"], view=view))


@dataclass(frozen=True)
class Button(Generic[V]):
    """A button: its work, the attempt's audit name, its value and who may press it."""

    work: Callable[[Press[V]], None]
    action: str
    value: Callable[[str], V]
    who: Who = Who.STAFF
    # An action that opens its transactions itself (the review lane's): no session, no
    # payload record; it must be idempotent on its own.
    own_transactions: bool = False


def press(rt: Runtime, body: Body, client: WebClient, button: Button[V]) -> None:
    """A button press: see :func:`act`."""
    act(rt, body, client, button, action_value(body), None)


def submit(
    rt: Runtime, body: Body, client: WebClient, view: Mapping[str, Any], button: Button[V]
) -> None:
    """A modal submission about the case in the modal's metadata, with the same steps as
    a press; answers go to the channel the modal was opened from."""
    meta = read_metadata(view)
    act(rt, body, client, button, meta.get("ref", ""), meta.get("channel") or None)


def act(
    rt: Runtime, body: Body, client: WebClient, button: Button[V], raw: str, reply_to: str | None
) -> None:
    """Parse, authorise once, act once in one transaction, then do what comes after."""
    user = user_id_of(body)
    require = require_ombudsman if button.who is Who.OMBUDSMAN else require_staff
    try:
        value = button.value(raw)
    except InvalidAction:
        require(rt, user, button.action, None)  # a stranger is refused (and audited) first
        raise
    actor = require(rt, user, button.action, value.ref)
    if button.own_transactions:
        pressed = Press(rt, body, client, value, user, actor, None, None, reply_to)
        button.work(pressed)
    else:
        with acting_once(rt, body) as session:
            case = get_case(session, value.ref) if value.ref is not None else None
            pressed = Press(rt, body, client, value, user, actor, session, case, reply_to)
            button.work(pressed)
    for work in pressed.afterwards:
        work()


def on_press(app: App, rt: Runtime, buttons: Mapping[str, Button[Any]]) -> None:
    """Register one listener per ``action_id``: ack at once, then :func:`press`, with
    domain errors reported to the presser."""
    for action_id, button in buttons.items():
        app.action(action_id)(_listener(rt, button))


def _listener(rt: Runtime, button: Button[Any]) -> Callable[..., None]:
    # Bolt passes arguments by parameter name, so the listener takes exactly these.
    def listener(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(rt, body, client, lambda: press(rt, body, client, button))

    return listener
