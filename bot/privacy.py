"""Personal data by the book: subject access, retention purge and erasure.

*Subject access* (GDPR art. 15) collects everything held about one person,
found by email address or phone number: their complainant record(s), their
cases with every message in full, contact attempts with the call notes,
escalations, action plans and the audit trail, messages they sent that sit on
someone else's case (only the message itself), and quarantined mail from
their address. Nothing about anyone else.

*Retention* anonymises closed cases: names, addresses, phone numbers, message
subjects, bodies and raw bytes, call notes, escalation notes and action-plan
text go; the case row's dates, source, type, theme, unit, status, resolution
and counters stay, so the reports over past years still add up. *Erasure*
does the same for every case of one person on request.

Both run inside the caller's transaction; a dry run is the same work rolled
back, so the counts it shows are exactly what ``--apply`` does. Only counts are
logged, never content.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.cases import ABOUT_OTHERS, OTHER_SENDER, audit, case_to_dict, iso
from bot.config import Config
from bot.errors import InvalidAction
from bot.models import (
    ActionPlan,
    Audit,
    Case,
    Complainant,
    ContactAttempt,
    Escalation,
    Message,
    Outbox,
    OutboxStatus,
    Quarantine,
    Status,
)

log = logging.getLogger(__name__)

ANONYMISED = "anonymised"


# --- who ------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """How a data subject is identified: an email address or a phone number in E.164."""

    email: str | None = None
    phone: str | None = None

    def describe(self) -> str:
        return self.email or self.phone or "?"


def person_from(identifier: str, region: str) -> Person:
    """An email address (contains ``@``) or a phone number, normalised as stored.

    Raises ValueError for a phone number that cannot be read.
    """
    text = identifier.strip()
    if "@" in text:
        return Person(email=text.lower())
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"not an email address or phone number: {identifier!r}") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError(f"not a possible phone number: {identifier!r}")
    return Person(phone=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def find_complainants(session: Session, person: Person) -> list[Complainant]:
    """Every complainant record with that email address or phone number."""
    q = select(Complainant)
    if person.email:
        q = q.where(sa.func.lower(col(Complainant.email)) == person.email)
    elif person.phone:
        # The number on their record, or the number to call on one of their cases.
        q = q.where(sa.or_(col(Complainant.phone) == person.phone, col(Complainant.id).in_(
            select(Case.complainant_id).where(Case.phone == person.phone))))
    else:
        return []
    return list(session.exec(q.order_by(col(Complainant.id))).all())


def _cases_of(session: Session, complainants: list[Complainant]) -> list[Case]:
    ids = [c.id for c in complainants]
    if not ids:
        return []
    return list(session.exec(select(Case).where(col(Case.complainant_id).in_(ids))
                             .order_by(col(Case.received_at), col(Case.id))).all())


def _messages_sent_elsewhere(session: Session, person: Person, case_ids: list[int]
                             ) -> list[Message]:
    """Messages from the person's address that are not on their own cases."""
    if not person.email:
        return []
    q = select(Message).where(sa.func.lower(col(Message.sender)) == person.email)
    if case_ids:
        q = q.where(sa.or_(col(Message.case_id).is_(None), col(Message.case_id).not_in(case_ids)))
    return list(session.exec(q.order_by(col(Message.at), col(Message.id))).all())


def _quarantined_from(session: Session, person: Person) -> list[Quarantine]:
    """Quarantined mail that carries the person's address (raw bytes, case-insensitive)."""
    if not person.email:
        return []
    needle = person.email.encode()
    rows = session.exec(select(Quarantine).order_by(col(Quarantine.id))).all()
    return [q for q in rows if needle in bytes(q.raw).lower()]


# --- subject access --------------------------------------------------------


def _raw_text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "base64:" + base64.b64encode(raw).decode("ascii")


def _message_dict(m: Message, cfg: Config) -> dict[str, Any]:
    return {
        "id": m.id, "at": iso(m.at, cfg), "direction": m.direction, "channel": m.channel,
        "message_id": m.message_id, "sender": m.sender, "sender_name": m.sender_name,
        "subject": m.subject, "classification": m.classification, "text": m.body_text,
        "attachments": json.loads(m.attachments or "[]"), "raw": _raw_text(m.raw),
    }


