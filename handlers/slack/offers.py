"""Answering call-back offers in Slack, and handing a case over to a colleague.

An offer DM (see :func:`bot.actions.assignment.offer_case`) carries two buttons,
"I'll call" and "Can't now", whose value is the offer id. Only the person it
was offered to may answer (:mod:`bot.actions.assignment` refuses anyone else); the DM
is then updated to say what they answered, without buttons. "Hand over" on the
prompt opens a modal to pick a colleague, who gets an offer DM of their own.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.actions.assignment import accept_offer, decline_offer, hand_over
from bot.actions.cases import get_case, slack_actor
from bot.errors import InvalidAction
from bot.store.models import Case, CaseOffer
from handlers.slack.blockkit import mention
from handlers.slack.common import (
    action_value,
    answer,
    channel_of,
    deliver,
    lang_of,
    require_staff,
    user_id_of,
)
from handlers.slack.enums import ActionId, CallbackId
from handlers.slack.errors import after_ack, on_buttons
from handlers.slack.labels import say
from handlers.slack.messages import offer_answered_blocks
from handlers.slack.modals import hand_over_modal, read_hand_over, read_metadata
from handlers.slack.ombudsman import message_ts_of
from handlers.slack.once import acting_once

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

Body = Mapping[str, Any]


def offer_id_of(body: Body) -> int:
    """The offer a DM button is about (its value); InvalidAction for anything else."""
    value = action_value(body)
    if not value.isdigit():
        raise InvalidAction(f"not an offer: {value[:40]!r}")
    return int(value)


def answer_offer(rt: Runtime, body: Body, client: WebClient, accepted: bool) -> None:
    """Accept or decline the offer whose button was pressed, deliver what that queued
    (the prompt shows the new assignee; a colleague who asked is told), and update
    the DM to show the answer."""
    user = user_id_of(body)
    actor = require_staff(rt, user, "accept_offer" if accepted else "decline_offer")
    now = rt.clock()
    with acting_once(rt, body) as session:
        offer = session.get(CaseOffer, offer_id_of(body))
        if offer is None:
            raise InvalidAction("this offer no longer exists")
        case = session.get(Case, offer.case_id)
        assert case is not None  # foreign key
        ref = case.ref
        if accepted:
            accept_offer(session, rt.cfg, offer, actor, now)
        else:
            decline_offer(session, rt.cfg, offer, actor, now)
    deliver(rt)
    show_answer(rt, body, client, ref, accepted)


def show_answer(rt: Runtime, body: Body, client: WebClient, ref: str, accepted: bool) -> None:
    """Replace the offer DM's buttons with the answer given."""
    channel, ts = channel_of(body), message_ts_of(body)
    if not channel or not ts:
        return
    lang = lang_of(rt)
    key = "offer_accepted" if accepted else "offer_declined"
    try:
        client.chat_update(channel=channel, ts=ts, text=say(lang, key, ref=ref),
                           blocks=offer_answered_blocks(lang, ref, accepted))
    except SlackClientError:
        # The answer itself is recorded; only the DM's look is stale.
        log.warning("could not update the offer DM about %s", ref, exc_info=True)


def open_hand_over(rt: Runtime, body: Body, client: WebClient) -> None:
    ref = action_value(body)
    require_staff(rt, user_id_of(body), "hand_over", ref)
    with acting_once(rt, body) as session:
        get_case(session, ref)  # a missing case is reported now, not after choosing
    client.views_open(trigger_id=body["trigger_id"],
                      view=hand_over_modal(lang_of(rt), ref, channel_of(body) or ""))


def record_hand_over(rt: Runtime, body: Body, view: Mapping[str, Any], to_user: str,
                     client: WebClient) -> None:
    """Ask ``to_user`` to take the case over; they get an offer DM with the buttons."""
    meta = read_metadata(view)
    ref = meta.get("ref", "")
    user = user_id_of(body)
    actor = require_staff(rt, user, "hand_over", ref)
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        hand_over(session, rt.cfg, case, actor, to_user, rt.clock())
    answer(client, user, meta.get("channel") or None,
           say(lang_of(rt), "handed_over", ref=case.ref, user=mention(slack_actor(to_user))))
    deliver(rt)


def register(app: App, rt: Runtime) -> None:
    """Attach the offer buttons, the hand-over button and its modal to ``app``."""

    on_buttons(app, rt, {
        ActionId.ACCEPT_OFFER: lambda rt, body, client: answer_offer(rt, body, client, True),
        ActionId.DECLINE_OFFER: lambda rt, body, client: answer_offer(rt, body, client, False),
        ActionId.HAND_OVER: open_hand_over,
    })

    @app.view(CallbackId.HAND_OVER.value)
    def on_hand_over_submit(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                            client: WebClient) -> None:
        to_user = read_hand_over(view["state"]["values"], lang_of(rt))
        if not isinstance(to_user, str):
            ack(response_action="errors", errors=to_user)
            return
        ack()
        after_ack(rt, body, client, lambda: record_hand_over(rt, body, view, to_user, client))
