"""The ``complaint-bot case ...`` commands: act on one case, as staff do in Slack."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Concatenate, ParamSpec

import typer

from bot.cli.common import (
    ByOpt,
    ConfigOpt,
    Fmt,
    acting,
    config_from,
    fail,
    print_json,
    runtime_for,
    with_case,
)
from bot.clock import parse_instant
from bot.config import Config

if TYPE_CHECKING:
    from bot.actions.trail import Actor

case_app = typer.Typer(no_args_is_help=True, help="Act on one case, as staff do in Slack.")
P = ParamSpec("P")


def act_on(
    config: Path | None,
    ref: str,
    by: str | None,
    action: Callable[Concatenate[Any, Config, Any, Actor, datetime, P], object],
    *args: P.args,
    **kwargs: P.kwargs,
) -> None:
    """Run the case action ``action(session, cfg, case, actor, now, ...)`` on case ``ref``
    as the operator (``--by``), in one transaction (see :func:`with_case`)."""
    with_case(
        config, ref, lambda s, cfg, c, now: action(s, cfg, c, acting(cfg, by), now, *args, **kwargs)
    )


@case_app.command("show")
def case_show(
    ref: str, config: ConfigOpt = None, fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table
) -> None:
    """Everything about one case, with its audit trail."""
    cfg = config_from(config)
    from bot.actions.case_records import case_detail
    from bot.actions.cases import get_case
    from bot.errors import CaseNotFound
    from bot.store.db import session_scope

    rt = runtime_for(cfg)
    try:
        with session_scope(rt.db) as s:
            data = case_detail(s, cfg, get_case(s, ref))
    except CaseNotFound as exc:
        fail(str(exc), 3)
    if fmt == Fmt.json:
        print_json(data)
        return
    c = data["complainant"]
    lines = [
        f"{data['ref']}  {data['status']}  ({data['source']}, {data['language']})",
        f"received:       {data['received_at']}",
        f"complainant:    {c['name'] or '-'}  {c['email'] or '-'}  {c['phone'] or '-'}",
        f"other numbers:  {', '.join(data['phone_alternatives']) or '-'}",
        f"subject:        {data['subject']}",
        f"assignee:       {data['assignee'] or '-'}",
        f"acknowledged:   {data['ack_sent_at'] or '-'}",
        f"first contact:  {data['first_contact_at'] or '-'} "
        f"(due {data['first_contact_due_at'] or '-'})",
        f"escalated:      {data['escalated_at'] or '-'}",
        f"closed:         {data['closed_at'] or '-'} {data['resolution'] or ''}",
        f"reminders sent: {data['reminders_sent']}",
        *[f"mentions:       {ref}, from a different sender" for ref in data["mentions"]],
        "",
        "summary:",
        f"  {data['summary']}",
        "",
        "contact attempts:",
    ]
    lines += [
        f"  {a['at']}  {a['outcome']:<12} {a['by']}  {a['note']}"
        + (f"  remedy: {a['remedy']}" if a["remedy"] else "")
        + (f"  next: {a['next_step']}" if a["next_step"] else "")
        for a in data["attempts"]
    ] or ["  (none)"]
    lines += ["", "messages:"]
    lines += [
        f"  {m['at']}  {m['direction']:<8} {m['channel']:<6} {m['classification']:<10} "
        f"{m['subject']}"
        for m in data["messages"]
    ] or ["  (none)"]
    lines += ["", "audit trail:"]
    lines += [
        f"  {a['at']}  {a['actor']:<20} {a['action']:<16} "
        f"{json.dumps(a['detail'], ensure_ascii=False)}"
        for a in data["audit"]
    ]
    typer.echo("\n".join(lines))


class OutcomeOpt(StrEnum):
    reached = "reached"
    meeting = "meeting"
    no_answer = "no_answer"
    voicemail = "voicemail"
    wrong_number = "wrong_number"


class ResolutionOpt(StrEnum):
    dialogue = "dialogue"
    other_measure = "other_measure"
    not_resolved = "not_resolved"
    withdrawn = "withdrawn"
    left_service = "left_service"


class ReasonOpt(StrEnum):
    staff = "staff"
    serious = "serious"


@case_app.command("claim")
def case_claim(
    ref: str,
    config: ConfigOpt = None,
    by: ByOpt = None,
    take_over: Annotated[
        bool, typer.Option("--take-over", help="Take the case from whoever has it (they are told).")
    ] = False,
) -> None:
    """Take the call-back: "I'll call". A case someone else has is refused (exit 4,
    naming who has it) unless --take-over."""
    from bot.actions.cases import claim

    act_on(config, ref, by, claim, take_over=take_over)
    typer.echo(f"{ref}: claimed")


@case_app.command("log-call")
def case_log_call(
    ref: str,
    outcome: Annotated[OutcomeOpt, typer.Option("--outcome")],
    note: Annotated[str, typer.Option("--note", help="A factual, neutral note.")] = "",
    remedy: Annotated[
        str | None, typer.Option("--remedy", help="e.g. apology, compensation")
    ] = None,
    next_step: Annotated[str | None, typer.Option("--next-step")] = None,
    hard: Annotated[
        bool, typer.Option("--hard", help="A hard call (threats, abuse, distress).")
    ] = False,
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Log a call (or meeting) attempt with the complainant."""
    from bot.actions.cases import log_contact
    from bot.store.models import Outcome

    act_on(
        config,
        ref,
        by,
        log_contact,
        outcome=Outcome(outcome.value),
        note=note,
        remedy=remedy,
        next_step=next_step,
        hard=hard,
    )
    typer.echo(f"{ref}: call logged ({outcome.value})")


