"""``complaint-bot roster``, ``staff-load`` and ``offer ...``: the roster from the shell.

Registered on the main app by :func:`register`, so bot/cli/main.py needs one line.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from bot.cli.common import (
    ByOpt,
    ConfigOpt,
    Fmt,
    acting,
    actor_of,
    config_from,
    fail,
    format_table,
    parse_now,
    print_json,
    runtime_for,
    with_case,
)

offer_app = typer.Typer(
    no_args_is_help=True, help="Answer an offered call-back, or hand a case to a colleague."
)


def roster(
    config: ConfigOpt = None,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
    now: Annotated[
        str | None,
        typer.Option("--now", help="ISO-8601 time to show the roster for (default: now)."),
    ] = None,
) -> None:
    """Today's on-duty roster: who takes call-backs, and why anyone else does not."""
    cfg = config_from(config)
    from bot.actions.roster import today_roster

    rt = runtime_for(cfg, parse_now(now, cfg) if now else None)
    try:
        entries = today_roster(cfg, rt.clock(), rt.web_client())
    finally:
        rt.close()
    rows = [{"user": e.user, "on_duty": e.on_duty, "reason": e.reason} for e in entries]
    if fmt == Fmt.json:
        print_json(rows)
        return
    typer.echo(
        format_table(
            [{**r, "on_duty": "yes" if r["on_duty"] else "no"} for r in rows],
            ["user", "on_duty", "reason"],
        )
    )
    if not cfg.roster.enabled:
        typer.echo("\n[roster] enabled = false: unclaimed cases are not offered")


def staff_load(
    config: ConfigOpt = None,
    weeks: Annotated[int, typer.Option("--weeks", min=1, max=52)] = 4,
    fmt: Annotated[Fmt, typer.Option("--format")] = Fmt.table,
    by: ByOpt = None,
) -> None:
    """Call-backs and hard calls per person per week (for managers and the ombudsman)."""
    cfg = config_from(config)
    from bot.actions.workload import load_view
    from bot.store.db import session_scope

    rt = runtime_for(cfg)
    try:
        with session_scope(rt.db) as s:
            rows = load_view(s, cfg, actor_of(by), rt.clock(), weeks=weeks)
    finally:
        rt.close()
    if fmt == Fmt.json:
        print_json(rows)
        return
    typer.echo(
        format_table(rows, ["week", "user", "claimed", "calls", "hard_calls", "offers_declined"])
    )


def _answer(config: Any, ref: str, by: str | None, what: str, to: str | None = None) -> None:
    from bot.actions.assignment import (
        accept_offer,
        decline_offer,
        find_open_offer,
        hand_over,
        staff_id,
    )

    actor = actor_of(by)
    user = staff_id(actor) or ""

    def act(s: Any, cfg: Any, case: Any, now: Any) -> None:
        if what == "hand-over":
            if not to:
                fail("hand-over needs --to USER", 2)
            hand_over(s, cfg, case, actor, to, now)
            return
        offer = find_open_offer(s, case, user)
        if what == "accept":
            accept_offer(s, cfg, offer, acting(cfg, by), now)
        else:
            decline_offer(s, cfg, offer, actor, now)

    with_case(config, ref, act)
    typer.echo(f"{ref}: {what}" + (f" to {to}" if to else ""))


@offer_app.command("accept")
def offer_accept(ref: str, config: ConfigOpt = None, by: ByOpt = None) -> None:
    """Take the case offered to you (--by is your Slack user id)."""
    _answer(config, ref, by, "accept")


@offer_app.command("decline")
def offer_decline(ref: str, config: ConfigOpt = None, by: ByOpt = None) -> None:
    """Say no to the case offered to you; the next person is asked."""
    _answer(config, ref, by, "decline")


@offer_app.command("hand-over")
def offer_hand_over(
    ref: str,
    to: Annotated[str, typer.Option("--to", help="Slack user id.")],
    config: ConfigOpt = None,
    by: ByOpt = None,
) -> None:
    """Ask a colleague to take your case (they may say no)."""
    _answer(config, ref, by, "hand-over", to)


def register(app: typer.Typer) -> None:
    """Add the roster commands to the main ``complaint-bot`` app."""
    app.command("roster")(roster)
    app.command("staff-load")(staff_load)
    app.add_typer(offer_app, name="offer")