def _case_export(session: Session, cfg: Config, case: Case) -> dict[str, Any]:
    data = case_to_dict(session, cfg, case)
    data.pop("complainant")  # listed once, at the top
    data.update({"summary": case.summary, "theme": case.theme, "unit": case.unit,
                 "phone": case.phone, "previous_phones": case.previous_phones.split()})

    def rows(model: Any, order: Any) -> list[Any]:
        return list(session.exec(select(model).where(model.case_id == case.id)
                                 .order_by(order, col(model.id))).all())

    # Someone else's reply in the case's chat thread is their words, not the person's.
    data["messages"] = [_message_dict(m, cfg) for m in rows(Message, col(Message.at))
                        if m.classification != OTHER_SENDER]
    data["contact_attempts"] = [
        {"at": iso(a.at, cfg), "by": a.by, "outcome": a.outcome, "note": a.note,
         "remedy": a.remedy, "next_step": a.next_step, "hard": a.hard}
        for a in rows(ContactAttempt, col(ContactAttempt.at))]
    data["escalations"] = [
        {"at": iso(e.at, cfg), "reason": e.reason, "by": e.by, "to": e.to, "note": e.note,
         "acknowledged_at": iso(e.acknowledged_at, cfg)}
        for e in rows(Escalation, col(Escalation.at))]
    data["action_plans"] = [
        {"owner": p.owner, "steps": p.steps, "created_at": iso(p.created_at, cfg),
         "due_at": iso(p.due_at, cfg), "followed_up_at": iso(p.followed_up_at, cfg),
         "done_at": iso(p.done_at, cfg), "follow_up_note": p.follow_up_note}
        for p in rows(ActionPlan, col(ActionPlan.due_at))]
    data["audit"] = [
        {"at": iso(a.at, cfg), "actor": a.actor, "action": a.action,
         "detail": json.loads(a.detail or "{}")}
        for a in rows(Audit, col(Audit.at)) if a.action not in ABOUT_OTHERS]
    return data


def subject_access(session: Session, cfg: Config, person: Person, now: datetime
                   ) -> dict[str, Any]:
    """Everything held about ``person``, as plain data (the JSON export)."""
    complainants = find_complainants(session, person)
    cases = _cases_of(session, complainants)
    case_ids = [c.id for c in cases if c.id is not None]
    return {
        "generated_at": iso(now, cfg),
        "organisation": cfg.organisation.name,
        "request": {"email": person.email, "phone": person.phone},
        "complainant_records": [
            {"name": c.name, "email": c.email, "phone": c.phone,
             "representative_of": c.representative_of,
             "email_bounced_at": iso(c.email_bounced_at, cfg)} for c in complainants],
        "cases": [_case_export(session, cfg, c) for c in cases],
        # Their own words on someone else's case: the message only, not that case.
        "messages_on_other_cases": [
            {k: v for k, v in _message_dict(m, cfg).items()}
            for m in _messages_sent_elsewhere(session, person, case_ids)],
        "quarantined_mail": [
            {"id": q.id, "at": iso(q.at, cfg), "reason": q.reason,
             "raw": _raw_text(bytes(q.raw))} for q in _quarantined_from(session, person)],
    }


