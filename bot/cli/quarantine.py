"""``complaint-bot quarantine``: inputs the bot could not handle, listed and retried."""

from __future__ import annotations

from typing import Annotated

import typer

from bot.cli.common import (
    ConfigOpt,
    Fmt,
    config_from,
    fail,
    format_table,
    parse_now,
    print_json,
    runtime_for,
)

quarantine_app = typer.Typer(no_args_is_help=True, help="Inputs the bot could not handle.")


@quarantine_app.command("list")
def quarantine_list(
    config: ConfigOpt = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
    now: Annotated[
        str | None, typer.Option("--now", help="ISO-8601 time to count ages from (default: now).")
    ] = None,
) -> None:
    """Inputs waiting for a human, with the reason: broken ones (lane ``quarantine``) and
    messages that might be a person's (lane ``review``, see ``complaint-bot review``)."""
    cfg = config_from(config)
    from sqlmodel import col, select

    from bot.actions.case_records import iso
    from bot.cli.review import age_text
    from bot.store.db import session_scope
    from bot.store.models import Quarantine

    rt = runtime_for(cfg, parse_now(now, cfg) if now else None)
    at = rt.clock()
    with session_scope(rt.db) as s:
        rows = [
            {
                "id": q.id,
                "lane": q.lane,
                "at": iso(q.at, cfg),
                "age": age_text(max(0.0, (at - q.at).total_seconds() / 3600)),
                "source": q.source,
                "key": q.source_key,
                "reason": q.reason,
                "bytes": len(q.raw),
                "resolved": iso(q.resolved_at, cfg),
                "decision": q.decision,
                "decided_by": q.decided_by,
                "case": q.case_ref,
            }
            for q in s.exec(select(Quarantine).order_by(col(Quarantine.id))).all()
        ]
    if fmt == Fmt.json:
        print_json(rows)
    else:
        typer.echo(
            format_table(rows, ["id", "lane", "at", "age", "key", "bytes", "resolved", "reason"])
        )


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
    from bot.runners.delivery import flush

    flush(rt)
    typer.echo(
        f"quarantine {qid}: "
        + (f"case {outcome.case}" if outcome.case else f"not opened: {outcome.discarded}")
    )
