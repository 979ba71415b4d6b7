"""Step 4: find the case this message belongs to.

First In-Reply-To and References against every Message-ID we stored (our own
acknowledgements included), then a case reference in the subject. A bounce is
matched through the Message-IDs of the returned original.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.models import Case, Message
from bot.pipeline import InboundContext
from bot.refs import find_refs


def process(ctx: InboundContext) -> None:
    p = ctx.parsed
    assert p is not None
    candidates = [*reversed(p.in_reply_to), *reversed(p.references), *p.report_original_ids]
    candidates = [c for c in candidates if c]
    if candidates:
        row = ctx.session.exec(
            select(Message.case_id).where(col(Message.external_id).in_(candidates),
                                          col(Message.case_id).is_not(None))
        ).first()
        if row is not None:
            ctx.case = ctx.session.get(Case, row)
            return
    for ref in find_refs(p.subject, ctx.cfg.policy.reference_prefix):
        case = ctx.session.exec(select(Case).where(Case.ref == ref)).first()
        if case is not None:
            ctx.case = case
            return
