"""The command line: ``complaint-bot``.

Exit codes: 0 success, 1 a runtime failure (a server unreachable, a send that
failed), 2 bad usage or configuration, 3 no such case, 4 the action is not
allowed or does not fit the case.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import sys
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Annotated, Any

import typer

from bot.cli.common import (
    ByOpt,
    ConfigOpt,
    Fmt,
    ReportFmt,
    actor_of,
    config_from,
    fail,
    format_table,
    parse_now,
    print_json,
    runtime_for,
    setup_cli_logging,
    with_case,
)
from bot.clock import parse_instant
from bot.config import Config, ConfigError, default_config_path, load_config

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Complaint triage bot: every complaint gets a case, an acknowledgement "
                       "and a call back.")
case_app = typer.Typer(no_args_is_help=True, help="Act on one case, as staff do in Slack.")
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
quarantine_app = typer.Typer(no_args_is_help=True, help="Inputs the bot could not handle.")
app.add_typer(case_app, name="case")
app.add_typer(db_app, name="db")
app.add_typer(quarantine_app, name="quarantine")

log = logging.getLogger("bot")

# --- running ---------------------------------------------------------------


@app.command()
def run(config: ConfigOpt = None,
        verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
        metrics_port: Annotated[int | None, typer.Option(
            "--metrics-port", help="Expose Prometheus metrics on this port.")] = None,
        metrics_host: Annotated[str, typer.Option(
            "--metrics-host", help="Address for --metrics-port (0.0.0.0: all interfaces).")
        ] = "127.0.0.1") -> None:
    """The long-running bot: mailbox watcher, chat app and scheduler."""
    cfg = config_from(config)
    setup_cli_logging(verbose)
    from bot.runners.service import serve, start_metrics

    rt = runtime_for(cfg)
    if metrics_port is not None:
        try:
            start_metrics(rt, metrics_port, metrics_host)
        except OSError as exc:
            fail(f"--metrics-port {metrics_port}: {exc}", 2)
    code = serve(rt)
    raise typer.Exit(code)


@app.command()
def ingest(config: ConfigOpt = None,
           once: Annotated[bool, typer.Option(
               "--once", help="Fetch and process all waiting mail, flush the outbox, exit.")
           ] = False,
           verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Fetch and process waiting mail, then deliver what it queued."""
    if not once:
        fail("ingest needs --once (use `complaint-bot run` to keep watching)", 2)
    cfg = config_from(config)
    setup_cli_logging(verbose)
    from bot.runners.outbox import deliver_due
    from bot.runners.pipeline import ingest as run_ingest

    rt = runtime_for(cfg)
    try:
        outcomes = run_ingest(rt.db, rt.services, rt.mailbox)
        report = deliver_due(rt.db, rt.outlets, rt.clock, rt.owner)
    finally:
        rt.close()
    opened = sum(1 for o in outcomes if o.new_case)
    quarantined = sum(1 for o in outcomes if o.quarantined)
    typer.echo(f"{len(outcomes)} messages: {opened} new cases, "
               f"{sum(1 for o in outcomes if o.discarded)} not opened, {quarantined} quarantined; "
               f"outbox: {report.sent} sent, {report.retried} to retry, {report.failed} failed",
               err=True)
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def tick(config: ConfigOpt = None,
         now: Annotated[str | None, typer.Option("--now", help="ISO-8601 time to act as if it "
                                                              "were (default: now).")] = None,
         verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run every scheduled job once: reminders, escalations, outbox, digests."""
    cfg = config_from(config)
    setup_cli_logging(verbose)
    at = parse_now(now, cfg)
    from bot.runners.scheduler import run_tick

    rt = runtime_for(cfg, at)
    try:
        result = run_tick(rt)
    finally:
        rt.close()
    typer.echo(result.summary(), err=True)
    raise typer.Exit(1 if result.failed else 0)


# --- reading ---------------------------------------------------------------


@app.command()
def cases(config: ConfigOpt = None,
          all_: Annotated[bool, typer.Option("--all", help="Include closed cases.")] = False,
          fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table) -> None:
    """List open (or all) cases."""
    cfg = config_from(config)
    from bot.actions.cases import case_to_dict, list_cases
    from bot.store.db import session_scope

    rt = runtime_for(cfg)
    with session_scope(rt.db) as s:
        rows = [case_to_dict(s, cfg, c) for c in list_cases(s, include_closed=all_)]
        quarantined = _quarantine_count(s)
    if fmt == Fmt.json:
        print_json(rows)
        return
    flat = [{"ref": r["ref"], "status": r["status"], "source": r["source"],
             "received": (r["received_at"] or "")[:16].replace("T", " "),
             "name": r["complainant"]["name"], "phone": r["complainant"]["phone"],
             "lang": r["language"], "assignee": r["assignee"],
             "flags": " ".join(f for f, on in (("escalated", r["escalated_at"]),
                                               ("serious", r["serious"]),
                                               ("historical", r["historical"]),
                                               ("ack-bounced", r["ack_bounced_at"])) if on)}
            for r in rows]
    typer.echo(format_table(flat, ["ref", "status", "source", "received", "name", "phone", "lang",
                             "assignee", "flags"]))
    if quarantined:
        typer.echo(f"\n{quarantined} input(s) in quarantine: see `complaint-bot quarantine list`")


def _quarantine_count(session: Any) -> int:
    import sqlalchemy as sa

    from bot.store.models import Quarantine

    return int(session.execute(sa.select(sa.func.count()).select_from(Quarantine)
                               .where(Quarantine.resolved_at.is_(None))).scalar_one())  # type: ignore[union-attr]


@case_app.command("show")
def case_show(ref: str, config: ConfigOpt = None,
              fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table) -> None:
    """Everything about one case, with its audit trail."""
    cfg = config_from(config)
    from bot.actions.cases import case_detail, get_case
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
        "", "summary:", f"  {data['summary']}", "", "contact attempts:",
    ]
    lines += [f"  {a['at']}  {a['outcome']:<12} {a['by']}  {a['note']}"
              + (f"  remedy: {a['remedy']}" if a['remedy'] else "")
              + (f"  next: {a['next_step']}" if a['next_step'] else "")
              for a in data["attempts"]] or ["  (none)"]
    lines += ["", "messages:"]
    lines += [f"  {m['at']}  {m['direction']:<8} {m['channel']:<6} {m['classification']:<10} "
              f"{m['subject']}" for m in data["messages"]] or ["  (none)"]
    lines += ["", "audit trail:"]
    lines += [f"  {a['at']}  {a['actor']:<20} {a['action']:<16} "
              f"{json.dumps(a['detail'], ensure_ascii=False)}" for a in data["audit"]]
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
def case_claim(ref: str, config: ConfigOpt = None, by: ByOpt = None,
               take_over: Annotated[bool, typer.Option(
                   "--take-over", help="Take the case from whoever has it (they are told)."
               )] = False) -> None:
    """Take the call-back: "I'll call". A case someone else has is refused (exit 4,
    naming who has it) unless --take-over."""
    from bot.actions.cases import claim

    with_case(config, ref, lambda s, cfg, c, now: claim(s, cfg, c, actor_of(by), now,
                                                         take_over=take_over))
    typer.echo(f"{ref}: claimed")


@case_app.command("log-call")
def case_log_call(
    ref: str,
    outcome: Annotated[OutcomeOpt, typer.Option("--outcome")],
    note: Annotated[str, typer.Option("--note", help="A factual, neutral note.")] = "",
    remedy: Annotated[str | None, typer.Option("--remedy", help="e.g. apology, "
                                                                "compensation")] = None,
    next_step: Annotated[str | None, typer.Option("--next-step")] = None,
    hard: Annotated[bool, typer.Option("--hard", help="A hard call (threats, abuse, "
                                                      "distress).")] = False,
    config: ConfigOpt = None, by: ByOpt = None,
) -> None:
    """Log a call (or meeting) attempt with the complainant."""
    from bot.actions.cases import log_contact
    from bot.store.models import Outcome

    with_case(config, ref, lambda s, cfg, c, now: log_contact(
        s, cfg, c, actor_of(by), now, outcome=Outcome(outcome.value), note=note, remedy=remedy,
        next_step=next_step, hard=hard))
    typer.echo(f"{ref}: call logged ({outcome.value})")


@case_app.command("close")
def case_close(
    ref: str,
    resolution: Annotated[ResolutionOpt, typer.Option("--resolution")],
    lesson: Annotated[str | None, typer.Option("--lesson", help="An anonymised lesson to "
                                                                "share in the digest.")] = None,
    config: ConfigOpt = None, by: ByOpt = None,
) -> None:
    """Close the case with its resolution."""
    from bot.actions.cases import close_case
    from bot.store.models import Resolution

    with_case(config, ref, lambda s, cfg, c, now: close_case(
        s, cfg, c, actor_of(by), now, resolution=Resolution(resolution.value), lesson=lesson))
    typer.echo(f"{ref}: closed ({resolution.value})")


@case_app.command("escalate")
def case_escalate(
    ref: str,
    reason: Annotated[str, typer.Option("--reason", help="Why the ombudsman should "
                                                         "look at it.")] = "",
    serious: Annotated[bool, typer.Option("--serious", help="Flag the case as "
                                                            "serious.")] = False,
    config: ConfigOpt = None, by: ByOpt = None,
) -> None:
    """Escalate to the ombudsman."""
    from bot.actions.cases import escalate
    from bot.store.models import EscalationReason

    def act(s: Any, cfg: Config, c: Any, now: datetime) -> None:
        if serious:
            c.serious = True
        escalate(s, cfg, c, actor_of(by), now,
                 reason=EscalationReason.SERIOUS if serious else EscalationReason.STAFF,
                 note=reason)

    with_case(config, ref, act)
    typer.echo(f"{ref}: escalated to the ombudsman")


@case_app.command("snooze")
def case_snooze(ref: str, minutes: Annotated[int, typer.Option("--minutes")] = 60,
                config: ConfigOpt = None, by: ByOpt = None) -> None:
    """Hold reminders for a while."""
    from bot.actions.cases import snooze

    with_case(config, ref, lambda s, cfg, c, now: snooze(s, cfg, c, actor_of(by), now, minutes))
    typer.echo(f"{ref}: snoozed for {minutes} minutes")


@case_app.command("plan")
def case_plan(
    ref: str,
    owner: Annotated[str, typer.Option("--owner", help="Who carries the plan out (a Slack "
                                                       "user id or a name).")],
    steps: Annotated[str, typer.Option("--steps", help="What will be done.")],
    due: Annotated[str, typer.Option("--due", help="Due date (YYYY-MM-DD) or ISO-8601 time.")],
    config: ConfigOpt = None, by: ByOpt = None,
) -> None:
    """Record the manager's action plan; the ombudsman follows it up."""
    from bot.actions.cases import add_action_plan

    cfg = config_from(config)
    try:
        due_at = parse_instant(due if "T" in due else f"{due}T16:00", cfg.policy.timezone)
    except ValueError:
        fail(f"--due: not a date: {due!r}", 2)
    with_case(config, ref, lambda s, cfg, c, now: add_action_plan(
        s, cfg, c, actor_of(by), now, owner=owner, steps=steps, due_at=due_at))
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

        outcome = request_number(s, cfg, renderer_for(cfg), c, actor_of(by), now)
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
        send_confirmation(s, cfg, renderer_for(cfg), c, actor_of(by), now)

    with_case(config, ref, act)
    typer.echo(f"{ref}: written confirmation queued")



@case_app.command("plan-done")
def case_plan_done(ref: str,
                   note: Annotated[str, typer.Option("--note", help="The follow-up.")] = "",
                   config: ConfigOpt = None, by: ByOpt = None) -> None:
    """Follow up the action plan: it is done."""
    from bot.actions.cases import complete_action_plan

    with_case(config, ref, lambda s, cfg, c, now: complete_action_plan(
        s, cfg, c, actor_of(by), now, note=note))
    typer.echo(f"{ref}: action plan followed up")


# --- reports ---------------------------------------------------------------


@app.command()
def report(config: ConfigOpt = None,
           from_: Annotated[str | None,
                            typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
           to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
           fmt: Annotated[ReportFmt, typer.Option("--format")] = ReportFmt.table,
           staff: Annotated[bool, typer.Option(
               "--staff", help="The weekly load per person instead (managers and the "
                               "ombudsman; same as `staff-load`).")] = False) -> None:
    """What an ombudsman must report, for a period."""
    if staff:
        from bot.cli.roster import staff_load

        staff_load(config=config, fmt=Fmt.json if fmt == ReportFmt.json else Fmt.table)
        return
    cfg = config_from(config)
    from bot.presenters.reports import build_report
    from bot.store.db import session_scope

    try:
        start = date.fromisoformat(from_) if from_ else None
        end = date.fromisoformat(to) if to else None
    except ValueError as exc:
        fail(f"--from/--to: {exc}", 2)
    rt = runtime_for(cfg)
    with session_scope(rt.db) as s:
        rep = build_report(s, cfg, start, end, rt.clock())
    rows = rep.rows()
    if fmt == ReportFmt.json:
        print_json(rep.as_dict())
    elif fmt == ReportFmt.csv:
        buf = io.StringIO()
        w = csv.writer(buf)
        w.writerow(["metric", "value"])
        w.writerows(rows)
        typer.echo(buf.getvalue().rstrip("\n"))
    else:
        typer.echo(format_table([{"metric": k, "value": v} for k, v in rows], ["metric", "value"]))


# --- operations ------------------------------------------------------------


@app.command()
def check(config: ConfigOpt = None) -> None:
    """Validate the configuration and reach each configured server (one line per check)."""
    path = config or default_config_path()
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        typer.echo(f"FAIL config: {exc}")
        raise typer.Exit(2) from None
    typer.echo(f"ok   config: {path}")
    from bot.cli.checks import run_checks

    failed = 0
    for ok, line in run_checks(cfg):
        typer.echo(("ok   " if ok else "FAIL ") + line)
        failed += 0 if ok else 1
    raise typer.Exit(1 if failed else 0)


@db_app.command("upgrade")
def db_upgrade(config: ConfigOpt = None,
               revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Bring the database schema up to date."""
    cfg = config_from(config)
    from bot.store import db

    engine = db.make_engine(cfg.database_url)
    db.upgrade(engine, revision)
    typer.echo(f"database at revision {db.current_revision(engine)}")


@db_app.command("current")
def db_current(config: ConfigOpt = None) -> None:
    """Show the schema revision."""
    cfg = config_from(config)
    from bot.store import db

    typer.echo(db.current_revision(db.make_engine(cfg.database_url)) or "(empty)")


@quarantine_app.command("list")
def quarantine_list(config: ConfigOpt = None,
                    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
                    now: Annotated[str | None, typer.Option(
                        "--now", help="ISO-8601 time to count ages from (default: now).")
                    ] = None) -> None:
    """Inputs waiting for a human, with the reason: broken ones (lane ``quarantine``) and
    messages that might be a person's (lane ``review``, see ``complaint-bot review``)."""
    cfg = config_from(config)
    from sqlmodel import col, select

    from bot.actions.cases import iso
    from bot.cli.review import age_text
    from bot.store.db import session_scope
    from bot.store.models import Quarantine

    rt = runtime_for(cfg, parse_now(now, cfg) if now else None)
    at = rt.clock()
    with session_scope(rt.db) as s:
        rows = [{"id": q.id, "lane": q.lane, "at": iso(q.at, cfg),
                 "age": age_text(max(0.0, (at - q.at).total_seconds() / 3600)),
                 "source": q.source, "key": q.source_key,
                 "reason": q.reason, "bytes": len(q.raw),
                 "resolved": iso(q.resolved_at, cfg), "decision": q.decision,
                 "decided_by": q.decided_by, "case": q.case_ref}
                for q in s.exec(select(Quarantine).order_by(col(Quarantine.id))).all()]
    if fmt == Fmt.json:
        print_json(rows)
    else:
        typer.echo(format_table(rows, ["id", "lane", "at", "age", "key", "bytes", "resolved",
                                 "reason"]))


@quarantine_app.command("retry")
def quarantine_retry(qid: int, config: ConfigOpt = None) -> None:
    """Run a quarantined message through the pipeline again (after a fix)."""
    cfg = config_from(config)
    from bot.runners.pipeline import retry_quarantined

    rt = runtime_for(cfg)
    try:
        outcome = retry_quarantined(rt.db, rt.services, qid)
    except LookupError as exc:
        fail(str(exc), 3)
    if outcome.quarantined:
        fail(f"still failing: {outcome.quarantined}", 1)
    from bot.runners.outbox import deliver_due

    deliver_due(rt.db, rt.outlets, rt.clock, rt.owner)
    typer.echo(f"quarantine {qid}: " + (f"case {outcome.case}" if outcome.case
                                        else f"not opened: {outcome.discarded}"))


@app.command("preview-email")
def preview_email(kind: Annotated[str, typer.Argument(help="ack")] = "ack",
                  lang: Annotated[str, typer.Option("--lang")] = "sv",
                  phone: Annotated[bool, typer.Option("--phone/--no-phone")] = True,
                  html: Annotated[bool, typer.Option("--html")] = False,
                  config: ConfigOpt = None) -> None:
    """Render a citizen email with sample data, to check the wording."""
    cfg = config_from(config)
    from bot.actions.citizen_mail import call_within_days
    from bot.mail.compose import build_citizen_email
    from bot.presenters.render import renderer_for

    renderer = renderer_for(cfg)
    ctx = {"ref": f"{cfg.policy.reference_prefix}-2026-000123", "name": "Anna Andersson",
           "phone": "070-123 45 67" if phone else "", "call_within_days": call_within_days(cfg),
           "organisation": cfg.organisation.name, "org_phone": cfg.organisation.phone,
           "ombudsman_contact": cfg.organisation.ombudsman_contact,
           "privacy_url": cfg.organisation.privacy_url}
    try:
        msg = build_citizen_email(renderer=renderer, template=kind, lang=lang, context=ctx,
                                  from_address=cfg.outgoing.from_address,
                                  reply_to=cfg.outgoing.reply_to,
                                  to_address="anna.andersson@example.se",
                                  to_name="Anna Andersson", ref=ctx["ref"],  # type: ignore[arg-type]
                                  message_id="preview@example.org",
                                  now=datetime.now(UTC))
    except Exception as exc:
        fail(f"cannot render {kind!r} in {lang!r}: {exc}", 2)
    for k, v in msg.items():
        typer.echo(f"{k}: {v}")
    typer.echo("")
    body = msg.get_body(("html",) if html else ("plain",))
    typer.echo(body.get_content() if body is not None else "")


def main() -> None:
    """Entry point for the ``complaint-bot`` script."""
    try:
        app()
    except ConfigError as exc:
        typer.echo(f"complaint-bot: configuration error:\n{exc}", err=True)
        sys.exit(2)


# More command groups, each in its own module under bot/cli/.
from bot.cli import records as _records  # noqa: E402
from bot.cli import review as _review  # noqa: E402
from bot.cli import roster as _roster  # noqa: E402

_records.register(app)
_roster.register(app)
_review.register(app)
