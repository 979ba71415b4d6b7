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

from bot.actions.cases import add_action_plan, claim, complete_action_plan, get_case
from bot.actions.trail import audit, enqueue, slack_actor
from bot.config import Config
from bot.errors import InvalidAction
from bot.presenters.chat import escalation_reason_text
from bot.presenters.staff_messages import case_view, local_when
from bot.store.db import session_scope
from bot.store.models import Audit, Case, Escalation, OutboxKind
from handlers.slack.blockkit import esc, mention
from handlers.slack.common import (
    Body,
    channel_of,
    lang_of,
)
from handlers.slack.context import (
    Button,
    CaseValue,
    EscalationValue,
    PlanValue,
    Press,
    Who,
    on_press,
    parse_case,
    parse_escalation,
    parse_plan,
    submit,
)
from handlers.slack.enums import ActionId, CallbackId
from handlers.slack.errors import after_ack
from handlers.slack.forms import ActionPlanForm, read_action_plan_form
from handlers.slack.home import due_day, publish_home
from handlers.slack.labels import say, words
from handlers.slack.messages import build_blocks
from handlers.slack.modals import action_plan_modal

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

OMBUDSMAN = Who.OMBUDSMAN

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
    entries = session.exec(
        select(Audit)
        .where(Audit.case_id == case.id, Audit.action == "escalation_acknowledged")
        .order_by(col(Audit.id))
    ).all()
    for entry in entries:
        if json.loads(entry.detail).get("escalation_id") == escalation.id:
            return entry.actor
    return None


def alert_context(
    session: Session, cfg: Config, case: Case, escalation: Escalation, lang: str
) -> dict[str, Any]:
    """What :func:`~handlers.slack.messages.escalation_blocks` needs, from the database."""
    ctx: dict[str, Any] = {
        "reason": escalation.reason,
        "note": escalation.note,
        "escalation_id": escalation.id,
        "reason_text": escalation_reason_text(lang, escalation.reason),
        "lang": lang,
    }
    by = acknowledged_by(session, case, escalation)
    if by:
        ctx["acknowledged_by"] = by
        ctx["acknowledged_at"] = local_when(escalation.acknowledged_at, cfg, lang)
    return ctx


def refresh_alert(
    rt: Runtime, body: Body, client: WebClient, ref: str, escalation_id: int | None
) -> None:
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
        ctx = alert_context(
            session, rt.cfg, case, find_escalation(session, case, escalation_id), lang
        )
        view = case_view(session, rt.cfg, case, rt.clock())
    text = words(lang)["escalation_title"].format(ref=case.ref)
    try:
        client.chat_update(
            channel=channel, ts=ts, text=text, blocks=build_blocks("escalation", view, ctx)
        )
    except SlackClientError:
        # The action itself is recorded; only the alert's look is stale.
        log.warning("could not update the escalation alert of %s", case.ref, exc_info=True)


def then_refresh_alert(p: Press[EscalationValue], escalation_id: int | None) -> None:
    ref = p.the_case.ref
    p.then(lambda: refresh_alert(p.rt, p.body, p.client, ref, escalation_id))


def take_over(p: Press[EscalationValue]) -> None:
    """The ombudsman takes the case: they become its assignee."""
    now = p.rt.clock()
    claim(p.session, p.rt.cfg, p.the_case, p.actor, now, take_over=True)
    audit(p.session, p.the_case, p.actor, "taken_over", now)
    p.answer(say(p.lang, "taken_over", ref=p.the_case.ref))
    then_refresh_alert(p, p.value.escalation_id)
    p.deliver()  # the staff prompt shows the new assignee


def acknowledge(p: Press[EscalationValue]) -> None:
    """The ombudsman has seen the escalation; the alert says who and when."""
    now = p.rt.clock()
    escalation = find_escalation(p.session, p.the_case, p.value.escalation_id)
    if escalation.acknowledged_at is None:  # a second press changes nothing
        escalation.acknowledged_at = now
        audit(
            p.session,
            p.the_case,
            p.actor,
            "escalation_acknowledged",
            now,
            escalation_id=escalation.id,
        )
    then_refresh_alert(p, escalation.id)


def open_action_plan(p: Press[EscalationValue]) -> None:
    # The case is loaded first: a missing case is reported now, not after typing.
    initial_due = today(p.rt) + timedelta(days=DEFAULT_PLAN_DAYS)
    p.open_modal(action_plan_modal(p.lang, p.the_case.ref, p.channel or "", initial_due))


def plan_request_text(lang: str, by: str, ref: str, due: str, steps: str) -> str:
    """The DM to the plan's owner; the steps are escaped (typed text, never mentions)."""
    return "\n".join(
        [
            say(lang, "plan_dm", by=mention(by), ref=ref, due=due),
            f"*{say(lang, 'plan_dm_steps')}*",
            esc(steps, 5000),
        ]
    )


def record_action_plan(p: Press[CaseValue], form: ActionPlanForm) -> None:
    """Record the plan and queue a DM to its owner with the case reference and due date."""
    now, case = p.rt.clock(), p.the_case
    due_at = end_of_day(form.due, p.rt.cfg)
    due = due_day(due_at, p.rt.cfg, p.lang)
    plan = add_action_plan(
        p.session,
        p.rt.cfg,
        case,
        p.actor,
        now,
        owner=slack_actor(form.owner),
        steps=form.steps,
        due_at=due_at,
    )
    enqueue(
        p.session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"action-plan-request:{plan.id}",
        payload={
            "op": "raw",
            "user": form.owner,
            "text": plan_request_text(p.lang, p.actor, case.ref, due, form.steps),
        },
        case=case,
        now=now,
    )
    p.answer(
        say(p.lang, "plan_requested", ref=case.ref, owner=mention(slack_actor(form.owner)), due=due)
    )
    p.deliver()


# --- App Home ------------------------------------------------------------------


def follow_up_done(p: Press[PlanValue]) -> None:
    """The ombudsman has followed up the case's open action plan: it is done."""
    complete_action_plan(
        p.session, p.rt.cfg, p.the_case, p.actor, p.rt.clock(), plan_id=p.value.plan_id
    )
    p.then(lambda: publish_home(p.rt, {"user": p.user, "tab": "home"}, p.client))


def register(app: App, rt: Runtime) -> None:
    """Attach the ombudsman's button and modal listeners to ``app``."""

    on_press(
        app,
        rt,
        {
            ActionId.TAKE_OVER: Button(take_over, "take_over", parse_escalation, OMBUDSMAN),
            ActionId.ASK_FOR_ACTION_PLAN: Button(
                open_action_plan, "ask_for_action_plan", parse_escalation, OMBUDSMAN
            ),
            ActionId.ACKNOWLEDGE_ESCALATION: Button(
                acknowledge, "acknowledge_escalation", parse_escalation, OMBUDSMAN
            ),
            ActionId.FOLLOW_UP_DONE: Button(
                follow_up_done, "follow_up_done", parse_plan, OMBUDSMAN
            ),
        },
    )

    @app.view(CallbackId.ACTION_PLAN.value)
    def on_action_plan(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        form = read_action_plan_form(view["state"]["values"], lang_of(rt), today(rt))
        if not isinstance(form, ActionPlanForm):
            ack(response_action="errors", errors=form)
            return
        ack()
        button = Button(
            lambda p: record_action_plan(p, form), "ask_for_action_plan", parse_case, OMBUDSMAN
        )
        after_ack(rt, body, client, lambda: submit(rt, body, client, view, button))
