"""The measurements behind ``python -m bench``; each returns plain figures."""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from pydantic import SecretStr

from bot.adapters.console import ConsoleChat
from bot.adapters.imap import ImapMailbox
from bot.clock import FixedClock, system_clock
from bot.config import Secrets, parse_config
from bot.runners.service import watch_mailbox
from bot.store import db
from bot.wiring import Runtime
from tests.proof.botproc import append_many
from tests.proof.corpus import complaint, complaints
from tests.support.dovecot import Dovecot, ImapUser, ensure_dovecot
from tests.support.sweep_cases import fill_cases

ROOT = Path(__file__).resolve().parents[1]


@contextmanager
def dovecot() -> Iterator[Dovecot]:
    if not ensure_dovecot():
        raise SystemExit("Dovecot is not installed (scripts/install-test-servers installs it)")
    root = Path(tempfile.mkdtemp(prefix="bench-dovecot-"))
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _config_raw(
    folder: Path, db_url: str, server: Dovecot, user: ImapUser, parse_workers: int = 1
) -> dict[str, Any]:
    return {
        "database": {"url": db_url},
        "mailbox": {
            "kind": "imap",
            "host": server.host,
            "port": server.port,
            "security": "none",
            "username": user.name,
            "password_env": "BENCH_IMAP_PASSWORD",
            "batch_size": 100,
            "parse_workers": parse_workers,
        },
        "outgoing": {"kind": "folder", "path": str(folder / "outbox")},
        "chat": {
            "kind": "console",
            "console_path": str(folder / "console.txt"),
            "triage_channel": "C0TRIAGE",
        },
    }


