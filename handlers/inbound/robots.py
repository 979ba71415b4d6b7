"""Step 5: robot mail never opens a case and is never answered.

It is kept on the case it belongs to (if any). A bounce of our acknowledgement
marks the case "ack bounced" and blocks further mail to that address.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.cases import mark_ack_bounced
from bot.errors import Discard
from bot.models import Direction, Message
from bot.pipeline import InboundContext
from handlers.inbound.dedupe import message_id
from handlers.inbound.record import message_row


def process(ctx: InboundContext) -> None:
    cls = ctx.classification
    assert cls is not None and ctx.parsed is not None
    if cls.kind == "complaint":
        return
    msg = message_row(ctx, classification=str(cls.kind))
    ctx.session.add(msg)
    if ctx.case is not None and cls.kind == "bounce":
        ours = ctx.session.exec(
            select(Message.id).where(col(Message.message_id).in_(ctx.parsed.report_original_ids),
                                     Message.direction == Direction.OUTBOUND.value)
        ).first()
        if ours is not None:
            mark_ack_bounced(ctx.session, ctx.cfg, ctx.case, ctx.now)
    raise Discard(f"{cls.kind}: {cls.reason} (id {message_id(ctx)[:80]})")
