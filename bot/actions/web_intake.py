"""A complaint from the web form becomes a case, the way mail and chat open one.

One transaction: the case (source ``web``, phone in E.164, the form's language,
national IDs masked in what staff see), the message (with its attachment kept
as a MIME document in ``raw``, so export and erasure treat it like mail), the
sent-form record that makes a replay open nothing, the status link, the staff
prompt, and the acknowledgement when an address was given. An anonymous
complaint keeps no contact details and asks nobody to call: staff are told by
the prompt, and no reminder or escalation waits for a call.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.actions.cases import complainant_of, escalate
from bot.actions.citizen_mail import may_acknowledge_by_hand, queue_citizen_email
from bot.actions.opening import NewComplaint, open_case
from bot.actions.status_links import issue_status_link, status_url
from bot.actions.trail import SYSTEM_ACTOR, audit, enqueue
from bot.config import Config
from bot.domain.vocabulary import ChatOp
from bot.domain.web_form import WebComplaint
from bot.mail.extract import is_serious, summarise
from bot.presenters.catalogs import messages
from bot.redact import redact
from bot.store.models import (
    Case,
    Direction,
    EscalationReason,
    Message,
    OutboxKind,
    Source,
    WebSubmission,
)

if TYPE_CHECKING:
    from datetime import datetime

    from bot.presenters.render import Renderer

WEB_ACTOR = "web"


@dataclass(frozen=True)
class WebResult:
    case: Case
    created: bool  # False: this form was sent before, and ``case`` is the one it opened


def sent_before(session: Session, form_key: str) -> Case | None:
    """The case a form with this key already opened, if any."""
    seen = session.get(WebSubmission, form_key)
    return session.get(Case, seen.case_id) if seen is not None else None


def erased_before(session: Session, form_key: str) -> bool:
    """Whether a form with this key opened a case whose person has since been erased (the
    sent-form record went with the erasure, the anonymised message stays): such a form
    must not open the case again."""
    external_id = f"web:{form_key}"
    found = session.exec(select(Message.id).where(Message.external_id == external_id)).first()
    return found is not None


def staff_summary(cfg: Config, form: WebComplaint) -> str:
    """The prompt's summary: the complaint, redacted, led by what staff must know first
    (the best time to call, on behalf of whom, or that nobody is to be called)."""
    w = messages("web", cfg.chat.staff_language)
    lead = []
    if form.anonymous:
        lead.append(w["staff_anonymous"])
    if form.best_time:
        lead.append(w["staff_best_time"].format(when=form.best_time))
    if form.on_behalf:
        lead.append(w["staff_on_behalf"].format(whom=form.on_behalf_of or "–"))
    body = summarise(form.message)
    return redact("\n".join([*lead, body]) if lead else body)


def subject_of(text: str) -> str:
    first = next((line for line in text.splitlines() if line.strip()), "")
    return " ".join(redact(first).split())[:100]


def as_mime(form: WebComplaint, ref: str) -> bytes | None:
    """The message and its attachment as one MIME document (None without attachment)."""
    if form.attachment is None:
        return None
    doc = EmailMessage()
    doc["Subject"] = f"Web form [{ref}]"
    if form.email:
        doc["From"] = form.email
    doc.set_content(form.message)
    a = form.attachment
    maintype, subtype = a.content_type.split("/", 1)
    doc.add_attachment(a.data, maintype=maintype, subtype=subtype, filename=a.filename)
    return doc.as_bytes()


def open_web_case(
    session: Session,
    cfg: Config,
    renderer: Renderer,
    form: WebComplaint,
    form_key: str,
    status_token: str,
    now: datetime,
) -> WebResult:
    """Open the case for a checked form, or find the one this form opened before."""
    before = sent_before(session, form_key)
    if before is not None:
        return WebResult(before, created=False)
    language = form.language
    serious = is_serious(form.message, cfg.policy.serious_keywords_for(language))
    case = open_case(
        session,
        cfg,
        NewComplaint(
            source=Source.WEB.value,
            received_at=now,
            name=form.name or None,
            email=form.email or None,
            phone=form.phone_e164,
            language=language,
            subject=subject_of(form.message),
            summary=staff_summary(cfg, form),
            serious=serious,
            representative_of=(form.on_behalf_of or "–") if form.on_behalf else None,
        ),
        now,
        actor=WEB_ACTOR,
    )
    if form.anonymous:
        # Nobody is asked to call: no first-contact deadline, no reminders.
        case.first_contact_due_at = None
        case.next_check_at = None
        audit(session, case, WEB_ACTOR, "anonymous", now)
    attachments = (
        [
            {
                "filename": form.attachment.filename,
                "content_type": form.attachment.content_type,
                "size": len(form.attachment.data),
            }
        ]
        if form.attachment
        else []
    )
    session.add(
        Message(
            case_id=case.id,
            direction=Direction.INBOUND.value,
            channel=Source.WEB.value,
            external_id=f"web:{form_key}",
            content_hash=hashlib.sha256(form.message.encode("utf-8")).hexdigest(),
            sender=form.email or None,
            sender_name=form.name or None,
            body_text=form.message,
            at=now,
            raw=as_mime(form, case.ref),
            attachments=json.dumps(attachments, ensure_ascii=False),
        )
    )
    session.add(WebSubmission(form_hash=form_key, case_id=case.id or 0, at=now))
    issue_status_link(session, cfg, case, now, token=status_token)
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"prompt:{case.id}",
        payload={"op": ChatOp.PROMPT, "case_id": case.id},
        case=case,
        now=now,
    )
    acknowledge(session, cfg, renderer, case, now, status_token)
    if serious:
        escalate(
            session,
            cfg,
            case,
            SYSTEM_ACTOR,
            now,
            reason=EscalationReason.SERIOUS,
            note="serious keyword in the complaint",
        )
    session.flush()
    return WebResult(case, created=True)


def acknowledge(
    session: Session, cfg: Config, renderer: Renderer, case: Case, now: datetime, token: str
) -> None:
    """The acknowledgement email, as for mail intake (never to an anonymous complaint,
    which has no address), with the case's status link."""
    complainant = complainant_of(session, case)
    if not complainant.email:
        return
    ok, why = may_acknowledge_by_hand(session, cfg, complainant, now)
    if not ok:
        audit(session, case, SYSTEM_ACTOR, "ack_skipped", now, reason=why)
        return
    queue_citizen_email(
        session,
        cfg,
        renderer,
        case,
        complainant,
        now,
        template="ack",
        dedupe_key=f"ack:{case.id}",
        extra={"status_url": status_url(cfg, token)},
    )
