"""Personal data by the book: subject access, retention purge and erasure.

*Subject access* (GDPR art. 15) collects everything held about one person,
found by email address or phone number: their complainant record(s), their
cases (messages by anyone else on them replaced by a marker; other people's
names, addresses and numbers in the staff's notes redacted), contact attempts,
escalations, action plans and what was done, their own messages wherever they
sit (on someone else's case, or on no case), quarantined mail from them, and
the email sent or to be sent to them. Nothing written by anyone else.

*Retention* anonymises closed cases: names, addresses, phone numbers, message
subjects, bodies and raw bytes, call notes and remedies, escalation notes,
action-plan text, free text in audit details and outbox payloads go; pending
outbox entries of those cases are cancelled; the case row's dates, source,
type, theme, unit, status, resolution and counters stay, so the reports over
past years still add up. Quarantined mail and mail that never became a case
are deleted after their own, shorter, retention. *Erasure* does the same for
every case of one person on request, and also reaches their words and their
address, number and name wherever else they sit (see docs/privacy.md).

Both run inside the caller's transaction; a dry run is the same work rolled
back, so the counts it shows are exactly what ``--apply`` does. After the
commit, :func:`erase_from_storage` makes sure the old bytes leave the database
file too. Only counts are logged, never content.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions.cases import (
    ABOUT_OTHERS,
    OTHER_SENDER,
    SYSTEM_ACTOR,
    audit,
    case_to_dict,
    enqueue,
    iso,
)
from bot.config import Config
from bot.domain.vocabulary import ChatOp
from bot.errors import InvalidAction
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
    OutboxStatus,
    Quarantine,
    Status,
)

log = logging.getLogger(__name__)

ANONYMISED = "anonymised"
ERASED = "[raderat]"  # what stands where a name, address or number was
OTHER_PERSON = "[another person's message]"  # in the JSON export; the document translates it
RETENTION_REPORT = "retention_report"  # audit action of the sweep's first (dry-run) report


# --- who ------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """How a data subject is identified: an email address, a phone number in E.164,
    or (for erasure only) a name as written on their complainant record."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None

    def describe(self) -> str:
        return self.email or self.phone or self.name or "?"


def person_from(identifier: str, region: str, *, allow_name: bool = False) -> Person:
    """An email address (contains ``@``), a phone number, or (``allow_name``) a name.

    Raises ValueError for something that is none of these.
    """
    text = identifier.strip()
    if "@" in text:
        return Person(email=text.lower())
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        if allow_name and re.search(r"\w{2,}", text) and not re.search(r"\d", text):
            return Person(name=" ".join(text.split()))
        raise ValueError("not an email address or phone number") from exc
    if not phonenumbers.is_possible_number(parsed):
        raise ValueError("not a possible phone number")
    return Person(phone=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))


def find_complainants(session: Session, person: Person) -> list[Complainant]:
    """Every complainant record with that email address, phone number or name."""
    q = select(Complainant)
    if person.email:
        q = q.where(sa.func.lower(col(Complainant.email)) == person.email)
    elif person.phone:
        # The number on their record, or the number to call on one of their cases.
        q = q.where(sa.or_(col(Complainant.phone) == person.phone, col(Complainant.id).in_(
            select(Case.complainant_id).where(Case.phone == person.phone))))
    elif person.name:
        q = q.where(sa.func.lower(col(Complainant.name)) == person.name.lower())
    else:
        return []
    return list(session.exec(q.order_by(col(Complainant.id))).all())


def _cases_of(session: Session, complainants: list[Complainant]) -> list[Case]:
    ids = [c.id for c in complainants]
    if not ids:
        return []
    return list(session.exec(select(Case).where(col(Case.complainant_id).in_(ids))
                             .order_by(col(Case.received_at), col(Case.id))).all())


# --- finding people in text -------------------------------------------------

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# A run of digits with the separators people and mail clients put inside numbers
# (spaces, dashes of every kind, dots, slashes, brackets, NBSP, invisible characters).
_GAP = r"[\s\-\u2010-\u2015./()\u00a0\u200b-\u200d\u2060\ufeff]{0,3}"
_PHONE_LIKE = re.compile(rf"(?<!\d)\+?\d(?:{_GAP}\d){{5,16}}(?!\d)")
_WORD = re.compile(r"\w+")


