"""The lean hot path: groups of messages per transaction, statements per message, and
parsing in a worker process (issue 15, items 1 and 2)."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.config import Config
from bot.ports import InboundMail
from bot.presenters.render import renderer_for
from bot.runners import pipeline
from bot.runners.pipeline import InboundContext, Services, Step
from bot.runners.prepare import prepared_mail
from bot.store import db
from bot.store.db import StatementCounter
from tests.conftest import make_config
from tests.harness import Bot, email
from tests.proof.corpus import complaint, complaints, sender

# Measured with bench/hotpath.py and the test below: 0.6 statements a message for a new
# complaint from a new person in a group of 40 (the bulk writer, bot.runners.bulk). All
# are once per group: Message-ID dedupe, complainants by address, the reference block
# and its release, the ids reserved for new complainants and cases and one insert of
# each, the message rows, the outbox entries, the audit entries, the checkpoint. Before
# issue 15: 14.5 (one transaction per message); with a savepoint per message: 12.5;
# with an INSERT .. RETURNING per complainant and case: 2.3.
STATEMENTS_PER_MESSAGE = 0.75

POISON = "X-Test-Poison"


def _poison(ctx: InboundContext) -> None:
    """Fails after the case, its complainant, audit and message rows were written."""
    assert ctx.parsed is not None
    if ctx.parsed.header(POISON):
        raise RuntimeError("poisoned message")


@pytest.fixture
def poison_step(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The inbound pipeline with :func:`_poison` right after ``record``."""
    steps: list[tuple[str, Step]] = []
    for name, module in pipeline._STEPS:
        steps.append((name, module))
        if name == "record":
            steps.append(("poison_test", _PoisonStep()))
    monkeypatch.setattr(pipeline, "_STEPS", steps)
    yield


class _PoisonStep:
    process = staticmethod(_poison)


def _count(engine: Engine, sql: str, **params: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar_one())


