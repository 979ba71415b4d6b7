"""Subject access (GDPR art. 15): everything held about one person, as JSON and as a
document in their language."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.actions.cases import (
    ABOUT_OTHERS,
    OTHER_SENDER,
    SYSTEM_ACTOR,
    case_to_dict,
    iso,
)
from bot.actions.privacy import (
    OTHER_PERSON,
    Needles,
    Person,
    cases_of,
    find_complainants,
    mail_from,
    mail_text,
    name_words,
)
from bot.config import Config
from bot.mail.parse import Unprocessable, parse_email
from bot.presenters.privacy_words import access_words, word_for
from bot.store.models import (
    ActionPlan,
    Audit,
    Case,
    Complainant,
    ContactAttempt,
    Direction,
    Escalation,
    Message,
    Outbox,
    OutboxKind,
    Quarantine,
)

# --- subject access --------------------------------------------------------

_CODE_DETAIL_KEYS = (
    "outcome",
    "resolution",
    "reason",
    "source",
    "purpose",
    "via",
    "minutes",
    "rung",
    "hard",
    "historical",
    "lesson_shared",
    "kind",
)
_CODE = re.compile(r"^[a-z0-9_]{0,40}$")


def code_details(detail: str) -> dict[str, Any]:
    """The coded facts of an audit detail (outcome, resolution...), never free text."""
    try:
        data = json.loads(detail or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: v
        for k, v in data.items()
        if k in _CODE_DETAIL_KEYS
        and (v is None or isinstance(v, bool | int) or (isinstance(v, str) and _CODE.match(v)))
    }


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", errors="replace")


@dataclass
class _Access:
    """One subject-access request being answered."""

    session: Session
    cfg: Config
    own_ids: set[int]
    emails: set[str]  # the person's addresses, lower case
    phones: set[str]
    own_senders: set[str]  # who counts as the person on their own cases
    others: Needles  # everyone else's identifiers

    def clean(self, text: str | None) -> str | None:
        return self.others.scrub(text) if text else text

    def message(self, m: Message) -> dict[str, Any]:
        return {
            "at": iso(m.at, self.cfg),
            "direction": m.direction,
            "channel": m.channel,
            "message_id": m.message_id,
            "sender": m.sender,
            "sender_name": self.clean(m.sender_name),
            "subject": self.clean(m.subject),
            "text": self.clean(m.body_text),
            "attachments": [
                {"filename": self.clean(a.get("filename"))}
                for a in json.loads(m.attachments or "[]")
            ],
            "raw": self.clean(_text(m.raw)),
        }

    def written_by_someone_else(self, m: Message) -> bool:
        if m.classification == OTHER_SENDER:  # a stranger's reply in the case's chat thread
            return True
        return (
            m.direction == Direction.INBOUND.value
            and m.sender is not None
            and m.sender.lower() not in self.own_senders
        )

    def case(self, case: Case) -> dict[str, Any]:
        cfg, s = self.cfg, self.session
        data = case_to_dict(s, cfg, case)
        data.pop("complainant")  # listed once, at the top
        data["subject"] = self.clean(case.subject)
        data.update(
            {
                "summary": self.clean(case.summary),
                "theme": case.theme,
                "unit": case.unit,
                "phone": case.phone,
                "previous_phones": case.previous_phones.split(),
            }
        )

        def rows(model: Any, order: Any) -> list[Any]:
            return list(
                s.exec(
                    select(model).where(model.case_id == case.id).order_by(order, col(model.id))
                ).all()
            )

        messages = rows(Message, col(Message.at))
        data["message_ids"] = [
            m.message_id for m in messages if not self.written_by_someone_else(m)
        ]
        data["messages"] = [
            {
                "at": iso(m.at, cfg),
                "direction": m.direction,
                "channel": m.channel,
                "from_another_person": True,
                "text": OTHER_PERSON,
            }
            if self.written_by_someone_else(m)
            else self.message(m)
            for m in messages
        ]
        data["contact_attempts"] = [
            {
                "at": iso(a.at, cfg),
                "by": a.by,
                "outcome": a.outcome,
                "note": self.clean(a.note),
                "remedy": self.clean(a.remedy),
                "next_step": self.clean(a.next_step),
                "hard": a.hard,
            }
            for a in rows(ContactAttempt, col(ContactAttempt.at))
        ]
        data["escalations"] = [
            {
                "at": iso(e.at, cfg),
                "reason": e.reason,
                "by": e.by,
                "to": e.to,
                "note": self.clean(e.note),
                "acknowledged_at": iso(e.acknowledged_at, cfg),
            }
            for e in rows(Escalation, col(Escalation.at))
        ]
        data["action_plans"] = [
            {
                "owner": p.owner,
                "steps": self.clean(p.steps),
                "created_at": iso(p.created_at, cfg),
                "due_at": iso(p.due_at, cfg),
                "followed_up_at": iso(p.followed_up_at, cfg),
                "done_at": iso(p.done_at, cfg),
                "follow_up_note": self.clean(p.follow_up_note),
            }
            for p in rows(ActionPlan, col(ActionPlan.due_at))
        ]
        data["audit"] = [
            {
                "at": iso(a.at, cfg),
                "actor": a.actor,
                "action": a.action,
                "detail": code_details(a.detail),
            }
            for a in rows(Audit, col(Audit.at))
            if a.action not in ABOUT_OTHERS
        ]
        return data

    def is_theirs(self, raw: bytes, mine: Needles) -> bool:
        """Quarantined mail is theirs when it is from their address, or when it has no
        readable sender (or a robot's, such as a web-form relay) and carries their
        address or number. Mail from anyone else that mentions them is not theirs."""
        sender, _ = mail_from(raw)
        if sender:
            if sender in self.emails:
                return True
            local = sender.split("@", 1)[0]
            if not re.match(
                r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|"
                r"www|web|form|forms|wordpress)",
                local,
            ):
                return False
        return mine.found(mail_text(raw))

    def quarantine(self, q: Quarantine) -> dict[str, Any]:
        sender, _ = mail_from(q.raw)
        text = mail_text(q.raw)
        try:
            parsed = parse_email(bytes(q.raw))
            subject, body = parsed.subject, parsed.body_text
        except Unprocessable:
            subject, body = "", text
        return {
            "id": q.id,
            "at": iso(q.at, self.cfg),
            "resolved": q.resolved_at is not None,
            "sender": sender if sender in self.emails else None,
            "subject": self.clean(subject),
            "text": self.clean(body),
            "raw": self.clean(_text(bytes(q.raw))),
        }

    def outgoing(self, o: Outbox, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        mail = _outbox_mail(payload)
        if mail is None:
            return None
        to, subject, body = mail
        if not set(to) & self.emails:
            return None
        return {
            "at": iso(o.created_at, self.cfg),
            "status": o.status,
            "sent_at": iso(o.sent_at, self.cfg),
            "purpose": payload.get("purpose"),
            "to": sorted(set(to) & self.emails),
            "subject": self.clean(subject),
            "text": self.clean(body),
        }


def _outbox_mail(payload: Mapping[str, Any]) -> tuple[list[str], str, str] | None:
    """(recipients, subject, text) of a queued email, or None."""
    eml = payload.get("eml")
    if not isinstance(eml, str):
        return None
    from email import message_from_string, policy
    from email.message import EmailMessage
    from email.utils import getaddresses

    msg = message_from_string(eml, policy=policy.default)
    to = [a.lower() for _, a in getaddresses([str(msg.get("To", ""))]) if a]
    body = msg.get_body(("plain",)) if isinstance(msg, EmailMessage) else None
    return to, str(msg.get("Subject", "")), body.get_content() if body is not None else ""


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
    acc = _Access(
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


def _when(value: str | None) -> str:
    """``2026-11-24T09:00:00+01:00`` -> ``2026-11-24 09:00`` (already in local time)."""
    if not value:
        return ""
    return value[:16].replace("T", " ")


def _actor_word(w: Mapping[str, str], actor: str) -> str:
    if actor == SYSTEM_ACTOR:
        return w["actor_system"]
    return w["actor_staff"]


def _quoted(text: str | None) -> list[str]:
    return ["    " + line for line in (text or "").splitlines()] + [""]


def subject_access_markdown(data: dict[str, Any], lang: str | None = None) -> str:
    """The same export as a document a person can read (Markdown, in their language),
    with words for every status, outcome and action instead of codes."""
    w = access_words(lang or data.get("language") or "sv")
    dash = w["dash"]
    req = data["request"]
    who = req["email"] or req["phone"]
    out = [
        f"# {w['title']}: {who}",
        "",
        w["made"].format(org=data["organisation"], at=_when(data["generated_at"])),
        "",
        w["intro"],
        "",
        f"## {w['contact']}",
        "",
    ]
    for c in data["complainant_records"]:
        out += [
            f"- {w['name']}: {c['name'] or dash}",
            f"- {w['email']}: {c['email'] or dash}",
            f"- {w['phone']}: {c['phone'] or dash}",
        ]
        if c["representative_of"]:
            out.append(f"- {w['represents']}: {c['representative_of']}")
        out.append("")
    if not data["complainant_records"]:
        out += [w["no_contact"], ""]

    def message(m: dict[str, Any], heading: str) -> list[str]:
        if m.get("from_another_person"):
            return [f"#### {_when(m['at'])}", "", w["other_person"], ""]
        lines = [
            f"#### {_when(m['at'])} – {heading} ({word_for(w, 'source', m['channel'])})",
            "",
            f"{w['subject']}: {m['subject'] or dash}",
            "",
            *_quoted(m["text"]),
        ]
        if m.get("attachments"):
            lines += [
                f"{w['attachments']}: "
                + ", ".join(a.get("filename") or w["unnamed"] for a in m["attachments"]),
                "",
            ]
        return lines

    for case in data["cases"]:
        status = word_for(w, "status", case["status"])
        if case["closed_at"]:
            status += (
                f", {w['closed'].lower()} {_when(case['closed_at'])} "
                f"({word_for(w, 'resolution', case['resolution'])})"
            )
        out += [
            f"## {w['case'].format(ref=case['ref'])}",
            "",
            f"- {w['received']}: {_when(case['received_at'])} {w['via']} "
            f"{word_for(w, 'source', case['source'])}",
            f"- {w['subject']}: {case['subject'] or dash}",
            f"- {w['status']}: {status}",
            f"- {w['summary']}: {case['summary'] or dash}",
            "",
            f"### {w['messages']}",
            "",
        ]
        for m in case["messages"]:
            out += message(m, w["from_you"] if m["direction"] == "inbound" else w["to_you"])
        out += [f"### {w['attempts']}", ""]
        out += [
            f"- {_when(a['at'])}: {word_for(w, 'outcome', a['outcome'])} ({w['by_staff']})."
            + (f" {a['note']}" if a["note"] else "")
            + (f" {w['remedy']}: {a['remedy']}." if a["remedy"] else "")
            + (f" {w['next_step']}: {a['next_step']}." if a["next_step"] else "")
            for a in case["contact_attempts"]
        ] or [f"- {w['none']}"]
        out += ["", f"### {w['escalations']}", ""]
        out += [
            f"- {_when(e['at'])}: {word_for(w, 'reason', e['reason'])}."
            + (f" {w['note']}: {e['note']}" if e["note"] else "")
            for e in case["escalations"]
        ] or [f"- {w['none']}"]
        out += ["", f"### {w['plans']}", ""]
        out += [
            f"- {w['due']} {_when(p['due_at'])[:10]}: {p['steps'] or dash}"
            + (f" ({w['done']} {_when(p['done_at'])[:10]})" if p["done_at"] else "")
            + (f" {w['follow_up']}: {p['follow_up_note']}" if p["follow_up_note"] else "")
            for p in case["action_plans"]
        ] or [f"- {w['none']}"]
        out += ["", f"### {w['log']}", ""]
        for a in case["audit"]:
            line = f"- {_when(a['at'])}: {word_for(w, 'action', a['action'])}"
            facts = [
                word_for(w, kind, a["detail"][kind])
                for kind in ("outcome", "resolution", "reason")
                if isinstance(a["detail"].get(kind), str) and f"{kind}_{a['detail'][kind]}" in w
            ]
            if facts:
                line += " (" + ", ".join(facts) + ")"
            out.append(f"{line} – {_actor_word(w, a['actor'])}")
        out.append("")
    for key, heading in (
        ("messages_on_other_cases", "elsewhere"),
        ("unattached_messages", "unattached"),
    ):
        if data.get(key):
            out += [f"## {w[heading]}", ""]
            for m in data[key]:
                out += message(m, w["from_you"])
    if data.get("quarantined_mail"):
        out += [f"## {w['quarantine']}", ""]
        for q in data["quarantined_mail"]:
            out += [
                f"#### {w['quarantine_line'].format(at=_when(q['at']))}",
                "",
                f"{w['subject']}: {q['subject'] or dash}",
                "",
                *_quoted(q["text"]),
            ]
    if data.get("outgoing_email"):
        out += [f"## {w['outgoing']}", ""]
        for o in data["outgoing_email"]:
            out += [
                f"#### {_when(o['sent_at'] or o['at'])} – {word_for(w, 'mail', o['status'])}",
                "",
                f"{w['to']}: {', '.join(o['to'])}",
                f"{w['subject']}: {o['subject'] or dash}",
                "",
                *_quoted(o["text"]),
            ]
    return "\n".join(out).rstrip() + "\n"
