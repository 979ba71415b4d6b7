"""The command line: ``complaint-bot``.

Exit codes: 0 success, 1 a runtime failure (a server unreachable, a send that
failed), 2 bad usage or configuration, 3 no such case, 4 the action is not
allowed or does not fit the case.
"""

from __future__ import annotations

import csv
import io
import logging
import sys
from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer

from bot.cli.cases import case_app
from bot.cli.common import (
    ConfigOpt,
    Fmt,
    ReportFmt,
    config_from,
    fail,
    format_table,
    parse_now,
    print_json,
    runtime_for,
    setup_cli_logging,
)
from bot.cli.quarantine import quarantine_app
from bot.config import ConfigError, default_config_path, load_config

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Complaint triage bot: every complaint gets a case, an acknowledgement and a call back.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database schema.")
app.add_typer(case_app, name="case")
app.add_typer(db_app, name="db")
app.add_typer(quarantine_app, name="quarantine")

log = logging.getLogger("bot")

# --- running ---------------------------------------------------------------


@app.command()
def run(
    config: ConfigOpt = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
    metrics_port: Annotated[
        int | None, typer.Option("--metrics-port", help="Expose Prometheus metrics on this port.")
    ] = None,
    metrics_host: Annotated[
        str,
        typer.Option(
            "--metrics-host", help="Address for --metrics-port (0.0.0.0: all interfaces)."
        ),
    ] = "127.0.0.1",
) -> None:
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
def ingest(
    config: ConfigOpt = None,
    once: Annotated[
        bool,
        typer.Option("--once", help="Fetch and process all waiting mail, flush the outbox, exit."),
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Fetch and process waiting mail, then deliver what it queued."""
    if not once:
        fail("ingest needs --once (use `complaint-bot run` to keep watching)", 2)
    cfg = config_from(config)
    setup_cli_logging(verbose)
    from bot.runners.delivery import flush
    from bot.runners.pipeline import ingest as run_ingest

    rt = runtime_for(cfg)
    try:
        outcomes = run_ingest(rt.db, rt.services, rt.mailbox)
        report = flush(rt)
    finally:
        rt.close()
    opened = sum(1 for o in outcomes if o.new_case)
    quarantined = sum(1 for o in outcomes if o.quarantined)
    typer.echo(
        f"{len(outcomes)} messages: {opened} new cases, "
        f"{sum(1 for o in outcomes if o.discarded)} not opened, {quarantined} quarantined; "
        f"outbox: {report.sent} sent, {report.retried} to retry, {report.failed} failed",
        err=True,
    )
    raise typer.Exit(1 if report.failed else 0)


@app.command()
def tick(
    config: ConfigOpt = None,
    now: Annotated[
        str | None, typer.Option("--now", help="ISO-8601 time to act as if it were (default: now).")
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
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
def cases(
    config: ConfigOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include closed cases.")] = False,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
) -> None:
    """List open (or all) cases."""
    cfg = config_from(config)
    from bot.actions.case_records import case_to_dict, list_cases
    from bot.store.db import session_scope

    rt = runtime_for(cfg)
    with session_scope(rt.db) as s:
        rows = [case_to_dict(s, cfg, c) for c in list_cases(s, include_closed=all_)]
        quarantined = _quarantine_count(s)
    if fmt == Fmt.json:
        print_json(rows)
        return
    flat = [
        {
            "ref": r["ref"],
            "status": r["status"],
            "source": r["source"],
            "received": (r["received_at"] or "")[:16].replace("T", " "),
            "name": r["complainant"]["name"],
            "phone": r["complainant"]["phone"],
            "lang": r["language"],
            "assignee": r["assignee"],
            "flags": " ".join(
                f
                for f, on in (
                    ("escalated", r["escalated_at"]),
                    ("serious", r["serious"]),
                    ("historical", r["historical"]),
                    ("ack-bounced", r["ack_bounced_at"]),
                )
                if on
            ),
        }
        for r in rows
    ]
    typer.echo(
        format_table(
            flat,
            ["ref", "status", "source", "received", "name", "phone", "lang", "assignee", "flags"],
        )
    )
    if quarantined:
        typer.echo(f"\n{quarantined} input(s) in quarantine: see `complaint-bot quarantine list`")


def _quarantine_count(session: Any) -> int:
    import sqlalchemy as sa
    from sqlmodel import col

    from bot.store.models import Quarantine

    return int(
        session.execute(
            sa.select(sa.func.count())
            .select_from(Quarantine)
            .where(col(Quarantine.resolved_at).is_(None))
        ).scalar_one()
    )


# --- reports ---------------------------------------------------------------


@app.command()
def report(
    config: ConfigOpt = None,
    from_: Annotated[str | None, typer.Option("--from", help="First day, YYYY-MM-DD.")] = None,
    to: Annotated[str | None, typer.Option("--to", help="Last day, YYYY-MM-DD.")] = None,
    fmt: Annotated[ReportFmt, typer.Option("--format")] = ReportFmt.table,
    staff: Annotated[
        bool,
        typer.Option(
            "--staff",
            help="The weekly load per person instead (managers and the "
            "ombudsman; same as `staff-load`).",
        ),
    ] = False,
) -> None:
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
def db_upgrade(
    config: ConfigOpt = None, revision: Annotated[str, typer.Argument()] = "head"
) -> None:
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


@app.command("preview-email")
def preview_email(
    kind: Annotated[str, typer.Argument(help="ack")] = "ack",
    lang: Annotated[str, typer.Option("--lang")] = "sv",
    phone: Annotated[bool, typer.Option("--phone/--no-phone")] = True,
    html: Annotated[bool, typer.Option("--html")] = False,
    config: ConfigOpt = None,
) -> None:
    """Render a citizen email with sample data, to check the wording."""
    cfg = config_from(config)
    from bot.actions.citizen_mail import call_within_days
    from bot.mail.compose import build_citizen_email
    from bot.presenters.render import renderer_for

    renderer = renderer_for(cfg)
    ctx = {
        "ref": f"{cfg.policy.reference_prefix}-2026-000123",
        "name": "Anna Andersson",
        "phone": "070-123 45 67" if phone else "",
        "call_within_days": call_within_days(cfg),
        "organisation": cfg.organisation.name,
        "org_phone": cfg.organisation.phone,
        "ombudsman_contact": cfg.organisation.ombudsman_contact,
        "privacy_url": cfg.organisation.privacy_url,
    }
    try:
        msg = build_citizen_email(
            renderer=renderer,
            template=kind,
            lang=lang,
            context=ctx,
            from_address=cfg.outgoing.from_address,
            reply_to=cfg.outgoing.reply_to,
            to_address="anna.andersson@example.se",
            to_name="Anna Andersson",
            ref=ctx["ref"],  # type: ignore[arg-type]
            message_id="preview@example.org",
            now=datetime.now(UTC),
        )
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
from bot.cli import teams as _teams  # noqa: E402

_records.register(app)
_roster.register(app)
_review.register(app)
_teams.register(app)