def subject_access_markdown(data: dict[str, Any]) -> str:
    """The same export as a document a person can read (Markdown, in Swedish)."""
    req = data["request"]
    who = req["email"] or req["phone"]
    out = [f"# Registerutdrag: {who}", "",
           f"{data['organisation']}, upprättat {data['generated_at']}.", "",
           "Här är alla uppgifter om dig som finns i systemet för klagomål och synpunkter.", ""]
    out += ["## Dina kontaktuppgifter", ""]
    for c in data["complainant_records"]:
        out += [f"- Namn: {c['name'] or '–'}", f"- E-post: {c['email'] or '–'}",
                f"- Telefon: {c['phone'] or '–'}"]
        if c["representative_of"]:
            out.append(f"- Företräder: {c['representative_of']}")
        out.append("")
    if not data["complainant_records"]:
        out += ["Inga kontaktuppgifter finns registrerade.", ""]
    for case in data["cases"]:
        out += [f"## Ärende {case['ref']}", "",
                f"- Inkom: {case['received_at']} ({case['source']})",
                f"- Ämne: {case['subject'] or '–'}",
                f"- Status: {case['status']}"
                + (f", avslutat {case['closed_at']} ({case['resolution']})"
                   if case["closed_at"] else ""),
                f"- Sammanfattning: {case['summary'] or '–'}", ""]
        out += ["### Meddelanden", ""]
        for m in case["messages"]:
            out += [f"#### {m['at']} – {'från dig' if m['direction'] == 'inbound' else 'till dig'}"
                    f" ({m['channel']})", "", f"Ämne: {m['subject'] or '–'}", ""]
            out += ["    " + line for line in (m["text"] or "").splitlines()] + [""]
            if m["attachments"]:
                out += ["Bilagor: " + ", ".join(a.get("filename") or "(namnlös)"
                                                for a in m["attachments"]), ""]
        out += ["### Samtal och kontaktförsök", ""]
        out += [f"- {a['at']}: {a['outcome']} ({a['by']}). {a['note']}"
                + (f" Åtgärd: {a['remedy']}." if a["remedy"] else "")
                + (f" Nästa steg: {a['next_step']}." if a["next_step"] else "")
                for a in case["contact_attempts"]] or ["- Inga."]
        out += ["", "### Eskaleringar", ""]
        out += [f"- {e['at']}: {e['reason']} ({e['by']}). {e['note']}"
                for e in case["escalations"]] or ["- Inga."]
        out += ["", "### Handlingsplaner", ""]
        out += [f"- {p['owner']}, klar senast {p['due_at']}: {p['steps']}"
                + (f" Uppföljning: {p['follow_up_note']}" if p["follow_up_note"] else "")
                for p in case["action_plans"]] or ["- Inga."]
        out += ["", "### Logg över åtgärder", ""]
        out += [f"- {a['at']} {a['actor']}: {a['action']}"
                + (f" {json.dumps(a['detail'], ensure_ascii=False)}" if a["detail"] else "")
                for a in case["audit"]]
        out.append("")
    if data["messages_on_other_cases"]:
        out += ["## Meddelanden från dig i andra ärenden", ""]
        for m in data["messages_on_other_cases"]:
            out += [f"#### {m['at']} ({m['channel']})", "", f"Ämne: {m['subject'] or '–'}", ""]
            out += ["    " + line for line in (m["text"] or "").splitlines()] + [""]
    if data["quarantined_mail"]:
        out += ["## E-post som inte kunde behandlas automatiskt", ""]
        out += [f"- {q['at']}: {q['reason']}" for q in data["quarantined_mail"]] + [""]
    return "\n".join(out).rstrip() + "\n"


# --- retention and erasure -------------------------------------------------


@dataclass
class PurgeCounts:
    """What a purge changed (or, in a dry run, would change). Counts only, never content."""

    cases: int = 0
    complainants_deleted: int = 0
    messages: int = 0
    contact_attempts: int = 0
    escalations: int = 0
    action_plans: int = 0
    audit_entries: int = 0
    outbox_entries: int = 0
    quarantine_entries: int = 0
    refs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.cases} cases, {self.messages} messages, "
                f"{self.contact_attempts} contact attempts, {self.escalations} escalations, "
                f"{self.action_plans} action plans, {self.audit_entries} audit entries, "
                f"{self.outbox_entries} outbox entries, {self.quarantine_entries} quarantined "
                f"inputs, {self.complainants_deleted} complainant records deleted")


def _blank_message(m: Message) -> bool:
    changed = bool(m.body_text or m.raw is not None or m.subject or m.sender or m.sender_name
                   or (m.attachments or "[]") != "[]")
    m.body_text, m.raw, m.subject, m.sender, m.sender_name = "", None, "", None, None
    m.attachments = "[]"
    return changed


def _anonymise_case(session: Session, case: Case, blank: Complainant, counts: PurgeCounts,
                    now: datetime, actor: str, why: str) -> None:
    """Strip what identifies a person or tells their story; keep what the reports count."""
    case.subject, case.summary = "", ""
    case.phone, case.previous_phones = None, ""
    case.complainant_id = blank.id or 0
    for m in session.exec(select(Message).where(Message.case_id == case.id)).all():
        counts.messages += _blank_message(m)
    for a in session.exec(select(ContactAttempt).where(ContactAttempt.case_id == case.id)).all():
        if a.note or a.next_step:
            counts.contact_attempts += 1
        a.note, a.next_step = "", None
    for e in session.exec(select(Escalation).where(Escalation.case_id == case.id)).all():
        if e.note:
            counts.escalations += 1
        e.note = ""
    for p in session.exec(select(ActionPlan).where(ActionPlan.case_id == case.id)).all():
        if p.steps or p.follow_up_note:
            counts.action_plans += 1
        p.steps, p.follow_up_note = "", ""
    # Audit details hold no complaint text, except a shared lesson.
    for entry in session.exec(select(Audit).where(Audit.case_id == case.id,
                                                  Audit.action == "lesson")).all():
        if entry.detail != "{}":
            counts.audit_entries += 1
        entry.detail = "{}"
    # A delivered email keeps its whole text (recipient, body) in the outbox payload.
    for o in session.exec(select(Outbox).where(Outbox.case_id == case.id,
                                               Outbox.status != OutboxStatus.PENDING.value)
                          ).all():
        if o.payload != "{}" or o.last_error:
            counts.outbox_entries += 1
        o.payload, o.last_error = "{}", None
    audit(session, case, actor, ANONYMISED, now, reason=why)
    counts.cases += 1
    counts.refs.append(case.ref)


