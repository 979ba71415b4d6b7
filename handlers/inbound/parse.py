"""Step 1: turn the raw bytes into a ParsedEmail (or quarantine: not an email).

Usually done ahead, with classification and extraction (``ctx.prepared``, see
:mod:`bot.runners.prepare`); a message that failed there fails here, with the
same reason.
"""

from __future__ import annotations

from bot.errors import Unprocessable
from bot.mail.parse import parse_email
from bot.runners.pipeline import InboundContext


def process(ctx: InboundContext) -> None:
    if ctx.prepared is not None:
        if ctx.prepared.failure is not None:
            raise Unprocessable(ctx.prepared.failure)
        ctx.parsed = ctx.prepared.parsed
        return
    ctx.parsed = parse_email(ctx.mail.raw, max_attachment_bytes=ctx.cfg.mailbox.max_message_bytes)
