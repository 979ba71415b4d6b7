"""Personal data by the book: who a person is, and where their data sits.

This module finds the person (:class:`Person`, :class:`Needles`); what is done
with what it finds lives in :mod:`bot.actions.subject_access` and
:mod:`bot.actions.erasure`.

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

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass

import phonenumbers
import sqlalchemy as sa
from sqlmodel import Session, col, select

from bot.errors import InvalidAction
from bot.mail.parse import Unprocessable, parse_email
from bot.store.models import (
    Case,
    Complainant,
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
    or (for erasure only) a name as written on their complainant record. A name given
    with a phone number narrows the number to the records with that name."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None

    def describe(self) -> str:
        return self.email or self.phone or self.name or "?"


def narrowed(person: Person, name: str | None) -> Person:
    """``person`` (a phone number) narrowed to the records with ``name``; raises
    ValueError when a name cannot narrow it (an address names one person already)."""
    if not name or not name.strip():
        return person
    if not person.phone:
        raise ValueError("a name narrows a phone number only")
    return Person(phone=person.phone, name=" ".join(name.split()))


class AmbiguousPerson(InvalidAction):
    """A phone number or a name that more than one person gave: it names nobody.

    Two people with one number (a family, a care home's landline) are two people;
    an export by that number would show one of them the other's words, an erasure
    would erase both. The message names the cases of each record (references only)
    so that staff can tell who is who, and says how to name one person.
    """


def _one_person(records: list[Complainant], cases: dict[int, list[str]]) -> str | None:
    """None when ``records`` are one person's; else why not, for the operator."""
    identities: dict[str, list[Complainant]] = {}
    for record in records:
        if record.email:
            key = f"email:{record.email.lower()}"
        elif record.name:
            key = f"name:{' '.join(record.name.lower().split())}"
        else:  # neither: nothing says two such records are one person
            key = f"record:{record.id}"
        identities.setdefault(key, []).append(record)
    if len(identities) <= 1:
        return None
    listed = "; ".join(
        ", ".join(ref for r in group for ref in cases.get(r.id or 0, [])) or "no case"
        for group in identities.values()
    )
    return (
        f"{len(identities)} different people are found this way (their cases: {listed}); "
        "name one of them: --email ADDRESS, or add --name NAME to the number"
    )


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
    """Every complainant record with that email address, phone number or name.

    Raises :class:`AmbiguousPerson` when a number or name (not an address) is found
    on the records of more than one person.
    """
    q = select(Complainant)
    if person.email:
        q = q.where(sa.func.lower(col(Complainant.email)) == person.email)
    elif person.phone:
        # The number on their record, or the number to call on one of their cases.
        q = q.where(
            sa.or_(
                col(Complainant.phone) == person.phone,
                col(Complainant.id).in_(
                    select(Case.complainant_id).where(Case.phone == person.phone)
                ),
            )
        )
        if person.name:
            q = q.where(sa.func.lower(col(Complainant.name)) == person.name.lower())
    elif person.name:
        q = q.where(sa.func.lower(col(Complainant.name)) == person.name.lower())
    else:
        return []
    found = list(session.exec(q.order_by(col(Complainant.id))).all())
    if not person.email and len(found) > 1:
        refs: dict[int, list[str]] = {}
        for case in cases_of(session, found):
            refs.setdefault(case.complainant_id or 0, []).append(case.ref)
        if (why := _one_person(found, refs)) is not None:
            raise AmbiguousPerson(why)
    return found


def cases_of(session: Session, complainants: list[Complainant]) -> list[Case]:
    ids = [c.id for c in complainants]
    if not ids:
        return []
    return list(
        session.exec(
            select(Case)
            .where(col(Case.complainant_id).in_(ids))
            .order_by(col(Case.received_at), col(Case.id))
        ).all()
    )


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


def name_words(name: str | None) -> tuple[str, ...]:
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
    def of(
        emails: Iterable[str | None] = (),
        phones: Iterable[str | None] = (),
        names: Iterable[str | None] = (),
        words: Iterable[str] = (),
    ) -> Needles:
        nsns = {n for p in phones if p and (n := _nsn(p)) and len(n) >= 6}
        full = {
            w for n in names if len(w := name_words(n)) >= 2 or (len(w) == 1 and len(w[0]) >= 4)
        }
        return Needles(
            frozenset(e.lower() for e in emails if e),
            frozenset(nsns),
            tuple(sorted(full)),
            frozenset(words),
        )

    def __bool__(self) -> bool:
        return bool(self.emails or self.phones or self.names or self.words)

    def _phone_hit(self, span: str) -> bool:
        digits = re.sub(r"\D", "", span)
        for length in {len(n) for n in self.phones}:
            for i in range(len(digits) - length + 1):
                if digits[i : i + length] in self.phones:
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
                    if tuple(folded[i : i + len(name)]) == name:
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
            out.append(text[pos : max(pos, start)])
            if start >= pos:
                out.append(mark)
            pos = end
        out.append(text[pos:])
        return "".join(out)


def mail_text(raw: bytes | None) -> str:
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


def mail_from(raw: bytes | None) -> tuple[str | None, str | None]:
    """(sender address, sender name) of an email, when they can be read."""
    if not raw:
        return None, None
    try:
        mail = parse_email(raw)
    except Unprocessable:
        return None, None
    return (mail.from_address or "").lower() or None, mail.from_name
