"""Servers that go away and come back: nothing is lost, nothing is doubled, the bot goes on.

- Dovecot restarted while the bot is in IDLE: mail delivered meanwhile is read
  within seconds of the server's return.
- The SMTP server down for a while: acknowledgements wait in the outbox and go
  out once each when it is back.
- Slack answering 429 (with Retry-After) and 500 for a while: prompts go out
  once each afterwards.
- The database unreachable for a while (PostgreSQL behind a proxy that is cut;
  SQLite locked by another process): the running bot waits and resumes.
"""

from __future__ import annotations

import sqlite3
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.adapters.imap import ImapMailbox
from bot.adapters.slack_chat import SlackChat, make_web_client
from bot.adapters.smtp import SmtpMailer
from bot.clock import FixedClock
from bot.config import Secrets
from bot.runners.service import serve
from bot.wiring import Runtime
from tests.conftest import PG_URL, make_config
from tests.harness import Bot, email
from tests.proof.botproc import acks_by_recipient, prompts_by_ref, wait_until
from tests.proof.tcpproxy import TcpProxy
from tests.support.dovecot import Dovecot, arrival, ensure_dovecot
from tests.support.fake_slack import FakeSlack
from tests.support.smtp import SmtpTestServer


def _cases(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql('SELECT count(*) FROM "case"').scalar_one())


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.exec_driver_sql(
                "SELECT count(*) FROM outbox WHERE status = 'pending'"
            ).scalar_one()
        )


class Running:
    """``serve()`` (the whole ``complaint-bot run``) in a thread, stopped at the end."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt
        self.stop = threading.Event()
        self.result: list[int] = []
        self.thread = threading.Thread(
            target=lambda: self.result.append(serve(rt, self.stop)), daemon=True
        )

    def __enter__(self) -> Running:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


# -- IMAP ---------------------------------------------------------------------------


@pytest.fixture
def own_dovecot() -> Iterator[Dovecot]:
    """A Dovecot of this test's own, so restarting it disturbs no other test."""
    if not ensure_dovecot():
        pytest.skip("Dovecot is not installed")
    root = Path(tempfile.mkdtemp(prefix="dovecot-fault-"))
    server = Dovecot(root)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.dovecot
def test_dovecot_restart_during_idle_misses_nothing(
    tmp_path: Path, db_url: str, engine: Engine, own_dovecot: Dovecot, clock: FixedClock
) -> None:
    user = own_dovecot.add_user("restart@example.org", "secret")
    cfg = make_config(
        tmp_path,
        db_url,
        mailbox={
            "kind": "imap",
            "host": own_dovecot.host,
            "port": own_dovecot.port,
            "security": "none",
            "username": user.name,
            "password_env": "IMAP_PASSWORD",
        },
    )
    box = ImapMailbox(
        cfg.mailbox, Secrets(imap_password=SecretStr(user.password)), engine, clock=clock
    )
    rt = Runtime(cfg, clock=clock, secrets=Secrets(), engine=engine, overrides={"mailbox": box})
    with Running(rt) as bot:
        wait_until(lambda: box.connected, 15, what="the first connection")
        time.sleep(1.0)  # in IDLE now
        own_dovecot.append(
            user, email(msgid="<before@x.se>", frm="a@example.se"), internaldate=arrival(clock)
        )
        wait_until(lambda: _cases(engine) == 1, 5, what="the pushed message")

        own_dovecot.stop(crash=True)  # the connection drops in the middle of IDLE
        own_dovecot.deliver_offline(
            user, email(msgid="<during@x.se>", frm="b@example.se"), internaldate=arrival(clock)
        )
        time.sleep(2.0)
        own_dovecot.start()
        back = time.monotonic()
        wait_until(
            lambda: _cases(engine) == 2,
            20,
            interval=0.1,
            what="the mail delivered while the server was down",
        )
        reconnect = time.monotonic() - back
        own_dovecot.append(
            user, email(msgid="<after@x.se>", frm="c@example.se"), internaldate=arrival(clock)
        )
        wait_until(lambda: _cases(engine) == 3, 10, what="mail after the restart (IDLE again)")
        assert bot.thread.is_alive()
    assert reconnect < 10, f"reconnected only after {reconnect:.1f} s"
    assert bot.result == [0]


# -- SMTP ---------------------------------------------------------------------------


