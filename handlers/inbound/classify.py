"""Step 2: is this a complaint, or robot mail (auto-reply, bounce, list, our own)?"""

from __future__ import annotations

from bot.mail.classify import classify
from bot.runners.pipeline import InboundContext
from bot.runners.prepare import settings_of


def own_addresses(ctx: InboundContext) -> frozenset[str]:
    """Every address that is ours (see :func:`bot.domain.acknowledgement.own_addresses_of`),
    worked out once per runtime."""
    return settings_of(ctx.services).own_addresses


def process(ctx: InboundContext) -> None:
    assert ctx.parsed is not None
    if ctx.prepared is not None and ctx.prepared.classification is not None:
        ctx.classification = ctx.prepared.classification
        return
    ctx.classification = classify(ctx.parsed, own_addresses(ctx))
