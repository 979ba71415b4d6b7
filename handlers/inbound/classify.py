"""Step 2: is this a complaint, or robot mail (auto-reply, bounce, list, our own)?"""

from __future__ import annotations

from bot.emails import bare_address
from bot.mail.classify import classify
from bot.pipeline import InboundContext


def own_addresses(ctx: InboundContext) -> frozenset[str]:
    cfg = ctx.cfg
    addrs = {a.lower() for a in cfg.organisation.own_addresses}
    addrs.add(bare_address(cfg.outgoing.from_address).lower())
    if cfg.outgoing.reply_to:
        addrs.add(bare_address(cfg.outgoing.reply_to).lower())
    if cfg.mailbox.username and "@" in cfg.mailbox.username:
        addrs.add(cfg.mailbox.username.lower())
    return frozenset(addrs)


def process(ctx: InboundContext) -> None:
    assert ctx.parsed is not None
    ctx.classification = classify(ctx.parsed, own_addresses(ctx))
