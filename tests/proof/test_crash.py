"""Killed at random moments, the bot still opens one case, sends one acknowledgement and
posts one prompt per complaint.

A backlog of complaints waits in a real Dovecot. ``complaint-bot run`` (a real
process: IMAP to Dovecot, SMTP to aiosmtpd, Slack Web API to the fake Slack,
all in this test) is killed with SIGKILL at random moments, at least 20 times,
and started again each time, as systemd would. At the end: every message has
exactly one case (``complaint-bot cases --all --format json``), the SMTP server
received exactly one acknowledgement per complainant, and the fake Slack saw
exactly one call-back prompt per case in the triage channel.

The one window that no database can close is the moment between a server
accepting a send (SMTP 250, Slack ``ok``) and our commit that records it.
The outbox marks an entry as in flight before it sends, so an entry that was
in flight when the process died is recognised afterwards: a Slack prompt is
looked up in the channel instead of being posted again; an email is sent
again (a lost acknowledgement is worse than a second one) with the same
Message-ID. The test asserts exactly once for prompts, and for emails that
the only duplicates are of entries in flight at a kill (reported, counted).

The seed is printed; set ``CB_CRASH_SEED`` to replay a run.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from tests.proof.botproc import (
    BotProcess,
    acks_by_recipient,
    append_many,
    bot_env,
    cases_json,
    prompts_by_ref,
    wait_until,
    write_config,
)
from tests.proof.corpus import complaints, message_id, sender
from tests.support.dovecot import Dovecot, ImapUser
from tests.support.fake_slack import FakeSlack
from tests.support.smtp import SmtpTestServer

pytestmark = [pytest.mark.slow, pytest.mark.dovecot]

MESSAGES = int(os.environ.get("CB_CRASH_MESSAGES", "500"))
KILLS = int(os.environ.get("CB_CRASH_KILLS", "20"))


def _count(engine: Engine, sql: str) -> int:
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(sql).scalar_one())


def _in_flight_at_kill(engine: Engine) -> set[int]:
    """Outbox entries marked as being sent right now (by the process just killed)."""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(
            "SELECT id FROM outbox WHERE status = 'pending' AND result LIKE 'sending%'"))
        return {int(r[0]) for r in rows}


def test_sigkill_at_random_moments_loses_and_doubles_nothing(
        tmp_path: Path, db_url: str, engine: Engine, dovecot: Dovecot, imap_user: ImapUser,
        fake_slack: FakeSlack, smtp_server: SmtpTestServer) -> None:
    seed = int(os.environ.get("CB_CRASH_SEED") or random.SystemRandom().randrange(1 << 30))
    rnd = random.Random(seed)
    print(f"crash test seed {seed} (CB_CRASH_SEED={seed} replays the kill moments)")
    config = write_config(tmp_path, db_url=db_url, imap_host=dovecot.host,
                          imap_port=dovecot.port, imap_user=imap_user.name,
                          smtp_port=smtp_server.port, slack_url=fake_slack.url)
    bot = BotProcess(config, bot_env(imap_user, fake_slack), tmp_path / "bot.log")
    try:
        # The first start meets an empty mailbox, so the backlog is new mail, not historical.
        bot.start()
        wait_until(lambda: _count(engine, "SELECT count(*) FROM mailbox_state") == 1, 60,
                   what=f"the bot's first connection\n{bot.tail()}")
        bot.kill()
        append_many(dovecot, imap_user, list(complaints(MESSAGES)))

        in_flight: set[int] = set()
        for n in range(KILLS):
            bot.start()
            # Kill while it works: after it started handling mail, at a random moment.
            before = _count(engine, "SELECT count(*) FROM \"case\"")
            with_work = time.monotonic() + 20
            while (time.monotonic() < with_work and bot.alive()
                   and _count(engine, "SELECT count(*) FROM \"case\"") == before
                   and before < MESSAGES):
                time.sleep(0.05)
            time.sleep(rnd.uniform(0.0, 1.0))
            assert bot.alive(), f"the bot exited on its own (start {n + 1}):\n{bot.tail()}"
            bot.kill()
            in_flight |= _in_flight_at_kill(engine)

        bot.start()
        wait_until(lambda: _count(engine, "SELECT count(*) FROM \"case\"") >= MESSAGES
                   and _count(engine, "SELECT count(*) FROM outbox WHERE status = 'pending'")
                   == 0, 240, interval=0.5, what=f"the backlog to drain\n{bot.tail()}")
        assert bot.terminate() == 0
    finally:
        bot.close()

    cases = cases_json(config, bot.env)
    ids = [mid for case in cases for mid in case["message_ids"] if "@mail.example.se" in mid]
    expected = {message_id(n).strip("<>") for n in range(MESSAGES)}
    assert len(cases) == MESSAGES
    assert sorted(ids) == sorted(expected), "a message is missing or in two cases"
    assert _count(engine, "SELECT count(*) FROM quarantine") == 0
    assert _count(engine, "SELECT count(*) FROM outbox WHERE status <> 'sent'") == 0

    prompts = prompts_by_ref(fake_slack)
    assert set(prompts) == {c["ref"] for c in cases}, "a case got no prompt"
    doubled_prompts = {ref: k for ref, k in prompts.items() if k != 1}
    assert doubled_prompts == {}, f"prompts posted more than once: {doubled_prompts}"

    acks = acks_by_recipient(smtp_server)
    assert set(acks) == {sender(n) for n in range(MESSAGES)}, "an acknowledgement is missing"
    doubled_acks = {to: k for to, k in acks.items() if k != 1}
    print(f"{bot.starts} starts, {KILLS} kills; entries in flight at a kill: {len(in_flight)}; "
          f"acknowledgements received twice: {len(doubled_acks)}")
    # A second acknowledgement is possible only for an email that was in flight at a kill.
    assert len(doubled_acks) <= len(in_flight)
    assert all(k == 2 for k in doubled_acks.values())
