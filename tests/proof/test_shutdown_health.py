"""SIGTERM, ``complaint-bot check`` and ``--metrics-port``, on the real process.

SIGTERM in the middle of a backlog: the message in hand is finished, the
outbox is flushed, the process exits 0 and gives up the mailbox lease; a
restart goes on where it stopped, without a second case or acknowledgement.
``check`` exits non-zero, naming the server, when IMAP or SMTP is down.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from tests.proof.botproc import (
    BotProcess,
    acks_by_recipient,
    append_many,
    bot_env,
    prompts_by_ref,
    wait_until,
    write_config,
)
from tests.proof.corpus import complaints, sender
from tests.support.cli import Ran, run
from tests.support.dovecot import Dovecot, ImapUser, free_port
from tests.support.fake_slack import FakeSlack
from tests.support.smtp import SmtpTestServer

pytestmark = pytest.mark.dovecot

# Large enough that SIGTERM, sent as soon as the first group of 50 is committed, lands
# mid-backlog (the group in hand is finished before stopping): the whole backlog
# arrives at once (one IMAP MOVE) and the bot handles ~1,000 messages a second on a
# quiet machine, so this leaves about half a second.
BACKLOG = 600


def _one(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as reply:
        text = reply.read().decode()
    out = {}
    for line in text.splitlines():
        if line.startswith("complaint_bot_") and " " in line:
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out


@pytest.mark.slow
def test_sigterm_finishes_flushes_and_exits_0_then_metrics_count_the_rest(
    tmp_path: Path,
    db_url: str,
    engine: Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
    fake_slack: FakeSlack,
    smtp_server: SmtpTestServer,
) -> None:
    config = write_config(
        tmp_path,
        db_url=db_url,
        imap_host=dovecot.host,
        imap_port=dovecot.port,
        imap_user=imap_user.name,
        smtp_port=smtp_server.port,
        slack_url=fake_slack.url,
    )
    env = bot_env(imap_user, fake_slack)
    bot = BotProcess(config, env, tmp_path / "bot.log")
    port = free_port()
    try:
        bot.start()
        # The mailbox's first connection is recorded: mail appended after it is new
        # (acknowledged); mail already there when it connected would be historical.
        wait_until(
            lambda: (
                _one(engine, "SELECT count(*) FROM lease") == 1
                and _one(engine, "SELECT count(*) FROM mailbox_state") == 1
            ),
            60,
            what=f"the mailbox lease and first connection\n{bot.tail()}",
        )
        append_many(dovecot, imap_user, list(complaints(BACKLOG, tag="term")), at_once=True)
        wait_until(
            lambda: _one(engine, 'SELECT count(*) FROM "case"') >= 10,
            60,
            interval=0.02,
            what="the backlog to start",
        )
        assert bot.terminate(timeout=60) == 0, bot.tail()
        assert "complaint-bot stopped" in bot.tail()
        handled = _one(engine, 'SELECT count(*) FROM "case"')
        assert 10 <= handled < BACKLOG, "stop came too late to prove anything"
        assert _one(engine, "SELECT last_uid FROM mailbox_state") == handled
        assert _one(engine, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0
        assert len(acks_by_recipient(smtp_server)) == handled  # flushed before exit
        assert _one(engine, "SELECT count(*) FROM lease") == 0  # given up for the next one

        bot.args = ("--metrics-port", str(port))
        bot.start()
        wait_until(
            lambda: (
                _one(engine, 'SELECT count(*) FROM "case"') == BACKLOG
                and _one(engine, "SELECT count(*) FROM outbox WHERE status = 'pending'") == 0
            ),
            120,
            what=f"the rest of the backlog\n{bot.tail()}",
        )
        seen = _metrics(port)
        assert bot.terminate(timeout=60) == 0
    finally:
        bot.close()
    rest = BACKLOG - handled
    assert seen["complaint_bot_cases_opened_total"] == rest
    assert seen["complaint_bot_acks_sent_total"] == rest
    assert seen["complaint_bot_prompts_posted_total"] == rest
    assert seen["complaint_bot_quarantined_total"] == 0
    assert seen["complaint_bot_outbox_backlog"] == 0
    assert seen["complaint_bot_mailbox_connected"] == 1
    assert seen["complaint_bot_mailbox_lease_held"] == 1
    assert set(acks_by_recipient(smtp_server).values()) == {1}
    assert set(acks_by_recipient(smtp_server)) == {sender(n, "term") for n in range(BACKLOG)}
    assert set(prompts_by_ref(fake_slack).values()) == {1}
    assert len(prompts_by_ref(fake_slack)) == BACKLOG


def _check(config: Path, env: dict[str, str]) -> Ran:
    """``complaint-bot check`` (in-process: the real app, no new interpreter)."""
    return run(config, "check", env=env, check=False)


def test_check_fails_when_imap_or_smtp_is_unreachable(
    tmp_path: Path,
    db_url: str,
    dovecot: Dovecot,
    imap_user: ImapUser,
    fake_slack: FakeSlack,
    smtp_server: SmtpTestServer,
) -> None:
    env = bot_env(imap_user, fake_slack)

    def config(imap_port: int) -> Path:
        return write_config(
            tmp_path,
            db_url=db_url,
            imap_host=dovecot.host,
            imap_port=imap_port,
            imap_user=imap_user.name,
            smtp_port=smtp_server.port,
            slack_url=fake_slack.url,
        )

    everything_up = _check(config(dovecot.port), env)
    assert everything_up.returncode == 0, everything_up.stdout + everything_up.stderr
    assert "FAIL" not in everything_up.stdout

    imap_down = _check(config(free_port()), env)
    assert imap_down.returncode == 1
    [line] = [ln for ln in imap_down.stdout.splitlines() if ln.startswith("FAIL")]
    assert "mailbox: IMAP" in line

    smtp_server.stop()
    smtp_down = _check(config(dovecot.port), env)
    assert smtp_down.returncode == 1
    [line] = [ln for ln in smtp_down.stdout.splitlines() if ln.startswith("FAIL")]
    assert "outgoing: SMTP" in line
