"""Property tests: no input makes parse_email raise anything but Unprocessable."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.errors import Unprocessable
from bot.mail.classify import classify
from bot.mail.extract import find_phone_numbers, guess_name
from bot.mail.parse import ParsedEmail, parse_email

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures" / "eml").glob("*.eml"))
SEEDS = [path.read_bytes() for path in FIXTURES]

# Bytes that matter to the MIME parser, to make mutations hit something interesting.
_INTERESTING = [
    b"\n",
    b"\r\n",
    b":",
    b"<",
    b">",
    b"@",
    b'"',
    b"=?",
    b"?=",
    b"--",
    b";",
    b"=",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xe5",
    b"\t",
    b" ",
    b"boundary=",
    b"Content-Type: multipart/mixed",
    b"charset=",
    b"base64",
    b"quoted-printable",
    b"message/rfc822",
    b"From: ",
    b"<>",
]


def _check(raw: bytes) -> None:
    try:
        mail = parse_email(raw, max_attachment_bytes=10_000)
    except Unprocessable:
        return
    assert isinstance(mail, ParsedEmail)
    # Whatever came out must be usable by the next steps of the pipeline, too.
    classify(mail, ["synpunkter@example.org"])
    find_phone_numbers(mail.summary_text)
    guess_name(mail)


@st.composite
def mutated_fixture(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 8))):
        position = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "replace", "truncate"]))
        if action == "insert":
            data[position:position] = draw(st.sampled_from(_INTERESTING))
        elif action == "delete":
            del data[position : position + draw(st.integers(1, 40))]
        elif action == "replace":
            data[position : position + 1] = bytes([draw(st.integers(0, 255))])
        else:
            del data[position:]
    return bytes(data)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_random_bytes(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_INTERESTING), max_size=60).map(b"".join))
def test_random_mime_syntax(raw: bytes) -> None:
    _check(b"From: a@example.se\nSubject: x\n" + raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_fixture())
def test_mutated_fixtures(raw: bytes) -> None:
    _check(raw)


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from(
        [
            "From",
            "To",
            "Reply-To",
            "Message-ID",
            "In-Reply-To",
            "References",
            "Date",
            "Subject",
            "Content-Type",
            "Content-Disposition",
            "Return-Path",
        ]
    ),
    st.text(alphabet=st.sampled_from(list('<>@"()\\=?:;,[]. aqQbB-ÅöΩ\t\r\n')), max_size=30),
)
def test_any_header_value(name: str, value: str) -> None:
    raw = f"From: a@example.se\nSubject: x\n{name}: {value}\n\nbody\n".encode(
        "utf-8", "surrogateescape"
    )
    _check(raw)