def _delete_orphans(session: Session, complainant_ids: set[int], counts: PurgeCounts) -> None:
    session.flush()
    for cid in sorted(complainant_ids):
        in_use = session.exec(select(Case.id).where(Case.complainant_id == cid)).first()
        row = session.get(Complainant, cid)
        if in_use is None and row is not None:
            session.delete(row)
            counts.complainants_deleted += 1


def _anonymise(session: Session, cases: list[Case], now: datetime, actor: str, why: str,
               also_complainants: set[int] | None = None) -> PurgeCounts:
    """Anonymise ``cases``; then delete the complainant records (theirs and
    ``also_complainants``) that no case points to any more."""
    counts = PurgeCounts()
    previous = {c.complainant_id for c in cases} | (also_complainants or set())
    if cases:
        # One empty complainant record stands in for everyone anonymised in this run.
        blank = Complainant()
        session.add(blank)
        session.flush()
        for case in cases:
            _anonymise_case(session, case, blank, counts, now, actor, why)
    _delete_orphans(session, previous, counts)
    return counts


def _not_anonymised() -> Any:
    return ~sa.exists().where(col(Audit.case_id) == col(Case.id), col(Audit.action) == ANONYMISED)


def closed_cases_before(session: Session, before: datetime) -> list[Case]:
    """Closed cases, closed before ``before``, not yet anonymised."""
    return list(session.exec(select(Case).where(
        Case.status == Status.CLOSED.value, col(Case.closed_at) < before, _not_anonymised())
        .order_by(col(Case.closed_at), col(Case.id))).all())


def purge_closed_before(session: Session, before: datetime, now: datetime, actor: str
                        ) -> PurgeCounts:
    """Anonymise every case closed before ``before``, and the leftovers of that age:
    messages that never opened a case, and quarantined inputs resolved since."""
    counts = _anonymise(session, closed_cases_before(session, before), now, actor, "retention")
    for m in session.exec(select(Message).where(col(Message.case_id).is_(None),
                                                col(Message.at) < before)).all():
        counts.messages += _blank_message(m)
    for q in session.exec(select(Quarantine).where(col(Quarantine.resolved_at) < before)).all():
        if q.raw:
            counts.quarantine_entries += 1
        q.raw = b""
    log.info("purge (retention): %s", counts.summary())
    return counts


def erase_person(session: Session, person: Person, now: datetime, actor: str) -> PurgeCounts:
    """Erase one person on request: all their cases anonymised, their records deleted.

    Refuses (:class:`InvalidAction`) while any of their cases is open: close it first,
    so that nobody is left waiting for a call the bot can no longer prompt.
    """
    complainants = find_complainants(session, person)
    cases = _cases_of(session, complainants)
    still_open = [c.ref for c in cases if c.status != Status.CLOSED.value]
    if still_open:
        raise InvalidAction("open cases must be closed before erasure: " + ", ".join(still_open))
    case_ids = [c.id for c in cases if c.id is not None]
    # Their complainant records go, also one no case points to any more.
    counts = _anonymise(session, cases, now, actor, "erasure",
                        also_complainants={c.id for c in complainants if c.id is not None})
    for m in _messages_sent_elsewhere(session, person, case_ids):
        if m.sender or m.sender_name:
            counts.messages += 1
        m.sender, m.sender_name = None, None
    for q in _quarantined_from(session, person):
        counts.quarantine_entries += 1
        q.raw = b""
    log.info("purge (erasure): %s", counts.summary())
    return counts
