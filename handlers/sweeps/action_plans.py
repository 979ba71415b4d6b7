"""Action plans: remind the owner before the due date, alert the ombudsman when it passes.

Each reminder and alert is queued once per plan (outbox dedupe keys), so the
sweep can run as often as it likes, on as many instances as there are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlmodel import col, select

from bot.actions.trail import audit, enqueue, slack_user
from bot.domain.calendar import WorkingCalendar
from bot.domain.vocabulary import ChatOp
from bot.store.db import session_scope
from bot.store.models import ActionPlan, Case, OutboxKind

if TYPE_CHECKING:
    from bot.wiring import Runtime

REMIND_WORKING_DAYS_BEFORE = 1


def _user(actor: str) -> str | None:
    return slack_user(actor) or actor or None


def run(rt: Runtime) -> int:
    cfg, now = rt.cfg, rt.clock()
    calendar = WorkingCalendar.from_policy(cfg.policy)
    # Anything due within the reminder horizon is a candidate (index on nothing but a
    # handful of open plans: there are few, they are short-lived).
    horizon = calendar.add_working_days(now, REMIND_WORKING_DAYS_BEFORE)
    acted = 0
    with session_scope(rt.db) as session:
        plans = session.exec(
            select(ActionPlan).where(
                col(ActionPlan.done_at).is_(None), col(ActionPlan.due_at) <= horizon
            )
        ).all()
        for plan in plans:
            case = session.get(Case, plan.case_id)
            if case is None:
                continue
            due_local = plan.due_at.astimezone(cfg.policy.tz).strftime("%Y-%m-%d %H:%M")
            if plan.due_at > now and enqueue(
                session,
                kind=OutboxKind.CHAT,
                dedupe_key=f"plan-reminder:{plan.id}",
                payload={
                    "op": ChatOp.RAW,
                    "user": _user(plan.owner),
                    "channel": cfg.chat.triage_channel,
                    "text": f"📋 Åtgärdsplanen för {case.ref} ska vara klar {due_local}.",
                },
                case=case,
                now=now,
            ):
                audit(session, case, "system", "action_plan_reminder", now, plan_id=plan.id)
                acted += 1
            if plan.due_at <= now:
                queued = [
                    enqueue(
                        session,
                        kind=OutboxKind.CHAT,
                        dedupe_key=f"plan-overdue:{plan.id}:{user}",
                        payload={
                            "op": ChatOp.RAW,
                            "user": user or None,
                            "channel": cfg.chat.triage_channel,
                            "text": f"⏰ Åtgärdsplanen för {case.ref} passerade "
                            f"sitt datum {due_local} och är inte klar "
                            f"(ansvarig: {plan.owner}).",
                        },
                        case=case,
                        now=now,
                    )
                    for user in cfg.chat.ombudsman_users or ("",)
                ]
                if any(queued):
                    audit(session, case, "system", "action_plan_overdue", now, plan_id=plan.id)
                    acted += 1
    return acted
