"""What the buttons on the call-back prompt do.

Each button is declared in :func:`register` and receives a
:class:`~handlers.slack.context.Press`: the presser is already checked against the
staff list (refusals are audited), the transaction is open and the case is loaded.
The work acts through :mod:`bot.actions.cases` / :mod:`bot.actions.citizen_mail` with the presser as
actor, and delivers what was queued so the prompt updates in place.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from slack_bolt import App
from sqlmodel import col, select

from bot.actions.cases import claim, complainant_of, snooze
from bot.actions.citizen_mail import NumberRequest, request_number
from bot.actions.trail import audit
from bot.errors import AlreadyClaimed
from bot.presenters.staff_messages import local_when
from bot.redact import redact
from bot.store.models import Direction, Message
from handlers.slack.blockkit import mention
from handlers.slack.context import (
    Button,
    CaseValue,
    Press,
    SnoozeValue,
    on_press,
    parse_case,
    parse_snooze,
)
from handlers.slack.enums import ActionId
from handlers.slack.labels import say
from handlers.slack.messages import claimed_by_other_blocks, full_text_blocks
from handlers.slack.modals import escalate_modal, log_call_modal

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


def claim_case(p: Press[CaseValue], take_over: bool = False) -> None:
    """ "I'll call": the presser becomes the assignee. When someone else has the case,
    the presser is told who, with a "take over" button; nothing changes until they press
    it (``take_over``), and then the previous assignee is told."""
    try:
        claim(p.session, p.rt.cfg, p.the_case, p.actor, p.rt.clock(), take_over=take_over)
    except AlreadyClaimed as taken:
        # Nothing changed; the press is recorded, so a replay of it is not answered again.
        who = mention(taken.assignee)
        p.answer(
            say(p.lang, "claimed_by_other", ref=taken.ref, user=who),
            claimed_by_other_blocks(p.lang, taken.ref, who),
        )
        return
    if take_over:
        p.answer(say(p.lang, "taken_over", ref=p.the_case.ref))
    p.deliver()


def snooze_case(p: Press[SnoozeValue]) -> None:
    now = p.rt.clock()
    snooze(p.session, p.rt.cfg, p.the_case, p.actor, now, p.value.minutes)
    until = local_when(now + timedelta(minutes=p.value.minutes), p.rt.cfg, p.lang)
    p.answer(say(p.lang, "snoozed", ref=p.the_case.ref, when=until))


def open_log_call(p: Press[CaseValue]) -> None:
    complainant = complainant_of(p.session, p.the_case)
    can_confirm = bool(complainant.email) and complainant.email_bounced_at is None
    p.open_modal(log_call_modal(p.lang, p.value.ref, p.channel or "", can_confirm))


def open_escalate(p: Press[CaseValue]) -> None:
    # The case is loaded first: a missing case is reported now, not after typing a reason.
    p.open_modal(escalate_modal(p.lang, p.value.ref, p.channel or ""))


def show_full_text(p: Press[CaseValue]) -> None:
    """The complaint's whole text, to the presser only; identity numbers stay masked."""
    case = p.the_case
    texts = list(
        p.session.exec(
            select(Message.body_text)
            .where(Message.case_id == case.id, Message.direction == Direction.INBOUND.value)
            .order_by(col(Message.at), col(Message.id))
        ).all()
    )
    audit(p.session, case, p.actor, "full_text_viewed", p.rt.clock())
    redacted = [redact(t) for t in texts]
    p.answer(
        say(p.lang, "full_text_title", ref=case.ref), full_text_blocks(p.lang, case.ref, redacted)
    )


NUMBER_REQUEST_LABEL = {
    NumberRequest.SENT: "number_requested",
    NumberRequest.CLOSED: "number_request_closed",
    NumberRequest.NO_EMAIL: "number_request_no_email",
    NumberRequest.BOUNCED: "number_request_bounced",
    NumberRequest.ALREADY_TODAY: "number_request_already",
}


def ask_for_number(p: Press[CaseValue]) -> None:
    """Email the complainant asking for a good number and time (the fallback): at most
    once per case per working day; the presser is told when nothing was sent, and why."""
    outcome = request_number(p.session, p.rt.cfg, p.rt.renderer, p.the_case, p.actor, p.rt.clock())
    p.answer(say(p.lang, NUMBER_REQUEST_LABEL[outcome], ref=p.the_case.ref))
    if outcome == NumberRequest.SENT:
        p.deliver()


def register(app: App, rt: Runtime) -> None:
    """Attach the prompt's button listeners to ``app``."""

    on_press(
        app,
        rt,
        {
            ActionId.CLAIM: Button(claim_case, "claim", parse_case),
            ActionId.TAKE_OVER_CLAIM: Button(
                lambda p: claim_case(p, take_over=True), "take_over_claim", parse_case
            ),
            ActionId.LOG_CALL: Button(open_log_call, "log_call", parse_case),
            ActionId.SNOOZE: Button(snooze_case, "snooze", parse_snooze),
            ActionId.ESCALATE: Button(open_escalate, "escalate", parse_case),
            ActionId.SHOW_FULL_TEXT: Button(show_full_text, "show_full_text", parse_case),
            ActionId.ASK_FOR_NUMBER: Button(ask_for_number, "ask_for_number", parse_case),
        },
    )
