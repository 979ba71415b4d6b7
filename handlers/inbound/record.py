"""Step 7: store the message on the case (full text kept; raw bytes kept for export).

Every field is made to fit its column first (``fit``): a 300-character display
name or an over-long address must not cost the citizen their case. Text is
already free of NUL bytes and lone surrogates (``bot.mail.parse.storable_text``).
"""

from __future__ import annotations

import json
from typing import Any

from bot.actions.trail import audit, insert_message
from bot.domain.vocabulary import MAIL_CUT_DOWN
from bot.mail.parse import storable_text
from bot.runners.pipeline import InboundContext
from bot.store.models import Direction
from handlers.inbound.dedupe import external_id, message_id, remember_stored, sender_of


def fit(text: str | None, limit: int) -> str | None:
    """``text`` made storable and cut to ``limit`` characters (None stays None)."""
    if text is None:
        return None
    text = storable_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def message_row(ctx: InboundContext, classification: str = "complaint") -> dict[str, Any]:
    """The message's row, as values (inserted with :func:`store`: no ORM object to build)."""
    p = ctx.parsed
    assert p is not None
    contact = ctx.classification.contact if ctx.classification else None
    return dict(
        case_id=ctx.case.id if ctx.case else None,
        direction=Direction.INBOUND.value,
        channel="email",
        external_id=external_id(ctx),
        message_id=message_id(ctx),
        content_hash=p.content_hash,
        sender=fit(contact or sender_of(ctx), 320),
        sender_name=fit(p.from_name, 200),
        subject=fit(p.subject, 998) or "",
        body_text=storable_text(p.body_text),
        classification=classification,
        at=ctx.mail.received_at,
        raw=ctx.mail.raw,
        attachments=json.dumps(
            [
                {"filename": fit(a.filename, 255), "content_type": a.content_type, "size": a.size}
                for a in p.attachments
            ],
            ensure_ascii=False,
        ),
    )


def store(ctx: InboundContext, classification: str = "complaint") -> None:
    """Insert the message's row (the bulk writer holds it back until something reads the
    table: a later message of the same group still sees it)."""
    insert_message(ctx.session, message_row(ctx, classification))
    remember_stored(ctx)


def process(ctx: InboundContext) -> None:
    store(ctx)
    p = ctx.parsed
    if p is not None and p.cut_down_from is not None and ctx.case is not None:
        # Only the beginning of this email is kept: staff are told (the prompt says so).
        audit(
            ctx.session,
            ctx.case,
            "system",
            MAIL_CUT_DOWN,
            ctx.now,
            size=p.cut_down_from,
            limit=ctx.cfg.mailbox.max_message_bytes,
        )
