"""What the ombudsman's buttons do: on the escalation alert (take over, ask the manager
for an action plan, acknowledge) and in App Home (an action plan's follow-up is done).

Only ``ombudsman_users`` may use them; anyone else is refused, and the attempt
is audited, by :func:`~handlers.slack.common.require_ombudsman`. Each listener
acknowledges at once and then calls one function here, which acts through
:mod:`bot.actions.cases` with the ombudsman as actor.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlmodel import Session, col, select

from bot.actions.cases import (
    add_action_plan,
    audit,
    claim,
    complete_action_plan,
    enqueue,
    get_case,
    slack_actor,
)
from bot.config import Config
from bot.errors import InvalidAction
from bot.presenters.chat import ESCALATION_REASON_TEXT
from bot.presenters.staff_messages import case_view, local_when
from bot.store.db import session_scope
from bot.store.models import Audit, Case, Escalation, OutboxKind
from handlers.slack.blockkit import esc, mention
from handlers.slack.common import (
    action_value,
    answer,
    channel_of,
    deliver,
    lang_of,
    require_ombudsman,
    user_id_of,
)
from handlers.slack.enums import ActionId, CallbackId
from handlers.slack.errors import after_ack, on_buttons
from handlers.slack.home import due_day, publish_home
from handlers.slack.labels import say, words
from handlers.slack.messages import build_blocks, parse_escalation_value
from handlers.slack.modals import (
    ActionPlanForm,
    action_plan_modal,
    read_action_plan_form,
    read_metadata,
)
from handlers.slack.once import acting_once

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

Body = Mapping[str, Any]

# The due date the modal suggests: two weeks gives a manager time to write a real plan.
DEFAULT_PLAN_DAYS = 14


# --- pure helpers ------------------------------------------------------------


def end_of_day(day: date, cfg: Config) -> datetime:
    """A plan due on ``day`` is due until that day ends, in the organisation's time zone."""
    return datetime.combine(day, time(23, 59), tzinfo=cfg.policy.tz)


def today(rt: Runtime) -> date:
    return rt.clock().astimezone(rt.cfg.policy.tz).date()


def message_ts_of(body: Body) -> str | None:
    """The ts of the message whose button was pressed."""
    container = body.get("container")
    if isinstance(container, Mapping) and container.get("message_ts"):
        return str(container["message_ts"])
    message = body.get("message")
    if isinstance(message, Mapping) and message.get("ts"):
        return str(message["ts"])
    return None


# --- the escalation alert ------------------------------------------------------


def find_escalation(session: Session, case: Case, escalation_id: int | None) -> Escalation:
    """The escalation a button is about; the latest of the case when the button does not
    say (an alert rendered before escalation ids were on the buttons)."""
    query = select(Escalation).where(Escalation.case_id == case.id)
    if escalation_id is not None:
        query = query.where(Escalation.id == escalation_id)
    found = session.exec(query.order_by(col(Escalation.id).desc())).first()
    if found is None:
        raise InvalidAction(f"{case.ref} has no such escalation")
    return found


def acknowledged_by(session: Session, case: Case, escalation: Escalation) -> str | None:
    """Who acknowledged ``escalation``, from the audit trail (the row keeps only when)."""
    if escalation.acknowledged_at is None:
        return None
    entries = session.exec(select(Audit).where(
        Audit.case_id == case.id, Audit.action == "escalation_acknowledged")
        .order_by(col(Audit.id))).all()
    for entry in entries:
        if json.loads(entry.detail).get("escalation_id") == escalation.id:
            return entry.actor
    return None


def alert_context(session: Session, cfg: Config, case: Case, escalation: Escalation,
                  lang: str) -> dict[str, Any]:
    """What :func:`~handlers.slack.messages.escalation_blocks` needs, from the database."""
    ctx: dict[str, Any] = {
        "reason": escalation.reason, "note": escalation.note, "escalation_id": escalation.id,
        "reason_text": ESCALATION_REASON_TEXT.get(escalation.reason, escalation.reason),
        "lang": lang,
    }
    by = acknowledged_by(session, case, escalation)
    if by:
        ctx["acknowledged_by"] = by
        ctx["acknowledged_at"] = local_when(escalation.acknowledged_at, cfg, lang)
    return ctx


def refresh_alert(rt: Runtime, body: Body, client: WebClient, ref: str,
                  escalation_id: int | None) -> None:
    """Re-render the alert whose button was pressed, in place, from the case as it is now.

    Only the copy the ombudsman pressed on is updated; with several ombudsmen the
    others' copies keep their buttons (each button still works and is idempotent).
    """
    channel, ts = channel_of(body), message_ts_of(body)
    if not channel or not ts:
        return
    lang = lang_of(rt)
    with session_scope(rt.db) as session:
        case = get_case(session, ref)
        ctx = alert_context(session, rt.cfg, case, find_escalation(session, case,
                                                                   escalation_id), lang)
        view = case_view(session, rt.cfg, case, rt.clock())
    text = words(lang)["escalation_title"].format(ref=case.ref)
    try:
        client.chat_update(channel=channel, ts=ts, text=text,
                           blocks=build_blocks("escalation", view, ctx))
    except SlackClientError:
        # The action itself is recorded; only the alert's look is stale.
        log.warning("could not update the escalation alert of %s", case.ref, exc_info=True)


