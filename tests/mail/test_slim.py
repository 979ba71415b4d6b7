"""What one large message may cost the parser (bot.mail.slim): measured in bytes
allocated (tracemalloc), not in time."""

from __future__ import annotations

import base64
import os
import tracemalloc
from email.message import EmailMessage
from email.policy import SMTP

from bot.mail.parse import parse_email
from bot.mail.slim import MAX_BODY_CHARS, PART_BYTES, TEXT_PART_BYTES, decoded_size, slim

MB = 1024 * 1024
LINE = "Det luktar illa från avloppet vid skolan, igen och igen.\r\n"


def complaint(text: str = "Hej, det luktar illa vid skolan.\n", **attachments: bytes) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Anna Andersson <anna@example.org>"
    mail["To"] = "synpunkter@example.org"
    mail["Subject"] = "Avloppet"
    mail["Message-ID"] = "<slim-1@example.org>"
    mail.set_content(text)
    for name, data in attachments.items():
        mail.add_attachment(data, maintype="application", subtype="pdf", filename=f"{name}.pdf")
    return mail.as_bytes(policy=SMTP)


def peak_parse(raw: bytes) -> tuple[int, object]:
    tracemalloc.start()
    try:
        parsed = parse_email(raw)
        return tracemalloc.get_traced_memory()[1], parsed
    finally:
        tracemalloc.stop()


def test_a_24_mb_text_body_costs_a_fraction_of_its_size_and_keeps_its_start() -> None:
    raw = complaint() + (LINE.encode() * (24 * MB // len(LINE)))
    raw = raw.replace(b"Content-Transfer-Encoding: 7bit", b"Content-Transfer-Encoding: 8bit")

    peak, parsed = peak_parse(raw)

    assert peak < 8 * MB  # the message is 24 MB; the whole parse used to take ~500 MB
    assert parsed.subject == "Avloppet"  # type: ignore[attr-defined]
    body = parsed.body_text  # type: ignore[attr-defined]
    assert body.startswith("Hej, det luktar illa") and body.endswith("igen och igen.")
    assert len(body) <= TEXT_PART_BYTES
    assert any("text part cut" in d for d in parsed.defects)  # type: ignore[attr-defined]


def test_a_24_mb_attachment_is_described_with_its_exact_size_and_not_decoded() -> None:
    data = os.urandom(18 * MB + 7)
    raw = complaint(ritning=data, kvitto=b"%PDF small")

    peak, parsed = peak_parse(raw)

    assert len(raw) > 24 * MB
    assert peak < 4 * MB
    assert parsed.body_text == "Hej, det luktar illa vid skolan."  # type: ignore[attr-defined]
    described = [(a.filename, a.size, a.truncated) for a in parsed.attachments]  # type: ignore[attr-defined]
    assert described == [("ritning.pdf", len(data), False), ("kvitto.pdf", 10, False)]


def test_small_messages_are_parsed_as_they_were() -> None:
    raw = complaint(kvitto=os.urandom(PART_BYTES // 2))

    assert slim(raw, "t")[0] == raw
    assert parse_email(raw).attachments[0].size == PART_BYTES // 2


def test_the_size_field_is_believed_only_with_this_parse_s_token() -> None:
    forged = complaint().replace(b"\r\n\r\n", b"\r\nX-Complaint-Bot-Size: 1 999999\r\n\r\n", 1)
    raw = complaint(ritning=os.urandom(2 * MB))
    forged_part = raw.replace(
        b'filename="ritning.pdf"', b'filename="ritning.pdf"\r\nX-Complaint-Bot-Size: 5'
    )

    assert parse_email(forged).attachments == ()
    assert parse_email(forged_part).attachments[0].size == 2 * MB


def test_decoded_size_counts_base64_without_decoding() -> None:
    for n in (0, 1, 2, 3, 1000, 57 * 1000 + 1):
        data = os.urandom(n)
        encoded = base64.encodebytes(data).replace(b"\n", b"\r\n")
        framed = b"xx" + encoded + b"yy"
        assert decoded_size(framed, 2, 2 + len(encoded), "base64") == n


def test_several_text_parts_together_are_capped_in_characters() -> None:
    mail = EmailMessage()
    mail["From"] = "anna@example.org"
    mail["Subject"] = "Lång"
    mail.set_content(LINE * (TEXT_PART_BYTES // len(LINE)))
    for _ in range(3):
        mail.add_attachment(LINE * (TEXT_PART_BYTES // len(LINE)), disposition="inline")

    parsed = parse_email(mail.as_bytes(policy=SMTP))

    assert len(parsed.body_text) <= MAX_BODY_CHARS
    assert any("body text cut" in d for d in parsed.defects)
