"""Emails to citizens, queued in the outbox: acknowledgement, number request, confirmation.

Rendered when queued, so what was sent is on record and its Message-ID is stored
at once (a reply threads back even before the email has left).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.actions.cases import complainant_of, get_case_by_id, mark_ack_bounced
from bot.actions.status_links import issue_status_link, status_url
from bot.actions.trail import SYSTEM_ACTOR, Actor, audit, enqueue, insert_message, unique_key
from bot.config import Config
from bot.domain.acknowledgement import AckHistory, can_acknowledge, own_addresses_of
from bot.domain.calendar import WorkingCalendar
from bot.errors import InvalidAction
from bot.mail.compose import citizen_email_text, new_message_id
from bot.mail.extract import format_phone_national
from bot.presenters.render import Renderer
from bot.store.models import (
    Case,
    Complainant,
    ContactAttempt,
    Direction,
    Message,
    OutboxKind,
    Status,
)


def call_within_days(cfg: Config) -> int:
    wh = cfg.policy.working_hours
    day = datetime.combine(datetime.min, wh.end) - datetime.combine(datetime.min, wh.start)
    hours_per_day = day.total_seconds() / 3600
    return max(1, -int(-cfg.policy.first_contact_working_hours // hours_per_day))


def citizen_context(
    cfg: Config, case: Case, complainant: Complainant, phone: str | None = None
) -> dict[str, object]:
    """The variables every citizen email template receives (all plain data); ``phone``:
    the case's number as the citizen writes it, when the caller knows it already."""
    org = cfg.organisation
    if phone is None:
        phone = format_phone_national(case.phone) if case.phone else ""  # this case's number
    return {
        "ref": case.ref,
        "name": complainant.name or "",
        "phone": phone,
        "call_within_days": call_within_days(cfg),
        "organisation": org.name,
        "org_phone": org.phone,
        "ombudsman_contact": org.ombudsman_contact,
        "privacy_url": org.privacy_url,
        "status_url": "",
    }


def last_ack_to(session: Session, complainant_id: int) -> datetime | None:
    return session.execute(
        sa.select(sa.func.max(Message.at))
        .join(Case, Case.id == Message.case_id)  # type: ignore[arg-type]
        .where(
            col(Case.complainant_id) == complainant_id,
            col(Message.direction) == Direction.OUTBOUND.value,
            col(Message.classification) == "ack",
        )
    ).scalar_one_or_none()


def may_acknowledge_by_hand(
    session: Session, cfg: Config, complainant: Complainant, now: datetime
) -> tuple[bool, str]:
    """:func:`~bot.domain.acknowledgement.can_acknowledge` for a complaint opened by hand
    (the web form, the register command): a complaint, never historical, judged on this
    person's own acknowledgement history and bounces."""
    return can_acknowledge(
        mail_kind="complaint",
        sender=complainant.email,
        own_addresses=own_addresses_of(cfg),
        historical=False,
        history=AckHistory(
            last_ack_to_sender_at=last_ack_to(session, complainant.id or 0),
            sender_bounced_at=complainant.email_bounced_at,
        ),
        now=now,
        window=timedelta(hours=cfg.policy.ack_window_hours),
        bounce_block=timedelta(days=cfg.policy.bounce_block_days),
    )


def queue_citizen_email(
    session: Session,
    cfg: Config,
    renderer: Renderer,
    case: Case,
    complainant: Complainant,
    now: datetime,
    *,
    template: str,
    dedupe_key: str,
    extra: Mapping[str, object] | None = None,
    in_reply_to: str | None = None,
    references: tuple[str, ...] = (),
    automatic: bool = True,
) -> bool:
    """Render ``template`` for this case and queue it; store its Message-ID for threading."""
    if not complainant.email:
        return False
    msgid = new_message_id(template, case.ref, cfg.outgoing.from_address)
    extra = extra or {}
    known = extra.get("phone")
    context = {
        **citizen_context(cfg, case, complainant, known if isinstance(known, str) else None),
        **extra,
    }
    if template == "ack" and cfg.web.enabled and not context.get("status_url"):
        # While the web front runs, every acknowledgement links the case's status page.
        context["status_url"] = status_url(cfg, issue_status_link(session, cfg, case, now))
    email = citizen_email_text(
        renderer=renderer,
        template=template,
        lang=case.language,
        context=context,
        from_address=cfg.outgoing.from_address,
        reply_to=cfg.outgoing.reply_to,
        to_address=complainant.email,
        to_name=complainant.name,
        ref=case.ref,
        message_id=msgid,
        now=now,
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
    )
    if not enqueue(
        session,
        kind=OutboxKind.EMAIL,
        dedupe_key=dedupe_key,
        payload={"purpose": template, "case_id": case.id, "eml": email.eml},
        case=case,
        now=now,
    ):
        return False
    insert_message(
        session,
        {
            "case_id": case.id,
            "direction": Direction.OUTBOUND.value,
            "channel": "email",
            "external_id": msgid,
            "message_id": msgid,
            "content_hash": "",
            "sender": None,
            "subject": email.subject,
            "body_text": email.text,
            "classification": template,
            "at": now,
        },
        with_entry=dedupe_key,
    )
    return True


