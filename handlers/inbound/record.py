"""Step 7: store the message on its case (full text kept; raw bytes kept for export)."""

from __future__ import annotations

import json

from bot.models import Direction, Message
from bot.pipeline import InboundContext
from handlers.inbound.dedupe import external_id, message_id, sender_of


def message_row(ctx: InboundContext, classification: str = "complaint") -> Message:
    p = ctx.parsed
    assert p is not None
    return Message(
        case_id=ctx.case.id if ctx.case else None,
        direction=Direction.INBOUND.value,
        channel="email",
        external_id=external_id(ctx),
        message_id=message_id(ctx),
        content_hash=p.content_hash,
        sender=sender_of(ctx),
        sender_name=p.from_name,
        subject=p.subject[:998],
        body_text=p.body_text,
        classification=classification,
        at=ctx.mail.received_at,
        raw=ctx.mail.raw,
        attachments=json.dumps([{"filename": a.filename, "content_type": a.content_type,
                                 "size": a.size} for a in p.attachments], ensure_ascii=False),
    )


def process(ctx: InboundContext) -> None:
    ctx.session.add(message_row(ctx))
    ctx.session.flush()