@case_app.command("close")
def case_close(
    ref: str,
    resolution: Annotated[ResolutionOpt, typer.Option("--resolution")],
    lesson: Annotated[
        str | None, typer.Option("--lesson", help="An anonymised lesson to share in the digest.")
    ] = None,
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Close the case with its resolution."""
    from bot.actions.cases import close_case
    from bot.store.models import Resolution

    act_on(config, ref, by, close_case, resolution=Resolution(resolution.value), lesson=lesson)
    typer.echo(f"{ref}: closed ({resolution.value})")


@case_app.command("escalate")
def case_escalate(
    ref: str,
    reason: Annotated[
        str, typer.Option("--reason", help="Why the ombudsman should look at it.")
    ] = "",
    serious: Annotated[bool, typer.Option("--serious", help="Flag the case as serious.")] = False,
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Escalate to the ombudsman."""
    from bot.actions.cases import escalate
    from bot.store.models import EscalationReason

    def act(s: Any, cfg: Config, c: Any, now: datetime) -> None:
        if serious:
            c.serious = True
        escalate(
            s,
            cfg,
            c,
            acting(cfg, by),
            now,
            reason=EscalationReason.SERIOUS if serious else EscalationReason.STAFF,
            note=reason,
        )

    with_case(config, ref, act)
    typer.echo(f"{ref}: escalated to the ombudsman")


@case_app.command("snooze")
def case_snooze(
    ref: str,
    minutes: Annotated[int, typer.Option("--minutes")] = 60,
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Hold reminders for a while."""
    from bot.actions.cases import snooze

    act_on(config, ref, by, snooze, minutes=minutes)
    typer.echo(f"{ref}: snoozed for {minutes} minutes")


@case_app.command("plan")
def case_plan(
    ref: str,
    owner: Annotated[
        str, typer.Option("--owner", help="Who carries the plan out (a Slack user id or a name).")
    ],
    steps: Annotated[str, typer.Option("--steps", help="What will be done.")],
    due: Annotated[str, typer.Option("--due", help="Due date (YYYY-MM-DD) or ISO-8601 time.")],
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Record the manager's action plan; the ombudsman follows it up."""
    from bot.actions.cases import add_action_plan

    cfg = config_from(config)
    try:
        due_at = parse_instant(due if "T" in due else f"{due}T16:00", cfg.policy.timezone)
    except ValueError:
        fail(f"--due: not a date: {due!r}", 2)
    act_on(config, ref, by, add_action_plan, owner=owner, steps=steps, due_at=due_at)
    local_due = due_at.astimezone(cfg.policy.tz)
    typer.echo(f"{ref}: action plan recorded, due {local_due:%Y-%m-%d %H:%M}")


@case_app.command("request-number")
def case_request_number(ref: str, config: ConfigOpt = None, by: ByOpt = None) -> None:
    """Email the citizen: we tried to call, please tell us a good number and time."""
    from bot.actions.citizen_mail import request_number
    from bot.presenters.render import renderer_for

    def act(s: Any, cfg: Config, c: Any, now: datetime) -> None:
        from bot.actions.citizen_mail import NUMBER_REQUEST_TEXT, NumberRequest
        from bot.errors import InvalidAction

        outcome = request_number(s, cfg, renderer_for(cfg), c, acting(cfg, by), now)
        if outcome != NumberRequest.SENT:
            raise InvalidAction(f"{c.ref}: nothing sent: {NUMBER_REQUEST_TEXT[outcome]}")

    with_case(config, ref, act)
    typer.echo(f"{ref}: number request queued")


@case_app.command("confirm")
def case_confirm(ref: str, config: ConfigOpt = None, by: ByOpt = None) -> None:
    """Email the citizen the written confirmation of what was agreed on the phone."""
    from bot.actions.citizen_mail import send_confirmation
    from bot.presenters.render import renderer_for

    def act(s: Any, cfg: Config, c: Any, now: datetime) -> None:
        send_confirmation(s, cfg, renderer_for(cfg), c, acting(cfg, by), now)

    with_case(config, ref, act)
    typer.echo(f"{ref}: written confirmation queued")


@case_app.command("plan-done")
def case_plan_done(
    ref: str,
    note: Annotated[str, typer.Option("--note", help="The follow-up.")] = "",
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Follow up the action plan: it is done."""
    from bot.actions.cases import complete_action_plan

    act_on(config, ref, by, complete_action_plan, note=note)
    typer.echo(f"{ref}: action plan followed up")
