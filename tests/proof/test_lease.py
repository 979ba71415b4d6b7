"""The mailbox lease: one holder at a time, renewal, expiry, take-over from the dead."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import Engine

from bot.store.lease import holder, local_process_dead, release, try_acquire

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
KEY = "mailbox:imap://x@host:993/INBOX"


def alive(_owner: str) -> bool:
    return False


def test_one_holder_until_it_expires_then_another_takes_over(engine: Engine) -> None:
    assert try_acquire(engine, KEY, "a:1", T0, 30, owner_is_dead=alive)
    assert not try_acquire(engine, KEY, "b:2", T0 + timedelta(seconds=29), 30, owner_is_dead=alive)
    assert try_acquire(engine, KEY, "a:1", T0 + timedelta(seconds=20), 30, owner_is_dead=alive)
    assert not try_acquire(
        engine, KEY, "b:2", T0 + timedelta(seconds=45), 30, owner_is_dead=alive
    )  # renewed at 20 s: held until 50 s
    assert try_acquire(engine, KEY, "b:2", T0 + timedelta(seconds=51), 30, owner_is_dead=alive)
    assert holder(engine, KEY) == ("b:2", T0 + timedelta(seconds=81))
    assert not try_acquire(engine, KEY, "a:1", T0 + timedelta(seconds=52), 30, owner_is_dead=alive)


def test_a_dead_holder_is_replaced_at_once_and_release_frees_it(engine: Engine) -> None:
    assert try_acquire(engine, KEY, "a:1", T0, 30, owner_is_dead=alive)
    assert try_acquire(
        engine,
        KEY,
        "b:2",
        T0 + timedelta(seconds=1),
        30,
        owner_is_dead=lambda owner: owner == "a:1",
    )
    release(engine, KEY, "a:1")  # not the holder: nothing happens
    assert holder(engine, KEY) is not None
    release(engine, KEY, "b:2")
    assert holder(engine, KEY) is None
    assert try_acquire(engine, KEY, "c:3", T0 + timedelta(seconds=2), 30, owner_is_dead=alive)


def test_only_local_processes_that_are_gone_count_as_dead() -> None:
    import os
    import socket
    import subprocess

    here = socket.gethostname()
    gone = subprocess.Popen(["true"])
    gone.wait()
    assert local_process_dead(f"{here}:{gone.pid}")
    assert not local_process_dead(f"{here}:{os.getpid()}")
    assert not local_process_dead(f"{here}:1")  # alive
    assert not local_process_dead(f"elsewhere.example.org:{gone.pid}")
    assert not local_process_dead("not-an-owner")
