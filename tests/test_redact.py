"""National identity numbers never leave the bot in clear."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.redact import (
    MASK,
    find_national_ids,
    luhn_ok,
    no_control_digits_ok,
    redact,
    redact_email_address,
    redact_phone,
)


@pytest.mark.parametrize(
    ("text", "kind", "valid"),
    [
        ("19811218-9876", "se_personnummer", True),
        ("811218-9876", "se_personnummer", True),
        ("198112189876", "se_personnummer", True),
        ("8112189876", "se_personnummer", True),
        ("811218+9876", "se_personnummer", True),  # "+" : older than 100 years
        ("811218 9876", "se_personnummer", True),
        ("811218-9875", "se_personnummer", False),  # mistyped: still masked
        ("19811278-9873", "se_samordningsnummer", True),  # day 18 + 60
        ("19811278-9872", "se_samordningsnummer", False),
        ("19810232-1234", "unknown", False),  # day 32 exists in neither kind
        ("02016126007", "no_fodselsnummer", True),
        ("020161 26007", "no_fodselsnummer", True),
        ("02016126008", "no_fodselsnummer", False),
        ("42016126009", "no_d_number", True),  # day 02 + 40
        ("02416126006", "no_h_number", True),  # month 01 + 40
        ("30108299939", "no_fodselsnummer", True),  # issued after 2032: k1 remainder 1
        ("02013299997", "no_fodselsnummer", True),
    ],
)
def test_kinds_and_checksums(text: str, kind: str, valid: bool) -> None:
    (found,) = find_national_ids(f"Mitt nummer är {text}, tack.")
    assert (found.text, found.kind, found.valid) == (text, kind, valid)
    assert redact(f"Mitt nummer är {text}, tack.") == f"Mitt nummer är {MASK}, tack."


def test_the_2032_rule_allows_four_first_control_digits() -> None:
    # Born 30.10.1982, individual number 999 (Skatteetaten's worked example):
    # today's rule gives k1 = 2; from 2032 k1 may be 2, 3, 4 or 5 (remainder 0-3),
    # each with its own k2, and a k1 of 10 or k2 of 10 is never issued.
    valid = [
        f"301082999{k1}{k2}"
        for k1 in range(10)
        for k2 in range(10)
        if no_control_digits_ok(f"301082999{k1}{k2}")
    ]
    assert "30108299920" in valid  # today's rule
    assert "30108299939" in valid  # from 2032
    assert {number[9] for number in valid} <= {"2", "3", "4", "5"}
    assert len(valid) == len({number[9] for number in valid})  # one k2 per k1


def test_luhn() -> None:
    assert luhn_ok("8112189876")
    assert not luhn_ok("8112189875")


def test_every_id_in_a_complaint_is_masked() -> None:
    text = (
        "Min mamma (19340512-1234) och pappa 340512-1235 bor hos oss. "
        "Sønnen min har fødselsnummer 02016126007.\n"
    )
    masked = redact(text)
    assert masked.count(MASK) == 3
    assert "1234" not in masked
    assert "02016126007" not in masked


@pytest.mark.parametrize(
    "text",
    [
        "Ärende KL-2026-000123 gäller er.",
        "Det hände 2026-11-23 och 2026-01-05.",
        "Fakturan var på 1 250 000 kr, nummer 20261123.",
        "Ring 070-123 45 67 eller 0701234567 eller +46 70 123 45 67.",
        "Norsk telefon 912 34 567 eller +47 22 12 34 56.",
        "Organisationsnummer 212000-1355.",
        "OCR 1234567890123, konto 1234.56.78903.",
        "Kl. 09:12:33, rum 4, version 2.0.1.",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == text
    assert find_national_ids(text) == []


def test_redact_email_address() -> None:
    assert redact_email_address("anna.andersson@example.org") == "a***@example.org"
    assert redact_email_address("not an address") == "***"


def test_redact_phone() -> None:
    assert redact_phone("+46701234567") == "+4670***4567"
    assert "1234" not in redact_phone("+4612345")


# --------------------------------------------------------------------------- properties


@st.composite
def swedish_ids(draw: st.DrawFn) -> str:
    year = draw(st.integers(1900, 2025))
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28)) + draw(st.sampled_from([0, 60]))
    serial = draw(st.integers(0, 999))
    body = f"{year % 100:02}{month:02}{day:02}{serial:03}"
    check = next(d for d in range(10) if luhn_ok(f"{body}{d}"))
    separator = draw(st.sampled_from(["", "-", "+", " "]))
    century = draw(st.sampled_from(["", str(year // 100)]))
    return f"{century}{body[:6]}{separator}{body[6:]}{check}"


@st.composite
def norwegian_ids(draw: st.DrawFn) -> str:
    while True:
        # a fødselsnummer, a D-number (day + 40) or an H-number (month + 40)
        day_offset, month_offset = draw(st.sampled_from([(0, 0), (40, 0), (0, 40)]))
        day = draw(st.integers(1, 28)) + day_offset
        month = draw(st.integers(1, 12)) + month_offset
        stem = f"{day:02}{month:02}{draw(st.integers(0, 99)):02}{draw(st.integers(0, 999)):03}"
        for k1 in range(10):
            for k2 in range(10):
                if no_control_digits_ok(f"{stem}{k1}{k2}"):
                    return f"{stem}{k1}{k2}"
        # no valid control digits for this stem: draw another


_filler = st.text(alphabet=st.sampled_from(list("abc åäö ÆØ.,:;()-+/\n0123456789")), max_size=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_filler, st.one_of(swedish_ids(), norwegian_ids())), max_size=4), _filler)
def test_redacted_text_never_contains_a_valid_id(pieces: list[tuple[str, str]], tail: str) -> None:
    text = "".join(filler + national_id for filler, national_id in pieces) + tail
    masked = redact(text)
    assert not any(found.valid for found in find_national_ids(masked))
    assert find_national_ids(masked) == []


@settings(max_examples=200, deadline=None)
@given(st.one_of(swedish_ids(), norwegian_ids()), st.sampled_from([" ", "\n", ", ", "(", ": "]))
def test_a_valid_id_between_words_is_always_found(national_id: str, gap: str) -> None:
    found = find_national_ids(f"Nummer{gap}{national_id}{gap}tack")
    assert [f.valid for f in found] == [True]
    assert national_id not in redact(f"Nummer{gap}{national_id}{gap}tack")