def _toml(raw: dict[str, Any]) -> str:
    lines = []
    for section, values in raw.items():
        lines.append(f"[{section}]")
        lines += [f"{k} = {json.dumps(v)}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


# -- backlog and memory -------------------------------------------------------------------


@dataclass(frozen=True)
class Backlog:
    messages: int
    bot_rate: float
    bare_rate: float
    bot_rss_mb: float
    bare_rss_mb: float
    statements: int
    bot_pss_mb: float = 0.0  # the bot's process tree with shared pages counted once

    @property
    def ratio(self) -> float:
        return self.bot_rate / self.bare_rate

    @property
    def statements_per_message(self) -> float:
        return self.statements / self.messages


def _worker(*args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.backlog_worker", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def backlog_mail(count: int, tag: str = "backlog") -> list[bytes]:
    """``count`` complaints, the one in the middle with a 5 MB attachment."""
    mail = list(complaints(count - 1, tag=tag))
    big = complaint(count, tag=tag, attachment=os.urandom(5 * 1024 * 1024))
    mail.insert(count // 2, big)
    return mail


def huge_mail(count: int, huge: int = 10, tag: str = "huge") -> list[bytes]:
    """``count`` complaints and ``huge`` 24 MB mails among them: half with a 24 MB
    (base64) attachment, half with a 24 MB text body."""
    mail = list(complaints(count, tag=tag))
    for k in range(huge):
        n = count + 1 + k
        if k % 2 == 0:
            raw = complaint(n, tag=tag, attachment=os.urandom(18 * 1024 * 1024))
        else:
            line = "Det luktar illa från avloppet vid skolan, igen och igen.\r\n".encode()
            raw = complaint(n, tag=tag) + line * (24 * 1024 * 1024 // len(line))
        mail.insert((k + 1) * len(mail) // (huge + 1), raw)
    return mail


def backlog(
    server: Dovecot, mail: list[bytes], db_url: str, bare: bool = True, parse_workers: int = 1
) -> Backlog:
    """``mail`` waiting in a fresh mailbox -> cases in ``db_url``, next to the bare baseline
    (a fetch + parse of the same mailbox, run just before the bot)."""
    folder = Path(tempfile.mkdtemp(prefix="bench-backlog-"))
    user = server.add_user(f"backlog-{uuid.uuid4().hex[:8]}@example.org", "bench")
    config = folder / "config.toml"
    url = db_url.replace("{folder}", str(folder))
    config.write_text(_toml(_config_raw(folder, url, server, user, parse_workers)))
    env = {"BENCH_IMAP_PASSWORD": user.password}
    try:
        _worker("bot", str(config), env=env)  # first connection: what comes next is new mail
        for i in range(0, len(mail), 200):
            append_many(server, user, mail[i : i + 200])
        base = (
            _worker("bare", server.host, str(server.port), user.name, user.password)
            if bare
            else {"messages": 1, "seconds": 1.0, "rss_mb": 0.0}
        )
        bot = _worker("bot", str(config), env=env)
        print(f"  bot processes when their RSS peaked: {bot.get('at_peak')}", file=sys.stderr)
        if bot["cases"] != len(mail):
            raise RuntimeError(f"expected {len(mail)} cases, got {bot}")
        return Backlog(
            len(mail),
            bot["messages"] / bot["seconds"],
            base["messages"] / base["seconds"],
            bot["rss_mb"],
            base["rss_mb"],
            int(bot["statements"]),
            bot.get("pss_mb", 0.0),
        )
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- push latency -------------------------------------------------------------------------


@dataclass(frozen=True)
class Push:
    p50: float
    p95: float


def push_latency(server: Dovecot, count: int) -> Push:
    """APPEND -> the case and its staff prompt committed, with the bot watching in IDLE."""
    folder = Path(tempfile.mkdtemp(prefix="bench-push-"))
    user = server.add_user(f"push-{uuid.uuid4().hex[:8]}@example.org", "bench")
    url = f"sqlite:///{folder}/bench.db"
    cfg = parse_config(_config_raw(folder, url, server, user), base_dir=str(folder))
    engine = db.make_engine(url)
    db.upgrade(engine)
    box = ImapMailbox(
        cfg.mailbox, Secrets(imap_password=SecretStr(user.password)), engine, clock=system_clock
    )
    quiet = ConsoleChat(stream=io.StringIO())  # staff prompts are not what is measured here
    rt = Runtime(cfg, secrets=Secrets(), engine=engine, overrides={"mailbox": box, "chat": quiet})
    stop = threading.Event()
    watcher = threading.Thread(target=watch_mailbox, args=(rt, stop, 30.0), daemon=True)
    watcher.start()
    probe = db.make_engine(url)

    def prompts() -> int:
        with probe.connect() as conn:
            return int(
                conn.execute(
                    sa.text("SELECT count(*) FROM outbox WHERE dedupe_key LIKE :k"),
                    {"k": "prompt:%"},
                ).scalar_one()
            )

    latencies = []
    try:
        deadline = time.monotonic() + 30
        while not box.connected and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(1.0)  # in IDLE
        for n in range(count):
            raw = complaint(n, tag="push")
            start = time.perf_counter()
            server.append(user, raw)
            while prompts() < n + 1:
                if time.perf_counter() - start > 30:
                    raise RuntimeError("a pushed message did not become a case in 30 s")
                time.sleep(0.002)
            latencies.append(time.perf_counter() - start)
            time.sleep(0.2)  # let the watcher go back to IDLE, as between real messages
    finally:
        stop.set()
        watcher.join(timeout=30)
        rt.close()
        probe.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    latencies.sort()
    return Push(statistics.median(latencies), latencies[int(0.95 * (len(latencies) - 1))])


# -- sweep --------------------------------------------------------------------------------


@contextmanager
def sweep_database(pg_url: str | None) -> Iterator[str]:
    """A fresh, migrated database: a SQLite file, or a schema of its own in PostgreSQL."""
    if pg_url is None:
        folder = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
        try:
            yield f"sqlite:///{folder}/sweep.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(pg_url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    try:
        url = sa.engine.make_url(pg_url).set(query={"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@dataclass(frozen=True)
class Sweep:
    due_seconds: float
    due_queries: int
    idle_seconds: float
    idle_queries: int


def sweep(url: str, open_cases: int, due: int) -> Sweep:
    """The reminder sweep over ``open_cases`` open cases of which ``due`` are due."""
    from handlers.sweeps import reminders

    engine = db.make_engine(url)
    db.upgrade(engine)
    # Tuesday 24 November 2026, 10:00 in Stockholm: working hours.
    now = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    fill_cases(engine, now, open_cases, due)
    folder = Path(tempfile.mkdtemp(prefix="bench-sweep-cfg-"))
    cfg = parse_config(
        {
            "database": {"url": url},
            "outgoing": {"kind": "folder", "path": str(folder / "outbox")},
            "mailbox": {"kind": "maildir", "path": str(folder / "inbox")},
        },
        base_dir=str(folder),
    )
    rt = Runtime(cfg, clock=FixedClock(now), secrets=Secrets(), engine=engine)
    queries = [0]

    def count(*_args: Any) -> None:
        queries[0] += 1

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        start = time.perf_counter()
        acted = reminders.run(rt)
        due_seconds, due_queries = time.perf_counter() - start, queries[0]
        if acted < due:
            raise RuntimeError(f"expected {due} due cases to be acted on, got {acted}")
        queries[0] = 0
        start = time.perf_counter()
        reminders.run(rt)
        idle_seconds, idle_queries = time.perf_counter() - start, queries[0]
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
        engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
    return Sweep(due_seconds, due_queries, idle_seconds, idle_queries)
