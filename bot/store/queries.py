"""Reads of the store that actions and presenters share: who a case belongs to, what it
mentions, which other numbers the same person gave."""

from __future__ import annotations

import json

from sqlmodel import Session, col, select

from bot.store.models import Audit, Case, Complainant


def complainant_of(session: Session, case: Case) -> Complainant:
    c = session.get(Complainant, case.complainant_id)
    assert c is not None  # foreign key
    return c


def phone_alternatives(session: Session, case: Case) -> list[str]:
    """Other numbers the same person gave: earlier on this case, on their other cases, and
    on their complainant record. Shown next to the number to call, never instead of it."""
    found = list(reversed(case.previous_phones.split()))  # the latest first
    others = session.exec(
        select(Case.phone)
        .where(Case.complainant_id == case.complainant_id, Case.id != case.id)
        .order_by(col(Case.received_at).desc(), col(Case.id).desc())
    ).all()
    found += [p for p in others if p]
    record = complainant_of(session, case).phone
    if record:
        found.append(record)
    alternatives: list[str] = []
    for number in found:
        if number != case.phone and number not in alternatives:
            alternatives.append(number)
    return alternatives


def mentioned_refs(session: Session, case: Case) -> list[str]:
    """Cases this one mentions: the message that opened it pointed at them (a reference
    or a reply) but came from someone else, so it could not join them."""
    rows = session.exec(
        select(Audit.detail)
        .where(Audit.case_id == case.id, Audit.action == "mentions_case")
        .order_by(col(Audit.id))
    ).all()
    refs = [str(json.loads(d).get("ref") or "") for d in rows]
    return [r for r in dict.fromkeys(refs) if r]
