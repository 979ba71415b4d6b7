"""``complaint-bot review list|open ID|dismiss ID``: the review lane from the shell.

The same decisions as the buttons on the review post in chat, with the
``cli:`` actor; each is taken once (a second ``open`` says who decided). The
post in chat is re-rendered with the decision before the command exits.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.cli.common import (
    ByOpt,
    ConfigOpt,
    Fmt,
    acting,
    config_from,
    fail,
    format_table,
    parse_now,
    print_json,
    runtime_for,
)

review_app = typer.Typer(
    no_args_is_help=True,
    help="Messages that might be a person's complaint, for a human to "
    "decide: open as a case, or not a complaint.",
)

NowOpt = Annotated[
    str | None, typer.Option("--now", help="ISO-8601 time to act as if it were (default: now).")
]


def age_text(hours: float) -> str:
    """``5h`` under two days, else ``3d``."""
    return f"{int(hours)}h" if hours < 48 else f"{int(hours // 24)}d"


@review_app.command("list")
def review_list(
    config: ConfigOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Include decided items.")] = False,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
    now: NowOpt = None,
) -> None:
    """Items waiting for a decision (or all), with the reason, a redacted sender and age."""
    cfg = config_from(config)
    from bot.actions.case_records import iso
    from bot.runners.review import review_items, review_view
    from bot.store.db import session_scope

    rt = runtime_for(cfg, parse_now(now, cfg) if now else None)
    at = rt.clock()
    with session_scope(rt.db) as s:
        rows: list[dict[str, Any]] = []
        for q in review_items(s, include_resolved=all_):
            view = review_view(cfg, q, at)
            rows.append(
                {
                    "id": q.id,
                    "received": iso(q.received_at or q.at, cfg),
                    "age": age_text(view.age_hours),
                    "sender": view.sender or "-",
                    "reason": view.reason,
                    "decision": q.decision,
                    "decided_by": q.decided_by,
                    "case": q.case_ref,
                }
            )
    rt.close()
    if fmt == Fmt.json:
        print_json(rows)
        return
    columns = ["id", "received", "age", "sender", "decision", "case", "reason"]
    typer.echo(format_table(rows, columns))


def _decided(review_id: int, result: Any) -> str:
    if not result.changed:
        return f"review {review_id}: already decided ({result.decision} by {result.decided_by})"
    if result.case_ref:
        return f"review {review_id}: opened as case {result.case_ref}"
    return f"review {review_id}: not a complaint"


def _decide(config: Any, review_id: int, by: str | None, now: str | None, what: str) -> None:
    cfg = config_from(config)
    from bot.errors import InvalidAction, NotAllowed
    from bot.runners.delivery import flush
    from bot.runners.review import ReviewNotFound, dismiss, open_as_case

    rt = runtime_for(cfg, parse_now(now, cfg) if now else None)
    try:
        try:
            if what == "open":
                result = open_as_case(rt.db, rt.services, review_id, acting(cfg, by))
            else:
                result = dismiss(rt.db, cfg, review_id, acting(cfg, by), rt.clock())
        except ReviewNotFound as exc:
            fail(str(exc), 3)
        except (NotAllowed, InvalidAction) as exc:
            fail(str(exc), 4)
        flush(rt)
    finally:
        rt.close()
    typer.echo(_decided(review_id, result))


@review_app.command("open")
def review_open(
    review_id: int, config: ConfigOpt = None, by: ByOpt = None, now: NowOpt = None
) -> None:
    """Open the message as a case from a person (call-back prompt; acknowledged only when
    the bot took it for a person's mail and may write to the address)."""
    _decide(config, review_id, by, now, "open")


@review_app.command("dismiss")
def review_dismiss(
    review_id: int, config: ConfigOpt = None, by: ByOpt = None, now: NowOpt = None
) -> None:
    """Not a complaint: the item is resolved; the message stays stored."""
    _decide(config, review_id, by, now, "dismiss")


def register(app: typer.Typer) -> None:
    """Add ``review`` to the main ``complaint-bot`` app."""
    app.add_typer(review_app, name="review")
