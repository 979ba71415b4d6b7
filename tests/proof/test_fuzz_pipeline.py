"""Fuzzing the whole inbound pipeline: generated and mutated emails never stop the bot.

Each example delivers one hostile message and then one good complaint into a
real Maildir and runs :func:`bot.runners.pipeline.process_mail` on both, with the
test's database. Whatever the hostile message is, no exception escapes, it
ends as a case, a knowing discard, or a quarantine entry with a reason (and
its raw bytes), and the good complaint behind it opens its case.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import Config
from bot.store.db import session_scope
from bot.store.models import Quarantine
from tests.conftest import FIXTURES
from tests.harness import Bot, email

SEEDS = sorted((FIXTURES / "eml").glob("*.eml"))
SEED_BYTES = [p.read_bytes() for p in SEEDS]

HEADER_NAMES = [
    "From",
    "To",
    "Subject",
    "Message-ID",
    "In-Reply-To",
    "References",
    "Date",
    "Content-Type",
    "Content-Transfer-Encoding",
    "MIME-Version",
    "Auto-Submitted",
    "Reply-To",
    "Return-Path",
    "Content-Disposition",
    "X-Autoreply",
    "Precedence",
]
NASTY = [
    b"",
    b"\x00",
    b"\xff\xfe",
    b"=?utf-8?b?w6U=?=",
    b"=?bogus?q?x?=",
    b"<>",
    b"<@>",
    b"\r\n ",
    b"\t",
    b'"',
    b"multipart/mixed; boundary=",
    b"base64",
    b"quoted-printable",
    b"text/html",
    b'charset="x-unknown"',
    "Åsa Öberg".encode(),
    "ø".encode("latin-1"),
    b"KL-2026-000001",
    b"a" * 300,
    b"--",
    b"=\r\n",
    b"MAILER-DAEMON",
    b"auto-replied",
]

_counter = itertools.count()


def _header_line() -> st.SearchStrategy[bytes]:
    return st.builds(
        lambda name, parts: name.encode() + b": " + b"".join(parts),
        st.sampled_from(HEADER_NAMES),
        st.lists(st.sampled_from(NASTY) | st.binary(max_size=20), max_size=5),
    )


generated = st.builds(
    lambda headers, body: b"\r\n".join(headers) + b"\r\n\r\n" + body,
    st.lists(_header_line(), max_size=12),
    st.lists(st.sampled_from(NASTY) | st.binary(max_size=40), max_size=20).map(b"\r\n".join),
)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """A real fixture with bytes flipped, cut, duplicated or spliced in."""
    raw = bytearray(draw(st.sampled_from(SEED_BYTES)))
    for _ in range(draw(st.integers(1, 6))):
        if not raw:
            break
        at = draw(st.integers(0, len(raw) - 1))
        op = draw(st.sampled_from(["flip", "cut", "dup", "splice", "truncate"]))
        if op == "flip":
            raw[at] = draw(st.integers(0, 255))
        elif op == "cut":
            del raw[at : at + draw(st.integers(1, 200))]
        elif op == "dup":
            raw[at:at] = raw[at : at + draw(st.integers(1, 400))]
        elif op == "splice":
            raw[at:at] = draw(st.sampled_from(NASTY))
        else:
            del raw[at:]
    return bytes(raw)


@pytest.fixture
def bot(cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path) -> Bot:
    return Bot(cfg, engine, clock, tmp_path)


def _good(n: int) -> bytes:
    return email(
        msgid=f"<fuzz-good-{n}@example.se>",
        frm=f"Good Citizen <good{n}@example.se>",
        subject="Snöröjningen på Storgatan",
        body="Ingen har plogat på en vecka.",
    )


def _check(bot: Bot, hostile: bytes) -> None:
    n = next(_counter)
    bot.deliver(hostile, name=f"{n:08d}.a.fuzz")
    bot.deliver(_good(n), name=f"{n:08d}.b.fuzz")
    outcomes = bot.ingest()  # must not raise, whatever the hostile message is
    assert len(outcomes) == 2
    bad, good = outcomes
    assert bad.case or bad.discarded or bad.quarantined or bad.review
    if bad.quarantined:
        assert bad.quarantined.strip()
        with session_scope(bot.engine) as session:
            q = session.exec(select(Quarantine).where(Quarantine.source_key == bad.position)).one()
            assert q.reason and q.raw == hostile
    assert good.new_case and good.case and not good.quarantined, good


SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)


@SETTINGS
@given(mutated())
def test_mutated_real_mail_never_stops_the_pipeline(bot: Bot, hostile: bytes) -> None:
    _check(bot, hostile)


@SETTINGS
@given(generated | st.binary(max_size=3000))
def test_generated_mail_never_stops_the_pipeline(bot: Bot, hostile: bytes) -> None:
    _check(bot, hostile)