def _nsn(e164: str) -> str | None:
    try:
        return phonenumbers.national_significant_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return None


def _name_words(name: str | None) -> tuple[str, ...]:
    return tuple(w.casefold() for w in _WORD.findall(name or ""))


@dataclass(frozen=True)
class Needles:
    """The identifiers of some people, to find and blank in free text.

    ``emails`` are matched whole (case-insensitive); ``phones`` in any spelling
    (national or international, any separators); ``names`` as whole names, word
    by word; ``words`` as single words (used to keep other people's first and
    last names out of an export).
    """

    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()  # national significant numbers
    names: tuple[tuple[str, ...], ...] = ()
    words: frozenset[str] = frozenset()

    @staticmethod
    def of(emails: Iterable[str | None] = (), phones: Iterable[str | None] = (),
           names: Iterable[str | None] = (), words: Iterable[str] = ()) -> Needles:
        nsns = {n for p in phones if p and (n := _nsn(p)) and len(n) >= 6}
        full = {w for n in names if len(w := _name_words(n)) >= 2 or
                (len(w) == 1 and len(w[0]) >= 4)}
        return Needles(frozenset(e.lower() for e in emails if e), frozenset(nsns),
                       tuple(sorted(full)), frozenset(words))

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones or self.names or self.words)

    def _phone_hit(self, span: str) -> bool:
        digits = re.sub(r"\D", "", span)
        for length in {len(n) for n in self.phones}:
            for i in range(len(digits) - length + 1):
                if digits[i:i + length] in self.phones:
                    return True
        return False

    def spans(self, text: str) -> list[tuple[int, int]]:
        found: list[tuple[int, int]] = []
        if self.emails:
            found += [m.span() for m in _EMAIL.finditer(text) if m.group().lower() in self.emails]
        if self.phones:
            found += [m.span() for m in _PHONE_LIKE.finditer(text) if self._phone_hit(m.group())]
        if self.names or self.words:
            tokens = list(_WORD.finditer(text))
            folded = [t.group().casefold() for t in tokens]
            for i, word in enumerate(folded):
                if word in self.words:
                    found.append(tokens[i].span())
                for name in self.names:
                    if tuple(folded[i:i + len(name)]) == name:
                        found.append((tokens[i].start(), tokens[i + len(name) - 1].end()))
        return found

    def found(self, text: str | None) -> bool:
        return bool(text) and bool(self.spans(text or ""))

    def scrub(self, text: str, mark: str = ERASED) -> str:
        """``text`` with every match replaced by ``mark``."""
        spans = sorted(self.spans(text))
        if not spans:
            return text
        out, pos = [], 0
        for start, end in spans:
            if end <= pos:
                continue
            out.append(text[pos:max(pos, start)])
            if start >= pos:
                out.append(mark)
            pos = end
        out.append(text[pos:])
        return "".join(out)


def _mail_text(raw: bytes | None) -> str:
    """Everything readable in an email's bytes: the bytes as text, and the parsed
    sender, subject and body (which may be encoded in the bytes)."""
    if not raw:
        return ""
    parts = [raw.decode("utf-8", errors="replace")]
    try:
        mail = parse_email(raw)
    except Unprocessable:
        return parts[0]
    parts += [mail.from_name or "", mail.from_address or "", mail.subject, mail.body_text]
    return "\n".join(parts)


def _mail_from(raw: bytes | None) -> tuple[str | None, str | None]:
    """(sender address, sender name) of an email, when they can be read."""
    if not raw:
        return None, None
    try:
        mail = parse_email(raw)
    except Unprocessable:
        return None, None
    return (mail.from_address or "").lower() or None, mail.from_name


# --- subject access --------------------------------------------------------

_CODE_DETAIL_KEYS = ("outcome", "resolution", "reason", "source", "purpose", "via", "minutes",
                     "rung", "hard", "historical", "lesson_shared", "kind")
_CODE = re.compile(r"^[a-z0-9_]{0,40}$")


