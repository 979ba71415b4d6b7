"""Facts about the complainant found in the text: phone numbers, language, name.

Callers pass ``ParsedEmail.summary_text`` so that numbers and names in quoted
replies (often our own acknowledgement) are not taken for the citizen's.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from functools import cache, lru_cache
from itertools import islice
from typing import TYPE_CHECKING

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

from bot.mail.parse import ParsedEmail, strip_quotes_and_signature
from bot.redact import find_national_ids, redact

if TYPE_CHECKING:
    from lingua import LanguageDetector

# --------------------------------------------------------------------------- phones

_MOBILE_RANK = {
    PhoneNumberType.MOBILE: 0,
    PhoneNumberType.FIXED_LINE_OR_MOBILE: 1,
}


def _to_e164(number: str, region: str) -> str | None:
    try:
        parsed = phonenumbers.parse(number, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


@lru_cache(maxsize=64)
def _own_e164(number: str, region: str) -> str | None:
    """:func:`_to_e164` of one of our own numbers (the same few for every message)."""
    return _to_e164(number, region)


# Tokens that are written with digits but are not phone numbers: references glued to
# letters (REF-73703-924, KL-2026-000012, SE-123 45), numbers after a reference word
# (order 12345-678, faktura 7370392412, kundnummer: 0812345678), dates, times and
# postcodes followed by a town. They are blanked out before the phone matcher runs.
_REFERENCE_WORDS = (
    r"ref(?:erens|erence|nr)?|order(?:nummer|nr|number|no)?|ordre(?:nummer|nr)?|"
    r"best[äa]llning(?:snummer|snr)?|bestilling(?:snummer|snr)?|faktura(?:nummer|nr)?|"
    r"invoice(?:\s+(?:no|number))?|kund(?:e)?(?:nummer|nr)|customer(?:\s+(?:no|number|id))?|"
    r"account(?:\s+(?:no|number))?|konto(?:nummer|nr)?|ocr(?:-?nummer)?|"
    r"ärende(?:nummer|nr)?|saks?(?:nummer|nr)|case(?:\s+(?:no|number))?|diarie(?:nummer|nr)|"
    r"dnr|avtal(?:snummer|e(?:nummer)?)?|tracking(?:\s+(?:no|number))?|kolli(?:-?id)?|"
    r"sändnings(?:nummer|id)|sporing(?:snummer)?|post(?:nummer|nr)|org(?:anisations)?\.?nr|"
    r"reg(?:istrerings)?\.?nr|artikel(?:nummer|nr)|art\.?nr|serie(?:nummer|nr)|serial"
)
# Every alternative starts a word with a letter or a digit; saying so first lets the regex
# engine pass over every other position at once (the same matches, several times faster).
_REFERENCE_PATTERNS = re.compile(
    r"(?<!\w)(?=[^\W_])(?:"
    + "|".join(
        (
            # letters glued to digits: REF-73703-924, KL-2026-000012, SE-123 45, AB12345
            r"(?<![\w+])(?=[^\W\d_]{1,12}+[-#/]?\d)"  # (the shape first: cheaper to rule out)
            r"(?!(?i:tel|tlf|telefon|telephone|phone|mobil|mobile|mob|fax|ring|nr)\W?\d)"
            r"[^\W\d_]{1,12}[-#/]?\d[\d./-]*(?:\s\d{2}(?!\d))?",
            # a reference word (one of the letters the words start with first), then the number
            rf"(?i:\b(?=[abcdfikoprstä])(?:{_REFERENCE_WORDS})\b"
            r"\.?\s*(?:[:#.]|n[or]\.?)?\s*\d[\d \t./-]*\d)",
            # dates and times: 2026-11-23, 23.11.2026, 23/11/26, 08.15-16.30, 08:15
            r"\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}[./]\d{1,2}[./]\d{2,4}\b",
            r"\b\d{1,2}[.:]\d{2}(?:\s*[-–]\s*\d{1,2}[.:]\d{2})?\b",
            # postcodes with a town: 123 45 Stockholm, 0150 Oslo
            r"\b\d{3}\s?\d{2}\s+(?=[A-ZÅÄÖ][a-zåäö])|\b\d{4}\s+(?=[A-ZÆØÅ][A-ZÆØÅa-zæøå])",
        )
    )
    + ")"
)


def mask_references(text: str) -> str:
    """``text`` with reference-like tokens (see above) blanked out, offsets unchanged."""
    return _REFERENCE_PATTERNS.sub(lambda match: " " * len(match.group(0)), text)


def find_phone_numbers(
    text: str, region: str = "SE", own_numbers: Collection[str] = ()
) -> list[str]:
    """Valid phone numbers in ``text`` as E.164, mobiles first, without duplicates.

    Numbers of our own organisation (``own_numbers``, in any format) are left
    out, and so is anything that is written like a personnummer or
    fødselsnummer (``811218-9876`` would otherwise pass for a Stockholm number),
    and anything that reads as a reference, a date or a postcode
    (:func:`mask_references`).
    """
    own = {e164 for number in own_numbers if (e164 := _own_e164(number, region))}
    text = mask_references(text)
    id_spans = [
        (found.start, found.end)
        for found in find_national_ids(text)
        if found.separated or found.valid
    ]
    found_numbers: dict[str, int] = {}
    try:
        matches = list(
            phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID)
        )
    except Exception:  # the matcher is third-party code fed untrusted text
        return []
    for order, match in enumerate(matches):
        if any(match.start < end and start < match.end for start, end in id_spans):
            continue
        e164 = phonenumbers.format_number(match.number, PhoneNumberFormat.E164)
        if e164 in own or e164 in found_numbers:
            continue
        rank = _MOBILE_RANK.get(phonenumbers.number_type(match.number), 2)
        found_numbers[e164] = rank * 10_000 + order
    return sorted(found_numbers, key=found_numbers.__getitem__)


def format_phone_national(e164: str) -> str:
    """``+46701234567`` -> ``070-123 45 67``; the input unchanged if it does not parse."""
    try:
        parsed = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164
    return phonenumbers.format_number(parsed, PhoneNumberFormat.NATIONAL)


# --------------------------------------------------------------------------- language

_MIN_LETTERS = 20
_MIN_CONFIDENCE = 0.5


@cache
def _detector() -> LanguageDetector:
    """Built once, on first use: loading the language models takes about a second."""
    from lingua import Language, LanguageDetectorBuilder

    # Low-accuracy mode loads trigram models only: ~25 MB instead of ~170 MB resident,
    # and complaints are long enough (we ask for 20+ letters) for trigrams to tell
    # Swedish, Bokmål, Nynorsk and English apart (tests/mail/test_extract.py).
    return (
        LanguageDetectorBuilder.from_languages(
            Language.SWEDISH, Language.BOKMAL, Language.NYNORSK, Language.ENGLISH, Language.DANISH
        )
        .with_low_accuracy_mode()
        .build()
    )


def detect_language(text: str, default: str = "sv") -> str:
    """One of ``sv``, ``nb``, ``nn``, ``en``; ``default`` when unsure or the text is short.

    Danish counts as Bokmål (the written languages are close and a Dane gets a
    better answer in Norwegian than in Swedish). The confidence of the
    Norwegian family is pooled first, so a text lingua splits between Bokmål
    and Nynorsk is still recognised as Norwegian.
    """
    sample = text[:2000]
    if len(list(islice(filter(str.isalpha, sample), _MIN_LETTERS))) < _MIN_LETTERS:
        return default
    try:
        values = _detector().compute_language_confidence_values(sample)
    except Exception:
        return default
    confidence = {value.language.name: value.value for value in values}
    norwegian = (
        confidence.get("BOKMAL", 0.0)
        + confidence.get("NYNORSK", 0.0)
        + confidence.get("DANISH", 0.0)
    )
    groups = {
        "sv": confidence.get("SWEDISH", 0.0),
        "en": confidence.get("ENGLISH", 0.0),
        "no": norwegian,
    }
    best = max(groups, key=groups.__getitem__)
    if groups[best] < _MIN_CONFIDENCE:
        return default
    if best != "no":
        return best
    bokmal = confidence.get("BOKMAL", 0.0) + confidence.get("DANISH", 0.0)
    return "nn" if confidence.get("NYNORSK", 0.0) > bokmal else "nb"


# --------------------------------------------------------------------------- name

_ROLE_WORDS = frozenset(
    {
        "info",
        "information",
        "kontakt",
        "contact",
        "support",
        "kundservice",
        "kundtjänst",
        "kundeservice",
        "post",
        "postmottak",
        "registrator",
        "registratur",
        "admin",
        "administrator",
        "office",
        "kansli",
        "reception",
        "service",
        "noreply",
        "no-reply",
        "mailer-daemon",
        "postmaster",
        "team",
        "sales",
        "webmaster",
        "ekonomi",
        "redaktion",
        "sekretariat",
        "servicecenter",
        "kontaktcenter",
    }
)
_ORG_WORDS = frozenset(
    {
        "ab",
        "as",
        "asa",
        "aps",
        "oy",
        "ltd",
        "inc",
        "gmbh",
        "llc",
        "kommun",
        "kommune",
        "fylkeskommune",
        "region",
        "landsting",
        "förvaltning",
        "forvaltning",
        "stiftelse",
        "förening",
        "forening",
        "bolag",
        "företag",
        "firma",
    }
)
_CLOSING = re.compile(
    r"^\s*(?:med\s+)?(?:vänliga?|vänlig|vennlig|vennleg|venleg|bästa|beste|varma|hjärtliga)?\s*"
    r"(?:hälsningar|hälsning|hilsen|hilsener|helsing|helsingar)\b[,.!]?"
    r"|^\s*(?:mvh|m\.v\.h\.|vh|hälsningar|hilsen|helsing|kind regards|best regards|regards|"
    r"best wishes|yours sincerely|sincerely|cheers|tack på förhand|takk)\b[,.!]?",
    re.IGNORECASE,
)
_NAME_WORD = re.compile(r"^[^\W\d_][^\W\d_'’.-]*(?:[-'’][^\W\d_]+)*\.?$")


def _looks_like_person(name: str) -> bool:
    words = name.split()
    if not 1 <= len(words) <= 4 or "@" in name:
        return False
    if not all(_NAME_WORD.match(word) for word in words):
        return False
    lowered = {word.lower().strip(".") for word in words}
    if lowered & _ROLE_WORDS or lowered & _ORG_WORDS:
        return False
    if name.isupper() and (len(words) == 1 or all(len(word) <= 4 for word in words)):
        return False  # "HSB", "ICA AB": acronyms are organisations
    return all(word[0].isupper() for word in words)


def _tidy(name: str) -> str:
    name = " ".join(name.replace('"', " ").split()).strip(" ,")
    if name.count(",") == 1:  # Outlook's "Andersson, Anna"
        last, first = (part.strip() for part in name.split(","))
        name = f"{first} {last}"
    return name


def _as_person(candidate: str) -> str | None:
    name = _tidy(candidate)
    if not _looks_like_person(name):
        return None
    return name.title() if name.isupper() else name  # "ANNA ANDERSSON" -> "Anna Andersson"


_NAME_LABEL = re.compile(
    r"^[ \t]*(?:namn|ditt namn|fullständigt namn|navn|ditt navn|fullt navn|name|your name|"
    r"full name)[ \t]*[:：][ \t]*(\S.*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)


def guess_name(mail: ParsedEmail, contact: str | None = None) -> str | None:
    """The complainant's name: the display name of the address the case is filed under
    (``contact``; From when not given) if it is a person's — a web form's relay name is
    not the citizen's — else a labelled "Namn:" / "Navn:" / "Name:" line of a form, else the
    line signed under a closing such as "Med vänlig hälsning" or "Mvh"."""
    from_is_contact = contact is None or (mail.from_address or "").lower() == contact.lower()
    if from_is_contact and mail.from_name and (name := _as_person(mail.from_name)):
        return name
    reply_is_contact = (
        contact is not None and (mail.reply_to_address or "").lower() == contact.lower()
    )
    if reply_is_contact and mail.reply_to_name and (name := _as_person(mail.reply_to_name)):
        return name
    for labelled in _NAME_LABEL.finditer(mail.body_text[:20_000]):
        if name := _as_person(labelled.group(1)):
            return name
    lines = [line.strip() for line in mail.summary_text.splitlines()]
    for index, line in enumerate(lines):
        match = _CLOSING.match(line)
        if not match:
            continue
        rest = line[match.end() :].strip(" ,.!-/")
        following = [rest] if rest else []
        following += [later for later in lines[index + 1 : index + 4] if later][:1]
        for candidate in following:
            if name := _as_person(candidate):
                return name
    return None


# --------------------------------------------------------------------------- serious


def own_words(mail: ParsedEmail) -> str:
    """What the sender wrote now: the subject and the body without quoted replies,
    forwarded messages, signatures or attachments (empty if they wrote nothing)."""
    return f"{mail.subject}\n{strip_quotes_and_signature(mail.body_text, whole_if_empty=False)}"


def serious_keywords_in(text: str, keywords: Collection[str]) -> list[str]:
    """The configured keywords that appear in ``text`` as whole words (any case)."""
    low = text.lower()
    return [
        word
        for word in keywords
        if word.strip() and re.search(rf"(?<!\w){re.escape(word.lower())}(?!\w)", low)
    ]


def is_serious(text: str, keywords: tuple[str, ...]) -> bool:
    """A keyword from the configured list appears as a word (case-insensitive)."""
    return bool(serious_keywords_in(text, keywords))


def phone_region(language: str, country: str) -> str:
    """Numbers without a country code are read as the writer's country: a Norwegian
    writing to a Swedish municipality most likely gives a Norwegian number."""
    return {"sv": "SE", "nb": "NO", "nn": "NO"}.get(language, country)


def summarise(text: str, limit: int = 600) -> str:
    """A short, redacted summary for staff: national ID numbers never leave masked."""
    s = " ".join(redact(text).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"
