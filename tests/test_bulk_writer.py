"""The bulk writer (bot.runners.bulk): a group without a savepoint per message leaves the
database exactly as the savepoint path does, and falls back to it when a message fails."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from bot.actions import opening
from bot.actions.trail import enqueue
from bot.clock import FixedClock
from bot.runners import bulk, pipeline
from bot.store import db
from bot.store.models import Case, OutboxKind
from tests.conftest import make_config
from tests.harness import Bot, email
from tests.proof.corpus import complaints, sender

# Every column the pipeline writes that is the same in two runs, in insertion order.
_TABLES = {
    "case": "id, ref, status, language, phone, subject, summary, serious, complainant_id, "
    "first_contact_due_at, next_check_at",
    "complainant": "id, name, email, phone",
    "message": "id, case_id, direction, external_id, message_id, sender, subject, body_text, "
    "classification, attachments",
    "quarantine": "id, source_key, reason, lane",
    "outbox": "id, kind, case_id, dedupe_key, status",
    "audit": "id, case_id, actor, action, detail",
    "ref_counter": "scope, last",
}


def _same_everywhere(value: object) -> object:
    """Our Message-IDs' time and random part, and a unique outbox key's random part."""
    if not isinstance(value, str):
        return value
    value = re.sub(r"[\d.]+\.(ack\.)", r"\1", value)
    return re.sub(r":[0-9a-f]{32}$", ":<random>", value)


def _contents(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            table: [
                tuple(map(_same_everywhere, row))
                for row in conn.exec_driver_sql(
                    f'SELECT {cols} FROM "{table}" ORDER BY 1'  # noqa: S608
                )
            ]
            for table, cols in _TABLES.items()
        }


def _mail() -> list[bytes]:
    """New complaints, one person twice, a duplicate inside the group, robot mail, a reply
    to an earlier message of the same group, and something not an email."""
    mails = list(complaints(8, tag="bulk"))
    mails.append(mails[1])  # delivered twice in one group: handled once
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
            frm=sender(3, "bulk"),
            subject="Re: more about my complaint",
            body="Ring mig gärna på 070-765 43 21 i stället, tack.",
            msgid="<again@x.se>",
            headers={"In-Reply-To": "<bulk-3@mail.example.se>"},
        )
    )
    mails.append(
        email(
            frm=sender(5, "bulk"),
            subject="Another thing entirely",
            body="Och gatlyktan utanför är trasig sedan en vecka.",
            msgid="<other@x.se>",
        )
    )
    return mails


def _run(
    tmp_path: Path, clock: FixedClock, name: str, queued: str | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    root = tmp_path / name
    url = f"sqlite:///{root}/bot.db"
    engine = db.make_engine(url)
    db.upgrade(engine)
    bot = Bot(make_config(root, url), engine, clock, root)
    bot.deliver(b"From: a@b.se\r\nSubject: warm\r\nMessage-ID: <warm@b.se>\r\n\r\nHej.\r\n")
    bot.ingest()  # one message alone: the savepoint path either way
    if queued is not None:  # an outbox entry already holding this key
        with db.session_scope(engine) as session:
            enqueue(
                session,
                kind=OutboxKind.EMAIL,
                dedupe_key=queued,
                payload={},
                case=None,
                now=clock(),
            )
    for n, raw in enumerate(_mail()):
        bot.deliver(raw, name=f"{n:03d}.bulk")
    outcomes = bot.ingest()
    assert len(outcomes) == len(_mail())
    try:
        return _contents(engine)
    finally:
        engine.dispose()


def _no_fast_path(*_args: object) -> None:
    raise bulk.Redo("test: the savepoint path only")


def test_the_bulk_writer_leaves_the_same_database_as_a_savepoint_per_message(
    clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ran_fast: list[int] = []
    real = pipeline.run_fast

    def counting(*args: Any) -> Any:
        got = real(*args)
        ran_fast.append(len(got))
        return got

    monkeypatch.setattr(pipeline, "run_fast", counting)
    fast = _run(tmp_path, clock, "fast")
    assert ran_fast == [len(_mail())]  # the group committed without falling back
    monkeypatch.setattr(pipeline, "run_fast", _no_fast_path)
    slow = _run(tmp_path, clock, "slow")

    assert fast == slow
    assert len(fast["case"]) == 8 + 1 + 1  # the warm-up, eight people, one more case
    assert len(fast["quarantine"]) == 1
    assert {row[8] for row in fast["message"]} >= {"complaint", "ack"}


def test_a_failure_after_writing_sends_the_group_back_to_savepoints(
    clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = pipeline.run_steps

    def failing_late(ctx: pipeline.InboundContext) -> None:
        real(ctx)
        if ctx.parsed is not None and ctx.parsed.subject == "Another thing entirely":
            raise RuntimeError("after the case was written")

    monkeypatch.setattr(pipeline, "run_steps", failing_late)
    got = _run(tmp_path, clock, "late")

    # The failing message alone is quarantined; the rest landed as in one pass.
    assert [(row[1], row[2].split(" at ")[0]) for row in got["quarantine"]] == [
        ("009.bulk", "not an email: no From, To, Subject, Date or other core header"),
        ("012.bulk", "RuntimeError"),
    ]
    assert len(got["case"]) == 1 + 8
    assert got["ref_counter"][0][1] == 9  # no number lost to the rolled-back group


def test_a_failure_after_a_held_back_message_row_sends_the_group_back_to_savepoints(
    clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The robot mail's row is only held back (no statement yet) when its step fails:
    still a write, so the group is run again and nothing of that message stays."""
    real = pipeline.run_steps

    def failing_after_the_row(ctx: pipeline.InboundContext) -> None:
        try:
            real(ctx)
        except pipeline.Discard:
            if ctx.parsed is not None and ctx.parsed.subject.startswith("Undelivered"):
                raise RuntimeError("after the row was held back") from None
            raise

    monkeypatch.setattr(pipeline, "run_steps", failing_after_the_row)
    got = _run(tmp_path, clock, "held")

    assert [(row[1], row[2].split(" at ")[0]) for row in got["quarantine"]] == [
        ("009.bulk", "not an email: no From, To, Subject, Date or other core header"),
        ("010.bulk", "RuntimeError"),
    ]
    assert all(row[8] != "auto_reply" for row in got["message"])
    assert {row[8] for row in got["message"]} == {"complaint", "ack"}


