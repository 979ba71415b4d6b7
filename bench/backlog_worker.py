"""One measured run in a process of its own: the bot's backlog, or the bare baseline.

``python -m bench.backlog_worker bot CONFIG`` handles every waiting message
with the bot's IMAP adapter and pipeline (what ``complaint-bot ingest`` does
before delivering); ``python -m bench.backlog_worker bare HOST PORT USER
PASSWORD`` fetches the same mailbox with bare imapclient (``BODY.PEEK[]`` in
batches) and parses each message with ``email.policy.default``. Both print
one JSON line: messages, seconds, peak RSS in MB, and for the bot the SQL
statements it ran (a ``before_cursor_execute`` count). The bot's ``rss_mb`` is
the peak of the sum over its process tree (the parse workers and their fork
server too), sampled every 20 ms from ``/proc``; ``pss_mb`` the same with
shared pages counted once (PSS); ``self_rss_mb`` is this
process's own peak (``VmHWM``).
"""

from __future__ import annotations

import cProfile
import email
import json
import os
import sys
import threading
import time
from email import policy
from pathlib import Path
from typing import Any


def _peak_rss_mb() -> float:
    """This process's peak RSS: ``VmHWM``, not ``getrusage``, whose ``ru_maxrss`` on Linux
    keeps the peak of the process before ``exec`` (the forked bench harness, which holds
    all the generated mail)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


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


def _name(pid: int) -> str:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "?"
    text = " ".join(a.decode(errors="replace") for a in args if a)
    return "worker" if "parse_worker" in text else ("bot" if pid == os.getpid() else text[-40:])


def _field_kb(path: str, field: str) -> int:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _rss_kb(pid: int) -> int:
    return _field_kb(f"/proc/{pid}/status", "VmRSS:")


def _pss_kb(pid: int) -> int:
    """Proportional set size: pages shared with other processes (the fork server and the
    worker it forked) counted once, split between them."""
    return _field_kb(f"/proc/{pid}/smaps_rollup", "Pss:")


class TreePeak:
    """The peak, over time, of the summed RSS of this process and all its descendants."""

    def __init__(self, every: float = 0.02) -> None:
        self.peak_kb = 0
        self.peak_pss_kb = 0
        self.at_peak: list[tuple[str, int]] = []  # (process, RSS in kB) when the sum peaked
        self._every = every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            pids = _tree(os.getpid())
            each = [(pid, _rss_kb(pid)) for pid in pids]
            self.peak_pss_kb = max(self.peak_pss_kb, sum(_pss_kb(pid) for pid in pids))
            total = sum(kb for _, kb in each)
            if total > self.peak_kb:
                self.peak_kb = total
                self.at_peak = [(_name(pid), kb) for pid, kb in each]
            self._stop.wait(self._every)

    def __enter__(self) -> TreePeak:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def bot(config_path: str) -> dict[str, Any]:
    from bot.config import load_config
    from bot.runners.pipeline import ingest
    from bot.store.db import StatementCounter
    from bot.wiring import Runtime

    rt = Runtime(load_config(config_path))
    profile_to = os.environ.get("BENCH_PROFILE")  # a path: cProfile of the bot's own process
    profiler = cProfile.Profile() if profile_to else None
    with TreePeak() as tree, StatementCounter(rt.db) as counted:
        start = time.perf_counter()
        if profiler:
            profiler.enable()
        outcomes = ingest(rt.db, rt.services, rt.mailbox)
        if profiler:
            profiler.disable()
        seconds = time.perf_counter() - start
    if profiler and profile_to:
        profiler.dump_stats(profile_to)
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
        "pss_mb": tree.peak_pss_kb / 1024,
        "self_rss_mb": _peak_rss_mb(),
        "at_peak": ", ".join(f"{name} {kb / 1024:.0f} MB" for name, kb in tree.at_peak),
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