def _code_details(detail: str) -> dict[str, Any]:
    """The coded facts of an audit detail (outcome, resolution...), never free text."""
    try:
        data = json.loads(detail or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {k: v for k, v in data.items() if k in _CODE_DETAIL_KEYS and (
        v is None or isinstance(v, bool | int) or (isinstance(v, str) and _CODE.match(v)))}


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
            "at": iso(m.at, self.cfg), "direction": m.direction, "channel": m.channel,
            "message_id": m.message_id, "sender": m.sender,
            "sender_name": self.clean(m.sender_name), "subject": self.clean(m.subject),
            "text": self.clean(m.body_text),
            "attachments": [{"filename": self.clean(a.get("filename"))}
                            for a in json.loads(m.attachments or "[]")],
            "raw": self.clean(_text(m.raw)),
        }

    def written_by_someone_else(self, m: Message) -> bool:
        if m.classification == OTHER_SENDER:  # a stranger's reply in the case's chat thread
            return True
        return (m.direction == Direction.INBOUND.value and m.sender is not None
                and m.sender.lower() not in self.own_senders)

    def case(self, case: Case) -> dict[str, Any]:
        cfg, s = self.cfg, self.session
        data = case_to_dict(s, cfg, case)
        data.pop("complainant")  # listed once, at the top
        data["subject"] = self.clean(case.subject)
        data.update({"summary": self.clean(case.summary), "theme": case.theme,
                     "unit": case.unit, "phone": case.phone,
                     "previous_phones": case.previous_phones.split()})

        def rows(model: Any, order: Any) -> list[Any]:
            return list(s.exec(select(model).where(model.case_id == case.id)
                               .order_by(order, col(model.id))).all())

        messages = rows(Message, col(Message.at))
        data["message_ids"] = [m.message_id for m in messages
                               if not self.written_by_someone_else(m)]
        data["messages"] = [
            {"at": iso(m.at, cfg), "direction": m.direction, "channel": m.channel,
             "from_another_person": True, "text": OTHER_PERSON}
            if self.written_by_someone_else(m) else self.message(m) for m in messages]
        data["contact_attempts"] = [
            {"at": iso(a.at, cfg), "by": a.by, "outcome": a.outcome, "note": self.clean(a.note),
             "remedy": self.clean(a.remedy), "next_step": self.clean(a.next_step),
             "hard": a.hard}
            for a in rows(ContactAttempt, col(ContactAttempt.at))]
        data["escalations"] = [
            {"at": iso(e.at, cfg), "reason": e.reason, "by": e.by, "to": e.to,
             "note": self.clean(e.note), "acknowledged_at": iso(e.acknowledged_at, cfg)}
            for e in rows(Escalation, col(Escalation.at))]
        data["action_plans"] = [
            {"owner": p.owner, "steps": self.clean(p.steps), "created_at": iso(p.created_at, cfg),
             "due_at": iso(p.due_at, cfg), "followed_up_at": iso(p.followed_up_at, cfg),
             "done_at": iso(p.done_at, cfg), "follow_up_note": self.clean(p.follow_up_note)}
            for p in rows(ActionPlan, col(ActionPlan.due_at))]
        data["audit"] = [
            {"at": iso(a.at, cfg), "actor": a.actor, "action": a.action,
             "detail": _code_details(a.detail)}
            for a in rows(Audit, col(Audit.at)) if a.action not in ABOUT_OTHERS]
        return data

    def is_theirs(self, raw: bytes, mine: Needles) -> bool:
        """Quarantined mail is theirs when it is from their address, or when it has no
        readable sender (or a robot's, such as a web-form relay) and carries their
        address or number. Mail from anyone else that mentions them is not theirs."""
        sender, _ = _mail_from(raw)
        if sender:
            if sender in self.emails:
                return True
            local = sender.split("@", 1)[0]
            if not re.match(r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|"
                            r"www|web|form|forms|wordpress)", local):
                return False
        return mine.found(_mail_text(raw))

    def quarantine(self, q: Quarantine) -> dict[str, Any]:
        sender, _ = _mail_from(q.raw)
        text = _mail_text(q.raw)
        try:
            parsed = parse_email(bytes(q.raw))
            subject, body = parsed.subject, parsed.body_text
        except Unprocessable:
            subject, body = "", text
        return {"id": q.id, "at": iso(q.at, self.cfg), "resolved": q.resolved_at is not None,
                "sender": sender if sender in self.emails else None,
                "subject": self.clean(subject), "text": self.clean(body),
                "raw": self.clean(_text(bytes(q.raw)))}

    def outgoing(self, o: Outbox, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        mail = _outbox_mail(payload)
        if mail is None:
            return None
        to, subject, body = mail
        if not set(to) & self.emails:
            return None
        return {"at": iso(o.created_at, self.cfg), "status": o.status,
                "sent_at": iso(o.sent_at, self.cfg), "purpose": payload.get("purpose"),
                "to": sorted(set(to) & self.emails), "subject": self.clean(subject),
                "text": self.clean(body)}


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


def _others(session: Session, own_ids: set[int], own_emails: set[str], own_phones: set[str],
            own_names: set[str], extra_senders: Iterable[tuple[str | None, str | None]]
            ) -> Needles:
    own_words = {w for n in own_names for w in _name_words(n)}
    emails: set[str] = set()
    phones: set[str] = set()
    words: set[str] = set()
    rows = session.execute(sa.select(col(Complainant.id), col(Complainant.name),
                                     col(Complainant.email), col(Complainant.phone))).all()
    people: list[tuple[str | None, str | None, str | None]] = [
        (r[1], r[2], r[3]) for r in rows if r[0] not in own_ids]
    people += [(name, sender, None) for sender, name in extra_senders]
    for name, email, phone in people:
        if email and email.lower() not in own_emails:
            emails.add(email.lower())
        if phone and phone not in own_phones:
            phones.add(phone)
        words |= {w for w in _name_words(name) if len(w) >= 3 and w not in own_words
                  and not w.isdigit()}
    return Needles.of(emails=emails, phones=phones, words=words)


def subject_access(session: Session, cfg: Config, person: Person, now: datetime,
                   lang: str | None = None) -> dict[str, Any]:
    """Everything held about ``person``, as plain data (the JSON export)."""
    complainants = find_complainants(session, person)
    cases = _cases_of(session, complainants)
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
        first = session.exec(select(Message.sender).where(
            Message.case_id == cid, Message.direction == Direction.INBOUND.value)
            .order_by(col(Message.at), col(Message.id))).first()
        if first:
            own_senders.add(first.lower())
    strangers: list[tuple[str | None, str | None]] = []
    if case_ids:
        strangers = [(m.sender, m.sender_name) for m in session.exec(select(Message).where(
            col(Message.case_id).in_(case_ids), Message.direction == Direction.INBOUND.value,
            col(Message.sender).is_not(None))).all()
            if (m.sender or "").lower() not in own_senders]
    acc = _Access(session, cfg, own_ids, emails, phones, own_senders,
                  _others(session, own_ids, emails, phones, names, strangers))
    mine = Needles.of(emails=emails, phones=phones)

    elsewhere: list[Message] = []
    if emails:
        q = select(Message).where(sa.func.lower(col(Message.sender)).in_(sorted(emails)))
        if case_ids:
            q = q.where(sa.or_(col(Message.case_id).is_(None),
                               col(Message.case_id).not_in(case_ids)))
        elsewhere = list(session.exec(q.order_by(col(Message.at), col(Message.id))).all())
    quarantined = [q for q in session.exec(select(Quarantine).order_by(col(Quarantine.id))).all()
                   if mine and acc.is_theirs(bytes(q.raw), mine)]
    outgoing = []
    for o in session.exec(select(Outbox).where(Outbox.kind == OutboxKind.EMAIL.value)
                          .order_by(col(Outbox.id))).all():
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
            {"name": c.name, "email": c.email, "phone": c.phone,
             "representative_of": acc.clean(c.representative_of),
             "email_bounced_at": iso(c.email_bounced_at, cfg)} for c in complainants],
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
    out = [f"# {w['title']}: {who}", "",
           w["made"].format(org=data["organisation"], at=_when(data["generated_at"])), "",
           w["intro"], "", f"## {w['contact']}", ""]
    for c in data["complainant_records"]:
        out += [f"- {w['name']}: {c['name'] or dash}", f"- {w['email']}: {c['email'] or dash}",
                f"- {w['phone']}: {c['phone'] or dash}"]
        if c["representative_of"]:
            out.append(f"- {w['represents']}: {c['representative_of']}")
        out.append("")
    if not data["complainant_records"]:
        out += [w["no_contact"], ""]

    def message(m: dict[str, Any], heading: str) -> list[str]:
        if m.get("from_another_person"):
            return [f"#### {_when(m['at'])}", "", w["other_person"], ""]
        lines = [f"#### {_when(m['at'])} – {heading} ({word_for(w, 'source', m['channel'])})",
                 "", f"{w['subject']}: {m['subject'] or dash}", "", *_quoted(m["text"])]
        if m.get("attachments"):
            lines += [f"{w['attachments']}: " + ", ".join(
                a.get("filename") or w["unnamed"] for a in m["attachments"]), ""]
        return lines

    for case in data["cases"]:
        status = word_for(w, "status", case["status"])
        if case["closed_at"]:
            status += (f", {w['closed'].lower()} {_when(case['closed_at'])} "
                       f"({word_for(w, 'resolution', case['resolution'])})")
        out += [f"## {w['case'].format(ref=case['ref'])}", "",
                f"- {w['received']}: {_when(case['received_at'])} {w['via']} "
                f"{word_for(w, 'source', case['source'])}",
                f"- {w['subject']}: {case['subject'] or dash}",
                f"- {w['status']}: {status}",
                f"- {w['summary']}: {case['summary'] or dash}", "", f"### {w['messages']}", ""]
        for m in case["messages"]:
            out += message(m, w["from_you"] if m["direction"] == "inbound" else w["to_you"])
        out += [f"### {w['attempts']}", ""]
        out += [f"- {_when(a['at'])}: {word_for(w, 'outcome', a['outcome'])} ({w['by_staff']})."
                + (f" {a['note']}" if a["note"] else "")
                + (f" {w['remedy']}: {a['remedy']}." if a["remedy"] else "")
                + (f" {w['next_step']}: {a['next_step']}." if a["next_step"] else "")
                for a in case["contact_attempts"]] or [f"- {w['none']}"]
        out += ["", f"### {w['escalations']}", ""]
        out += [f"- {_when(e['at'])}: {word_for(w, 'reason', e['reason'])}."
                + (f" {w['note']}: {e['note']}" if e["note"] else "")
                for e in case["escalations"]] or [f"- {w['none']}"]
        out += ["", f"### {w['plans']}", ""]
        out += [f"- {w['due']} {_when(p['due_at'])[:10]}: {p['steps'] or dash}"
                + (f" ({w['done']} {_when(p['done_at'])[:10]})" if p["done_at"] else "")
                + (f" {w['follow_up']}: {p['follow_up_note']}" if p["follow_up_note"] else "")
                for p in case["action_plans"]] or [f"- {w['none']}"]
        out += ["", f"### {w['log']}", ""]
        for a in case["audit"]:
            line = f"- {_when(a['at'])}: {word_for(w, 'action', a['action'])}"
            facts = [word_for(w, kind, a["detail"][kind])
                     for kind in ("outcome", "resolution", "reason")
                     if isinstance(a["detail"].get(kind), str)
                     and f"{kind}_{a['detail'][kind]}" in w]
            if facts:
                line += " (" + ", ".join(facts) + ")"
            out.append(f"{line} – {_actor_word(w, a['actor'])}")
        out.append("")
    for key, heading in (("messages_on_other_cases", "elsewhere"),
                         ("unattached_messages", "unattached")):
        if data.get(key):
            out += [f"## {w[heading]}", ""]
            for m in data[key]:
                out += message(m, w["from_you"])
    if data.get("quarantined_mail"):
        out += [f"## {w['quarantine']}", ""]
        for q in data["quarantined_mail"]:
            out += [f"#### {w['quarantine_line'].format(at=_when(q['at']))}", "",
                    f"{w['subject']}: {q['subject'] or dash}", "", *_quoted(q["text"])]
    if data.get("outgoing_email"):
        out += [f"## {w['outgoing']}", ""]
        for o in data["outgoing_email"]:
            out += [f"#### {_when(o['sent_at'] or o['at'])} – {word_for(w, 'mail', o['status'])}",
                    "", f"{w['to']}: {', '.join(o['to'])}",
                    f"{w['subject']}: {o['subject'] or dash}", "", *_quoted(o["text"])]
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
    outbox_cancelled: int = 0
    quarantine_entries: int = 0
    mentions_scrubbed: int = 0
    chat_messages_to_stub: int = 0
    refs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> bool:
        return any(v for k, v in self.as_dict().items() if k != "refs")

    def summary(self) -> str:
        return (f"{self.cases} cases, {self.messages} messages, "
                f"{self.contact_attempts} contact attempts, {self.escalations} escalations, "
                f"{self.action_plans} action plans, {self.audit_entries} audit entries, "
                f"{self.outbox_entries} outbox entries ({self.outbox_cancelled} pending "
                f"cancelled), {self.quarantine_entries} quarantined inputs, "
                f"{self.mentions_scrubbed} mentions elsewhere, "
                f"{self.chat_messages_to_stub} chat messages to replace, "
                f"{self.complainants_deleted} complainant records deleted")


