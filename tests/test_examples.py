"""The embedded default's sample inbox: one case per complaint, the reply threaded."""

from __future__ import annotations

import shutil
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.config import Config
from tests.conftest import EXAMPLES
from tests.harness import Bot


def test_examples_inbox(cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path) -> None:
    bot = Bot(cfg, engine, clock, tmp_path)
    files = sorted(EXAMPLES.glob("*.eml"))
    assert len(files) >= 12
    for f in files:
        shutil.copyfile(f, bot.inbox / "tmp" / f.name)
        (bot.inbox / "tmp" / f.name).rename(bot.inbox / "new" / f.name)
    outcomes = bot.run_once()
    assert not [o for o in outcomes if o.quarantined]
    cases = bot.cases()
    assert len(cases) == len(files) - 1  # the last one is a reply to the first
    first = cases[0]
    assert len([m for m in first["message_ids"] if "example.org" not in m]) == 2
    by_lang = {c["language"] for c in cases}
    assert by_lang == {"sv", "nb", "nn", "en"}
    assert len(bot.sent_emails()) == len(cases)
    # Norwegian numbers in Norwegian complaints are found, in E.164
    assert any(
        (c["complainant"]["phone"] or "").startswith("+47") for c in cases if c["language"] == "nn"
    )
    # The reply gave a number for the case that had none
    assert first["complainant"]["phone"] is not None
    # The test personnummer never reaches staff
    assert "19121212-1212" not in bot.staff_text()
    # The Lex Sarah complaint is escalated at once
    assert any(c["escalated_at"] for c in cases)
