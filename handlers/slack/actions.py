"""What the buttons on the call-back prompt do.

Each listener acknowledges at once and then calls one function here, which
checks that the user is on the staff list (refusals are audited), acts through
:mod:`bot.actions.cases` / :mod:`bot.actions.citizen_mail` with the Slack user as actor, and
delivers what was queued so the prompt updates in place.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlmodel import col, select

from bot.actions.cases import audit, claim, complainant_of, get_case, snooze
from bot.actions.citizen_mail import NumberRequest, request_number
from bot.errors import AlreadyClaimed
from bot.presenters.staff_messages import local_when
from bot.redact import redact
from bot.store.db import session_scope
from bot.store.models import Direction, Message
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
from handlers.slack.enums import ActionId
from handlers.slack.errors import on_buttons
from handlers.slack.labels import say
from handlers.slack.messages import claimed_by_other_blocks, full_text_blocks, parse_snooze_value
from handlers.slack.modals import escalate_modal, log_call_modal
from handlers.slack.once import acting_once, first_report, mark_handled

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

Body = Mapping[str, Any]


def claim_case(rt: Runtime, body: Body, client: WebClient, take_over: bool = False) -> None:
    """"I'll call": the clicker becomes the assignee. When someone else has the case,
    the clicker is told who, with a "take over" button; nothing changes until they press
    it (``take_over``), and then the previous assignee is told."""
    ref = action_value(body)
    user = user_id_of(body)
    actor = require_staff(rt, user, "take_over_claim" if take_over else "claim", ref)
    try:
        with acting_once(rt, body) as session:
            case = get_case(session, ref)
            claim(session, rt.cfg, case, actor, rt.clock(), take_over=take_over)
    except AlreadyClaimed as taken:
        if not first_report(rt, body):
            return  # a replay of a press that was already answered
        lang = lang_of(rt)
        answer(client, user, channel_of(body),
               say(lang, "claimed_by_other", ref=taken.ref, user=mention(taken.assignee)),
               claimed_by_other_blocks(lang, taken.ref, mention(taken.assignee)))
        return
    if take_over:
        answer(client, user, channel_of(body), say(lang_of(rt), "taken_over", ref=case.ref))
    deliver(rt)


def snooze_case(rt: Runtime, body: Body, client: WebClient) -> None:
    ref, minutes = parse_snooze_value(action_value(body))
    user = user_id_of(body)
    actor = require_staff(rt, user, "snooze", ref)
    now = rt.clock()
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        snooze(session, rt.cfg, case, actor, now, minutes)
    until = local_when(now + timedelta(minutes=minutes), rt.cfg, lang_of(rt))
    answer(client, user, channel_of(body), say(lang_of(rt), "snoozed", ref=case.ref, when=until))


def can_confirm_in_writing(rt: Runtime, ref: str) -> bool:
    with session_scope(rt.db) as session:
        complainant = complainant_of(session, get_case(session, ref))
        return bool(complainant.email) and complainant.email_bounced_at is None


def open_log_call(rt: Runtime, body: Body, client: WebClient) -> None:
    ref = action_value(body)
    require_staff(rt, user_id_of(body), "log_call", ref)
    mark_handled(rt, body)
    view = log_call_modal(lang_of(rt), ref, channel_of(body) or "",
                          can_confirm_in_writing(rt, ref))
    client.views_open(trigger_id=body["trigger_id"], view=view)


def open_escalate(rt: Runtime, body: Body, client: WebClient) -> None:
    ref = action_value(body)
    require_staff(rt, user_id_of(body), "escalate", ref)
    with acting_once(rt, body) as session:
        get_case(session, ref)  # a missing case is reported now, not after typing a reason
    client.views_open(trigger_id=body["trigger_id"],
                      view=escalate_modal(lang_of(rt), ref, channel_of(body) or ""))


def show_full_text(rt: Runtime, body: Body, client: WebClient) -> None:
    """The complaint's whole text, to the clicker only; identity numbers stay masked."""
    ref = action_value(body)
    user = user_id_of(body)
    actor = require_staff(rt, user, "show_full_text", ref)
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        texts = list(session.exec(
            select(Message.body_text).where(Message.case_id == case.id,
                                            Message.direction == Direction.INBOUND.value)
            .order_by(col(Message.at), col(Message.id))).all())
        audit(session, case, actor, "full_text_viewed", rt.clock())
    redacted = [redact(t) for t in texts]
    blocks = full_text_blocks(lang_of(rt), case.ref, redacted)
    answer(client, user, channel_of(body),
           say(lang_of(rt), "full_text_title", ref=case.ref), blocks)


NUMBER_REQUEST_LABEL = {
    NumberRequest.SENT: "number_requested",
    NumberRequest.CLOSED: "number_request_closed",
    NumberRequest.NO_EMAIL: "number_request_no_email",
    NumberRequest.BOUNCED: "number_request_bounced",
    NumberRequest.ALREADY_TODAY: "number_request_already",
}


def ask_for_number(rt: Runtime, body: Body, client: WebClient) -> None:
    """Email the complainant asking for a good number and time (the fallback): at most
    once per case per working day; the presser is told when nothing was sent, and why."""
    ref = action_value(body)
    user = user_id_of(body)
    actor = require_staff(rt, user, "ask_for_number", ref)
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        outcome = request_number(session, rt.cfg, rt.renderer, case, actor, rt.clock())
    answer(client, user, channel_of(body),
           say(lang_of(rt), NUMBER_REQUEST_LABEL[outcome], ref=case.ref))
    if outcome == NumberRequest.SENT:
        deliver(rt)


def register(app: App, rt: Runtime) -> None:
    """Attach the prompt's button listeners to ``app``."""

    on_buttons(app, rt, {
        ActionId.CLAIM: claim_case,
        ActionId.LOG_CALL: open_log_call,
        ActionId.SNOOZE: snooze_case,
        ActionId.ESCALATE: open_escalate,
        ActionId.SHOW_FULL_TEXT: show_full_text,
        ActionId.ASK_FOR_NUMBER: ask_for_number,
        ActionId.TAKE_OVER_CLAIM: lambda rt, body, client: claim_case(rt, body, client, True),
    })
