"""One measured run in a process of its own: the bot's backlog, or the bare baseline.

``python -m bench.backlog_worker bot CONFIG`` handles every waiting message
with the bot's IMAP adapter and pipeline (what ``complaint-bot ingest`` does
before delivering); ``python -m bench.backlog_worker bare HOST PORT USER
PASSWORD`` fetches the same mailbox with bare imapclient (``BODY.PEEK[]`` in
batches) and parses each message with ``email.policy.default``. Both print
one JSON line: messages, seconds, peak RSS in MB (of this process alone), and
for the bot the SQL statements it ran (a ``before_cursor_execute`` count).
"""

from __future__ import annotations

import email
import json
import os
import resource
import sys
import time
from email import policy


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


def bot(config_path: str) -> dict[str, float]:
    from bot.config import load_config
    from bot.runners.pipeline import ingest
    from bot.store.db import StatementCounter
    from bot.wiring import Runtime

    rt = Runtime(load_config(config_path))
    with StatementCounter(rt.db) as counted:
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
        "rss_mb": _peak_rss_mb(),
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