def erased_external_id(external_id: str) -> str:
    """What an erased email's Message-ID becomes (it may hold a name or an address):
    a hash, so that the same message delivered again is still known as seen."""
    return "erased:" + hashlib.sha256(external_id.encode("utf-8", "replace")).hexdigest()


def _blank_message(m: Message) -> bool:
    changed = bool(m.body_text or m.raw is not None or m.subject or m.sender or m.sender_name
                   or (m.attachments or "[]") != "[]")
    m.body_text, m.raw, m.subject, m.sender, m.sender_name = "", None, "", None, None
    m.attachments = "[]"
    if m.channel == "email" and not m.external_id.startswith("erased:"):
        m.external_id = erased_external_id(m.external_id)
        changed = True
    if m.channel == "email" and not m.message_id.startswith("erased:"):
        # A Message-ID may hold a name or an address: only its hash stays.
        m.message_id = erased_external_id(m.message_id)
        changed = True
    return changed


def _scrub_detail(detail: str) -> str:
    """An audit detail with only its coded facts (outcome, resolution...) kept."""
    kept = _code_details(detail)
    return json.dumps(kept, ensure_ascii=False, sort_keys=True) if kept else "{}"


def _cancel_or_blank(o: Outbox, counts: PurgeCounts) -> None:
    """A pending entry is cancelled (it must never go out); any entry loses its text."""
    if o.status == OutboxStatus.PENDING.value:
        o.status = OutboxStatus.CANCELLED.value
        o.lease_until, o.lease_owner, o.result = None, None, None
        counts.outbox_cancelled += 1
    if o.payload != "{}" or o.last_error:
        counts.outbox_entries += 1
    o.payload, o.last_error = "{}", None


