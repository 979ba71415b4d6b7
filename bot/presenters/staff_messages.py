"""What staff see: plain data views of a case, rendered to text from templates.

Views are built from the database at delivery time, so a prompt always shows
the case as it is now. Everything that came from a complainant is redacted
(national ID numbers) before it gets here; the Slack adapter escapes it for
mrkdwn when it builds blocks.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.config import Config
from bot.domain.vocabulary import MAIL_CUT_DOWN, Direction
from bot.mail.extract import format_phone_national
from bot.ports import ChatPost
from bot.presenters.render import Renderer
from bot.redact import redact
from bot.store.models import Audit, Case, ContactAttempt, Escalation, Message
from bot.store.queries import complainant_of, mentioned_refs, phone_alternatives

WEEKDAYS = {
    "sv": ("mån", "tis", "ons", "tors", "fre", "lör", "sön"),
    "nb": ("man", "tir", "ons", "tor", "fre", "lør", "søn"),
    "nn": ("mån", "tys", "ons", "tor", "fre", "lau", "sun"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}


def local_when(dt: datetime | None, cfg: Config, lang: str) -> str:
    """``tis 10:00`` style, in the organisation's time zone."""
    if dt is None:
        return ""
    local = dt.astimezone(cfg.policy.tz)
    day = WEEKDAYS.get(lang, WEEKDAYS["sv"])[local.weekday()]
    return f"{day} {local:%d/%m %H:%M}"


@dataclass(frozen=True)
class AttemptView:
    at: str
    by: str
    outcome: str


@dataclass(frozen=True)
class CaseView:
    """Everything a call-back prompt shows, as plain (redacted) data."""

    case_id: int
    ref: str
    status: str
    source: str
    received: str
    age_hours: float
    name: str
    phone_national: str
    phone_e164: str
    email_known: bool
    language: str
    subject: str
    summary: str
    deadline: str
    assignee: str
    attempts: tuple[AttemptView, ...]
    failed_attempts: int
    escalated: bool
    escalation_reasons: tuple[str, ...]
    serious: bool
    ack_sent: bool
    ack_bounced: bool
    closed: bool
    resolution: str
    historical: bool
    # Other numbers the same person gave (E.164), and cases this one mentions but could not
    # join (someone else pointed at them).
    phone_alternatives: tuple[str, ...] = ()
    mentions: tuple[str, ...] = ()
    # Personal data erased (retention or erasure): show a neutral stub, nothing else.
    anonymised: bool = False
    # Sent anonymously (web form): no contact details, nobody is to call.
    anonymous: bool = False
    # What the person attached ("foto.jpg (2,1 MB)", redacted), and, when an email was
    # over the size limit and only its beginning kept, its size and the limit.
    attachments: tuple[str, ...] = ()
    cut_down: tuple[str, str] | None = None


MAX_LISTED = 5  # attachments named in a prompt; the rest are counted ("+3")


def human_size(size: int, lang: str) -> str:
    """``2,1 MB`` (a decimal comma but in English), ``512 kB``, ``80 B``; decimal units,
    as ``mailbox.max_message_bytes`` is written (10,000,000 is "10,0 MB")."""
    if size >= 1_000_000:
        text = f"{size / 1_000_000:.1f} MB"
    elif size >= 1000:
        text = f"{size // 1000} kB"
    else:
        text = f"{size} B"
    return text if lang == "en" else text.replace(".", ",")


def attachments_of(session: Session, case: Case, lang: str) -> tuple[str, ...]:
    """The files the person sent on this case (every inbound email), named and sized."""
    named: list[str] = []
    for stored in session.exec(
        select(Message.attachments).where(
            Message.case_id == case.id, Message.direction == Direction.INBOUND.value
        )
    ):
        try:
            files = json.loads(stored or "[]")
        except ValueError:
            continue
        for f in files if isinstance(files, list) else []:
            if isinstance(f, dict) and isinstance(f.get("size"), int):
                name = redact(str(f.get("filename") or "").strip()) or "–"
                named.append(f"{name[:80]} ({human_size(f['size'], lang)})")
    if len(named) > MAX_LISTED:
        return (*named[:MAX_LISTED], f"+{len(named) - MAX_LISTED}")
    return tuple(named)


def cut_down_of(session: Session, case: Case, lang: str) -> tuple[str, str] | None:
    """The size of an email of this case that was cut down, and the limit then."""
    detail = session.exec(
        select(Audit.detail)
        .where(Audit.case_id == case.id, Audit.action == MAIL_CUT_DOWN)
        .order_by(col(Audit.id).desc())
    ).first()
    if not detail:
        return None
    try:
        found = json.loads(detail)
        return human_size(int(found["size"]), lang), human_size(int(found["limit"]), lang)
    except (ValueError, TypeError, KeyError):
        return None


def case_view(session: Session, cfg: Config, case: Case, now: datetime) -> CaseView:
    lang = cfg.chat.staff_language
    c = complainant_of(session, case)
    marks = set(
        session.exec(
            select(Audit.action).where(
                Audit.case_id == case.id, col(Audit.action).in_(("anonymised", "anonymous"))
            )
        ).all()
    )
    anonymised = "anonymised" in marks
    attempts = session.exec(
        select(ContactAttempt)
        .where(ContactAttempt.case_id == case.id)
        .order_by(col(ContactAttempt.at))
    ).all()
    reasons = session.exec(select(Escalation.reason).where(Escalation.case_id == case.id)).all()
    return CaseView(
        case_id=case.id or 0,
        ref=case.ref,
        status=case.status,
        source=case.source,
        received=local_when(case.received_at, cfg, lang),
        age_hours=max(0.0, (now - case.received_at).total_seconds() / 3600),
        name=redact(c.name or ""),
        phone_national=format_phone_national(case.phone) if case.phone else "",
        phone_e164=case.phone or "",
        email_known=bool(c.email),
        language=case.language,
        subject=redact(case.subject),
        summary=redact(case.summary),
        deadline=local_when(case.first_contact_due_at, cfg, lang),
        assignee=case.assignee or "",
        attempts=tuple(AttemptView(local_when(a.at, cfg, lang), a.by, a.outcome) for a in attempts),
        failed_attempts=sum(1 for a in attempts if a.outcome not in ("reached", "meeting")),
        escalated=case.escalated_at is not None,
        escalation_reasons=tuple(sorted(set(reasons))),
        serious=case.serious,
        ack_sent=case.ack_sent_at is not None,
        ack_bounced=case.ack_bounced_at is not None,
        closed=case.closed_at is not None,
        resolution=case.resolution or "",
        historical=case.historical,
        phone_alternatives=tuple(phone_alternatives(session, case)),
        mentions=tuple(mentioned_refs(session, case)),
        anonymised=anonymised,
        anonymous="anonymous" in marks,
        attachments=() if anonymised else attachments_of(session, case, lang),
        cut_down=None if anonymised else cut_down_of(session, case, lang),
    )


def render_staff(renderer: Renderer, cfg: Config, name: str, **context: object) -> ChatPost:
    """Render ``templates/staff/<name>.<lang>.txt.j2`` for staff (plain text)."""
    text = renderer.render(f"staff/{name}", cfg.chat.staff_language, "txt", **context)
    return ChatPost(text=text.strip())
