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
            pstats.Stats(prof).sort_stats("cumulative").print_stats(45)
        return {
            "rate": count / seconds,
            "statements_per_message": counted.count / count,
            "bare_parse_rate": count / bare,
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
    args = parser.parse_args()
    result = run(args.pg, args.count, args.workers, args.profile)
    db_name = "PostgreSQL" if args.pg else "SQLite"
    print(
        f"{db_name}, {args.count} messages, workers={args.workers}: "
        f"{result['rate']:.0f} msg/s, {result['statements_per_message']:.2f} statements/msg; "
        f"bare email parse {result['bare_parse_rate']:.0f} msg/s"
    )


if __name__ == "__main__":
    main()
