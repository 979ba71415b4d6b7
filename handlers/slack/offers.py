"""Answering call-back offers in Slack, and handing a case over to a colleague.

An offer DM (see :func:`bot.actions.assignment.offer_case`) carries two buttons,
"I'll call" and "Can't now", whose value is the offer id. Only the person it
was offered to may answer (:mod:`bot.actions.assignment` refuses anyone else); the DM
is then updated to say what they answered, without buttons. "Hand over" on the
prompt opens a modal to pick a colleague, who gets an offer DM of their own.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.actions.assignment import accept_offer, decline_offer, hand_over
from bot.actions.trail import slack_actor
from bot.errors import InvalidAction
from bot.store.models import Case, CaseOffer
from handlers.slack.blockkit import mention
from handlers.slack.common import (
    Body,
    channel_of,
    lang_of,
)
from handlers.slack.context import (
    Button,
    CaseValue,
    IdValue,
    Press,
    on_press,
    parse_case,
    parse_offer,
    submit,
)
from handlers.slack.enums import ActionId, CallbackId
from handlers.slack.errors import after_ack
from handlers.slack.forms import read_hand_over
from handlers.slack.labels import say
from handlers.slack.messages import offer_answered_blocks
from handlers.slack.modals import hand_over_modal
from handlers.slack.ombudsman import message_ts_of

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


def answer_offer(p: Press[IdValue], accepted: bool) -> None:
    """Accept or decline the offer whose button was pressed, deliver what that queued
    (the prompt shows the new assignee; a colleague who asked is told), and update
    the DM to show the answer."""
    offer = p.session.get(CaseOffer, p.value.id)
    if offer is None:
        raise InvalidAction("this offer no longer exists")
    case = p.session.get(Case, offer.case_id)
    assert case is not None  # foreign key
    ref = case.ref
    if accepted:
        accept_offer(p.session, p.rt.cfg, offer, p.actor, p.rt.clock())
    else:
        decline_offer(p.session, p.rt.cfg, offer, p.actor, p.rt.clock())
    p.deliver()
    p.then(lambda: show_answer(p.rt, p.body, p.client, ref, accepted))


def show_answer(rt: Runtime, body: Body, client: WebClient, ref: str, accepted: bool) -> None:
    """Replace the offer DM's buttons with the answer given."""
    channel, ts = channel_of(body), message_ts_of(body)
    if not channel or not ts:
        return
    lang = lang_of(rt)
    key = "offer_accepted" if accepted else "offer_declined"
    try:
        client.chat_update(
            channel=channel,
            ts=ts,
            text=say(lang, key, ref=ref),
            blocks=offer_answered_blocks(lang, ref, accepted),
        )
    except SlackClientError:
        # The answer itself is recorded; only the DM's look is stale.
        log.warning("could not update the offer DM about %s", ref, exc_info=True)


def open_hand_over(p: Press[CaseValue]) -> None:
    # The case is loaded first: a missing case is reported now, not after choosing.
    p.open_modal(hand_over_modal(p.lang, p.value.ref, p.channel or ""))


def record_hand_over(p: Press[CaseValue], to_user: str) -> None:
    """Ask ``to_user`` to take the case over; they get an offer DM with the buttons."""
    hand_over(p.session, p.rt.cfg, p.the_case, p.actor, to_user, p.rt.clock())
    p.answer(say(p.lang, "handed_over", ref=p.the_case.ref, user=mention(slack_actor(to_user))))
    p.deliver()


def register(app: App, rt: Runtime) -> None:
    """Attach the offer buttons, the hand-over button and its modal to ``app``."""

    on_press(
        app,
        rt,
        {
            ActionId.ACCEPT_OFFER: Button(
                lambda p: answer_offer(p, True), "accept_offer", parse_offer
            ),
            ActionId.DECLINE_OFFER: Button(
                lambda p: answer_offer(p, False), "decline_offer", parse_offer
            ),
            ActionId.HAND_OVER: Button(open_hand_over, "hand_over", parse_case),
        },
    )

    @app.view(CallbackId.HAND_OVER.value)
    def on_hand_over_submit(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        to_user = read_hand_over(view["state"]["values"], lang_of(rt))
        if not isinstance(to_user, str):
            ack(response_action="errors", errors=to_user)
            return
        ack()
        button = Button(lambda p: record_hand_over(p, to_user), "hand_over", parse_case)
        after_ack(rt, body, client, lambda: submit(rt, body, client, view, button))