def test_an_acknowledgement_already_queued_leaves_its_message_row_out_on_both_paths(
    clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bulk writer holds outbox entries back; one whose key is already queued goes in
    without its acknowledgement's message row, as enqueue() returning False leaves it."""
    fast = _run(tmp_path, clock, "fast", queued="ack:3")
    monkeypatch.setattr(pipeline, "run_fast", _no_fast_path)
    slow = _run(tmp_path, clock, "slow", queued="ack:3")

    assert fast == slow
    acks = {row[1] for row in fast["message"] if row[8] == "ack"}
    assert 3 not in acks and {2, 4} <= acks


def test_ids_taken_by_another_writer_send_the_group_back_to_savepoints(
    clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """New complainants and cases get ids reserved before they go in; if another writer
    took those ids meanwhile, the insert fails and the group is run again one message at
    a time: nothing lost, nothing filed under the other writer's row."""
    slow_path = _run(tmp_path, clock, "reference")
    real = pipeline.run_fast
    fell_back: list[str] = []

    def counting(*args: Any) -> Any:
        try:
            return real(*args)
        except Exception as exc:
            fell_back.append(type(exc.__cause__ or exc).__name__)
            raise

    def taken(_session: object, _model: object, count: int) -> list[int]:
        return list(range(1, 1 + count))  # the warm-up message's complainant and case

    monkeypatch.setattr(pipeline, "run_fast", counting)
    monkeypatch.setattr(db, "_reserve_ids", taken)
    got = _run(tmp_path, clock, "taken")

    assert fell_back == ["IntegrityError"]
    assert got == slow_path


def test_a_failure_right_after_a_held_back_case_sends_the_group_back_to_savepoints(
    clock: FixedClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new case is only held back (no statement yet) when its message fails: still a
    write, so the group is run again and the failing message leaves no case behind."""
    real = opening.insert_row

    def failing_after_the_case(session: Any, model: type, values: dict[str, Any]) -> Any:
        row: Any = real(session, model, values)
        if model is Case and values.get("subject") == "Another thing entirely":
            raise RuntimeError("after the case was held back")
        return row

    monkeypatch.setattr(opening, "insert_row", failing_after_the_case)
    got = _run(tmp_path, clock, "held-case")

    assert [(row[1], row[2].split(" at ")[0]) for row in got["quarantine"]] == [
        ("009.bulk", "not an email: no From, To, Subject, Date or other core header"),
        ("012.bulk", "RuntimeError"),
    ]
    assert len(got["case"]) == 1 + 8
    assert "Another thing entirely" not in {row[5] for row in got["case"]}
