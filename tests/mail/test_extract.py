"""Phone numbers, language and name found in a complaint."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.mail.extract import detect_language, find_phone_numbers, format_phone_national, guess_name
from bot.mail.parse import ParsedEmail, parse_email

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eml"
ORGANISATION_NUMBERS = ("08-123 456 78", "+47 22 12 34 56")


def load(name: str) -> ParsedEmail:
    return parse_email((FIXTURES / name).read_bytes())


def mail_from(from_header: str, body: str) -> ParsedEmail:
    return parse_email(f"From: {from_header}\nSubject: Klagomål\n\n{body}".encode())


# --------------------------------------------------------------------------- phones


@pytest.mark.parametrize(
    ("name", "region", "expected"),
    [
        ("sv_complaint_phone.eml", "SE", ["+46701234567"]),
        ("sv_complaint_no_phone.eml", "SE", []),
        ("nb_complaint_phone.eml", "NO", ["+4791234567"]),
        ("nn_complaint.eml", "NO", ["+4741234567"]),
        ("en_complaint.eml", "SE", ["+46735551234"]),
        ("outlook_reply_sv.eml", "SE", ["+46731234567"]),
        ("gmail_reply_en.eml", "SE", ["+46735551234"]),
        ("gmail_reply_nb.eml", "NO", ["+4791876543"]),
        ("html_only.eml", "SE", ["+46709876543"]),
        ("webform_reply_to.eml", "SE", ["+46765554433"]),
    ],
)
def test_phone_numbers_in_fixtures(name: str, region: str, expected: list[str]) -> None:
    mail = load(name)
    assert find_phone_numbers(mail.summary_text, region, ORGANISATION_NUMBERS) == expected


def test_quoted_organisation_number_is_only_excluded_via_summary_and_own_numbers() -> None:
    body = load("outlook_reply_sv.eml").body_text
    assert "+46812345678" in find_phone_numbers(body, "SE")
    assert "+46812345678" not in find_phone_numbers(body, "SE", ORGANISATION_NUMBERS)


def test_formats_are_normalised_and_deduplicated() -> None:
    text = "Ring 070-123 45 67, eller +46 70 123 45 67, eller 0046701234567 eller 0701234567."
    assert find_phone_numbers(text) == ["+46701234567"]


def test_mobiles_come_first() -> None:
    text = "Hemma 08-555 123 45, jobbet 031-712 34 56, mobil 073-987 65 43."
    numbers = find_phone_numbers(text)
    assert numbers[0] == "+46739876543"
    assert set(numbers[1:]) == {"+46855512345", "+46317123456"}


def test_invalid_numbers_are_ignored() -> None:
    assert find_phone_numbers("Ring 070-12 eller 123 456 eller 00000000000.") == []


@pytest.mark.parametrize("personnummer", ["070105-0007", "20070105-0007", "200701050007"])
def test_a_personnummer_is_not_a_phone_number(personnummer: str) -> None:
    # 070105-0007 is a valid personnummer that phonenumbers alone reads as +46701050007.
    assert find_phone_numbers(f"Mitt personnummer är {personnummer}.") == []


def test_personnummer_and_phone_side_by_side() -> None:
    text = "Pnr 19811218-9876, 811218-9876. Telefon 076-111 22 33. Ärende KL-2026-000123."
    assert find_phone_numbers(text) == ["+46761112233"]


def test_norwegian_fodselsnummer_is_not_a_phone_number() -> None:
    assert find_phone_numbers("Fødselsnummer 02016126007, tlf 912 34 567", "NO") == ["+4791234567"]


def test_format_phone_national() -> None:
    assert format_phone_national("+46701234567") == "070-123 45 67"
    assert format_phone_national("+46812345678") == "08-123 456 78"
    assert format_phone_national("not a number") == "not a number"


# --------------------------------------------------------------------------- language


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("sv_complaint_phone.eml", "sv"),
        ("sv_complaint_no_phone.eml", "sv"),
        ("html_only.eml", "sv"),
        ("nb_complaint_phone.eml", "nb"),
        ("wrong_charset_utf8_as_latin1.eml", "nb"),
        ("nn_complaint.eml", "nn"),
        ("en_complaint.eml", "en"),
    ],
)
def test_language_of_fixtures(name: str, language: str) -> None:
    assert detect_language(load(name).summary_text) == language


def test_danish_is_answered_in_bokmal() -> None:
    text = "Hej, jeg er meget utilfreds med hjemmeplejen, der ikke kom i tirsdags som aftalt."
    assert detect_language(text) == "nb"


@pytest.mark.parametrize("text", ["", "Hej", "OK tack!", "070-123 45 67"])
def test_short_text_gives_the_default(text: str) -> None:
    assert detect_language(text, default="nn") == "nn"


# --------------------------------------------------------------------------- name


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sv_complaint_phone.eml", "Anna Andersson"),
        ("sv_complaint_no_phone.eml", "Erik Karlsson"),  # Outlook's "Karlsson, Erik"
        ("nn_complaint.eml", "Kari Nordmann"),  # no display name: from the signature
        ("rfc2047_subject_name.eml", "Örjan Åström"),
        ("wrong_charset_utf8_as_latin1.eml", "Bjørn Sæther"),
        ("null_sender_autoreply.eml", None),  # "Registrator" is a role, not a person
    ],
)
def test_guess_name_in_fixtures(name: str, expected: str | None) -> None:
    assert guess_name(load(name)) == expected


@pytest.mark.parametrize(
    "display",
    ["info@example.se", "Info", "Kundservice", "HSB", "ICA AB", "Exempel kommun", "Postmottak"],
)
def test_display_names_that_are_not_people_fall_back_to_the_signature(display: str) -> None:
    mail = mail_from(f'"{display}" <a@example.se>', "Hej.\n\nMed vänlig hälsning\nLena Ek\n")
    assert guess_name(mail) == "Lena Ek"


def test_an_all_caps_personal_name_is_tidied() -> None:
    assert guess_name(mail_from('"ANNA ANDERSSON" <a@example.se>', "Hej.")) == "Anna Andersson"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("Hej.\n\nMvh\nLena Ek", "Lena Ek"),
        ("Hej.\n\nMvh Lena Ek", "Lena Ek"),
        ("Hei.\n\nVennlig hilsen\n\nPer Hansen\n", "Per Hansen"),
        ("Hei.\n\nHelsing\nKari Nordmann", "Kari Nordmann"),
        ("Hello.\n\nKind regards,\nJohn Smith", "John Smith"),
        ("Hej.\n\nMed vänliga hälsningar,\nKarl-Erik Öberg", "Karl-Erik Öberg"),
        ("Hej.\n\nMvh\n070-123 45 67", None),
        ("Hej, ingen underskrift här.", None),
    ],
)
def test_guess_name_from_signature(body: str, expected: str | None) -> None:
    assert guess_name(mail_from("<a@example.se>", body)) == expected


def test_a_name_in_a_quoted_reply_is_not_the_complainant() -> None:
    body = "Ring mig.\n\nOn Mon, 2 Mar 2026 at 09:13, X <x@example.org> wrote:\n> Mvh\n> Lena Ek\n"
    assert guess_name(mail_from("<a@example.se>", body)) is None


# --------------------------------------------------------------------------- references (issue 12)

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bot.mail.extract import mask_references, own_words, serious_keywords_in  # noqa: E402

_digits = st.text(alphabet="0123456789", min_size=3, max_size=7)
_reference = st.one_of(
    st.builds(
        lambda p, a, b: f"{p}-{a}-{b}",
        st.sampled_from(["REF", "KL", "ORD", "INV", "SE"]),
        _digits,
        _digits,
    ),
    st.builds(
        lambda w, a, b: f"{w} {a}-{b}",
        st.sampled_from(
            [
                "order",
                "Order",
                "ordernummer",
                "faktura",
                "Kundnummer:",
                "referens",
                "ärende",
                "saksnummer",
                "OCR",
            ]
        ),
        _digits,
        _digits,
    ),
    st.builds(
        lambda w, n: f"{w} {n}",
        st.sampled_from(["order", "faktura", "ocr", "ref"]),
        st.text(alphabet="0123456789", min_size=8, max_size=12),
    ),
    st.builds(
        lambda y, m, d: f"{y}-{m:02d}-{d:02d}",
        st.integers(2000, 2030),
        st.integers(1, 12),
        st.integers(1, 28),
    ),
    st.builds(
        lambda d, m, y: f"{d:02d}.{m:02d}.{y}",
        st.integers(1, 28),
        st.integers(1, 12),
        st.integers(2000, 2030),
    ),
    st.builds(lambda y, n: f"KL-{y}-{n:06d}", st.integers(2020, 2030), st.integers(0, 999999)),
    st.builds(
        lambda a, b, town: f"{a} {b:02d} {town}",
        st.integers(100, 999),
        st.integers(0, 99),
        st.sampled_from(["Stockholm", "Umeå", "Göteborg"]),
    ),
    st.builds(
        lambda a, town: f"{a:04d} {town}",
        st.integers(0, 9999),
        st.sampled_from(["Oslo", "Bergen", "Tromsø"]),
    ),
)


@settings(max_examples=300, deadline=None)
@given(_reference, st.sampled_from(["SE", "NO"]))
def test_reference_like_tokens_are_never_phone_numbers(reference: str, region: str) -> None:
    assert find_phone_numbers(f"Gäller {reference}, tack.", region) == []


@settings(max_examples=150, deadline=None)
@given(_reference)
def test_a_real_number_next_to_references_is_still_found(reference: str) -> None:
    text = f"Ärendet {reference}. Ring mig på 073-612 34 56 efter lunch."
    assert find_phone_numbers(text, "SE") == ["+46736123456"]


def test_mask_keeps_phone_numbers_with_phone_labels() -> None:
    text = "tel:0701234567, mobil 070-123 45 67, tlf. +47 912 34 567"
    assert mask_references(text) == text


def test_keywords_match_whole_words_of_the_given_list() -> None:
    assert serious_keywords_in("No hot water today", ("threat", "violence")) == []
    assert serious_keywords_in("Jag har fått hot", ("hot",)) == ["hot"]
    assert serious_keywords_in("hotellet var dyrt", ("hot",)) == []


def test_own_words_leave_out_quotes_and_forwarded_messages() -> None:
    mail = parse_email(
        "From: a@example.se\nSubject: Fwd: bussen\n\nSe nedan.\n\n"
        "---------- Forwarded message ---------\nFrom: x@example.se\n"
        "Hot och våld på bussen.\n".encode()
    )
    assert "våld" not in own_words(mail)
    only_forward = parse_email(
        b"From: a@example.se\nSubject: Fwd\n\nBegin forwarded message:\n\nHot!\n"
    )
    assert "Hot" not in own_words(only_forward)


@pytest.mark.parametrize(
    ("fixture", "contact", "name"),
    [
        ("webform_noreply_body_address.eml", "birgitta.lind@example.se", "Birgitta Lind"),
        ("webform_auto_generated.eml", "jonas.ek@example.se", "Jonas Ek"),
        ("webform_reply_to.eml", "helena.lund@example.se", "Helena Lund"),
    ],
)
def test_a_web_forms_relay_name_is_not_the_citizens(fixture: str, contact: str, name: str) -> None:
    mail = parse_email((Path(__file__).parent.parent / "fixtures" / "eml" / fixture).read_bytes())
    assert guess_name(mail, contact) == name
    assert mail.from_name and guess_name(mail, contact) != mail.from_name
