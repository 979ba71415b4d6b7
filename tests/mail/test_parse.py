"""parse_email against real-looking .eml files and hand-made broken input."""

from __future__ import annotations

import os
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pytest

from bot.errors import Unprocessable
from bot.mail.parse import ParsedEmail, decode_text, parse_email

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eml"


def load(name: str) -> ParsedEmail:
    return parse_email((FIXTURES / name).read_bytes())


def test_there_are_enough_fixtures() -> None:
    assert len(list(FIXTURES.glob("*.eml"))) >= 25


@pytest.mark.parametrize("path", sorted(FIXTURES.glob("*.eml")), ids=lambda p: p.name)
def test_every_fixture_parses(path: Path) -> None:
    mail = parse_email(path.read_bytes())
    assert mail.subject
    assert len(mail.content_hash) == 64


def test_a_plain_swedish_complaint() -> None:
    mail = load("sv_complaint_phone.eml")
    assert mail.message_id == "CAF1234abcd@mail.example.se"
    assert mail.subject == "Klagomål på hemtjänsten"
    assert mail.from_name == "Anna Andersson"
    assert mail.from_address == "anna.andersson@example.se"
    assert mail.to_addresses == ("synpunkter@example.org",)
    assert mail.return_path == "anna.andersson@example.se"
    assert mail.date_header is not None
    assert mail.date_header.utcoffset() == timedelta(hours=1)
    assert "vänta på sin medicin" in mail.body_text
    assert mail.defects == ()
    assert mail.header("Message-ID") == "<CAF1234abcd@mail.example.se>"


@pytest.mark.parametrize(
    ("name", "expected", "mojibake"),
    [
        ("missing_charset_latin1.eml", ["Åkervägen", "tömts", "Gunnar Åberg"], "\ufffd"),
        ("wrong_charset_utf8_as_latin1.eml", ["brøytet", "Ærlig", "Bjørn Sæther"], "Ã"),
        ("wrong_charset_latin1_as_utf8.eml", ["Åby", "läxor", "besviken – det"], "\ufffd"),
        ("unknown_charset.eml", ["böter", "övertäckt"], "Ã"),
    ],
)
def test_nordic_letters_survive_missing_or_wrong_charsets(
    name: str, expected: list[str], mojibake: str
) -> None:
    mail = load(name)
    for word in expected:
        assert word in mail.body_text
    assert mojibake not in mail.body_text


def test_an_unknown_charset_is_reported_not_fatal() -> None:
    assert any("x-nordic-unknown" in defect for defect in load("unknown_charset.eml").defects)


def test_decode_text_prefers_the_declared_charset_when_it_fits() -> None:
    assert decode_text("Ärende".encode("cp1252"), "windows-1252") == "Ärende"
    assert decode_text("Ærlig".encode("iso-8859-15"), "iso-8859-15") == "Ærlig"
    assert decode_text("Öl".encode("utf-16"), "utf-16") == "Öl"


def test_rfc2047_q_and_b_encoded_words_are_decoded() -> None:
    mail = load("rfc2047_subject_name.eml")
    assert mail.subject == "Klagomål: vägtarbetet på Östra långgatan"
    assert mail.from_name == "Örjan Åström"
    assert load("wrong_charset_latin1_as_utf8.eml").from_name == "Åsa Ström"
    assert load("wrong_charset_utf8_as_latin1.eml").subject == "Brøyting av veien"


def test_broken_headers_give_defects_and_the_best_values() -> None:
    mail = load("broken_headers.eml")
    assert mail.message_id == "dup-first@example.se"
    assert mail.subject == "Klagomål på förskolan"
    assert mail.date_header is None
    assert mail.from_address is None
    assert mail.header("x-sender-name") == "Jönsson"
    assert "Min dotter fick ingen lunch" in mail.body_text
    defects = " | ".join(mail.defects)
    assert "duplicate Message-ID" in defects
    assert "Date: not a valid date" in defects
    assert "From: no usable address" in defects


def test_headers_that_crash_the_stdlib_parser_fall_back_to_raw_text() -> None:
    # Both values make email.policy.default raise IndexError when read.
    raw = b"From: Anna <anna@\nMessage-ID: <\nSubject: Hej\n\nText\n"
    mail = parse_email(raw)
    assert mail.from_address is None
    assert mail.message_id is None
    assert mail.header("from") == "Anna <anna@"
    assert any("unparseable" in defect for defect in mail.defects)


def test_missing_message_id_is_none() -> None:
    assert load("no_message_id.eml").message_id is None


