"""What happens when staff submit the log-call and escalate modals.

Validation is pure and fast, so it runs before ``ack`` (Slack shows field
errors only in the acknowledgement); the work runs after it, once per
submitted view (see :mod:`handlers.slack.once`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.actions.cases import close_case, complainant_of, escalate, log_contact
from bot.actions.citizen_mail import send_confirmation
from bot.store.models import EscalationReason
from handlers.slack.common import lang_of
from handlers.slack.context import Button, CaseValue, Press, parse_case, submit
from handlers.slack.enums import BlockId, CallbackId
from handlers.slack.errors import after_ack
from handlers.slack.forms import CallForm, read_call_form, read_reason
from handlers.slack.labels import say

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


def record_call(p: Press[CaseValue], form: CallForm) -> None:
    """Log the call; close the case when a resolution was chosen; queue the written
    confirmation when asked for (and an address that works is known)."""
    session, cfg, case, now = p.session, p.rt.cfg, p.the_case, p.rt.clock()
    log_contact(
        session,
        cfg,
        case,
        p.actor,
        now,
        outcome=form.outcome,
        note=form.note,
        remedy=form.remedy or None,
        next_step=form.next_step or None,
        hard=form.hard,
    )
    if form.resolution is not None:
        close_case(session, cfg, case, p.actor, now, resolution=form.resolution)
    complainant = complainant_of(session, case)
    if form.send_confirmation and complainant.email and complainant.email_bounced_at is None:
        send_confirmation(session, cfg, p.rt.renderer, case, p.actor, now)
    p.deliver()


def record_escalation(p: Press[CaseValue], reason: str) -> None:
    escalate(
        p.session,
        p.rt.cfg,
        p.the_case,
        p.actor,
        p.rt.clock(),
        reason=EscalationReason.STAFF,
        note=reason,
    )
    p.answer(say(p.lang, "escalated_ok", ref=p.the_case.ref))
    p.deliver()


def register(app: App, rt: Runtime) -> None:
    """Attach the modal submission listeners to ``app``."""

    @app.view(CallbackId.LOG_CALL.value)
    def on_log_call(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        form = read_call_form(view["state"]["values"], lang_of(rt))
        if not isinstance(form, CallForm):
            ack(response_action="errors", errors=form)
            return
        ack()
        button = Button(lambda p: record_call(p, form), "log_call", parse_case)
        after_ack(rt, body, client, lambda: submit(rt, body, client, view, button))

    @app.view(CallbackId.ESCALATE.value)
    def on_escalate(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        reason = read_reason(view["state"]["values"])
        if not reason:
            ack(
                response_action="errors",
                errors={BlockId.REASON: say(lang_of(rt), "escalate_reason")},
            )
            return
        ack()
        button = Button(lambda p: record_escalation(p, reason), "escalate", parse_case)
        after_ack(rt, body, client, lambda: submit(rt, body, client, view, button))
