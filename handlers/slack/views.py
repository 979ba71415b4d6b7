"""What happens when staff submit the log-call and escalate modals.

Validation is pure and fast, so it runs before ``ack`` (Slack shows field
errors only in the acknowledgement); the work runs after it, once per
submitted view (see :mod:`handlers.slack.once`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.actions.cases import close_case, complainant_of, escalate, get_case, log_contact
from bot.actions.citizen_mail import send_confirmation
from bot.store.models import EscalationReason
from handlers.slack.common import answer, deliver, lang_of, require_staff, user_id_of
from handlers.slack.enums import BlockId, CallbackId
from handlers.slack.errors import after_ack
from handlers.slack.labels import say
from handlers.slack.modals import CallForm, read_call_form, read_metadata, read_reason
from handlers.slack.once import acting_once

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

Body = Mapping[str, Any]


def record_call(rt: Runtime, body: Body, view: Mapping[str, Any], form: CallForm,
                client: WebClient) -> None:
    """Log the call; close the case when a resolution was chosen; queue the written
    confirmation when asked for (and an address that works is known)."""
    ref = read_metadata(view).get("ref", "")
    actor = require_staff(rt, user_id_of(body), "log_call", ref)
    now = rt.clock()
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        log_contact(session, rt.cfg, case, actor, now, outcome=form.outcome, note=form.note,
                    remedy=form.remedy or None, next_step=form.next_step or None,
                    hard=form.hard)
        if form.resolution is not None:
            close_case(session, rt.cfg, case, actor, now, resolution=form.resolution)
        complainant = complainant_of(session, case)
        if form.send_confirmation and complainant.email and complainant.email_bounced_at is None:
            send_confirmation(session, rt.cfg, rt.renderer, case, actor, now)
    deliver(rt)


def record_escalation(rt: Runtime, body: Body, view: Mapping[str, Any], reason: str,
                      client: WebClient) -> None:
    meta = read_metadata(view)
    ref = meta.get("ref", "")
    user = user_id_of(body)
    actor = require_staff(rt, user, "escalate", ref)
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        escalate(session, rt.cfg, case, actor, rt.clock(), reason=EscalationReason.STAFF,
                 note=reason)
    answer(client, user, meta.get("channel") or None,
           say(lang_of(rt), "escalated_ok", ref=case.ref))
    deliver(rt)


def register(app: App, rt: Runtime) -> None:
    """Attach the modal submission listeners to ``app``."""

    @app.view(CallbackId.LOG_CALL.value)
    def on_log_call(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                    client: WebClient) -> None:
        form = read_call_form(view["state"]["values"], lang_of(rt))
        if not isinstance(form, CallForm):
            ack(response_action="errors", errors=form)
            return
        ack()
        after_ack(rt, body, client, lambda: record_call(rt, body, view, form, client))

    @app.view(CallbackId.ESCALATE.value)
    def on_escalate(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                    client: WebClient) -> None:
        reason = read_reason(view["state"]["values"])
        if not reason:
            ack(response_action="errors",
                errors={BlockId.REASON: say(lang_of(rt), "escalate_reason")})
            return
        ack()
        after_ack(rt, body, client,
                  lambda: record_escalation(rt, body, view, reason, client))
