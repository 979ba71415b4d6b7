"""Masking of national identity numbers, email addresses and phone numbers.

Complaints often contain a Swedish personnummer or a Norwegian fødselsnummer
("my mother, 19340512-1234, ..."). They must never reach Slack or a log in
clear, whoever typed them and however they are spelled, so :func:`redact`
masks *every* number shaped like one, whether or not its checksum holds: a
mistyped number is still personal data. The checksum decides the label
(``valid``) that :func:`find_national_ids` reports, and, for numbers written
in several pieces, whether an unusual grouping still counts (see below).

Matching runs on a *normalised* copy of the text, and the masks are put back
into the original (positions are mapped back), so everything around a number
is left exactly as it was. Normalising means:

* every Unicode dash (en/em dash, minus sign, non-breaking hyphen, figure
  dash...) reads as ``-``, every space (NBSP, narrow NBSP, thin space...) as
  a space, fullwidth and other Unicode digits as ASCII digits;
* invisible characters (zero-width space/joiners, word joiner, soft hyphen,
  BOM, bidi marks, combining marks, control characters) are dropped;
* a line break, with any quote markers after it (``> ``, ``>> ``), is a
  separator like a space, so a number wrapped over two lines is one number.

Then the text is cut into *digit runs*: digit groups joined by short
separators (spaces, ``-``, ``.``, ``+``, a line break). Any consecutive groups
of a run with 10, 11 or 12 digits in all are a candidate:

* Swedish personnummer / samordningsnummer: ``YYMMDDNNNN`` or
  ``YYYYMMDDNNNN`` (century 19 or 20), month 01-12, day 01-91 (samordnings-
  nummer add 60 to the day).
* Norwegian fødselsnummer, D-number (day + 40), H-number (month + 40):
  ``DDMMYYIIIKK``, day 01-71, month 01-12 or 41-52.

A candidate in one piece is masked whenever it has the shape, with one
exception because it is how people write phone numbers: ten digits that start
with ``0`` and fail the Luhn check (``0701234567``). A candidate in several
pieces is masked when it has the shape and either its checksum holds or it is
split where identity numbers are split (before the last four digits, or the
last five for a Norwegian number). Phone numbers stay readable, because staff
need them for the call-back: a run that follows ``+``; pieces led by ``00``
and a country code (``0046 ...``) whose checksum fails; ten digits in pieces
led by a 2-4 digit group starting with ``0`` (an area code: ``070-123 45
67``), unless the pieces are exactly the date parts and the serial (``05 03
12-1234``), or the checksum holds and the pieces are pairs (``05 03 12 12 34``).

Letters or punctuation glued in front (``pnr-``, ``fnr.``, ``personnr:``)
do not protect a number; case references (``KL-2026-000123``) and dates
(``2026-11-23``) have no identity-number shape and stay.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Literal

IdKind = Literal[
    "se_personnummer",
    "se_samordningsnummer",
    "no_fodselsnummer",
    "no_d_number",
    "no_h_number",
    "unknown",
]

MASK = "[ID-nummer]"

_SE_SHAPE = re.compile(
    r"(?P<century>19|20)?(?P<yy>\d{2})(?P<mm>0[1-9]|1[0-2])(?P<dd>[0-8]\d|9[01])"
    r"(?P<serial>\d{3})(?P<check>\d)"
)
_NO_SHAPE = re.compile(
    r"(?P<dd>[0-6]\d|7[01])(?P<mm>0[1-9]|1[0-2]|4[1-9]|5[0-2])(?P<yy>\d{2})"
    r"(?P<individual>\d{3})(?P<k1>\d)(?P<k2>\d)"
)
# Digit groups joined by short separators; a line break may carry quote markers.
_SEP = r"(?:[ \-.+]{1,5}|[ \-.+]{0,4}\n[ >]{0,8}[ \-.+]{0,4})"
_RUN = re.compile(r"\d+(?:" + _SEP + r"\d+)*")
_GROUP = re.compile(r"\d+")
_PLUS = re.compile(r"\+ *")

# Dashes that are not in Unicode's "Pd" category but are used as one.
_EXTRA_DASHES = frozenset("\u2212\u02d7\u2796\u2043")

_NO_K1_WEIGHTS = (3, 7, 6, 1, 8, 9, 4, 5, 2, 1)
_NO_K2_WEIGHTS = (5, 4, 3, 2, 7, 6, 5, 4, 3, 2, 1)
_DAYS_IN_MONTH = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)  # leap-tolerant


@dataclass(frozen=True)
class NationalId:
    """One number in a text that is shaped like a national identity number."""

    text: str
    start: int
    end: int
    kind: IdKind
    valid: bool
    separated: bool  # written with a separator or a century: unmistakably an ID


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check used by Swedish personnummer, over all digits given."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def no_control_digits_ok(digits: str) -> bool:
    """Both Norwegian mod-11 control digits of an eleven-digit number hold.

    From 1 January 2032 Skatteetaten issues numbers whose first control digit
    may leave a remainder of 0, 1, 2 or 3 (instead of only 0) in the weighted
    mod-11 sum; the second control digit is unchanged. Both generations stay
    in use, so both are accepted.
    """
    values = [int(char) for char in digits]
    k1_remainder = sum(w * v for w, v in zip(_NO_K1_WEIGHTS, values[:10], strict=True)) % 11
    k2_remainder = sum(w * v for w, v in zip(_NO_K2_WEIGHTS, values, strict=True)) % 11
    return k1_remainder in (0, 1, 2, 3) and k2_remainder == 0


def _plausible_day(day: int, month: int) -> bool:
    return 1 <= month <= 12 and 1 <= day <= _DAYS_IN_MONTH[month - 1]


# --- normalising ------------------------------------------------------------


def _normal_char(char: str) -> str:
    """What ``char`` reads as for matching; "" for a character nobody sees."""
    if char.isascii():
        if char == "\n" or " " <= char <= "~":
            return char
        return " " if char == "\t" else ("\n" if char in "\v\f" else "")
    category = unicodedata.category(char)
    if category in ("Cf", "Mn", "Me", "Cc", "Cs", "Co"):
        return "\n" if char == "\x85" else ""
    digit = unicodedata.digit(char, None)
    if digit is not None:
        return str(digit)
    if category == "Pd" or char in _EXTRA_DASHES:
        return "-"
    if category == "Zs":
        return " "
    if category in ("Zl", "Zp"):
        return "\n"
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


# What each character seen reads as ("" to drop it; the CR of a CRLF is dropped before this),
# every character seen, and those dropped: filled as characters come, bounded.
_TRANSLATION: dict[int, str] = {ord("\r"): "\n"}
_SEEN: set[str] = {"\r"}
_DROPPED: set[str] = set()
_ASCII_CHANGED = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")  # ASCII that is not itself


def _table(chars: set[str]) -> tuple[dict[int, str], set[str]]:
    """A translation table that covers every character in ``chars``, and those it drops."""
    new = chars - _SEEN
    if len(_SEEN) + len(new) > 20_000:  # the shared table stays bounded: a private one then
        table = {ord(c): "\n" if c == "\r" else _normal_char(c) for c in chars}
        return table, {char for char in chars if not table[ord(char)]}
    for char in new:
        _TRANSLATION[ord(char)] = normal = _normal_char(char)
        if not normal:
            _DROPPED.add(char)
        _SEEN.add(char)
    return _TRANSLATION, chars & _DROPPED


def normalise(text: str) -> tuple[str, Sequence[int]]:
    """The text as matched, and for each of its characters the index it came from (every
    character reads as one or none: the same index where none is dropped, most often)."""
    if text.isascii() and not _ASCII_CHANGED.search(text):
        return text, range(len(text))
    table, dropped = _table(set(text))
    if not dropped and "\r\n" not in text:
        return text.translate(table), range(len(text))
    dropping = "[" + re.escape("".join(sorted(dropped))) + "]+|" if dropped else ""
    gaps = re.compile(dropping + r"\r(?=\n)")
    origin: list[int] = []
    position = 0
    for gap in gaps.finditer(text):
        origin += range(position, gap.start())
        position = gap.end()
    origin += range(position, len(text))
    return gaps.sub("", text).translate(table), origin


# --- matching ---------------------------------------------------------------


def _se_kind(match: re.Match[str]) -> IdKind:
    day, month = int(match["dd"]), int(match["mm"])
    if _plausible_day(day, month):
        return "se_personnummer"
    if _plausible_day(day - 60, month):
        return "se_samordningsnummer"
    return "unknown"


def _no_kind(match: re.Match[str]) -> IdKind:
    day, month = int(match["dd"]), int(match["mm"])
    if _plausible_day(day, month):
        return "no_fodselsnummer"
    if _plausible_day(day - 40, month):
        return "no_d_number"
    if _plausible_day(day, month - 40):
        return "no_h_number"
    return "unknown"


@dataclass(frozen=True)
class _Shape:
    kind: IdKind
    valid: bool
    serial_digits: int  # 4 (Swedish) or 5 (Norwegian): where an ID is usually split
    century: bool


def _shape(digits: str) -> _Shape | None:
    """The identity number ``digits`` (10-12 digits, nothing else) is shaped like, if any."""
    if len(digits) in (10, 12):
        match = _SE_SHAPE.fullmatch(digits)
        if match and bool(match["century"]) == (len(digits) == 12):
            kind = _se_kind(match)
            return _Shape(
                kind, luhn_ok(digits[-10:]) and kind != "unknown", 4, bool(match["century"])
            )
    elif len(digits) == 11:
        match = _NO_SHAPE.fullmatch(digits)
        if match:
            kind = _no_kind(match)
            return _Shape(kind, no_control_digits_ok(digits) and kind != "unknown", 5, False)
    return None


def _masks(shape: _Shape, groups: list[str], wraps: list[bool], phone_led: bool) -> bool:
    """Whether a candidate of these digit ``groups`` (one or more) is an identity number.

    ``wraps[k]`` tells whether groups ``k`` and ``k + 1`` are joined by a line break.
    """
    digits = "".join(groups)
    if len(groups) == 1:
        # "0701234567" is a phone number unless its checksum says otherwise.
        return not (len(digits) == 10 and digits.startswith("0") and not shape.valid)
    if phone_led:
        return False
    cuts = {sum(len(g) for g in groups[:k]) for k in range(1, len(groups))}
    serial_cut = len(digits) - shape.serial_digits
    # Where the writer put spaces or dashes; a line break is the mail client's doing.
    typed_cuts = {cut for cut, wrap in zip(sorted(cuts), wraps, strict=True) if not wrap}
    first = len(digits) if not typed_cuts else min(typed_cuts)
    if len(digits) == 10 and digits.startswith("0") and first <= 4:
        # An area code (070-123 45 67) unless the pieces are the date parts and the serial.
        if serial_cut in typed_cuts and typed_cuts <= {2, 4, serial_cut}:
            return True
        return shape.valid and typed_cuts <= {2, 4, 6, 8}
    return shape.valid or serial_cut in cuts


def _candidates(normal: str) -> list[tuple[int, int, _Shape, bool]]:
    """(start, end, shape, separated) in ``normal`` for every candidate that is masked."""
    found: list[tuple[int, int, _Shape, bool]] = []
    plus_ends = {plus.end() for plus in _PLUS.finditer(normal)}  # where a run follows "+ "
    for run in _RUN.finditer(normal):
        groups = list(_GROUP.finditer(normal, run.start(), run.end()))
        wraps = ["\n" in normal[a.end() : b.start()] for a, b in pairwise(groups)]
        plus_led = run.start() in plus_ends
        for i in range(len(groups)):
            total = 0
            for j in range(i, len(groups)):
                total += len(groups[j].group())
                if total > 12:
                    break
                if total < 10:
                    continue
                texts = [g.group() for g in groups[i : j + 1]]
                shape = _shape("".join(texts))
                if shape is None:
                    continue
                if i == 0 and plus_led and j == i:
                    continue  # +4670...: an international phone number
                # +46 70..., or 0046 70... unless the checksum says it is an ID after all
                phone_led = (i == 0 and plus_led) or (
                    texts[0].startswith("00") and 3 <= len(texts[0]) <= 5 and not shape.valid
                )
                if _masks(shape, texts, wraps[i:j], phone_led):
                    separated = j > i or shape.century
                    found.append((groups[i].start(), groups[j].end(), shape, separated))
    return found


def find_national_ids(text: str) -> list[NationalId]:
    """Every number in ``text`` shaped like a Swedish or Norwegian identity number.

    Positions and ``text`` refer to the original ``text`` (from the first digit
    to the last, invisible characters and separators in between included).
    Ordered by position; overlapping candidates are resolved in favour of one
    whose checksum holds, then the one that starts first, then the longer one.
    """
    normal, origin = normalise(text)
    candidates = _candidates(normal)
    candidates.sort(key=lambda c: (not c[2].valid, c[0], -(c[1] - c[0])))
    chosen: list[tuple[int, int, _Shape, bool]] = []
    for candidate in candidates:
        if any(candidate[0] < end and start < candidate[1] for start, end, _, _ in chosen):
            continue
        chosen.append(candidate)
    result: list[NationalId] = []
    for start, end, shape, separated in sorted(chosen, key=lambda c: c[0]):
        first, last = origin[start], origin[end - 1] + 1
        result.append(
            NationalId(
                text=text[first:last],
                start=first,
                end=last,
                kind=shape.kind,
                valid=shape.valid,
                separated=separated,
            )
        )
    return result


def redact(text: str) -> str:
    """``text`` with every identity-number-shaped match replaced by ``[ID-nummer]``.

    Only the numbers change; every other character of ``text`` stays as it
    was. Masking repeats until nothing is left, because replacing one number
    can glue its neighbours into a new candidate only in contrived input; the
    loop makes the guarantee unconditional.
    """
    for _ in range(10):
        found = find_national_ids(text)
        if not found:
            return text
        parts: list[str] = []
        position = 0
        for national_id in found:
            parts.append(text[position : national_id.start])
            parts.append(MASK)
            position = national_id.end
        parts.append(text[position:])
        text = "".join(parts)
    return text


def redact_tree(value: Any, keep: frozenset[str] = frozenset()) -> Any:
    """A copy of a JSON-like ``value`` with every string in it redacted.

    Values under a key in ``keep`` (ids, timestamps, URLs: where digits are
    data, not text) are left as they are. A string that holds a JSON object or
    array (Slack's form-encoded ``blocks``, ``view`` and ``files``) is walked
    as JSON and encoded again, so escaped characters cannot hide a number.
    """
    if isinstance(value, str):
        stripped = value.lstrip()
        if stripped[:1] in ("{", "["):
            try:
                decoded = json.loads(value)
            except ValueError:
                decoded = None
            if isinstance(decoded, dict | list):
                return json.dumps(redact_tree(decoded, keep), ensure_ascii=False)
        return redact(value)
    if isinstance(value, Mapping):
        return {
            key: item if key in keep else redact_tree(item, keep) for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_tree(item, keep) for item in value]
    return value


def redact_email_address(address: str) -> str:
    """An address safe for logs: ``anna.andersson@example.org`` -> ``a***@example.org``."""
    local, at, domain = address.rpartition("@")
    if not at:
        return "***"
    return f"{local[:1]}***@{domain}"


def redact_phone(e164: str) -> str:
    """A phone number safe for logs: ``+46701234567`` -> ``+4670***4567``."""
    if len(e164) >= 10:
        return f"{e164[:5]}***{e164[-4:]}"
    return f"{e164[:3]}***{e164[-2:]}" if len(e164) > 5 else "***"
