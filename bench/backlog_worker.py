"""One measured run in a process of its own: the bot's backlog, or the bare baseline.

``python -m bench.backlog_worker bot CONFIG`` handles every waiting message
with the bot's IMAP adapter and pipeline (what ``complaint-bot ingest`` does
before delivering); ``python -m bench.backlog_worker bare HOST PORT USER
PASSWORD`` fetches the same mailbox with bare imapclient (``BODY.PEEK[]`` in
batches) and parses each message with ``email.policy.default``. Both print
one JSON line: messages, seconds, peak RSS in MB, and for the bot the SQL
statements it ran (a ``before_cursor_execute`` count). The bot's ``rss_mb`` is
the peak of the sum over its process tree (the parse workers and their fork
server too), sampled every 20 ms from ``/proc``; ``self_rss_mb`` is this
process's own peak (``getrusage``).
"""

from __future__ import annotations

import email
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path
from email import policy


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def _tree(pid: int) -> list[int]:
    found = [pid]
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            children = task.read_text().split()
        except OSError:
            continue
        for child in children:
            found += _tree(int(child))
    return found


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreePeak:
    """The peak, over time, of the summed RSS of this process and all its descendants."""

    def __init__(self, every: float = 0.02) -> None:
        self.peak_kb = 0
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            total = sum(_rss_kb(pid) for pid in _tree(os.getpid()))
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self._every)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bot(config_path: str) -> dict[str, float]:
    from bot.config import load_config
    from bot.runners.pipeline import ingest
    from bot.store.db import StatementCounter
    from bot.wiring import Runtime

    rt = Runtime(load_config(config_path))
    with TreePeak() as tree, StatementCounter(rt.db) as counted:
        start = time.perf_counter()
        outcomes = ingest(rt.db, rt.services, rt.mailbox)
        seconds = time.perf_counter() - start
    rt.close()
    from bot.runners.prepare import shutdown_pool

    shutdown_pool()  # the parse workers hold this process's stdout: os._exit skips atexit
    return {
        "statements": counted.count,
        "messages": len(outcomes),
        "cases": sum(1 for o in outcomes if o.new_case),
        "quarantined": sum(1 for o in outcomes if o.quarantined),
        "seconds": seconds,
        "rss_mb": max(tree.peak_kb / 1024, _peak_rss_mb()),
        "self_rss_mb": _peak_rss_mb(),
    }


def bare(host: str, port: str, user: str, password: str, batch: int = 100) -> dict[str, float]:
    from imapclient import IMAPClient

    start = time.perf_counter()
    client = IMAPClient(host, int(port), ssl=False, timeout=60)
    client.login(user, password)
    client.select_folder("INBOX", readonly=True)
    uids = sorted(client.search(["ALL"]))
    parsed = 0
    for i in range(0, len(uids), batch):
        for data in client.fetch(uids[i : i + batch], ["BODY.PEEK[]"]).values():
            msg = email.message_from_bytes(data[b"BODY[]"], policy=policy.default)
            body = msg.get_body(("plain", "html"))
            if body is not None:
                body.get_content()
            parsed += 1
    client.logout()
    return {"messages": parsed, "seconds": time.perf_counter() - start, "rss_mb": _peak_rss_mb()}


if __name__ == "__main__":
    kind, *args = sys.argv[1:]
    result = bot(*args) if kind == "bot" else bare(*args)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip interpreter teardown: the figure is taken
