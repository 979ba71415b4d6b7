"""Masking of national identity numbers, email addresses and phone numbers.

Complaints often contain a Swedish personnummer or a Norwegian fødselsnummer
("my mother, 19340512-1234, ..."). They must never reach Slack or a log in
clear, so :func:`redact` masks *every* number shaped like one, whether or not
its checksum holds: a mistyped number is still personal data. The checksum
only decides the label (``valid``) that :func:`find_national_ids` reports.

What counts as "shaped like one":

* Swedish personnummer / samordningsnummer: ``YYMMDD`` or ``YYYYMMDD``
  (century 19 or 20), an optional separator (``-``, ``+`` or one space), then
  four digits. The month must be 01-12 and the day 01-91 (samordningsnummer add
  60 to the day). One exception, because it is how people write phone numbers:
  an unseparated ten-digit run that starts with ``0`` and fails the Luhn check
  is a phone number (``0701234567``), not an identity number.
* Norwegian fødselsnummer, D-number (day + 40), H-number (month + 40):
  eleven digits ``DDMMYYIIIKK``, optionally split after the date by one space
  or ``-``. Day 01-71, month 01-12 or 41-52.

The digits must not be glued to other digits, letters or hyphens, so case
references (``KL-2026-000123``), dates (``2026-11-23``) and amounts are left
alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

IdKind = Literal[
    "se_personnummer",
    "se_samordningsnummer",
    "no_fodselsnummer",
    "no_d_number",
    "no_h_number",
    "unknown",
]

MASK = "[ID-nummer]"

# Not glued to other digits, nor hyphen-joined to a word or number on either
# side (KL-..., 2026-11-...), so references and dates stay whole.
_LEFT = r"(?<!\d)(?<!\w-)"
_RIGHT = r"(?!\d)(?!-\d)"

_SE_PATTERN = re.compile(
    _LEFT
    + r"(?P<century>19|20)?(?P<yy>\d{2})(?P<mm>0[1-9]|1[0-2])(?P<dd>[0-8]\d|9[01])"
    + r"(?P<sep>[-+ ]?)(?P<serial>\d{3})(?P<check>\d)"
    + _RIGHT
)
_NO_PATTERN = re.compile(
    _LEFT
    + r"(?P<dd>[0-6]\d|7[01])(?P<mm>0[1-9]|1[0-2]|4[1-9]|5[0-2])(?P<yy>\d{2})"
    + r"(?P<sep>[- ]?)(?P<individual>\d{3})(?P<k1>\d)(?P<k2>\d)"
    + _RIGHT
)

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


def _swedish(match: re.Match[str]) -> NationalId | None:
    digits10 = match["yy"] + match["mm"] + match["dd"] + match["serial"] + match["check"]
    separated = bool(match["sep"]) or bool(match["century"])
    checksum = luhn_ok(digits10)
    if not separated and digits10.startswith("0") and not checksum:
        return None  # a phone number written as 07xxxxxxxx, see the module docstring
    day, month = int(match["dd"]), int(match["mm"])
    kind: IdKind
    if _plausible_day(day, month):
        kind = "se_personnummer"
    elif _plausible_day(day - 60, month):
        kind = "se_samordningsnummer"
    else:
        kind = "unknown"
    return NationalId(
        text=match.group(0),
        start=match.start(),
        end=match.end(),
        kind=kind,
        valid=checksum and kind != "unknown",
        separated=separated,
    )


def _norwegian(match: re.Match[str]) -> NationalId:
    digits = re.sub(r"\D", "", match.group(0))
    day, month = int(match["dd"]), int(match["mm"])
    kind: IdKind
    if _plausible_day(day, month):
        kind = "no_fodselsnummer"
    elif _plausible_day(day - 40, month):
        kind = "no_d_number"
    elif _plausible_day(day, month - 40):
        kind = "no_h_number"
    else:
        kind = "unknown"
    return NationalId(
        text=match.group(0),
        start=match.start(),
        end=match.end(),
        kind=kind,
        valid=no_control_digits_ok(digits) and kind != "unknown",
        separated=bool(match["sep"]),
    )


def find_national_ids(text: str) -> list[NationalId]:
    """Every number in ``text`` shaped like a Swedish or Norwegian identity number.

    Ordered by position; overlapping candidates are resolved in favour of the
    one that starts first (then the longer one).
    """
    candidates: list[NationalId] = []
    for match in _SE_PATTERN.finditer(text):
        found = _swedish(match)
        if found is not None:
            candidates.append(found)
    candidates.extend(_norwegian(match) for match in _NO_PATTERN.finditer(text))
    candidates.sort(key=lambda found: (found.start, -(found.end - found.start)))
    result: list[NationalId] = []
    for found in candidates:
        if result and found.start < result[-1].end:
            continue
        result.append(found)
    return result


def redact(text: str) -> str:
    """``text`` with every identity-number-shaped match replaced by ``[ID-nummer]``.

    Masking repeats until nothing is left, because replacing one number can
    glue its neighbours into a new candidate only in contrived input; the loop
    makes the guarantee unconditional.
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