def latest_inbound_id(session: Session, case: Case) -> str | None:
    """The Message-ID of the complainant's latest email, to thread our email under it."""
    return session.exec(
        select(Message.message_id)
        .where(
            Message.case_id == case.id,
            Message.direction == Direction.INBOUND.value,
            Message.channel == "email",
        )
        .order_by(col(Message.at).desc(), col(Message.id).desc())
    ).first()


class NumberRequest(enum.StrEnum):
    """What became of "ask for a number by email"."""

    SENT = "sent"
    CLOSED = "closed"  # the case is closed
    NO_EMAIL = "no_email"  # no address to write to
    BOUNCED = "bounced"  # mail to the address bounced
    ALREADY_TODAY = "already_today"  # one was sent this working day


NUMBER_REQUEST_TEXT = {
    NumberRequest.CLOSED: "the case is closed",
    NumberRequest.NO_EMAIL: "no email address is known for the complainant",
    NumberRequest.BOUNCED: "mail to the complainant's address bounced",
    NumberRequest.ALREADY_TODAY: "the complainant was already asked for a number today",
}


def number_request_refusal(case: Case, complainant: Complainant) -> NumberRequest | None:
    """Why no number request may be sent for ``case`` (pure); None when one may."""
    if case.status == Status.CLOSED.value:
        return NumberRequest.CLOSED
    if not complainant.email:
        return NumberRequest.NO_EMAIL
    if complainant.email_bounced_at is not None or case.ack_bounced_at is not None:
        return NumberRequest.BOUNCED
    return None


def number_request_key(cfg: Config, case: Case, now: datetime) -> str:
    """The outbox key that allows one number request per case per working day: two staff
    pressing at the same moment insert the same key, and the database keeps one."""
    day = WorkingCalendar.from_policy(cfg.policy).working_day(now)
    return f"numreq:{case.id}:{day.isoformat()}"


def request_number(
    session: Session, cfg: Config, renderer: Renderer, case: Case, actor: Actor, now: datetime
) -> NumberRequest:
    """ "We tried to call you": ask the citizen for a good number and time, by email.

    At most once per case per working day, never on a closed case, never to a
    missing or bounced address; returns what happened (a refusal is audited).
    """
    complainant = complainant_of(session, case)
    outcome = number_request_refusal(case, complainant)
    if outcome is None:
        sent = queue_citizen_email(
            session,
            cfg,
            renderer,
            case,
            complainant,
            now,
            template="number_request",
            dedupe_key=number_request_key(cfg, case, now),
            in_reply_to=latest_inbound_id(session, case),
            automatic=False,
        )
        outcome = NumberRequest.SENT if sent else NumberRequest.ALREADY_TODAY
    if outcome == NumberRequest.SENT:
        audit(session, case, actor, "number_requested", now)
    else:
        audit(session, case, actor, "number_request_skipped", now, reason=outcome.value)
    return outcome


def send_confirmation(
    session: Session, cfg: Config, renderer: Renderer, case: Case, actor: Actor, now: datetime
) -> None:
    """The written confirmation of what was agreed on the phone (outcome, next step,
    how to escalate), so every call is followed by a written record."""
    complainant = complainant_of(session, case)
    if not complainant.email or complainant.email_bounced_at is not None:
        raise InvalidAction(f"{case.ref}: no working email address for the complainant")
    last = session.exec(
        select(ContactAttempt)
        .where(ContactAttempt.case_id == case.id)
        .order_by(col(ContactAttempt.at).desc())
    ).first()
    if last is None:
        raise InvalidAction(f"{case.ref}: no call logged to confirm")
    extra = {
        "call_date": last.at.astimezone(cfg.policy.tz).strftime("%Y-%m-%d"),
        "remedy": last.remedy or "",
        "next_step": last.next_step or "",
        "resolution": case.resolution or "",
    }
    queue_citizen_email(
        session,
        cfg,
        renderer,
        case,
        complainant,
        now,
        template="confirmation",
        dedupe_key=unique_key(f"confirm:{case.id}"),
        extra=extra,
        in_reply_to=latest_inbound_id(session, case),
        automatic=False,
    )
    audit(session, case, actor, "confirmation_sent", now)


# --- after delivery (the outbox calls these once the mail server answered) ---


def email_delivered(
    session: Session, case_id: int | None, purpose: str | None, now: datetime
) -> None:
    """An email went out: the acknowledgement marks the case acknowledged."""
    if not case_id:
        return
    case = get_case_by_id(session, case_id)
    if purpose == "ack" and case.ack_sent_at is None:
        case.ack_sent_at = now
        if case.status == Status.NEW.value:
            case.status = Status.ACKNOWLEDGED.value
        case.updated_at = now
    audit(session, case, SYSTEM_ACTOR, "email_sent", now, purpose=purpose)


def email_rejected(
    session: Session, cfg: Config, case_id: int | None, purpose: str | None, now: datetime
) -> None:
    """The mail server refused an email for good: recorded, and the ack counts as bounced."""
    if not case_id:
        return
    case = get_case_by_id(session, case_id)
    audit(session, case, SYSTEM_ACTOR, "email_rejected", now, purpose=purpose)
    mark_ack_bounced(session, cfg, case, now)