def _posted_refs(result: str | None) -> list[tuple[str, str]]:
    """Where a delivered chat entry's messages live (``posted C1:ts, C2:ts``)."""
    verb, _, rest = (result or "").partition(" ")
    if verb not in ("posted", "updated", "found"):
        return []
    refs = []
    for part in rest.split(", "):
        channel, sep, ts = part.strip().partition(":")
        if sep and channel and ts:
            refs.append((channel, ts))
    return refs


def _anonymise_case(session: Session, case: Case, blank: Complainant, counts: PurgeCounts,
                    now: datetime, actor: str, why: str) -> None:
    """Strip what identifies a person or tells their story; keep what the reports count."""
    case.subject, case.summary = "", ""
    case.phone, case.previous_phones = None, ""
    case.complainant_id = blank.id or 0
    for m in session.exec(select(Message).where(Message.case_id == case.id)).all():
        counts.messages += _blank_message(m)
    for a in session.exec(select(ContactAttempt).where(ContactAttempt.case_id == case.id)).all():
        if a.note or a.next_step or a.remedy:
            counts.contact_attempts += 1
        a.note, a.next_step, a.remedy = "", None, None
    for e in session.exec(select(Escalation).where(Escalation.case_id == case.id)).all():
        if e.note:
            counts.escalations += 1
        e.note = ""
    for p in session.exec(select(ActionPlan).where(ActionPlan.case_id == case.id)).all():
        if p.steps or p.follow_up_note:
            counts.action_plans += 1
        p.steps, p.follow_up_note = "", ""
    # Audit details keep their codes (outcome, resolution), never text (a lesson, a remedy).
    for entry in session.exec(select(Audit).where(Audit.case_id == case.id)).all():
        scrubbed = _scrub_detail(entry.detail)
        if scrubbed != (entry.detail or "{}"):
            counts.audit_entries += 1
        entry.detail = scrubbed
    # Pending emails and posts are cancelled: nothing about this case goes out any more.
    # Delivered ones keep where they went (to replace the chat messages), not what.
    refs: list[tuple[str, str]] = []
    for o in session.exec(select(Outbox).where(Outbox.case_id == case.id)
                          .order_by(col(Outbox.id))).all():
        if o.kind == OutboxKind.CHAT.value and o.status == OutboxStatus.SENT.value:
            refs += [r for r in _posted_refs(o.result) if r not in refs]
        _cancel_or_blank(o, counts)
    if case.prompt_channel and case.prompt_ts and (case.prompt_channel, case.prompt_ts) not in refs:
        refs.insert(0, (case.prompt_channel, case.prompt_ts))
    if refs:
        # Every staff message about the case becomes a neutral stub (see bot.runners.outbox).
        enqueue(session, kind=OutboxKind.CHAT, dedupe_key=f"erased:{case.id}",
                payload={"op": ChatOp.ERASED, "case_id": case.id, "refs": [list(r) for r in refs]},
                case=case, now=now)
        counts.chat_messages_to_stub += len(refs)
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


