"""Step 8: an immediate acknowledgement to the citizen, when it is safe to send one.

The email is rendered now and queued in the outbox in this transaction, with
a dedupe key per case: a case is acknowledged at most once, whatever happens
to the process afterwards. Its Message-ID is stored, so a reply threads back.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col

from bot.acknowledgement import AckHistory, can_acknowledge
from bot.cases import audit, enqueue
from bot.config import Config
from bot.emails import build_citizen_email, new_message_id
from bot.mail.extract import format_phone_national
from bot.models import Case, Complainant, Direction, Message, OutboxKind
from bot.pipeline import InboundContext
from bot.render import Renderer
from handlers.inbound.classify import own_addresses


def call_within_days(cfg: Config) -> int:
    wh = cfg.policy.working_hours
    day = (datetime.combine(datetime.min, wh.end) - datetime.combine(datetime.min, wh.start))
    hours_per_day = day.total_seconds() / 3600
    return max(1, -int(-cfg.policy.first_contact_working_hours // hours_per_day))


def citizen_context(cfg: Config, case: Case, complainant: Complainant) -> dict[str, object]:
    """The variables every citizen email template receives (all plain data)."""
    org = cfg.organisation
    return {
        "ref": case.ref,
        "name": complainant.name or "",
        "phone": format_phone_national(complainant.phone) if complainant.phone else "",
        "call_within_days": call_within_days(cfg),
        "organisation": org.name,
        "org_phone": org.phone,
        "ombudsman_contact": org.ombudsman_contact,
        "privacy_url": org.privacy_url,
    }


def last_ack_to(session: Session, complainant_id: int) -> datetime | None:
    return session.execute(
        sa.select(sa.func.max(Message.at))
        .join(Case, Case.id == Message.case_id)  # type: ignore[arg-type]
        .where(col(Case.complainant_id) == complainant_id,
               col(Message.direction) == Direction.OUTBOUND.value,
               col(Message.classification) == "ack")
    ).scalar_one_or_none()


def queue_citizen_email(session: Session, cfg: Config, renderer: Renderer, case: Case,
                        complainant: Complainant, now: datetime, *, template: str,
                        dedupe_key: str, extra: dict[str, object] | None = None,
                        in_reply_to: str | None = None, references: tuple[str, ...] = (),
                        automatic: bool = True) -> bool:
    """Render ``template`` for this case and queue it; store its Message-ID for threading."""
    if not complainant.email:
        return False
    msgid = new_message_id(template, case.ref, cfg.outgoing.from_address)
    context = {**citizen_context(cfg, case, complainant), **(extra or {})}
    email = build_citizen_email(
        renderer=renderer, template=template, lang=case.language, context=context,
        from_address=cfg.outgoing.from_address, reply_to=cfg.outgoing.reply_to,
        to_address=complainant.email, to_name=complainant.name, ref=case.ref,
        message_id=msgid, now=now, in_reply_to=in_reply_to, references=references,
        automatic=automatic)
    if not enqueue(session, kind=OutboxKind.EMAIL, dedupe_key=dedupe_key,
                   payload={"purpose": template, "case_id": case.id,
                            "eml": email.as_string()}, case=case, now=now):
        return False
    body = email.get_body(("plain",))
    session.add(Message(
        case_id=case.id, direction=Direction.OUTBOUND.value, channel="email",
        external_id=msgid, content_hash="", sender=None, subject=str(email["Subject"]),
        body_text=body.get_content() if body is not None else "",
        classification=template, at=now))
    return True


def process(ctx: InboundContext) -> None:
    case, complainant, p = ctx.case, ctx.complainant, ctx.parsed
    assert case is not None and complainant is not None and p is not None and ctx.classification
    if not ctx.new_case:
        return
    cfg = ctx.cfg
    ok, why = can_acknowledge(
        mail_kind=str(ctx.classification.kind), sender=complainant.email,
        own_addresses=own_addresses(ctx), historical=ctx.mail.historical,
        history=AckHistory(last_ack_to_sender_at=last_ack_to(ctx.session, complainant.id or 0),
                           sender_bounced_at=complainant.email_bounced_at),
        now=ctx.now, window=timedelta(hours=cfg.policy.ack_window_hours),
        bounce_block=timedelta(days=cfg.policy.bounce_block_days))
    if not ok:
        audit(ctx.session, case, "system", "ack_skipped", ctx.now, reason=why)
        return
    queue_citizen_email(ctx.session, cfg, ctx.services.renderer, case, complainant, ctx.now,
                        template="ack", dedupe_key=f"ack:{case.id}",
                        in_reply_to=p.message_id, references=p.references)
