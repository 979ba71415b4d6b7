"""Replay keys (handled Slack events and payloads) are kept long enough to stop every
replay Slack or an attacker could make, and then forgotten by the sweep."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import Config
from bot.runners.scheduler import run_tick
from bot.store.db import session_scope
from bot.store.models import ProcessedEvent
from tests.harness import Bot


def test_the_tick_forgets_replay_keys_older_than_two_days(
    cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    bot = Bot(cfg, engine, clock, tmp_path)
    now = clock()
    with session_scope(engine) as s:
        s.add(ProcessedEvent(event_id="event:Ev-old", at=now - timedelta(days=3)))
        s.add(ProcessedEvent(event_id="view:V-hour", at=now - timedelta(hours=1)))
        s.add(ProcessedEvent(event_id="action:A-now", at=now))
    run_tick(bot.rt)
    with session_scope(engine) as s:
        kept = {e.event_id for e in s.exec(select(ProcessedEvent)).all()}
    assert kept == {"view:V-hour", "action:A-now"}
