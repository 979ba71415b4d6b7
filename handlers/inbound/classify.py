"""Step 2: is this a complaint, or robot mail (auto-reply, bounce, list, our own)?"""

from __future__ import annotations

from bot.domain.acknowledgement import own_addresses_of
from bot.mail.classify import classify
from bot.runners.pipeline import InboundContext


def own_addresses(ctx: InboundContext) -> frozenset[str]:
    """Every address that is ours (see :func:`bot.domain.acknowledgement.own_addresses_of`)."""
    return own_addresses_of(ctx.cfg)


def process(ctx: InboundContext) -> None:
    assert ctx.parsed is not None
    ctx.classification = classify(ctx.parsed, own_addresses(ctx))
