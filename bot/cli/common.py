"""What every ``complaint-bot`` command shares: options, exit with a message,
configuration, the runtime, who is acting, tables and JSON.

Exit codes: 0 success, 1 a runtime failure, 2 bad usage or configuration,
3 no such case, 4 the action is not allowed or does not fit the case.
"""

from __future__ import annotations

import getpass
import json
import logging
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from bot.clock import FixedClock, parse_instant
from bot.config import Config, ConfigError, default_config_path, load_config

if TYPE_CHECKING:
    from bot.actions.trail import Actor

ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Configuration file (default ./config.toml, else config.example.toml).",
        show_default=False,
    ),
]


class Fmt(StrEnum):
    table = "table"
    json = "json"


class ReportFmt(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


def fail(message: str, code: int) -> NoReturn:
    typer.echo(f"complaint-bot: {message}", err=True)
    raise typer.Exit(code)


def config_from(path: Path | None) -> Config:
    try:
        return load_config(path or default_config_path())
    except ConfigError as exc:
        fail(f"configuration error:\n{exc}", 2)


def setup_cli_logging(verbose: bool = False) -> None:
    from bot.logs import setup_logging

    setup_logging(logging.DEBUG if verbose else logging.INFO)


def runtime_for(cfg: Config, now: datetime | None = None) -> Any:
    from bot.wiring import Runtime

    try:
        if now is not None:
            return Runtime(cfg, clock=FixedClock(now))
        return Runtime(cfg)
    except ConfigError as exc:
        fail(f"configuration error:\n{exc}", 2)


def actor_of(by: str | None) -> str:
    return f"cli:{by or getpass.getuser()}"


def acting(cfg: Config, by: str | None) -> Actor:
    """The operator (``--by``, else the login) as the authorised actor of a case command."""
    from bot.actions.trail import authorize

    return authorize(cfg, actor_of(by))


def print_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2))


def format_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    cells = [[("" if r.get(c) is None else str(r.get(c))) for c in columns] for r in rows]
    widths = [max([len(c)] + [len(row[i]) for row in cells]) for i, c in enumerate(columns)]
    out = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(out)


ByOpt = Annotated[str | None, typer.Option("--by", help="Who is acting (default: your login).")]


def parse_now(now: str | None, cfg: Config) -> datetime:
    if not now:
        return datetime.now(UTC)
    try:
        return parse_instant(now, cfg.policy.timezone)
    except ValueError:
        fail(f"--now: not an ISO-8601 time: {now!r}", 2)


def with_case(config: Path | None, ref: str, action: Any) -> Any:
    """Run ``action(session, cfg, case, now)`` in one transaction, mapping errors to exit codes."""
    cfg = config_from(config)
    from bot.actions.cases import get_case
    from bot.errors import CaseNotFound, InvalidAction, NotAllowed
    from bot.store.db import session_scope

    rt = runtime_for(cfg)
    try:
        with session_scope(rt.db) as s:
            case = get_case(s, ref)
            result = action(s, cfg, case, rt.clock())
        from bot.runners.delivery import flush

        # What the action queued (prompt update, escalation alert) goes out now.
        flush(rt)
        return result
    except CaseNotFound as exc:
        fail(str(exc), 3)
    except (NotAllowed, InvalidAction) as exc:
        fail(str(exc), 4)
    finally:
        rt.close()
