"""Staff opened a message from the review lane as a case: it is a complaint from a person."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the pipeline calls this; it needs the pipeline's types only
    from bot.runners.pipeline import InboundContext


def force_complaint(ctx: InboundContext) -> None:
    """Treat the message as a complaint from a person (staff said so in the review lane).

    The case is filed under the person's address when one can be recovered. Staff
    overruled a doubt (spam flag, bulk marker): with such an address it may be
    acknowledged (``can_acknowledge`` still decides). Mail the classifier took for
    a robot is never acknowledged, whatever staff decided.
    """
    from bot.domain.acknowledgement import own_addresses_of
    from bot.mail.addresses import base_address, find_person
    from bot.mail.classify import Classification, MailKind

    before = ctx.classification
    if before is not None and before.kind is MailKind.COMPLAINT:
        return
    person = None
    if ctx.parsed is not None:
        person = find_person(ctx.parsed, {base_address(a) for a in own_addresses_of(ctx.cfg)})
    contact = person[0] if person else None
    doubt_only = before is not None and before.kind is MailKind.REVIEW
    if not (doubt_only and contact):
        ctx.no_ack_reason = (
            f"opened from review; classified {before.kind}"
            if before
            else "opened from review; not classified"
        )
    ctx.classification = Classification(
        MailKind.COMPLAINT,
        f"opened as a case by {ctx.forced_by}",
        contact=contact,
        acknowledge=doubt_only,
    )
