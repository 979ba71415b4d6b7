"""App Home: staff see their open cases and deadlines; the ombudsman sees escalated and
overdue cases, and the open action plans to follow up (with a "follow-up done" button)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient
from sqlmodel import Session, col, select

from bot.actions.cases import complainant_of
from bot.actions.trail import slack_actor
from bot.actions.workload import load_view, may_see_load
from bot.config import Config
from bot.presenters.staff_messages import WEEKDAYS, local_when
from bot.store.db import session_scope
from bot.store.models import ActionPlan, Case, Status
from handlers.slack.blockkit import (
    VIEW_BLOCKS,
    button,
    context,
    esc,
    header,
    mention,
    section,
)
from handlers.slack.enums import ActionId
from handlers.slack.labels import words

if TYPE_CHECKING:
    from bot.wiring import Runtime

ROWS_PER_LIST = 20


def open_cases(session: Session) -> Any:
    return select(Case).where(Case.status != Status.CLOSED.value, col(Case.historical).is_(False))


def case_line(session: Session, cfg: Config, case: Case, lang: str) -> str:
    """``*KL-2026-000001* · Anna Andersson · Ring före tis 24/11 10:00``, name escaped."""
    w = words(lang)
    name = complainant_of(session, case).name
    parts = [f"*{case.ref}*", esc(name, 100) if name else w["no_name"]]
    if case.first_contact_at is None and case.first_contact_due_at is not None:
        parts.append(
            w["deadline"].format(deadline=local_when(case.first_contact_due_at, cfg, lang))
        )
    elif case.first_contact_at is not None:
        parts.append(w["contacted"])
    if case.serious:
        parts.append(w["serious"])
    return " · ".join(parts)


def case_list(
    title: str, lines: Sequence[str], empty: str | None, lang: str
) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = [header(title)]
    if not lines:
        return [*blocks, context([empty])] if empty else []
    blocks.extend(section(line) for line in lines[:ROWS_PER_LIST])
    if len(lines) > ROWS_PER_LIST:
        blocks.append(context([words(lang)["home_more"].format(n=len(lines) - ROWS_PER_LIST)]))
    return blocks


def due_day(dt: datetime, cfg: Config, lang: str) -> str:
    """``tis 08/12``: an action plan's due date, in the organisation's time zone."""
    local = dt.astimezone(cfg.policy.tz)
    return f"{WEEKDAYS.get(lang, WEEKDAYS['sv'])[local.weekday()]} {local:%d/%m}"


def plan_list(session: Session, cfg: Config, now: datetime, lang: str) -> list[dict[str, Any]]:
    """Open action plans, soonest due first, overdue ones marked, each with its
    "follow-up done" button."""
    w = words(lang)
    rows = session.exec(
        select(ActionPlan, Case)
        .join(Case, col(Case.id) == ActionPlan.case_id)
        .where(col(ActionPlan.done_at).is_(None))
        .order_by(col(ActionPlan.due_at), col(ActionPlan.id))
    ).all()
    blocks: list[dict[str, Any]] = [header(w["home_plans"])]
    if not rows:
        return [*blocks, context(["–"])]
    for plan, case in rows[:ROWS_PER_LIST]:
        line = w["plan_line"].format(
            ref=case.ref, owner=mention(plan.owner), due=due_day(plan.due_at, cfg, lang)
        )
        if plan.due_at < now:
            line += f" · {w['plan_overdue']}"
        block = section(line)
        block["accessory"] = button(
            w["follow_up_done"], ActionId.FOLLOW_UP_DONE, f"{case.ref}|{plan.id}"
        )
        blocks.append(block)
    if len(rows) > ROWS_PER_LIST:
        blocks.append(context([w["home_more"].format(n=len(rows) - ROWS_PER_LIST)]))
    return blocks


def person(user: str) -> str:
    """A Slack user id as a mention; anything else (the system, a shell user) as text."""
    return mention(slack_actor(user)) if user.isalnum() and user.isupper() else esc(user, 100)


def load_list(
    session: Session, cfg: Config, user: str, now: datetime, lang: str
) -> list[dict[str, Any]]:
    """Call-backs and hard calls per person per week, newest week first (managers and
    the ombudsman only: :func:`bot.actions.assignment.load_view` refuses anyone else)."""
    w = words(lang)
    rows = load_view(session, cfg, slack_actor(user), now)
    blocks: list[dict[str, Any]] = [header(w["home_load"])]
    if not rows:
        return [*blocks, context([w["load_none"]])]
    for week in sorted({r["week"] for r in rows}, reverse=True):
        lines = [
            w["load_line"].format(
                user=person(str(r["user"])),
                claimed=r["claimed"],
                calls=r["calls"],
                hard=r["hard_calls"],
                declined=r["offers_declined"],
            )
            for r in rows
            if r["week"] == week
        ]
        blocks.append(section(f"*{week}*\n" + "\n".join(lines[:ROWS_PER_LIST])))
    return blocks


def home_view(session: Session, cfg: Config, user: str, now: datetime, lang: str) -> dict[str, Any]:
    """The App Home for ``user``, from the database as it is now."""
    w = words(lang)
    chat = cfg.chat
    blocks: list[dict[str, Any]] = []
    by_deadline = (col(Case.first_contact_due_at), col(Case.received_at))
    if user not in chat.staff_users and user not in chat.ombudsman_users:
        blocks.append(section(w["home_not_staff"]))
    if user in chat.staff_users or user in chat.ombudsman_users:
        mine = session.exec(
            open_cases(session).where(Case.assignee == slack_actor(user)).order_by(*by_deadline)
        ).all()
        blocks += case_list(
            w["home_mine"], [case_line(session, cfg, c, lang) for c in mine], w["home_none"], lang
        )
        unclaimed = session.exec(
            open_cases(session).where(col(Case.assignee).is_(None)).order_by(*by_deadline)
        ).all()
        blocks += case_list(
            w["home_unclaimed"], [case_line(session, cfg, c, lang) for c in unclaimed], None, lang
        )
    if user in chat.ombudsman_users:
        escalated = session.exec(
            open_cases(session)
            .where(col(Case.escalated_at).is_not(None))
            .order_by(col(Case.escalated_at))
        ).all()
        blocks += case_list(
            w["home_escalated"], [case_line(session, cfg, c, lang) for c in escalated], "–", lang
        )
        blocks += plan_list(session, cfg, now, lang)
        overdue = session.exec(
            open_cases(session)
            .where(col(Case.first_contact_at).is_(None), col(Case.first_contact_due_at) < now)
            .order_by(*by_deadline)
        ).all()
        blocks += case_list(
            w["home_overdue"], [case_line(session, cfg, c, lang) for c in overdue], "–", lang
        )
    if may_see_load(cfg, slack_actor(user)):
        blocks += load_list(session, cfg, user, now, lang)
    return {"type": "home", "blocks": blocks[:VIEW_BLOCKS]}


def publish_home(rt: Runtime, event: Mapping[str, Any], client: WebClient) -> None:
    if event.get("tab", "home") != "home":
        return
    user = str(event.get("user", ""))
    with session_scope(rt.db) as session:
        view = home_view(session, rt.cfg, user, rt.clock(), rt.cfg.chat.staff_language)
    client.views_publish(user_id=user, view=view)


def register(app: App, rt: Runtime) -> None:
    """Attach the App Home listener to ``app``."""

    @app.event("app_home_opened")
    def on_home_opened(event: dict[str, Any], client: WebClient) -> None:
        publish_home(rt, event, client)
