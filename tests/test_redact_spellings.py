"""Every way a person or a mail client spells a valid identity number is masked.

The numbers are generated with their checksums (personnummer, samordningsnummer,
fødselsnummer, D-number), then written with the separators, invisible characters,
line wraps, glued prefixes and fullwidth digits that turn up in real complaints.
The surrounding words carry no digits, so "no digit is left" means "nothing of the
number survived", while the words around it must come through unchanged.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.redact import MASK, find_national_ids, luhn_ok, no_control_digits_ok, redact

DASHES = ["-", "\u2013", "\u2014", "\u2212", "\u2011", "\u2012", "\u2010", "\ufe63", "\uff0d"]
SPACES = [" ", "\u00a0", "\u202f", "\u2009", "\u2007", "\u3000", "\t"]
INVISIBLE = [
    "\u200b",
    "\u200c",
    "\u200d",
    "\u2060",
    "\u00ad",
    "\ufeff",
    "\u200e",
    "\u200f",
    "\u202a",
    "\u202c",
    "\u2066",
    "\u2069",
    "\u034f",
]
WRAPS = ["\n", "\r\n", "\n> ", "\r\n> ", "\n>> ", "\n> > ", " \n", "\u2028"]
PREFIXES = [
    "",
    "pnr ",
    "pnr-",
    "pnr:",
    "pnr.",
    "personnr",
    "personnr: ",
    "fnr.",
    "fnr ",
    "fødselsnr",
    "fødselsnummer: ",
    "nr",
    "ID:",
    "(",
    "\u00bb",
    "p-nr ",
    "d-nr:",
]


@st.composite
def swedish(draw: st.DrawFn) -> tuple[str, ...]:
    """A valid personnummer or samordningsnummer as its parts: century, yy, mm, dd, serial."""
    year = draw(st.integers(1900, 2025))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 60]))
    serial = draw(st.integers(0, 999))
    body = f"{year % 100:02}{month:02}{day:02}{serial:03}"
    check = next(d for d in range(10) if luhn_ok(f"{body}{d}"))
    century = draw(st.sampled_from(["", str(year // 100)]))
    return (century, body[:2], body[2:4], body[4:6], f"{body[6:]}{check}")


@st.composite
def norwegian(draw: st.DrawFn) -> tuple[str, ...]:
    """A valid fødselsnummer or D-number as its parts: dd, mm, yy, individual number + control."""
    while True:
        day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 40]))
        month = draw(st.integers(1, 12))
        stem = f"{day:02}{month:02}{draw(st.integers(0, 99)):02}{draw(st.integers(0, 999)):03}"
        for k1 in range(10):
            for k2 in range(10):
                if no_control_digits_ok(f"{stem}{k1}{k2}"):
                    return ("", stem[:2], stem[2:4], stem[4:6], f"{stem[6:]}{k1}{k2}")


def _fullwidth(char: str) -> str:
    return chr(ord(char) - ord("0") + 0xFF10) if char.isdigit() else char


@st.composite
def spelled(draw: st.DrawFn) -> str:
    """One valid number, spelled as a person or a mail client might."""
    century, a, b, c, serial = draw(st.one_of(swedish(), norwegian()))
    date_sep = draw(st.sampled_from(["", "", " ", ".", "-", "\u2013", "\u00a0"]))
    main_sep = draw(
        st.sampled_from(
            ["", "-", " - ", " ", "."] + DASHES + SPACES + [f" {d} " for d in DASHES[:3]]
        )
    )
    if century and draw(st.booleans()):
        main_sep = "+" if not date_sep else main_sep  # over a hundred years old (10 digits)
        century = "" if main_sep == "+" else century
    serial_parts = [serial]
    if draw(st.booleans()):  # "12 34", "123 45"
        serial_parts = [serial[: len(serial) - 2], serial[len(serial) - 2 :]]
    serial_sep = draw(st.sampled_from([" ", "", "\u00a0"]))
    pieces = [century + a, date_sep, b, date_sep, c, main_sep, serial_sep.join(serial_parts)]
    text = "".join(pieces)
    chars = list(text)
    # invisible characters anywhere inside the number
    for _ in range(draw(st.integers(0, 3))):
        where = draw(st.integers(1, len(chars) - 1))
        chars.insert(where, draw(st.sampled_from(INVISIBLE)))
    # a line wrap at a space or separator, or (rarely) between two digits
    if draw(st.booleans()):
        spots = [i for i, ch in enumerate(chars) if not ch.isdigit() and 0 < i < len(chars) - 1]
        at_separator = draw(st.booleans())
        if spots and at_separator:
            where = draw(st.sampled_from(spots))
            chars[where] = chars[where].strip() + draw(st.sampled_from(WRAPS))
        else:
            digits_at = [i for i, ch in enumerate(chars) if ch.isdigit()]
            where = draw(st.sampled_from(digits_at[5:-1] or digits_at[1:]))
            chars.insert(where, draw(st.sampled_from(WRAPS)))
    if draw(st.integers(0, 3)) == 0:
        chars = [_fullwidth(ch) for ch in chars]
    return draw(st.sampled_from(PREFIXES)) + "".join(chars)


WORDS = st.sampled_from(
    ["Hej, mitt nummer är ", "Min mor ", "> Skrev: ", "", "Fnr: ", "Gjelder sønnen min, "]
)
ENDS = st.sampled_from(["", ".", ", tack.", "\nMvh Anna", " og takk", "\u200b"])


@settings(max_examples=1500, deadline=None)
@given(WORDS, spelled(), ENDS)
def test_no_spelling_of_a_valid_number_survives(before: str, number: str, after: str) -> None:
    masked = redact(before + number + after)

    assert not any(ch.isdigit() for ch in masked), (before + number + after, masked)
    assert MASK in masked
    assert masked.startswith(before) and masked.endswith(after)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(WORDS, spelled()), min_size=1, max_size=4), ENDS)
def test_several_numbers_in_one_text_are_all_masked(
    pieces: list[tuple[str, str]], end: str
) -> None:
    text = "".join(f"{words}{number} " for words, number in pieces) + end
    masked = redact(text)

    assert not any(ch.isdigit() for ch in masked)
    assert find_national_ids(masked) == []


@pytest.mark.parametrize(
    "text",
    [
        "Hej! Min mamma har pnr 19340512–1234 och bor i Malmö.",
        "Personnummer: 340512\u200b-1234",
        "fødselsnr.\u00a002016126007",
        "Han heter Per, fnr 020161\u202f26007.",
        "Mitt personnummer är 19340512-\n> 1234 och jag vill ha svar.",
        "> > min fars nr är 1934 05 12\n> > 1234",
        "pnr-3405121234",
        "Samordningsnummer 19811278 \u2013 9873",
        "d-nr:42016126009",
        "\u202e19340512-1234\u202c",
        "Personnummer １９３４０５１２－１２３４",
        "34.05.12-1234",
    ],
)
def test_the_spellings_from_the_issue_are_masked(text: str) -> None:
    masked = redact(text)
    assert not any(ch.isdigit() for ch in masked), masked


@pytest.mark.parametrize(
    "text",
    [
        "Ring mig på 070-123 45 67 efter kl. 15.",
        "Mitt nummer: +46 70 123 45 67",
        "Tel. +46701234567 eller 08-123 456 78",
        "Telefon 0046 70 123 45 67",
        "Norsk mobil +47 412 34 567",
        "Ärende KL-2026-000123, svar före 2026-11-30.",
        "Fakturan på 1 250 000 kr betalades 2026-01-05.",
    ],
)
def test_phone_numbers_references_and_dates_survive(text: str) -> None:
    assert redact(text) == text


def test_only_the_number_changes() -> None:
    text = "Hej!\u00a0Min mor\u200b (pnr 19340512\u20131234) bor\nkvar > hemma."
    assert redact(text) == "Hej!\u00a0Min mor\u200b (pnr [ID-nummer]) bor\nkvar > hemma."
