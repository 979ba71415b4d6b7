"""The bot's real log setup (``bot.logs.setup_logging``) writing into a buffer."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from bot.logs import setup_logging


@pytest.fixture
def log_output() -> Iterator[io.StringIO]:
    """Everything the bot logs during the test, as its handler formats it."""
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    buffer = io.StringIO()
    setup_logging(logging.INFO, stream=buffer)
    yield buffer
    root.handlers[:] = saved_handlers
    root.setLevel(saved_level)
