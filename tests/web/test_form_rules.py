"""The web form's pure rules: tokens, language, fields, client address, rate limits."""

from __future__ import annotations

import pytest

from bot.domain.web_form import (
    Attachment,
    Problem,
    RateLimiter,
    choose_language,
    client_address,
    filename_for,
    filled_too_fast,
    looks_like_status_token,
    new_form_token,
    read_fields,
    read_form_token,
    safe_filename,
    sniff_type,
    status_token_for,
    token_hash,
)
from bot.mail.extract import find_phone_numbers, phone_region

KEY = b"k" * 32
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100


def e164(text: str, lang: str) -> str | None:
    found = find_phone_numbers(text, region=phone_region(lang, "SE"))
    return found[0] if len(found) == 1 else None


def fields(**kw: str) -> object:
    return read_fields(
        {"message": "Ingen kom.", **kw},
        language="sv",
        max_message_chars=200,
        to_e164=e164,
        attachment_types=("image/png", "application/pdf"),
        max_attachment_bytes=1000,
    )


# --- tokens ----------------------------------------------------------------


def test_a_form_token_we_signed_is_read_back_with_its_time() -> None:
    raw = new_form_token(KEY, 1_800_000_000)
    token = read_form_token(KEY, raw, 1_800_000_005)
    assert token is not None and token.issued_at == 1_800_000_000
    assert len(token.key) == 64 and token.key != raw


@pytest.mark.parametrize(
    "mangle",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # signature
        lambda t: t.replace(".1800000000.", ".1799999000."),  # backdated to pass fill time
        lambda t: "v2" + t[2:],
        lambda t: "",
        lambda t: "garbage",
        lambda t: t + ".x",
    ],
)
def test_a_forged_or_altered_token_is_refused(mangle: object) -> None:
    raw = new_form_token(KEY, 1_800_000_000)
    assert read_form_token(KEY, mangle(raw), 1_800_000_010) is None  # type: ignore[operator]


def test_a_token_signed_with_another_key_or_from_the_future_is_refused() -> None:
    assert read_form_token(b"other" * 8, new_form_token(KEY, 1_800_000_000), 1_800_000_010) is None
    assert read_form_token(KEY, new_form_token(KEY, 1_800_000_500), 1_800_000_000) is None


def test_a_form_token_never_runs_out() -> None:
    # WCAG 2.2.1: no time limit. A form left open for a week still sends.
    raw = new_form_token(KEY, 1_800_000_000)
    assert read_form_token(KEY, raw, 1_800_000_000 + 7 * 86400) is not None


def test_the_fill_time_counts_the_token_s_second_against_the_sender() -> None:
    # Shown at …000.98, stamped …000: sent at …002.03, only 1.05 s later, not 2.03.
    token = read_form_token(KEY, new_form_token(KEY, 1_800_000_000.98), 1_800_000_002.03)
    assert token is not None
    assert filled_too_fast(token, 1_800_000_002.03, 2.0)
    assert filled_too_fast(token, 1_800_000_002.99, 2.0)
    assert not filled_too_fast(token, 1_800_000_003.0, 2.0)
    assert not filled_too_fast(token, 1_800_000_000.0, 0.0)  # 0: no minimum at all


def test_the_status_token_follows_from_the_form_token_and_is_unguessable() -> None:
    a = read_form_token(KEY, new_form_token(KEY, 1_800_000_000), 1_800_000_001)
    b = read_form_token(KEY, new_form_token(KEY, 1_800_000_000), 1_800_000_001)
    assert a is not None and b is not None
    assert status_token_for(KEY, a) == status_token_for(KEY, a)
    assert status_token_for(KEY, a) != status_token_for(KEY, b)
    assert looks_like_status_token(status_token_for(KEY, a))
    assert len(status_token_for(KEY, a)) >= 43  # 256 bits
    assert token_hash("x") != "x" and len(token_hash("x")) == 64
    assert not looks_like_status_token("../../etc/passwd")


# --- language ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "accept", "expected"),
    [
        ("en", "sv", "en"),
        (None, "nb-NO,nb;q=0.9,en;q=0.5", "nb"),
        (None, "no", "nb"),
        (None, "nn-NO", "nn"),
        (None, "de-DE,en;q=0.3", "en"),
        (None, "en;q=0.2,sv;q=0.8", "sv"),
        ("xx", "fr", "sv"),
        (None, None, "sv"),
    ],
)
def test_the_language_comes_from_the_query_then_accept_language(
    query: str | None, accept: str | None, expected: str
) -> None:
    assert choose_language(query, accept, "sv") == expected


# --- fields ----------------------------------------------------------------


def test_a_good_form_has_its_phone_in_e164() -> None:
    form = fields(phone="070-123 45 67", name="Anna", best_time="efter 15")
    assert form.ok and form.phone_e164 == "+46701234567"  # type: ignore[attr-defined]


def test_a_norwegian_number_is_read_in_a_norwegian_form() -> None:
    form = read_fields(
        {"message": "Hei", "phone": "912 34 567"},
        language="nb",
        max_message_chars=200,
        to_e164=lambda t, lg: find_phone_numbers(t, region=phone_region(lg, "SE"))[0],
    )
    assert form.phone_e164 == "+4791234567"