@pytest.mark.usefixtures("poison_step")
def test_one_poisoned_message_in_a_group_is_quarantined_alone(
    cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    bot = Bot(cfg, engine, clock, tmp_path)
    mails = list(complaints(5, tag="group"))
    head, _, body = mails[2].partition(b"\r\n\r\n")
    mails[2] = head + f"\r\n{POISON}: yes".encode() + b"\r\n\r\n" + body
    for n, raw in enumerate(mails):
        bot.deliver(raw, name=f"{n:03d}.group")

    outcomes = bot.ingest()  # one group: one transaction, a savepoint per message

    assert [o.quarantined is not None for o in outcomes] == [False, False, True, False, False]
    assert (outcomes[2].quarantined or "").startswith("RuntimeError at test_hot_path.py:")
    # The four others landed with everything they queued; the reference numbers run on
    # without a gap (the poisoned message's counter step was rolled back with it).
    assert sorted(c["ref"] for c in bot.cases()) == [f"KL-2026-{n:06d}" for n in range(1, 5)]
    assert _count(engine, "SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'ack:%'") == 4
    assert _count(engine, "SELECT count(*) FROM outbox WHERE dedupe_key LIKE 'prompt:%'") == 4
    # Nothing of the poisoned message stayed but its quarantine entry.
    poisoned = sender(2, "group")
    assert _count(engine, "SELECT count(*) FROM complainant WHERE email = :e", e=poisoned) == 0
    assert _count(engine, "SELECT count(*) FROM message WHERE sender = :e", e=poisoned) == 0
    assert _count(engine, "SELECT count(*) FROM quarantine") == 1
    # Every message was moved on (the Maildir checkpoint): nothing comes again.
    assert bot.ingest() == []


def test_statements_per_message_stay_under_the_measured_bound(
    cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    bot = Bot(cfg, engine, clock, tmp_path)
    bot.deliver(complaint(0, tag="warm"))
    bot.ingest()  # the year's reference counter exists, the templates are loaded
    count = 40
    for n, raw in enumerate(complaints(count, tag="count")):
        bot.deliver(raw, name=f"{n:03d}.count")

    with StatementCounter(engine) as counted:
        outcomes = bot.ingest()

    assert sum(o.new_case for o in outcomes) == count
    assert counted.count / count <= STATEMENTS_PER_MESSAGE, counted.count / count


def _mixed_mail() -> list[bytes]:
    """Complaints, a reply to one, robot mail, a duplicate and something not an email."""
    mails = list(complaints(6, tag="same"))
    mails.append(mails[1])  # delivered twice: handled once
    mails.append(b"\x00\x01 not an email at all")
    mails.append(
        email(
            frm="MAILER-DAEMON@example.net",
            subject="Undelivered Mail Returned to Sender",
            body="This is the mail system. The message could not be delivered.",
            msgid="<bounce-1@example.net>",
            headers={"Auto-Submitted": "auto-replied"},
        )
    )
    mails.append(
        email(
            frm=sender(3, "same"),
            subject="Re: more about my complaint",
            body="Ring mig gärna på 070-765 43 21 i stället, tack.",
            msgid="<again@x.se>",
            headers={"In-Reply-To": "<same-3@mail.example.se>"},
        )
    )
    return mails


_TABLES = {
    "case": "ref, status, language, phone, subject, summary, serious, complainant_id",
    "complainant": "id, name, email, phone",
    "message": "case_id, direction, external_id, message_id, sender, subject, body_text, "
    "classification",
    "quarantine": "source_key, reason, lane",
    "outbox": "kind, case_id, dedupe_key",
    "audit": "case_id, actor, action, detail",
}


def _same_everywhere(value: object) -> object:
    """What differs between any two runs is left out: our Message-IDs' time and random
    part, and the random part of a unique outbox key."""
    if not isinstance(value, str):
        return value
    return re.sub(r":[0-9a-f]{32}$", ":<random>", re.sub(r"^[\d.]+\.(ack\.)", r"\1", value))


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: sorted(
                (
                    tuple(map(_same_everywhere, row))
                    for row in conn.exec_driver_sql(f'SELECT {cols} FROM "{table}"')  # noqa: S608
                ),
                key=repr,
            )
            for table, cols in _TABLES.items()
        }


def _run(tmp_path: Path, clock: FixedClock, workers: int) -> dict[str, list[tuple[Any, ...]]]:
    root = tmp_path / f"workers-{workers}"
    url = f"sqlite:///{root}/bot.db"
    engine = db.make_engine(url)
    db.upgrade(engine)
    cfg = make_config(root, url, mailbox={"parse_workers": workers})
    bot = Bot(cfg, engine, clock, root)
    for n, raw in enumerate(_mixed_mail()):
        bot.deliver(raw, name=f"{n:03d}.same")
    outcomes = bot.ingest()
    assert len(outcomes) == len(_mixed_mail())
    try:
        return _contents(engine)
    finally:
        engine.dispose()


def test_worker_mode_gives_the_same_database_as_in_process(
    clock: FixedClock, tmp_path: Path
) -> None:
    in_process = _run(tmp_path, clock, workers=0)
    with_worker = _run(tmp_path, clock, workers=1)

    assert with_worker == in_process
    assert len(in_process["case"]) == 6 and len(in_process["quarantine"]) == 1
    assert {row[7] for row in in_process["message"]} >= {"complaint", "ack"}


def test_worker_results_come_back_in_mailbox_order(clock: FixedClock, tmp_path: Path) -> None:
    workers_cfg = make_config(tmp_path, "sqlite://", mailbox={"parse_workers": 2})
    services = Services(cfg=workers_cfg, renderer=renderer_for(workers_cfg), clock=clock)
    mails = [
        InboundMail(raw=raw, received_at=clock(), mailbox="t", position=str(n))
        for n, raw in enumerate(complaints(30, tag="order"))
    ]
    got = list(prepared_mail(services, iter(mails)))

    assert [m.position for m, _ in got] == [str(n) for n in range(30)]
    assert [p.parsed.message_id if p.parsed else None for _, p in got] == [
        f"order-{n}@mail.example.se" for n in range(30)
    ]


def _parse_workers() -> list[int]:
    """This process's parse worker children (their pids)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").glob("*/children"):
        for pid in task.read_text().split():
            with contextlib.suppress(OSError):
                if b"bot.runners.parse_worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(int(pid))
    return found


def test_a_worker_killed_mid_backlog_costs_only_time(
    clock: FixedClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from bot.runners import prepare as runner

    workers_cfg = make_config(tmp_path, "sqlite://", mailbox={"parse_workers": 1})
    services = Services(cfg=workers_cfg, renderer=renderer_for(workers_cfg), clock=clock)
    mails = [
        InboundMail(raw=raw, received_at=clock(), mailbox="t", position=str(n))
        for n, raw in enumerate(complaints(12, tag="killed"))
    ]
    monkeypatch.setattr(runner, "IN_FLIGHT", 2)  # most messages are sent after the kill
    stream = runner.prepared_mail(services, iter(mails))
    got = [next(stream)]
    idle = {w.proc.pid for team in runner._idle for w in team}
    [busy] = [pid for pid in _parse_workers() if pid not in idle]
    os.kill(busy, signal.SIGKILL)
    got += list(stream)

    assert [m.position for m, _ in got] == [str(n) for n in range(12)]
    assert [p.parsed.message_id if p.parsed else None for _, p in got] == [
        f"killed-{n}@mail.example.se" for n in range(12)
    ]
    assert all(p.failure is None for _, p in got)
    assert "preparing it in this process" in caplog.text  # the rest was prepared here
    # The next backlog gets a live worker again.
    again = list(runner.prepared_mail(services, iter(mails[:3])))
    assert [m.position for m, _ in again] == ["0", "1", "2"]
    assert all(not w.dead for team in runner._idle for w in team)


def test_the_writer_process_does_not_load_what_it_does_not_use(tmp_path: Path) -> None:
    # Memory bounded by design: a process whose database is at the head does not load
    # Alembic (~11 MB), and one with the console chat no Slack client; a backlog's
    # writer with a parse worker does not load the language models (~22 MB), nor the
    # holidays library (~12 MB: the calendar reads bot/domain/public_holidays.json).
    from tests.support.cli import write_config

    url = f"sqlite:///{tmp_path}/bot.db"
    config = write_config(tmp_path, url)  # the default: parse_workers = 1
    db.upgrade(db.make_engine(url))
    for n, raw in enumerate(complaints(3, tag="lean")):
        (tmp_path / "inbox" / "new").mkdir(parents=True, exist_ok=True)
        (tmp_path / "inbox" / "new" / f"{n}.eml").write_bytes(raw)
    probe = (
        "import sys\n"
        "from bot.config import load_config\n"
        "from bot.runners.pipeline import ingest\n"
        "from bot.wiring import Runtime\n"
        f"rt = Runtime(load_config({str(config)!r}))\n"
        "assert len(ingest(rt.db, rt.services, rt.mailbox)) == 3\n"
        "loaded = ('alembic', 'slack_sdk', 'lingua', 'holidays')\n"
        "print(sorted(m for m in loaded if m in sys.modules))\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.strip() == "[]"


def test_a_worker_that_hangs_costs_one_message_not_the_backlog(
    clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.runners import prepare as runner

    workers_cfg = make_config(tmp_path, "sqlite://", mailbox={"parse_workers": 1})
    services = Services(cfg=workers_cfg, renderer=renderer_for(workers_cfg), clock=clock)
    mails = [
        InboundMail(raw=raw, received_at=clock(), mailbox="t", position=str(n))
        for n, raw in enumerate(complaints(6, tag="hung"))
    ]
    monkeypatch.setattr(runner, "PREPARE_SECONDS", 1.0)
    monkeypatch.setattr(runner, "IN_FLIGHT", 1)
    stream = runner.prepared_mail(services, iter(mails))
    got = [next(stream)]
    idle = {w.proc.pid for team in runner._idle for w in team}
    [busy] = [pid for pid in _parse_workers() if pid not in idle]
    os.kill(busy, signal.SIGSTOP)  # it answers nothing from now on
    try:
        got += list(stream)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(busy, signal.SIGCONT)

    assert [m.position for m, _ in got] == [str(n) for n in range(6)]
    failures = [p.failure for _, p in got]
    # The message the stopped worker held is quarantined with the reason; the ones
    # behind it are prepared and go on.
    assert failures[1] == "preparing the message took over 1 s"
    assert [f for n, f in enumerate(failures) if n != 1] == [None] * 5
    assert busy not in _parse_workers()  # killed, not left behind
