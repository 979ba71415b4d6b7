"""Commands for the ombudsman's records and personal data.

``report --chart FILE.png``, ``export`` (subject access), ``purge`` (retention and
erasure) and ``export-record`` (hand-off to the records system). The work is
done in :mod:`bot.presenters.reports`, :mod:`bot.presenters.charts`, :mod:`bot.actions.privacy` and
:mod:`bot.actions.registration`; these functions only read options, open one
transaction and print.
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
import os
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from bot.cli.common import ConfigOpt, actor_of, config_from, fail, runtime_for

log = logging.getLogger("bot")


class Language(StrEnum):
    sv = "sv"
    nb = "nb"
    nn = "nn"
    en = "en"


class RecordFmt(StrEnum):
    json = "json"
    csv = "csv"


def setup_cli_logging() -> None:
    """Counts go to the log on stderr; a program that embeds the CLI keeps its own logging."""
    if not logging.getLogger().handlers:
        from bot.logs import setup_logging

        setup_logging(logging.INFO)


def _date(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option}: not a date (YYYY-MM-DD): {value!r}", 2)


# --- report --chart --------------------------------------------------------


def write_chart(config: Path | None, start: date | None, end: date | None, out: Path) -> None:
    """Build the report of the period and write its chart to ``out`` (PNG)."""
    cfg = config_from(config)
    from bot.presenters.charts import ChartsUnavailable, render_chart
    from bot.presenters.reports import build_report
    from bot.store.db import session_scope

    rt = runtime_for(cfg)
    try:
        with session_scope(rt.db) as s:
            rep = build_report(s, cfg, start, end, rt.clock())
    finally:
        rt.close()
    try:
        png = render_chart(
            rep, deadline_hours=cfg.policy.first_contact_working_hours, title=cfg.organisation.name
        )
    except ChartsUnavailable as exc:
        fail(str(exc), 2)
    out.write_bytes(png)
    typer.echo(f"chart written to {out}", err=True)


def _with_chart_option(report: Any) -> Any:
    """``report`` with one more option, ``--chart FILE.png``, all its own options kept.

    The chart is written after the figures are printed. Done by wrapping (the
    signature is the report command's plus one parameter) so the report command
    stays as it is and can gain options of its own.
    """
    sig = inspect.signature(report, eval_str=True)
    chart_param = inspect.Parameter(
        "chart",
        inspect.Parameter.KEYWORD_ONLY,
        default=None,
        annotation=Annotated[
            Path | None,
            typer.Option(
                "--chart",
                help="Also write a chart of the period (PNG) to this file.",
                dir_okay=False,
            ),
        ],
    )

    @functools.wraps(report)
    def with_chart(*args: Any, chart: Path | None = None, **kwargs: Any) -> None:
        report(*args, **kwargs)
        if chart is not None:
            bound = sig.bind_partial(*args, **kwargs).arguments
            write_chart(
                bound.get("config"),
                _date(bound.get("from_"), "--from"),
                _date(bound.get("to"), "--to"),
                chart,
            )

    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in sig.parameters.values()]
    with_chart.__signature__ = sig.replace(parameters=[*params, chart_param])  # type: ignore[attr-defined]
    with_chart.__annotations__ = {}
    del with_chart.__wrapped__  # typer must see the new signature, not the wrapped one
    return with_chart


def _add_chart_to_report(app: typer.Typer) -> None:
    for info in app.registered_commands:
        name = info.name or (info.callback.__name__ if info.callback else "")
        if name == "report" and info.callback is not None:
            info.callback = _with_chart_option(info.callback)
            return


# --- subject access --------------------------------------------------------


def _private_dir(path: Path) -> Path:
    """``path``, created owner-only (0700) when it does not exist yet."""
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        path.chmod(0o700)  # whatever the umask
    elif path.stat().st_mode & 0o077:
        typer.echo(f"warning: {path} can be read by others than its owner", err=True)
    return path


def _write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner can read (0600), also when it existed."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), 0o600)
        f.write(text)


NARROW_HELP = "With a phone number: only the records with this name (several people gave it)."


def export(
    config: ConfigOpt = None,
    email: Annotated[
        str | None, typer.Option("--email", help="The person's email address.")
    ] = None,
    phone: Annotated[str | None, typer.Option("--phone", help="The person's phone number.")] = None,
    name: Annotated[str | None, typer.Option("--name", help=NARROW_HELP)] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write the export to (default: [privacy] export_dir).",
            file_okay=False,
        ),
    ] = None,
    lang: Annotated[
        Language | None,
        typer.Option("--lang", help="Language of the readable document (default: the person's)."),
    ] = None,
) -> None:
    """Subject access: everything held about one person, as JSON and a readable document.

    Both files are written owner-only (0600) into ``--out``, or into ``[privacy]
    export_dir`` (created 0700); never into the current folder by default.
    """
    if bool(email) == bool(phone):
        fail("give exactly one of --email or --phone", 2)
    if name and not phone:
        fail("--name narrows --phone; an email address names one person already", 2)
    cfg = config_from(config)
    setup_cli_logging()
    from bot.actions.privacy import narrowed, person_from
    from bot.actions.subject_access import subject_access
    from bot.errors import InvalidAction
    from bot.presenters.access_document import subject_access_markdown
    from bot.store.db import session_scope

    try:
        person = narrowed(person_from(email or phone or "", cfg.policy.country), name)
    except ValueError as exc:
        fail(str(exc), 2)
    rt = runtime_for(cfg)
    now = rt.clock()
    try:
        with session_scope(rt.db) as s:
            data = subject_access(s, cfg, person, now, lang=lang.value if lang else None)
    except InvalidAction as exc:  # a number several people gave
        fail(str(exc), 4)
    finally:
        rt.close()
    folder = _private_dir(out if out is not None else cfg.resolve_path(cfg.privacy.export_dir))
    stem = f"registerutdrag-{now.astimezone(cfg.policy.tz):%Y%m%d-%H%M%S}"
    json_path, md_path = folder / f"{stem}.json", folder / f"{stem}.md"
    _write_private(json_path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")
    _write_private(md_path, subject_access_markdown(data))
    # Counts only: the files hold the content.
    log.info(
        "subject access export: %d cases, %d other messages, %d quarantined",
        len(data["cases"]),
        len(data["messages_on_other_cases"]),
        len(data["quarantined_mail"]),
    )
    typer.echo(
        f"{len(data['complainant_records'])} complainant record(s), "
        f"{len(data['cases'])} case(s), "
        f"{len(data['messages_on_other_cases'])} message(s) on other cases, "
        f"{len(data['unattached_messages'])} message(s) on no case, "
        f"{len(data['quarantined_mail'])} quarantined mail, "
        f"{len(data['outgoing_email'])} email(s) to them"
    )
    typer.echo(str(json_path))
    typer.echo(str(md_path))


# --- retention and erasure -------------------------------------------------


def purge(
    config: ConfigOpt = None,
    closed_before: Annotated[
        str | None,
        typer.Option(
            "--closed-before",
            help="Anonymise cases closed before this day, YYYY-MM-DD "
            "(default: [policy] retention_days ago).",
        ),
    ] = None,
    person: Annotated[
        str | None,
        typer.Option(
            "--person", help="Erase one person on request: email address, phone number or name."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help=NARROW_HELP)] = None,
    retention: Annotated[
        bool,
        typer.Option(
            "--retention",
            help="What the retention sweep does ([privacy] closed_case_days, "
            "quarantine_days); a dry run unless --apply.",
        ),
    ] = False,
    apply: Annotated[
        bool, typer.Option("--apply", help="Do it (default: a dry run that only counts).")
    ] = False,
    by: Annotated[
        str | None, typer.Option("--by", help="Who is acting (default: your login).")
    ] = None,
    fmt: Annotated[RecordFmt, typer.Option("--format")] = RecordFmt.json,
) -> None:
    """Retention: anonymise closed cases, keeping the statistics; or erase one person.

    With ``--apply``, the old bytes are then taken out of the database file (SQLite
    checkpoint, PostgreSQL vacuum) and the staff messages about the anonymised
    cases are replaced by a neutral stub before the command exits.
    """
    if sum(map(bool, (closed_before, person, retention))) > 1:
        fail("give one of --closed-before, --person or --retention", 2)
    if name and not person:
        fail("--name narrows --person NUMBER", 2)
    cfg = config_from(config)
    setup_cli_logging()
    from sqlmodel import Session

    from bot.actions import erasure, privacy
    from bot.actions import retention as by_age
    from bot.errors import InvalidAction
    from bot.runners.delivery import flush

    rt = runtime_for(cfg)
    now = rt.clock()
    actor = actor_of(by)
    what: str
    try:
        with Session(rt.db, expire_on_commit=False) as s:
            if person:
                try:
                    who = privacy.narrowed(
                        privacy.person_from(person, cfg.policy.country, allow_name=True), name
                    )
                except ValueError as exc:
                    fail(str(exc), 2)
                what = "erasure of one person"
                counts = erasure.erase_person(s, who, now, actor)
            elif retention:
                what = "retention ([privacy])"
                counts = by_age.retention_purge(s, cfg, now, actor)
            else:
                before = _purge_cutoff(cfg, closed_before, now)
                what = f"cases closed before {before.astimezone(cfg.policy.tz).date()}"
                counts = by_age.purge_closed_before(s, before, now, actor)
            # A dry run does the same work and rolls it back: its counts are exact.
            if apply:
                s.commit()
            else:
                s.rollback()
        if apply:
            erasure.erase_from_storage(rt.db)
            if cfg.chat.kind != "console":
                # Replace the staff messages now; the console (stdout) has nothing to
                # edit, so there the stubs are shown by the next ``tick`` or ``run``.
                flush(rt)
    except InvalidAction as exc:
        fail(str(exc), 4)
    finally:
        rt.close()
    data = {"mode": "applied" if apply else "dry run", "what": what, **counts.as_dict()}
    if fmt == RecordFmt.json:
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(f"{data['mode']}: {what}: {counts.summary()}")
    if not apply:
        typer.echo("dry run: nothing changed; add --apply to do it", err=True)


def _purge_cutoff(cfg: Any, closed_before: str | None, now: datetime) -> datetime:
    day = _date(closed_before, "--closed-before")
    if day is None:
        if not cfg.policy.retention_days:
            fail(
                "give --closed-before DATE, --person or --retention, "
                "or set [policy] retention_days",
                2,
            )
        day = now.astimezone(cfg.policy.tz).date() - timedelta(days=cfg.policy.retention_days)
    return datetime.combine(day, time.min, cfg.policy.tz)


# --- records hand-off ------------------------------------------------------


def export_record(
    ref: Annotated[
        str | None,
        typer.Argument(help="Case reference; leave out for the batch form with --from/--to."),
    ] = None,
    config: ConfigOpt = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Batch: first day received, YYYY-MM-DD.")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Batch: last day received, YYYY-MM-DD.")
    ] = None,
    fmt: Annotated[RecordFmt, typer.Option("--format")] = RecordFmt.json,
) -> None:
    """Registration records for the records system (diarium): one case, or a period."""
    if ref and (from_ or to):
        fail("give a reference or --from/--to, not both", 2)
    if not ref and not (from_ or to):
        fail("give a case reference, or --from/--to for a batch", 2)
    cfg = config_from(config)
    start, end = _date(from_, "--from"), _date(to, "--to")
    from bot.actions.cases import get_case
    from bot.actions.registration import records_csv, registration_record, registration_records
    from bot.errors import CaseNotFound
    from bot.store.db import session_scope

    rt = runtime_for(cfg)
    try:
        with session_scope(rt.db) as s:
            if ref:
                records = [registration_record(s, cfg, get_case(s, ref))]
            else:
                records = registration_records(s, cfg, start, end)
    except CaseNotFound as exc:
        fail(str(exc), 3)
    finally:
        rt.close()
    if fmt == RecordFmt.csv:
        typer.echo(records_csv(records), nl=False)
    else:
        typer.echo(json.dumps(records[0] if ref else records, ensure_ascii=False, indent=2))


def register(app: typer.Typer) -> None:
    """Add these commands to the ``complaint-bot`` app (and ``--chart`` to ``report``)."""
    _add_chart_to_report(app)
    app.command("export")(export)
    app.command("purge")(purge)
    app.command("export-record")(export_record)