def test_reply_threading_headers() -> None:
    mail = load("outlook_reply_sv.eml")
    assert mail.in_reply_to == ("ack.KL-2026-000001@example.org",)
    assert mail.references == ("CAF1234abcd@mail.example.se", "ack.KL-2026-000001@example.org")


def test_null_sender_and_absent_return_path() -> None:
    assert load("bounce_dsn.eml").return_path == ""
    assert parse_email(b"From: a@example.se\nSubject: x\n\nbody\n").return_path is None


def test_html_only_mail_becomes_text() -> None:
    mail = load("html_only.eml")
    assert "Gungorna på lekplatsen vid Ekbackens skola" in mail.body_text
    assert "<p>" not in mail.body_text
    assert "color: red" not in mail.body_text


def test_multipart_alternative_prefers_plain_text() -> None:
    mail = load("multipart_alternative.eml")
    assert "(plain-versionen)" in mail.body_text
    assert "html-versionen" not in mail.body_text


def test_nested_multipart_keeps_text_and_records_attachments() -> None:
    mail = load("nested_attachment.eml")
    assert mail.body_text.startswith("Hej, fakturan för februari")
    pdf = next(a for a in mail.attachments if a.content_type == "application/pdf")
    assert pdf.filename == "faktura förskola februari.pdf"
    assert pdf.size == 1540
    assert not pdf.truncated
    assert any(a.content_type == "image/png" for a in mail.attachments)


def _mail_with_attachment(size: int) -> bytes:
    message = EmailMessage()
    message["From"] = "Sara Ek <sara.ek@example.se>"
    message["To"] = "synpunkter@example.org"
    message["Subject"] = "Bilder på fuktskadan"
    message.set_content("Här är bilderna på fuktskadan i lägenheten.")
    message.add_attachment(os.urandom(size), maintype="image", subtype="jpeg", filename="fukt.jpg")
    return message.as_bytes()


def test_a_5_mb_attachment_is_measured_and_capped() -> None:
    raw = _mail_with_attachment(5_000_000)
    mail = parse_email(raw)
    (photo,) = mail.attachments
    assert (photo.filename, photo.size, photo.truncated) == ("fukt.jpg", 5_000_000, False)
    capped = parse_email(raw, max_attachment_bytes=1_000_000)
    (photo,) = capped.attachments
    assert photo.truncated
    assert photo.size >= 4_900_000
    assert "fuktskadan i lägenheten" in capped.body_text


@pytest.mark.parametrize(
    ("name", "kept", "dropped"),
    [
        ("outlook_reply_sv.eml", "0731234567", ["08-123 456 78", "Från:", "Vi har tagit emot"]),
        ("gmail_reply_en.eml", "073 555 12 34", ["08-123 456 78", "wrote", "Hello John"]),
        ("gmail_reply_nb.eml", "918 76 543", ["22 12 34 56", "skrev"]),
    ],
)
def test_summary_drops_quoted_replies(name: str, kept: str, dropped: list[str]) -> None:
    mail = load(name)
    assert kept in mail.summary_text
    for text in dropped:
        assert text not in mail.summary_text
        assert text in mail.body_text


def test_summary_drops_signature_and_mobile_footer() -> None:
    raw = (
        "From: Anna <anna@example.se>\nSubject: Hej\nContent-Type: text/plain; charset=utf-8\n\n"
        "Bussen kom inte.\n\nSkickat från min iPhone\n-- \nAnna Andersson\nFöretaget AB\n"
    ).encode()
    mail = parse_email(raw)
    assert mail.summary_text == "Bussen kom inte."


def test_summary_keeps_a_citizen_saying_they_wrote_before() -> None:
    raw = "From: a@example.se\nSubject: Igen\n\nJag skrev till er förra veckan:\nInget hände.\n"
    assert "Inget hände." in parse_email(raw.encode()).summary_text


def test_dsn_bounce_names_the_returned_original() -> None:
    mail = load("bounce_dsn.eml")
    assert mail.is_report
    assert mail.report_original_ids == ("ack.KL-2026-000001@example.org",)
    assert "User unknown" in mail.body_text
    assert "Du når oss" not in mail.body_text  # the returned original is not body text


def test_mailer_daemon_bounce_without_report_names_the_original() -> None:
    mail = load("bounce_mailer_daemon_plain.eml")
    assert not mail.is_report
    assert mail.report_original_ids == ("ack.KL-2026-000002@example.org",)


