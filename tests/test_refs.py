"""Case references never repeat, also with several processes writing at once."""

from __future__ import annotations

import multiprocessing as mp

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.store.db import make_engine, session_scope
from bot.store.models import RefCounter
from bot.store.refs import allocate_ref, find_refs, format_ref


def _allocate(url: str, n: int, queue: mp.Queue[list[str]]) -> None:
    engine = make_engine(url)
    refs = []
    for _ in range(n):
        with session_scope(engine) as s:
            refs.append(allocate_ref(s, "KL", 2026))
    engine.dispose()
    queue.put(refs)


def test_refs_are_unique_across_processes(db_url: str, engine: object) -> None:
    ctx = mp.get_context("spawn")
    queue: mp.Queue[list[str]] = ctx.Queue()
    procs = [ctx.Process(target=_allocate, args=(db_url, 25, queue)) for _ in range(4)]
    for p in procs:
        p.start()
    refs = [r for _ in procs for r in queue.get(timeout=120)]
    for p in procs:
        p.join(timeout=60)
    assert len(refs) == 100
    assert len(set(refs)) == 100
    assert sorted(refs) == [format_ref("KL", 2026, i) for i in range(1, 101)]


def test_rolled_back_number_is_reused_not_skipped(engine: Engine) -> None:
    try:
        with session_scope(engine) as s:
            assert allocate_ref(s, "KL", 2026) == "KL-2026-000001"
            raise RuntimeError("crash before commit")
    except RuntimeError:
        pass
    with session_scope(engine) as s:
        assert allocate_ref(s, "KL", 2026) == "KL-2026-000001"
        assert allocate_ref(s, "KL", 2027) == "KL-2027-000001"
    with session_scope(engine) as s:
        assert {r.scope for r in s.exec(select(RefCounter)).all()} == {"KL-2026", "KL-2027"}


def test_find_refs_in_subjects() -> None:
    assert find_refs("Re: Vi har tagit emot [KL-2026-000123] och KL-2025-000001", "KL") == [
        "KL-2026-000123",
        "KL-2025-000001",
    ]
    assert find_refs("AB-2026-000123", "KL") == []