def take_over(rt: Runtime, body: Body, client: WebClient) -> None:
    """The ombudsman takes the case: they become its assignee."""
    ref, escalation_id = parse_escalation_value(action_value(body))
    user = user_id_of(body)
    actor = require_ombudsman(rt, user, "take_over", ref)
    now = rt.clock()
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        claim(session, rt.cfg, case, actor, now, take_over=True)
        audit(session, case, actor, "taken_over", now)
    answer(client, user, channel_of(body), say(lang_of(rt), "taken_over", ref=case.ref))
    refresh_alert(rt, body, client, case.ref, escalation_id)
    deliver(rt)  # the staff prompt shows the new assignee


def acknowledge(rt: Runtime, body: Body, client: WebClient) -> None:
    """The ombudsman has seen the escalation; the alert says who and when."""
    ref, escalation_id = parse_escalation_value(action_value(body))
    actor = require_ombudsman(rt, user_id_of(body), "acknowledge_escalation", ref)
    now = rt.clock()
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        escalation = find_escalation(session, case, escalation_id)
        if escalation.acknowledged_at is None:  # a second press changes nothing
            escalation.acknowledged_at = now
            audit(session, case, actor, "escalation_acknowledged", now,
                  escalation_id=escalation.id)
        escalation_id = escalation.id
    refresh_alert(rt, body, client, case.ref, escalation_id)


def open_action_plan(rt: Runtime, body: Body, client: WebClient) -> None:
    ref, _ = parse_escalation_value(action_value(body))
    require_ombudsman(rt, user_id_of(body), "ask_for_action_plan", ref)
    with acting_once(rt, body) as session:
        case = get_case(session, ref)  # a missing case is reported now, not after typing
    initial_due = today(rt) + timedelta(days=DEFAULT_PLAN_DAYS)
    client.views_open(trigger_id=body["trigger_id"], view=action_plan_modal(
        lang_of(rt), case.ref, channel_of(body) or "", initial_due))


def plan_request_text(rt: Runtime, by: str, ref: str, due: str, steps: str) -> str:
    """The DM to the plan's owner; the steps are escaped (typed text, never mentions)."""
    lang = lang_of(rt)
    return "\n".join([say(lang, "plan_dm", by=mention(by), ref=ref, due=due),
                      f"*{say(lang, 'plan_dm_steps')}*", esc(steps, 5000)])


def record_action_plan(rt: Runtime, body: Body, view: Mapping[str, Any], form: ActionPlanForm,
                       client: WebClient) -> None:
    """Record the plan and queue a DM to its owner with the case reference and due date."""
    meta = read_metadata(view)
    ref = meta.get("ref", "")
    user = user_id_of(body)
    actor = require_ombudsman(rt, user, "ask_for_action_plan", ref)
    now = rt.clock()
    due_at = end_of_day(form.due, rt.cfg)
    due = due_day(due_at, rt.cfg, lang_of(rt))
    with acting_once(rt, body) as session:
        case = get_case(session, ref)
        plan = add_action_plan(session, rt.cfg, case, actor, now,
                               owner=slack_actor(form.owner), steps=form.steps, due_at=due_at)
        enqueue(session, kind=OutboxKind.CHAT, dedupe_key=f"action-plan-request:{plan.id}",
                payload={"op": "raw", "user": form.owner,
                         "text": plan_request_text(rt, actor, case.ref, due, form.steps)},
                case=case, now=now)
    answer(client, user, meta.get("channel") or None,
           say(lang_of(rt), "plan_requested", ref=case.ref,
               owner=mention(slack_actor(form.owner)), due=due))
    deliver(rt)


# --- App Home ------------------------------------------------------------------


def follow_up_done(rt: Runtime, body: Body, client: WebClient) -> None:
    """The ombudsman has followed up the case's open action plan: it is done."""
    ref, _, plan = action_value(body).partition("|")
    user = user_id_of(body)
    actor = require_ombudsman(rt, user, "follow_up_done", ref)
    with acting_once(rt, body) as session:
        complete_action_plan(session, rt.cfg, get_case(session, ref), actor, rt.clock(),
                             plan_id=int(plan) if plan.isdigit() else None)
    publish_home(rt, {"user": user, "tab": "home"}, client)


def register(app: App, rt: Runtime) -> None:
    """Attach the ombudsman's button and modal listeners to ``app``."""

    on_buttons(app, rt, {
        ActionId.TAKE_OVER: take_over,
        ActionId.ASK_FOR_ACTION_PLAN: open_action_plan,
        ActionId.ACKNOWLEDGE_ESCALATION: acknowledge,
        ActionId.FOLLOW_UP_DONE: follow_up_done,
    })

    @app.view(CallbackId.ACTION_PLAN.value)
    def on_action_plan(ack: Ack, body: dict[str, Any], view: dict[str, Any],
                       client: WebClient) -> None:
        form = read_action_plan_form(view["state"]["values"], lang_of(rt), today(rt))
        if not isinstance(form, ActionPlanForm):
            ack(response_action="errors", errors=form)
            return
        ack()
        after_ack(rt, body, client, lambda: record_action_plan(rt, body, view, form, client))