@pytest.mark.parametrize(
    ("kw", "field", "problem"),
    [
        ({"message": "  "}, "message", Problem.MESSAGE_MISSING),
        ({"message": "x" * 201}, "message", Problem.MESSAGE_TOO_LONG),
        ({"message": "hej <script>alert(1)</script>"}, "message", Problem.MARKUP),
        ({"message": '<img src=x onerror="alert(1)">'}, "message", Problem.MARKUP),
        ({"name": "Anna\r\nBcc: x@evil.example"}, "name", Problem.LINE_BREAK),
        ({"email": "a@example.se\r\nBcc: x@evil.example"}, "email", Problem.LINE_BREAK),
        ({"name": "<b>Anna</b>"}, "name", Problem.MARKUP),
        ({"name": "A" * 201}, "name", Problem.TOO_LONG),
        ({"email": "not-an-address"}, "email", Problem.EMAIL),
        ({"phone": "12"}, "phone", Problem.PHONE),
        ({}, "phone", Problem.CONTACT_MISSING),
    ],
)
def test_a_refused_field_is_named_with_why(
    kw: dict[str, str], field: str, problem: Problem
) -> None:
    base = {"phone": "070-123 45 67"} if field != "phone" else {}
    form = fields(**{**base, **kw})
    assert form.problems.get(field) == problem  # type: ignore[attr-defined]


def test_an_anonymous_form_keeps_no_contact_details_and_needs_none() -> None:
    form = fields(anonymous="1", name="Anna", phone="070-123 45 67", email="a@example.se")
    assert form.ok  # type: ignore[attr-defined]
    assert (form.name, form.phone, form.email, form.phone_e164) == ("", "", "", None)  # type: ignore[attr-defined]


def test_the_text_keeps_its_lines_without_control_characters() -> None:
    form = fields(message="rad ett\r\nrad två\x00\x07", phone="070-123 45 67")
    assert form.message == "rad ett\nrad två"  # type: ignore[attr-defined]


def test_an_attachment_is_judged_by_its_bytes_not_its_name() -> None:
    assert sniff_type(PNG) == "image/png"
    assert sniff_type(b"%PDF-1.7\n") == "application/pdf"
    assert sniff_type(b"<html><script>") is None
    ok = read_fields(
        {"message": "m", "phone": "070-123 45 67"},
        language="sv",
        max_message_chars=200,
        to_e164=e164,
        attachment=Attachment("C:\\Users\\a\\bild.png", "text/html", PNG),
        attachment_types=("image/png",),
        max_attachment_bytes=1000,
    )
    assert ok.ok and ok.attachment is not None
    assert ok.attachment.content_type == "image/png" and ok.attachment.filename == "bild.png"
    for data, problem in (
        (b"<html>" + b"x" * 10, Problem.ATTACHMENT_TYPE),
        (b"%PDF-1.7" + b"x" * 10, Problem.ATTACHMENT_TYPE),  # a PDF, but not allowed here
        (PNG + b"x" * 2000, Problem.ATTACHMENT_SIZE),
    ):
        bad = read_fields(
            {"message": "m", "phone": "070-123 45 67"},
            language="sv",
            max_message_chars=200,
            to_e164=e164,
            attachment=Attachment("bild.png", "image/png", data),
            attachment_types=("image/png",),
            max_attachment_bytes=1000,
        )
        assert bad.problems == {"attachment": problem}


def test_a_kept_file_is_named_as_what_it_is_not_as_what_it_claimed() -> None:
    lying = read_fields(
        {"message": "m", "phone": "070-123 45 67"},
        language="sv",
        max_message_chars=200,
        to_e164=e164,
        attachment=Attachment("faktura.pdf.exe", "application/pdf", PNG),
        attachment_types=("image/png", "application/pdf"),
        max_attachment_bytes=1000,
    )
    assert lying.attachment is not None and lying.attachment.filename == "faktura.pdf.png"
    assert filename_for("Bild.JPEG", "image/jpeg") == "Bild.JPEG"
    assert filename_for("scan.pdf", "image/png") == "scan.png"
    assert filename_for("noext", "application/pdf") == "noext.pdf"
    assert filename_for("..", "image/png") == "attachment.png"


def test_a_file_name_cannot_climb_out_or_carry_markup() -> None:
    assert safe_filename("../../etc/passwd") == "passwd"
    assert safe_filename('a<b>"c".png') == "a_b__c_.png"
    assert safe_filename("") == "attachment"


# --- who, how often ------------------------------------------------------------


def test_forwarded_for_counts_only_from_a_trusted_proxy() -> None:
    trusted = ["10.0.0.0/8"]
    assert client_address("203.0.113.5", "198.51.100.1", trusted) == "203.0.113.5"
    assert client_address("10.0.0.2", "198.51.100.1", trusted) == "198.51.100.1"
    # The citizen's own (forged) entry on the left does not count: the right-most
    # address that is not one of our proxies is who the proxy saw.
    assert client_address("10.0.0.2", "1.2.3.4, 198.51.100.1, 10.0.0.3", trusted) == (
        "198.51.100.1"
    )
    assert client_address("10.0.0.2", "not-an-ip", trusted) == "10.0.0.2"
    assert client_address("10.0.0.2", None, trusted) == "10.0.0.2"


def test_the_rate_limiter_counts_per_address_and_overall_in_a_sliding_window() -> None:
    limiter = RateLimiter(per_key=2, overall=3, window=60)
    assert limiter.allow("a", 0) and limiter.allow("a", 1)
    assert not limiter.allow("a", 2)
    assert limiter.allow("b", 3)
    assert not limiter.allow("c", 4)  # overall: three in the window
    assert limiter.allow("a", 61) and limiter.allow("c", 62)
