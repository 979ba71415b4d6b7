"""Step 5: robot mail never opens a case and is never answered; a doubt goes to a human.

Robot mail (dropped only on positive evidence, see ``bot.mail.classify``) is kept
on the case it belongs to (if any). When it carries bounce evidence and returns
one of our own emails (its attached original, a quoted Message-ID, In-Reply-To or
References name an outbound Message-ID), the case of that email is marked
"ack bounced" and further mail to the address is blocked, whatever robot kind the
classification settled on. Mail the classification could not place raises
:class:`bot.errors.NeedsReview`: it is kept for a person, never dropped.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.actions.cases import mark_ack_bounced
from bot.errors import Discard, NeedsReview
from bot.runners.pipeline import InboundContext
from bot.store.models import Case, Direction, Message
from handlers.inbound.record import store


def returned_case(ctx: InboundContext) -> Case | None:
    """The case of our outbound email that this robot mail returns or answers, if any."""
    p = ctx.parsed
    assert p is not None
    ids = list(
        dict.fromkeys(
            [*p.report_original_ids, *p.returned_message_ids, *p.in_reply_to, *p.references]
        )
    )
    if not ids:
        return None
    case_id = ctx.session.exec(
        select(Message.case_id).where(
            col(Message.message_id).in_(ids),
            Message.direction == Direction.OUTBOUND.value,
            col(Message.case_id).is_not(None),
        )
    ).first()
    return ctx.session.get(Case, case_id) if case_id is not None else None


def process(ctx: InboundContext) -> None:
    cls = ctx.classification
    assert cls is not None and ctx.parsed is not None
    if cls.needs_review:
        raise NeedsReview(cls.reason)
    if not cls.is_robot:
        return
    if cls.bounce and (bounced := returned_case(ctx)) is not None:
        ctx.case = ctx.case or bounced
        mark_ack_bounced(ctx.session, ctx.cfg, bounced, ctx.now)
    store(ctx, classification=str(cls.kind))
    raise Discard(f"{cls.kind}: {cls.reason}")