def test_rfc822_headers_part_of_a_report_is_read() -> None:
    raw = (
        b"From: MAILER-DAEMON@mx.example.se\nTo: synpunkter@example.org\nSubject: failure\n"
        b"MIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; "
        b'boundary="b"\n\n--b\nContent-Type: text/plain\n\nFailed.\n'
        b"--b\nContent-Type: text/rfc822-headers\n\n"
        b"From: synpunkter@example.org\nMessage-ID: <ack.KL-2026-000009@example.org>\n"
        b"--b--\n"
    )
    assert parse_email(raw).report_original_ids == ("ack.KL-2026-000009@example.org",)


def test_content_hash_is_stable_for_the_same_content() -> None:
    base = (
        "From: Anna <ANNA@example.se>\nSubject: Bussen\nMessage-ID: <{id}@x>\nDate: {date}\n\n"
        "{body}"
    )
    one = parse_email(
        base.format(id="1", date="Mon, 2 Mar 2026 09:00:00 +0100", body="Bussen kom inte.").encode()
    )
    two = parse_email(
        base.format(
            id="2", date="Tue, 3 Mar 2026 09:00:00 +0100", body="Bussen  kom\r\ninte.\n"
        ).encode()
    )
    other = parse_email(
        base.format(id="3", date="Mon, 2 Mar 2026 09:00:00 +0100", body="Tåget kom inte.").encode()
    )
    assert one.content_hash == two.content_hash
    assert one.content_hash != other.content_hash


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"  \r\n\r\n  ",
        bytes(range(256)) * 8,
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64,
        "Hej, det här är bara text utan rubriker.\nRad två.\n".encode(),
        b"Foo: bar\nX-Thing: 1\n\nno core header at all\n",
    ],
    ids=["empty", "whitespace", "binary", "png", "plain-text", "no-core-header"],
)
def test_input_that_is_not_an_email_is_unprocessable(raw: bytes) -> None:
    with pytest.raises(Unprocessable):
        parse_email(raw)


def test_a_message_with_only_a_subject_is_still_an_email() -> None:
    mail = parse_email(b"Subject: hej\n\ntext\n")
    assert mail.subject == "hej"
    assert mail.from_address is None


# --------------------------------------------------------------------------- issue 12


def test_sender_recovery() -> None:
    assert (
        load("from_comment_name.eml").from_name,
        load("from_comment_name.eml").from_address,
    ) == ("Anna Berg", "anna.berg@example.se")
    obsolete = load("from_obsolete_syntax.eml")
    assert obsolete.from_address == "maria.lindqvist@example.se"
    assert obsolete.header("x-mailer") == "Legacy"  # the headers after the broken fold survive
    assert "Skolskjutsen" in obsolete.body_text
    no_brackets = parse_email(b"From: Anna Berg anna@example.se\nSubject: x\n\nText\n")
    assert (no_brackets.from_name, no_brackets.from_address) == ("Anna Berg", "anna@example.se")
    group = load("from_group_undisclosed.eml")
    assert group.from_address is None and group.return_path == "karl.svensson@example.se"
    sender = parse_email(b"From: undisclosed-recipients:;\nSender: a@example.se\n\nx\n")
    assert sender.sender_address == "a@example.se"


def test_cjk_charset_fallbacks() -> None:
    gbk = load("gb2312_with_gbk_chars.eml")
    assert gbk.subject == "关于朱镕基路的投诉" and gbk.from_name == "王喆"
    assert "王喆" in gbk.body_text and "\ufffd" not in gbk.body_text
    jp = load("iso2022jp_extended.eml")
    assert jp.subject == "①駐車場について 髙橋"
    assert "髙橋です" in jp.body_text and "ﾃｽﾄ" in jp.body_text
    korean = "안녕하세요 똠방각하".encode("cp949")
    assert decode_text(korean, "ks_c_5601-1987") == "안녕하세요 똠방각하"
    assert decode_text(b"\x93Hej\x94 \x96 5 \x80", "iso-8859-1") == "“Hej” – 5 €"


def test_unstorable_text_is_made_storable() -> None:
    mail = load("unstorable_fields.eml")
    fields = [mail.subject, mail.body_text, mail.summary_text, mail.from_name or ""]
    for text in fields:
        assert "\x00" not in text
        assert not any("\ud800" <= char <= "\udfff" for char in text)
    assert mail.message_id is not None and len(mail.message_id) == 998
    assert "gått" in mail.body_text  # UTF-7 decoded, only the broken sequence replaced
