"""Step 1: turn the raw bytes into a ParsedEmail (or quarantine: not an email)."""

from __future__ import annotations

from bot.mail.parse import parse_email
from bot.runners.pipeline import InboundContext


def process(ctx: InboundContext) -> None:
    ctx.parsed = parse_email(ctx.mail.raw, max_attachment_bytes=ctx.cfg.mailbox.max_message_bytes)
