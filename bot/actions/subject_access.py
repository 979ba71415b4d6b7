"""Subject access (GDPR art. 15): everything held about one person, as plain data.

This module finds the person's records and everyone else's identifiers;
:mod:`bot.actions.access_rows` turns each record into scrubbed data and
:mod:`bot.presenters.access_document` makes the readable document."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.actions.access_rows import Access
from bot.actions.case_records import iso
from bot.actions.privacy import (
    Needles,
    Person,
    cases_of,
    find_complainants,
    name_words,
)
from bot.config import Config
from bot.store.models import (
    Complainant,
    Direction,
    Message,
    Outbox,
    OutboxKind,
    Quarantine,
)


def _others(
    session: Session,
    own_ids: set[int],
    own_emails: set[str],
    own_phones: set[str],
    own_names: set[str],
    extra_senders: Iterable[tuple[str | None, str | None]],
) -> Needles:
    own_words = {w for n in own_names for w in name_words(n)}
    emails: set[str] = set()
    phones: set[str] = set()
    words: set[str] = set()
    rows = session.execute(
        sa.select(
            col(Complainant.id),
            col(Complainant.name),
            col(Complainant.email),
            col(Complainant.phone),
        )
    ).all()
    people: list[tuple[str | None, str | None, str | None]] = [
        (r[1], r[2], r[3]) for r in rows if r[0] not in own_ids
    ]
    people += [(name, sender, None) for sender, name in extra_senders]
    for name, email, phone in people:
        if email and email.lower() not in own_emails:
            emails.add(email.lower())
        if phone and phone not in own_phones:
            phones.add(phone)
        words |= {
            w for w in name_words(name) if len(w) >= 3 and w not in own_words and not w.isdigit()
        }
    return Needles.of(emails=emails, phones=phones, words=words)


def subject_access(
    session: Session, cfg: Config, person: Person, now: datetime, lang: str | None = None
) -> dict[str, Any]:
    """Everything held about ``person``, as plain data (the JSON export)."""
    complainants = find_complainants(session, person)
    cases = cases_of(session, complainants)
    own_ids = {c.id for c in complainants if c.id is not None}
    case_ids = [c.id for c in cases if c.id is not None]
    emails = {e for e in [person.email, *(c.email for c in complainants)] if e}
    emails = {e.lower() for e in emails}
    phones = {p for p in [person.phone, *(c.phone for c in complainants)] if p}
    for case in cases:  # the numbers given on their cases are theirs too
        phones |= {p for p in [case.phone, *case.previous_phones.split()] if p}
    names = {c.name for c in complainants if c.name}
    own_senders = set(emails)
    for cid in case_ids:  # who opened a case is its complainant (a Slack user, a form)
        first = session.exec(
            select(Message.sender)
            .where(Message.case_id == cid, Message.direction == Direction.INBOUND.value)
            .order_by(col(Message.at), col(Message.id))
        ).first()
        if first:
            own_senders.add(first.lower())
    strangers: list[tuple[str | None, str | None]] = []
    if case_ids:
        strangers = [
            (m.sender, m.sender_name)
            for m in session.exec(
                select(Message).where(
                    col(Message.case_id).in_(case_ids),
                    Message.direction == Direction.INBOUND.value,
                    col(Message.sender).is_not(None),
                )
            ).all()
            if (m.sender or "").lower() not in own_senders
        ]
    acc = Access(
        session,
        cfg,
        own_ids,
        emails,
        phones,
        own_senders,
        _others(session, own_ids, emails, phones, names, strangers),
    )
    mine = Needles.of(emails=emails, phones=phones)

    elsewhere: list[Message] = []
    if emails:
        q = select(Message).where(sa.func.lower(col(Message.sender)).in_(sorted(emails)))
        if case_ids:
            q = q.where(
                sa.or_(col(Message.case_id).is_(None), col(Message.case_id).not_in(case_ids))
            )
        elsewhere = list(session.exec(q.order_by(col(Message.at), col(Message.id))).all())
    quarantined = [
        q
        for q in session.exec(select(Quarantine).order_by(col(Quarantine.id))).all()
        if mine and acc.is_theirs(bytes(q.raw), mine)
    ]
    outgoing = []
    for o in session.exec(
        select(Outbox).where(Outbox.kind == OutboxKind.EMAIL.value).order_by(col(Outbox.id))
    ).all():
        try:
            payload = json.loads(o.payload or "{}")
        except ValueError:
            continue
        if isinstance(payload, dict) and (row := acc.outgoing(o, payload)) is not None:
            outgoing.append(row)
    language = lang or (cases[-1].language if cases else cfg.policy.default_language)
    return {
        "generated_at": iso(now, cfg),
        "organisation": cfg.organisation.name,
        "language": language,
        "request": {"email": person.email, "phone": person.phone},
        "complainant_records": [
            {
                "name": c.name,
                "email": c.email,
                "phone": c.phone,
                "representative_of": acc.clean(c.representative_of),
                "email_bounced_at": iso(c.email_bounced_at, cfg),
            }
            for c in complainants
        ],
        "cases": [acc.case(c) for c in cases],
        # Their own words on someone else's case: the message only, not that case.
        "messages_on_other_cases": [acc.message(m) for m in elsewhere if m.case_id is not None],
        "unattached_messages": [acc.message(m) for m in elsewhere if m.case_id is None],
        "quarantined_mail": [acc.quarantine(q) for q in quarantined],
        "outgoing_email": outgoing,
    }