def _delete_quarantined(session: Session, q: Quarantine, counts: PurgeCounts,
                        now: datetime) -> None:
    """Delete a quarantined or review item; its review post in chat becomes a stub."""
    if q.post_channel and q.post_ts:
        enqueue(session, kind=OutboxKind.CHAT, dedupe_key=f"review-erased:{q.id}",
                payload={"op": ChatOp.REVIEW, "review_id": q.id,
                         "erased_post": [q.post_channel, q.post_ts]},
                case=None, now=now)
        counts.chat_messages_to_stub += 1
    session.delete(q)
    counts.quarantine_entries += 1


def _purge_leftovers(session: Session, before: datetime, counts: PurgeCounts,
                     now: datetime) -> None:
    """Mail that never opened a case (blanked: its Message-ID stays, so a redelivery is
    still known) and quarantined mail, resolved or not (deleted), older than ``before``."""
    for m in session.exec(select(Message).where(col(Message.case_id).is_(None),
                                                col(Message.at) < before)).all():
        counts.messages += _blank_message(m)
    for q in session.exec(select(Quarantine).where(col(Quarantine.at) < before)).all():
        _delete_quarantined(session, q, counts, now)


def purge_closed_before(session: Session, before: datetime, now: datetime, actor: str,
                        leftovers_before: datetime | None = None) -> PurgeCounts:
    """Anonymise every case closed before ``before``; delete the leftovers (mail that
    never opened a case, quarantined mail) from before ``leftovers_before`` (default:
    the same day)."""
    counts = _anonymise(session, closed_cases_before(session, before), now, actor, "retention")
    _purge_leftovers(session, leftovers_before or before, counts, now)
    log.info("purge (retention): %s", counts.summary())
    return counts


