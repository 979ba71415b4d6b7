"""The web front running on a free port over the test's database, with a folder outbox
and console chat; the test clock decides every token's age."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.clock import FixedClock
from tests.conftest import make_config
from tests.support.web import Site, running_site


def web_config(tmp_path: Path, db_url: str, **web: Any) -> Any:
    return make_config(
        tmp_path,
        db_url,
        web={"enabled": True, "public_url": "https://synpunkter.example.org", **web},
        chat={"console_path": str(tmp_path / "chat.log")},
    )


@pytest.fixture
def site(tmp_path: Path, db_url: str, clock: FixedClock) -> Iterator[Site]:
    with running_site(web_config(tmp_path, db_url), clock) as s:
        yield s
