"""Step 4: find the case this message belongs to, and whether it may join it.

Candidates are found through In-Reply-To and References against every
Message-ID we stored (our own acknowledgements included), then through a case
reference in the subject. A complaint joins a candidate only when it comes from
that case's complainant or an address already on the case; from anyone else it
opens a new case that mentions the old one (``ctx.mentioned_case``), because a
reference or a reply to our acknowledgement is easy to copy and proves nothing.

Robot mail (bounces, auto-replies) never opens a case: it is kept on the case
whose mail it answers (a bounce is matched through the Message-IDs of the
returned original), but a reference in its subject alone attaches it only when
it comes from an address on that case.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlmodel import col, select

from bot.actions.cases import complainant_of
from bot.mail.addresses import is_no_reply_address
from bot.mail.parse import ParsedEmail
from bot.store.models import Case, Direction, Message
from bot.store.refs import find_refs

if TYPE_CHECKING:  # the pipeline imports its steps; a step needs it for types only
    from bot.runners.pipeline import InboundContext


def person_address(p: ParsedEmail) -> str | None:
    """The address this message is from, as a person: where a reply would go (Reply-To,
    else From), as the complainant's address is chosen when a case opens."""
    address = (p.reply_to_address or p.from_address or "").strip().lower()
    return address or None


def may_join(person: str | None, case_addresses: Iterable[str]) -> bool:
    """Only the complainant, or an address already on the case, adds to a case."""
    return person is not None and person in set(case_addresses)


def case_addresses(ctx: InboundContext, case: Case) -> set[str]:
    """The complainant's address, and the senders of complaints that joined the case later
    (the first message's From is left out: for a web form it is the form's relay)."""
    complainant = complainant_of(ctx.session, case)
    found = {complainant.email.strip().lower()} if complainant.email else set()
    senders = ctx.session.exec(
        select(Message.sender)
        .where(
            Message.case_id == case.id,
            Message.direction == Direction.INBOUND.value,
            Message.channel == "email",
            Message.classification == "complaint",
        )
        .order_by(col(Message.id))
    ).all()
    found |= {s.strip().lower() for s in senders[1:] if s and not is_no_reply_address(s)}
    return found


def _cases_replied_to(ctx: InboundContext, ids: list[str], ours_only: bool = False) -> list[Case]:
    """Cases holding any of ``ids`` (in the order of ``ids``; one Message-ID may be on
    two cases when two senders used it). ``ours_only``: only our own outbound mail."""
    if not ids:
        return []
    query = select(Message.message_id, Message.case_id).where(
        col(Message.message_id).in_(ids), col(Message.case_id).is_not(None)
    )
    if ours_only:
        query = query.where(Message.direction == Direction.OUTBOUND.value)
    rows = ctx.session.exec(query).all()
    found: list[Case] = []
    for wanted in ids:
        for mid, case_id in rows:
            case = ctx.session.get(Case, case_id) if mid == wanted else None
            if case is not None and case not in found:
                found.append(case)
    return found


def _cases_referenced(ctx: InboundContext, subject: str) -> list[Case]:
    found: list[Case] = []
    for ref in find_refs(subject, ctx.cfg.policy.reference_prefix):
        case = ctx.session.exec(select(Case).where(Case.ref == ref)).first()
        if case is not None and case not in found:
            found.append(case)
    return found


def process(ctx: InboundContext) -> None:
    p = ctx.parsed
    assert p is not None and ctx.classification is not None
    # The person as the classification recovered them (a web form's citizen, a From
    # without brackets...), else where a reply would go.
    contact = ctx.classification.contact
    person = contact.strip().lower() if contact else person_address(p)
    robot = ctx.classification.kind != "complaint"
    # Robot mail answers our own mail and stays with it; a reference alone is not enough.
    replied = _cases_replied_to(
        ctx,
        [
            c
            for c in (*reversed(p.in_reply_to), *reversed(p.references), *p.report_original_ids)
            if c
        ],
        ours_only=robot,
    )
    referenced = [c for c in _cases_referenced(ctx, p.subject) if c not in replied]
    if robot:
        ctx.case = next(iter(replied), None) or next(
            (c for c in referenced if may_join(person, case_addresses(ctx, c))), None
        )
        return
    for case in (*replied, *referenced):
        if may_join(person, case_addresses(ctx, case)):
            ctx.case = case
            return
    ctx.mentioned_case = next(iter((*replied, *referenced)), None)