def retention_cutoffs(cfg: Config, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(closed cases before, quarantine and unattached mail before) under ``[privacy]``."""
    p = cfg.privacy
    cases = now - timedelta(days=p.closed_case_days) if p.closed_case_days else None
    rest = now - timedelta(days=p.quarantine_days) if p.quarantine_days else None
    return cases, rest


def retention_purge(session: Session, cfg: Config, now: datetime, actor: str = SYSTEM_ACTOR
                    ) -> PurgeCounts:
    """What the retention sweep does: closed cases and leftovers past their retention."""
    cases_before, rest_before = retention_cutoffs(cfg, now)
    counts = (_anonymise(session, closed_cases_before(session, cases_before), now, actor,
                         "retention") if cases_before else PurgeCounts())
    if rest_before:
        _purge_leftovers(session, rest_before, counts, now)
    return counts


def _rows(session: Session, model: Any) -> Iterator[Any]:
    yield from session.exec(select(model).order_by(col(model.id))).all()


def _payload_text(payload: str) -> str:
    """An outbox payload as readable text (JSON escapes undone, an email decoded)."""
    try:
        data = json.loads(payload or "{}")
    except ValueError:
        return payload or ""
    if not isinstance(data, dict):
        return str(data)
    texts = [v for v in data.values() if isinstance(v, str)]
    if isinstance(data.get("eml"), str):
        texts.append(_mail_text(data["eml"].encode("utf-8", errors="replace")))
    return "\n".join(texts)


def _scrub_mentions(session: Session, needles: Needles, counts: PurgeCounts,
                    now: datetime) -> None:
    """The person's address, number and name, wherever else they are written: in
    other people's messages and cases, staff notes, audit details, the outbox."""
    def fix(row: Any, *columns: str) -> bool:
        hit = False
        for column in columns:
            value = getattr(row, column)
            if isinstance(value, str) and needles.found(value):
                setattr(row, column, needles.scrub(value))
                hit = True
        return hit

    for c in _rows(session, Case):
        counts.mentions_scrubbed += fix(c, "subject", "summary")
    for m in _rows(session, Message):
        hit = fix(m, "subject", "body_text", "sender_name", "attachments")
        if m.raw is not None and needles.found(_mail_text(m.raw)):
            m.raw = None  # raw bytes cannot be edited safely: the parsed text stays
            hit = True
        counts.mentions_scrubbed += hit
    for a in _rows(session, ContactAttempt):
        counts.mentions_scrubbed += fix(a, "note", "remedy", "next_step")
    for e in _rows(session, Escalation):
        counts.mentions_scrubbed += fix(e, "note")
    for p in _rows(session, ActionPlan):
        counts.mentions_scrubbed += fix(p, "steps", "follow_up_note")
    for entry in _rows(session, Audit):
        if needles.found(entry.detail):
            entry.detail = _scrub_detail(entry.detail)
            counts.audit_entries += 1
    for o in _rows(session, Outbox):
        if (needles.found(o.payload) or needles.found(_payload_text(o.payload))
                or needles.found(o.last_error)):
            _cancel_or_blank(o, counts)
    for q in _rows(session, Quarantine):
        if needles.found(_mail_text(bytes(q.raw))):
            _delete_quarantined(session, q, counts, now)


def erase_person(session: Session, person: Person, now: datetime, actor: str) -> PurgeCounts:
    """Erase one person on request: all their cases anonymised, their records deleted,
    their own messages blanked wherever they sit, their address, number and name
    scrubbed from everything else (other cases, notes, audit, outbox, quarantine).

    Refuses (:class:`InvalidAction`) while any of their cases is open: close it first,
    so that nobody is left waiting for a call the bot can no longer prompt.
    """
    complainants = find_complainants(session, person)
    cases = _cases_of(session, complainants)
    still_open = [c.ref for c in cases if c.status != Status.CLOSED.value]
    if still_open:
        raise InvalidAction("open cases must be closed before erasure: " + ", ".join(still_open))
    emails = {e.lower() for e in [person.email, *(c.email for c in complainants)] if e}
    phones = {p for p in [person.phone, *(c.phone for c in complainants)] if p}
    for case in cases:  # the numbers given on their cases are theirs too
        phones |= {p for p in [case.phone, *case.previous_phones.split()] if p}
    names = {n for n in [person.name, *(c.name for c in complainants)] if n}
    # Their complainant records go, also one no case points to any more.
    counts = _anonymise(session, cases, now, actor, "erasure",
                        also_complainants={c.id for c in complainants if c.id is not None})
    # What they wrote elsewhere: on someone else's case, or on none.
    written = select(Message).where(sa.func.lower(col(Message.sender)).in_(sorted(emails)))
    if person.name:
        written = select(Message).where(sa.or_(
            sa.func.lower(col(Message.sender)).in_(sorted(emails)),
            sa.func.lower(col(Message.sender_name)) == person.name.lower()))
    for m in session.exec(written).all():
        counts.messages += _blank_message(m)
    _scrub_mentions(session, Needles.of(emails=emails, phones=phones, names=names), counts,
                    now)
    log.info("purge (erasure): %s", counts.summary())
    return counts


# --- out of the file --------------------------------------------------------

ERASABLE_TABLES = ("case", "complainant", "message", "contact_attempt", "escalation",
                   "action_plan", "audit", "outbox", "quarantine")


def erase_from_storage(engine: Engine) -> None:
    """After a purge has committed: make the old bytes leave the database files.

    SQLite runs with ``secure_delete`` (see :mod:`bot.store.db`), so freed space is
    zeroed; a ``TRUNCATE`` checkpoint copies the zeroed pages into the file and
    empties the write-ahead log. PostgreSQL: ``VACUUM`` of the tables a purge
    touches, so dead row versions are removed from their pages (WAL segments
    and backups keep them until they are recycled; see docs/privacy.md).
    """
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cur.fetchone()
            cur.close()
        finally:
            raw.close()
        if busy and busy[0]:
            log.warning("purge: the write-ahead log could not be emptied (a reader was "
                        "busy); it will be at the next checkpoint")
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ERASABLE_TABLES:
                conn.exec_driver_sql(f'VACUUM "{table}"')
