"""Step 3: a message seen before (same Message-ID, or same content without one) stops here."""

from __future__ import annotations

from sqlmodel import col, select

from bot.errors import Discard
from bot.models import Direction, Message
from bot.pipeline import InboundContext
from bot.privacy import erased_external_id


def external_id(ctx: InboundContext) -> str:
    """The message's unique id: its Message-ID, or a content hash when it has none."""
    assert ctx.parsed is not None
    return ctx.parsed.message_id or f"sha256:{ctx.parsed.content_hash}"


def process(ctx: InboundContext) -> None:
    ext = external_id(ctx)
    # An erased message keeps only a hash of its Message-ID: a redelivery is still known.
    seen = ctx.session.exec(select(Message.id).where(
        col(Message.external_id).in_([ext, erased_external_id(ext)]))).first()
    if seen is not None:
        raise Discard("duplicate: this message was handled before")
    if ctx.parsed is not None and ctx.parsed.message_id is None:
        same = ctx.session.exec(select(Message.id).where(
            Message.content_hash == ctx.parsed.content_hash,
            Message.direction == Direction.INBOUND.value)).first()
        if same is not None:
            raise Discard("duplicate: same content as an earlier message without Message-ID")
