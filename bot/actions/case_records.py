"""Cases as records: the plain dicts the command line, the export and the tests read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.config import Config
from bot.redact import redact
from bot.store.models import (
    Audit,
    Case,
    ContactAttempt,
    Escalation,
    Message,
    Status,
)
from bot.store.queries import complainant_of, mentioned_refs, phone_alternatives


def iso(dt: datetime | None, cfg: Config) -> str | None:
    return dt.astimezone(cfg.policy.tz).isoformat() if dt else None


def case_to_dict(session: Session, cfg: Config, case: Case) -> dict[str, Any]:
    """The stable JSON shape of ``complaint-bot cases --format json``."""
    c = complainant_of(session, case)
    ids = session.exec(
        select(Message.message_id).where(Message.case_id == case.id).order_by(col(Message.id))
    ).all()
    return {
        "ref": case.ref,
        "status": case.status,
        "source": case.source,
        "type": case.type,
        "received_at": iso(case.received_at, cfg),
        # The number to call is the case's: the one given in this complaint.
        "complainant": {
            "name": c.name,
            "email": c.email,
            "phone": case.phone,
            "representative_of": c.representative_of,
        },
        "language": case.language,
        "subject": case.subject,
        "message_ids": list(ids),
        "historical": case.historical,
        "serious": case.serious,
        "assignee": case.assignee,
        "ack_sent_at": iso(case.ack_sent_at, cfg),
        "ack_bounced_at": iso(case.ack_bounced_at, cfg),
        "reminders_sent": case.reminders_sent,
        "first_contact_due_at": iso(case.first_contact_due_at, cfg),
        "first_contact_at": iso(case.first_contact_at, cfg),
        "escalated_at": iso(case.escalated_at, cfg),
        "closed_at": iso(case.closed_at, cfg),
        "resolution": case.resolution,
        "reopened_count": case.reopened_count,
    }


def list_cases(session: Session, include_closed: bool) -> list[Case]:
    q = select(Case).order_by(col(Case.received_at), col(Case.id))
    if not include_closed:
        q = q.where(Case.status != Status.CLOSED.value)
    return list(session.exec(q).all())


def case_detail(session: Session, cfg: Config, case: Case) -> dict[str, Any]:
    """Everything about one case, for ``case show``."""
    data = case_to_dict(session, cfg, case)
    data["summary"] = case.summary
    data["phone_alternatives"] = phone_alternatives(session, case)
    data["mentions"] = mentioned_refs(session, case)
    data["attempts"] = [
        {
            "at": iso(a.at, cfg),
            "by": a.by,
            "outcome": a.outcome,
            "note": a.note,
            "remedy": a.remedy,
            "next_step": a.next_step,
            "hard": a.hard,
        }
        for a in session.exec(
            select(ContactAttempt)
            .where(ContactAttempt.case_id == case.id)
            .order_by(col(ContactAttempt.at))
        ).all()
    ]
    data["escalations"] = [
        {"at": iso(e.at, cfg), "reason": e.reason, "by": e.by, "to": e.to, "note": e.note}
        for e in session.exec(
            select(Escalation).where(Escalation.case_id == case.id).order_by(col(Escalation.at))
        ).all()
    ]
    data["messages"] = [
        {
            "at": iso(m.at, cfg),
            "direction": m.direction,
            "channel": m.channel,
            "id": m.message_id,
            "classification": m.classification,
            "subject": redact(m.subject),
        }
        for m in session.exec(
            select(Message)
            .where(Message.case_id == case.id)
            .order_by(col(Message.at), col(Message.id))
        ).all()
    ]
    data["audit"] = [
        {"at": iso(a.at, cfg), "actor": a.actor, "action": a.action, "detail": json.loads(a.detail)}
        for a in session.exec(
            select(Audit).where(Audit.case_id == case.id).order_by(col(Audit.at), col(Audit.id))
        ).all()
    ]
    return data


def count_where(session: Session, *conditions: Any) -> int:
    return int(
        session.execute(
            sa.select(sa.func.count()).select_from(Case).where(*conditions)
        ).scalar_one()
    )
