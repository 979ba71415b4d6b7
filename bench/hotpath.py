"""``python -m bench.hotpath``: the inbound hot path alone, without IMAP.

N sample complaints (``tests/proof/corpus``) are put in a Maildir and run
through :func:`bot.runners.pipeline.ingest` on SQLite (and PostgreSQL with
``--pg``); prints messages per second, SQL statements per message (counted
with :class:`bot.store.db.StatementCounter`) and, as a yardstick, the rate of a
bare ``email`` parse of the same bytes. ``--workers N`` sets
``mailbox.parse_workers``; ``--profile`` prints the top of a cProfile.
"""

from __future__ import annotations

import argparse
import cProfile
import email
import os
import pstats
import shutil
import tempfile
import time
from email import policy
from pathlib import Path

from bench.measure import sweep_database
from bot.adapters.console import ConsoleChat
from bot.adapters.maildir import MaildirMailbox
from bot.config import Secrets, parse_config
from bot.runners.pipeline import ingest
from bot.store import db
from bot.store.db import StatementCounter
from bot.wiring import Runtime
from tests.proof.botproc import append_many
from tests.proof.corpus import complaints


def run(url: str | None, count: int, workers: int, profile: bool) -> dict[str, float]:
    folder = Path(tempfile.mkdtemp(prefix="bench-hotpath-"))
    try:
        inbox = folder / "inbox"
        for sub in ("tmp", "new", "cur"):
            (inbox / sub).mkdir(parents=True)
        raws = list(complaints(count, tag="hot"))
        for n, raw in enumerate(raws):
            (inbox / "new" / f"{n:08d}.bench").write_bytes(raw)
        with sweep_database(url) as db_url:
            cfg = parse_config(
                {
                    "database": {"url": db_url},
                    "outgoing": {"kind": "folder", "path": str(folder / "outbox")},
                    "mailbox": {
                        "kind": "maildir",
                        "path": str(inbox),
                        "parse_workers": workers,
                    },
                },
                base_dir=str(folder),
            )
            engine = db.make_engine(db_url)
            db.upgrade(engine)
            import io

            rt = Runtime(
                cfg,
                secrets=Secrets(),
                engine=engine,
                overrides={
                    "mailbox": MaildirMailbox(inbox),
                    "chat": ConsoleChat(stream=io.StringIO()),
                },
            )
            prof = cProfile.Profile() if profile else None
            with StatementCounter(engine) as counted:
                start = time.perf_counter()
                if prof:
                    prof.enable()
                outcomes = ingest(engine, rt.services, rt.mailbox)
                if prof:
                    prof.disable()
                seconds = time.perf_counter() - start
            rt.close()
            engine.dispose()
        cases = sum(1 for o in outcomes if o.new_case)
        if cases != count:
            raise RuntimeError(f"expected {count} cases, got {cases}: {outcomes[:3]}")
        start = time.perf_counter()
        for raw in raws:
            msg = email.message_from_bytes(raw, policy=policy.default)
            body = msg.get_body(("plain", "html"))
            if body is not None:
                body.get_content()
        bare = time.perf_counter() - start
        if prof:
            pstats.Stats(prof).sort_stats(os.environ.get("SORT", "cumulative")).print_stats(
                int(os.environ.get("TOP", "45"))
            )
        return {
            "rate": count / seconds,
            "statements_per_message": counted.count / count,
            "bare_parse_rate": count / bare,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def imap_backlog(url: str | None, count: int, workers: int) -> dict[str, float]:
    """Like ``bench.measure.backlog`` (real Dovecot, the bot's IMAP adapter, a bare
    imapclient fetch + parse of the same mailbox), on SQLite or PostgreSQL, with
    ``parse_workers`` set; adds statements per message."""
    import json
    import uuid

    from bench.measure import _config_raw, _toml, _worker, dovecot

    folder = Path(tempfile.mkdtemp(prefix="bench-hotpath-imap-"))
    try:
        with dovecot() as server, sweep_database(url) as db_url:
            user = server.add_user(f"hot-{uuid.uuid4().hex[:8]}@example.org", "bench")
            raw = _config_raw(folder, db_url, server, user)
            raw["mailbox"]["parse_workers"] = workers
            config = folder / "config.toml"
            config.write_text(_toml(raw))
            env = {"BENCH_IMAP_PASSWORD": user.password}
            _worker("bot", str(config), env=env)  # first connection: what comes next is new
            mail = list(complaints(count, tag="hotimap"))
            for i in range(0, len(mail), 500):
                append_many(server, user, mail[i : i + 500])
            bare = _worker("bare", server.host, str(server.port), user.name, user.password)
            bot = _worker("bot", str(config), env=env)
            if bot["cases"] != count:
                raise RuntimeError(f"expected {count} cases, got {json.dumps(bot)}")
            return {
                "rate": bot["messages"] / bot["seconds"],
                "bare_rate": bare["messages"] / bare["seconds"],
                "statements_per_message": bot.get("statements", 0) / count,
                "rss_mb": bot["rss_mb"],
            }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.hotpath")
    parser.add_argument("--count", type=int, default=500)
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument(
        "--pg", nargs="?", const="postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--imap", action="store_true", help="through Dovecot, as bench does")
    args = parser.parse_args()
    if args.imap:
        got = imap_backlog(args.pg, args.count, args.workers)
        print(
            f"{'PostgreSQL' if args.pg else 'SQLite'}, IMAP backlog of {args.count}, "
            f"workers={args.workers}: bot {got['rate']:.0f} msg/s, bare fetch+parse "
            f"{got['bare_rate']:.0f} msg/s, ratio {got['rate'] / got['bare_rate']:.2f}; "
            f"{got['statements_per_message']:.2f} statements/msg; "
            f"peak RSS {got['rss_mb']:.0f} MB (this process only, not its workers)"
        )
        return
    result = run(args.pg, args.count, args.workers, args.profile)
    db_name = "PostgreSQL" if args.pg else "SQLite"
    print(
        f"{db_name}, {args.count} messages, workers={args.workers}: "
        f"{result['rate']:.0f} msg/s, {result['statements_per_message']:.2f} statements/msg; "
        f"bare email parse {result['bare_parse_rate']:.0f} msg/s"
    )


if __name__ == "__main__":
    main()
