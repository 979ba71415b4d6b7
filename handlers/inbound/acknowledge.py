"""Step 8: an immediate acknowledgement to the citizen, when it is safe to send one.

The email is rendered now and queued in the outbox in this transaction, with
a dedupe key per case: a case is acknowledged at most once, whatever happens
to the process afterwards. Its Message-ID is stored, so a reply threads back.
"""

from __future__ import annotations

from datetime import timedelta

from bot.actions.citizen_mail import last_ack_to, queue_citizen_email
from bot.actions.trail import audit
from bot.domain.acknowledgement import AckHistory, can_acknowledge
from bot.runners.pipeline import InboundContext
from handlers.inbound.classify import own_addresses


def process(ctx: InboundContext) -> None:
    case, complainant, p = ctx.case, ctx.complainant, ctx.parsed
    assert case is not None and complainant is not None and p is not None and ctx.classification
    if not ctx.new_case:
        return
    if ctx.no_ack_reason:  # opened from review over the classifier's doubt: when unsure, don't
        audit(ctx.session, case, "system", "ack_skipped", ctx.now, reason=ctx.no_ack_reason)
        return
    cfg = ctx.cfg
    if not ctx.classification.may_acknowledge:
        # no address of the person's own, or RFC 3834 form mail: never auto-reply
        audit(ctx.session, case, "system", "ack_skipped", ctx.now, reason=ctx.classification.reason)
        return
    ok, why = can_acknowledge(
        mail_kind=str(ctx.classification.kind),
        sender=complainant.email,
        own_addresses=own_addresses(ctx),
        historical=ctx.mail.historical,
        history=AckHistory(
            # a complainant this very message created has never been acknowledged
            last_ack_to_sender_at=None
            if ctx.new_complainant
            else last_ack_to(ctx.session, complainant.id or 0),
            sender_bounced_at=complainant.email_bounced_at,
        ),
        now=ctx.now,
        window=timedelta(hours=cfg.policy.ack_window_hours),
        bounce_block=timedelta(days=cfg.policy.bounce_block_days),
    )
    if not ok:
        audit(ctx.session, case, "system", "ack_skipped", ctx.now, reason=why)
        return
    queue_citizen_email(
        ctx.session,
        cfg,
        ctx.services.renderer,
        case,
        complainant,
        ctx.now,
        template="ack",
        dedupe_key=f"ack:{case.id}",
        extra=_phone_known(ctx),
        in_reply_to=p.message_id,
        references=p.references,
    )


def _phone_known(ctx: InboundContext) -> dict[str, object] | None:
    """The case's number as the citizen writes it, when it was worked out ahead."""
    national = ctx.prepared.national(ctx.case.phone) if ctx.prepared and ctx.case else None
    return None if national is None else {"phone": national}
