"""Everything pure the pipeline does with one message, done once: parse, classify, extract.

:func:`prepare` needs no database and no configuration object (only the plain
:class:`PrepareSettings`), so it can run in a worker process ahead of the single
database writer (:mod:`bot.runners.prepare`). Its result pickles. A message that
is not an email, or that makes a step fail, comes back with ``failure`` set: the
pipeline quarantines it with that reason, as it would have had the step failed
in the writer.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from pathlib import Path

from bot.errors import Unprocessable
from bot.mail.classify import Classification, classify
from bot.mail.extract import (
    detect_language,
    find_phone_numbers,
    format_phone_national,
    guess_name,
    own_words,
    phone_region,
    summarise,
)
from bot.mail.parse import ParsedEmail, parse_email
from bot.redact import redact


@dataclass(frozen=True)
class PrepareSettings:
    """What preparing a message depends on (plain data, taken from the configuration)."""

    own_addresses: frozenset[str]
    max_attachment_bytes: int
    default_language: str
    country: str
    own_numbers: tuple[str, ...]


@dataclass(frozen=True)
class Prepared:
    """One message parsed, classified, its language and phone numbers found."""

    parsed: ParsedEmail | None
    classification: Classification | None
    language: str
    phones: tuple[str, ...]
    failure: str | None = None  # why it cannot be handled (the quarantine reason)
    # What a new case shows staff (redacted here, not in the writer): see case_texts.
    subject: str | None = None
    summary: str | None = None
    # Worked out here so that the writer need not: what the sender wrote now (where the
    # serious keywords are looked for), the name the case is filed under, and each
    # phone number as a citizen writes it (``phones_national[i]`` is ``phones[i]``).
    own_words: str | None = None
    name: str | None = None
    phones_national: tuple[str, ...] = ()

    def national(self, e164: str | None) -> str | None:
        """``e164`` as :func:`format_phone_national` writes it, if it is one of ours."""
        if e164 and len(self.phones_national) == len(self.phones) and e164 in self.phones:
            return self.phones_national[self.phones.index(e164)]
        return None


def case_texts(parsed: ParsedEmail) -> tuple[str, str]:
    """The subject and summary a case opened from ``parsed`` shows, redacted."""
    return " ".join(redact(parsed.subject).split())[:300], summarise(
        parsed.summary_text or parsed.body_text
    )


def language_and_phones(parsed: ParsedEmail, s: PrepareSettings) -> tuple[str, tuple[str, ...]]:
    """The complaint's language and the phone numbers in what the sender wrote now.

    Both read the summary (quotes and signatures stripped), so numbers inside
    quoted replies are not taken for the complainant's; the body says more about
    the language than a short (often forwarded) subject.
    """
    body = parsed.summary_text.strip()
    text = body if len(body) >= 40 else f"{parsed.subject}\n{parsed.summary_text}"
    language = detect_language(text, default=s.default_language)
    phones = find_phone_numbers(
        parsed.summary_text + "\n" + parsed.subject,
        region=phone_region(language, s.country),
        own_numbers=s.own_numbers,
    )
    return language, tuple(phones)


def failure_reason(exc: BaseException) -> str:
    """The quarantine reason for ``exc``: our own words, else its class and where it was raised
    (never ``str(exc)``, which can quote the message)."""
    if isinstance(exc, Unprocessable):
        return str(exc)[:2000]
    frame = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" at {Path(frame[0].filename).name}:{frame[0].lineno}" if frame else ""
    return f"{type(exc).__name__}{where}"


def prepare(raw: bytes, settings: PrepareSettings) -> Prepared:
    """Parse, classify and extract; never raises (a failure is returned)."""
    parsed: ParsedEmail | None = None
    try:
        parsed = parse_email(raw, max_attachment_bytes=settings.max_attachment_bytes)
        classification = classify(parsed, settings.own_addresses)
        language, phones = language_and_phones(parsed, settings)
    except Exception as exc:
        return Prepared(parsed, None, settings.default_language, (), failure_reason(exc))
    texts: tuple[str, str] | tuple[None, None]
    try:
        texts = case_texts(parsed)
    except Exception:  # the writer tries again where a case is opened, and fails there
        texts = (None, None)
    subject, summary = texts
    try:
        words: str | None = own_words(parsed)
        name = guess_name(parsed, classification.contact)
        national = tuple(format_phone_national(n) for n in phones)
    except Exception:  # the writer works them out itself, and fails there
        words, name, national = None, None, ()
    return Prepared(
        parsed,
        classification,
        language,
        phones,
        subject=subject,
        summary=summary,
        own_words=words,
        name=name,
        phones_national=national,
    )


def warm_up() -> None:
    """Load what the first message would otherwise wait for (the language models)."""
    detect_language("Hej, jag skriver om snöröjningen på vår gata som inte fungerar.")
