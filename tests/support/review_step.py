"""A test-only pipeline step that sends doubtful mail to the review lane.

Until the classifier raises :class:`bot.errors.NeedsReview` itself, the review
lane's tests put this step right after ``classify`` (fixture ``review_step``):
mail without a readable sender, and mail the server flagged as spam, "might
be a person's" and is kept for a human.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.errors import NeedsReview
from bot.runners import pipeline
from bot.runners.pipeline import InboundContext, Step


def process(ctx: InboundContext) -> None:
    p = ctx.parsed
    assert p is not None
    if p.from_address is None:
        raise NeedsReview("no readable sender address")
    if (p.header("X-Spam-Flag") or "").strip().upper() == "YES":
        raise NeedsReview("flagged as spam by the mail server")


@pytest.fixture
def review_step(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The inbound pipeline with :func:`process` after ``classify``."""
    import sys

    steps: list[tuple[str, Step]] = []
    for name, module in pipeline._STEPS:
        steps.append((name, module))
        if name == "classify":
            steps.append(("review_test", sys.modules[__name__]))
    monkeypatch.setattr(pipeline, "_STEPS", steps)
    yield