def test_smtp_outage_delays_acknowledgements_but_loses_and_doubles_none(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock, smtp_server: SmtpTestServer
) -> None:
    cfg = make_config(
        tmp_path,
        db_url,
        outgoing={
            "kind": "smtp",
            "host": smtp_server.host,
            "port": smtp_server.port,
            "security": "none",
            "timeout_seconds": 5,
        },
    )
    bot = Bot(cfg, engine, clock, tmp_path, mailer=SmtpMailer(cfg.outgoing, Secrets()))
    smtp_server.stop()
    for n in range(5):
        bot.deliver(
            email(
                msgid=f"<o{n}@x.se>",
                frm=f"citizen{n}@example.se",
                body=f"Hemtjänsten kom inte, dag {n}.",
            )
        )
    bot.ingest()
    for _ in range(3):  # tries while the server is down: every one is put back for later
        report = bot.flush()
        assert report.failed == 0 and report.retried == 5
        clock.advance(hours=2)
    assert _pending(engine) == 5  # the acknowledgements (the console took the prompts)
    smtp_server.start()
    clock.advance(hours=2)
    bot.flush()
    bot.flush()
    assert _pending(engine) == 0
    acks = acks_by_recipient(smtp_server)
    assert acks == {f"citizen{n}@example.se": 1 for n in range(5)}


# -- Slack --------------------------------------------------------------------------


def test_slack_rate_limits_and_errors_delay_prompts_but_double_none(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock, fake_slack: FakeSlack
) -> None:
    cfg = make_config(tmp_path, db_url, chat={"kind": "slack", "api_base_url": fake_slack.url})
    chat = SlackChat(make_web_client(cfg.chat, fake_slack.token, max_retries=1))
    bot = Bot(cfg, engine, clock, tmp_path, chat=chat)
    for n in range(4):
        bot.deliver(
            email(
                msgid=f"<s{n}@x.se>",
                frm=f"citizen{n}@example.se",
                body=f"Snön är inte röjd, gata {n}.",
            )
        )
    bot.ingest()
    fake_slack.fail_next(4, status=429, retry_after=1, method="chat.postMessage")
    fake_slack.fail_next(6, status=500, method="chat.postMessage")
    rounds = 0
    while _pending(engine) and rounds < 20:
        bot.flush()
        clock.advance(minutes=10)  # past any backoff
        rounds += 1
    assert _pending(engine) == 0
    statuses = [c.status for c in fake_slack.calls("chat.postMessage")]
    assert statuses.count(429) == 4 and statuses.count(500) == 6
    refs = {c["ref"] for c in bot.cases()}
    assert prompts_by_ref(fake_slack) == {ref: 1 for ref in refs}


# -- the database -------------------------------------------------------------------


@pytest.mark.skipif(not PG_URL, reason="the proxy stands between the bot and PostgreSQL")
def test_postgres_unreachable_for_a_while_the_bot_waits_and_resumes(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock
) -> None:
    url = sa.engine.make_url(db_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432).start()
    via_proxy = url.set(host=proxy.host, port=proxy.port).render_as_string(hide_password=False)
    cfg = make_config(tmp_path, via_proxy)
    try:
        rt = Runtime(cfg, clock=clock, secrets=Secrets())
        bot = Bot(cfg, rt.db, clock, tmp_path)  # for deliver() only
        with Running(rt) as running:
            bot.deliver(email(msgid="<d1@x.se>", frm="a@example.se"))
            wait_until(lambda: _cases(engine) == 1, 10, what="the first case")
            proxy.cut()
            bot.deliver(email(msgid="<d2@x.se>", frm="b@example.se"))
            time.sleep(4.0)
            assert running.thread.is_alive(), "the bot stopped when the database went away"
            proxy.restore()
            wait_until(lambda: _cases(engine) == 2, 30, what="the case after the outage")
            assert running.thread.is_alive()
        assert running.result == [0]
    finally:
        proxy.cut()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM quarantine").scalar_one() == 0


@pytest.mark.skipif(bool(PG_URL), reason="SQLite: another process holds the database's lock")
def test_sqlite_locked_for_a_while_the_bot_waits_and_resumes(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock
) -> None:
    cfg = make_config(tmp_path, db_url)
    rt = Runtime(cfg, clock=clock, secrets=Secrets(), engine=engine)
    bot = Bot(cfg, engine, clock, tmp_path)
    with Running(rt) as running:
        bot.deliver(email(msgid="<l1@x.se>", frm="a@example.se"))
        wait_until(lambda: _cases(engine) == 1, 10, what="the first case")
        # Another process (a backup, say) takes the database's exclusive lock for a while.
        other = sqlite3.connect(db_url.removeprefix("sqlite:///"), isolation_level=None)
        other.execute("BEGIN EXCLUSIVE")
        bot.deliver(email(msgid="<l2@x.se>", frm="b@example.se"))
        time.sleep(3.0)
        other.execute("ROLLBACK")
        other.close()
        wait_until(lambda: _cases(engine) == 2, 30, what="the case after the lock")
        assert running.thread.is_alive()
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM quarantine").scalar_one() == 0
