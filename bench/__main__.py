"""``python -m bench [--quick]``: every benchmark, one table.

- backlog: N realistic complaints waiting in a real Dovecot become cases, on
  SQLite and on PostgreSQL; messages per second next to a bare imapclient
  fetch + ``email`` parse of the same mailbox in the same run (target ratio
  >= 0.5), and SQL statements per message;
- peak memory of the bot during that backlog, which includes a 5 MB
  attachment (target < 150 MB; also with ``parse_workers = 0``), and over 1,000
  mails plus ten 24 MB mails (target <= 300 MB): the RSS summed over the bot's
  process tree (its parse workers, fork server and resource tracker too), and
  the PSS (pages they share counted once);
- push latency: APPEND -> case committed with its staff prompt queued, p50 and
  p95 over 50 messages (target p95 < 1 s);
- sweep over 100,000 open cases of which 1,000 are due, on SQLite and on
  PostgreSQL (``PG_URL``, default the local test database): time and queries
  per sweep, and the same when nothing is due (target < 50 ms, work
  proportional to what is due).

Figures are measured in this run on this machine; nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time

from bench import measure


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes (500 messages, 10,000 cases) for a quick look",
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
    )
    parser.add_argument(
        "--skip-huge",
        action="store_true",
        help="leave out the 1,000 mails + ten 24 MB mails memory run (minutes per 24 MB text)",
    )
    args = parser.parse_args(argv)
    messages = 500 if args.quick else 2_000
    open_cases, due = (10_000, 1_000) if args.quick else (100_000, 1_000)
    huge_count = 100 if args.quick else 1_000

    rows: list[tuple[str, str, str, str]] = []
    started = time.monotonic()
    with measure.dovecot() as server:
        mail = measure.backlog_mail(messages)
        for name, url in (("SQLite", None), ("PostgreSQL", args.pg_url)):
            with contextlib.ExitStack() as stack:
                try:
                    target = stack.enter_context(measure.sweep_database(url))
                except Exception as exc:  # no PostgreSQL here: say so in the table
                    rows.append((f"backlog ({name})", f"skipped: {type(exc).__name__}", "", ""))
                    continue
                run = measure.backlog(server, mail, target)
            rows += _backlog_rows(name, run)
            _progress(rows)
        alone = measure.backlog(server, mail, "sqlite:///{folder}/bench.db", parse_workers=0)
        rows.append(
            (
                "  peak RSS, same backlog, parse_workers = 0 (SQLite)",
                f"{alone.bot_rss_mb:.0f} MB ({alone.bot_rate:,.0f} msg/s)",
                "< 150 MB",
                _met(alone.bot_rss_mb < 150),
            )
        )
        _progress(rows)
        del mail
        if args.skip_huge:
            rows.append((f"peak RSS, {huge_count:,} mails + ten 24 MB mails", "skipped", "", ""))
        else:
            huge = measure.backlog(
                server, measure.huge_mail(huge_count), "sqlite:///{folder}/bench.db", bare=False
            )
            rows += [
                (
                    f"peak RSS of the bot, {huge_count:,} mails + ten 24 MB mails (SQLite)",
                    f"{huge.bot_rss_mb:.0f} MB",
                    "<= 300 MB",
                    _met(huge.bot_rss_mb <= 300),
                ),
                ("  same, PSS (shared pages once)", f"{huge.bot_pss_mb:.0f} MB", "", ""),
            ]
        _progress(rows)
        push = measure.push_latency(server, 50)
        rows += [
            (
                "push latency APPEND -> case + prompt queued, p50",
                f"{push.p50 * 1000:.0f} ms",
                "",
                "",
            ),
            ("push latency, p95", f"{push.p95 * 1000:.0f} ms", "< 1000 ms", _met(push.p95 < 1.0)),
        ]
        _progress(rows)
    databases = [("SQLite", None), ("PostgreSQL", args.pg_url)]
    for name, url in databases:
        with contextlib.ExitStack() as stack:
            try:
                target = stack.enter_context(measure.sweep_database(url))
            except Exception as exc:  # no PostgreSQL here: say so in the table
                rows.append((f"sweep ({name})", f"skipped: {type(exc).__name__}", "", ""))
                continue
            sweep = measure.sweep(target, open_cases, due)
        rows += [
            (
                f"sweep {open_cases:,} open, {due:,} due ({name})",
                f"{sweep.due_seconds * 1000:,.0f} ms, {sweep.due_queries:,} queries",
                "< 500 ms",
                _met(sweep.due_seconds < 0.5),
            ),
            (
                f"  per due case ({name})",
                f"{sweep.due_seconds / due * 1000:.2f} ms, {sweep.due_queries / due:.1f} queries",
                "",
                "",
            ),
            (
                f"  nothing due ({name})",
                f"{sweep.idle_seconds * 1000:.1f} ms, {sweep.idle_queries} queries",
                "< 50 ms",
                _met(sweep.idle_seconds < 0.05),
            ),
        ]
        _progress(rows)
    print(_table(rows, time.monotonic() - started, args.quick))
    return 0


def _backlog_rows(name: str, run: measure.Backlog) -> list[tuple[str, str, str, str]]:
    return [
        (
            f"backlog: {run.messages:,} messages -> cases ({name})",
            f"{run.bot_rate:,.0f} msg/s",
            "",
            "",
        ),
        (
            "  bare imapclient fetch + email parse, same mailbox",
            f"{run.bare_rate:,.0f} msg/s",
            "",
            "",
        ),
        ("  ratio bot / bare", f"{run.ratio:.2f}", ">= 0.5", _met(run.ratio >= 0.5)),
        ("  SQL statements per message", f"{run.statements_per_message:.1f}", "", ""),
        (
            "  peak RSS of the bot (one 5 MB attachment)",
            f"{run.bot_rss_mb:.0f} MB",
            "< 150 MB",
            _met(run.bot_rss_mb < 150),
        ),
        ("  same, PSS (shared pages once)", f"{run.bot_pss_mb:.0f} MB", "", ""),
        ("  bare fetch + parse, same mailbox", f"{run.bare_rss_mb:.0f} MB", "", ""),
    ]


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def _progress(rows: list[tuple[str, str, str, str]]) -> None:
    print(f"  ... {rows[-1][0].strip()}: {rows[-1][1]}", file=sys.stderr, flush=True)


def _table(rows: list[tuple[str, str, str, str]], seconds: float, quick: bool) -> str:
    header = ("benchmark", "measured", "target", "")
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(4)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = [
        "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in rows
    ]
    cpu = f"{os.cpu_count()} cores, Python {platform.python_version()}"
    note = f"\n`python -m bench{' --quick' if quick else ''}` on {cpu}; {seconds:.0f} s in all."
    return "\n".join([line, sep, *body]) + "\n" + note


if __name__ == "__main__":
    raise SystemExit(main())
