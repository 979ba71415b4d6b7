"""Realistic complaints in bulk, for crash tests and benchmarks.

Each message is one of the sample complaints in ``examples/inbox/`` (Swedish,
Bokmål, Nynorsk, English; with and without phone numbers) given its own
sender and Message-ID, so that every message is a new complaint from a new
person and must become exactly one case, one acknowledgement and one prompt.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "inbox"

# The samples' phone numbers, to be replaced by one per complainant: complainants are
# matched on email, then phone, and two people must not become one.
_SE_PHONE = re.compile(rb"(?:\+46 70 |070-)\d{3} \d{2} \d{2}")
_NO_PHONE = re.compile(rb"(?:\+47 )?[49]\d{2} \d{2} \d{3}")

_DROP = re.compile(
    rb"^(From|Message-ID|In-Reply-To|References):.*\r?\n(?:[ \t].*\r?\n)*",
    re.IGNORECASE | re.MULTILINE,
)


@cache
def _templates() -> tuple[bytes, ...]:
    out = []
    for path in sorted(EXAMPLES.glob("*.eml")):
        raw = path.read_bytes().replace(b"\r\n", b"\n")
        head, _, body = raw.partition(b"\n\n")
        out.append(_DROP.sub(b"", head + b"\n").rstrip(b"\n") + b"\n\n" + body)
    return tuple(out)


def sender(n: int, tag: str = "proof") -> str:
    return f"citizen{n}.{tag}@example.se"


def message_id(n: int, tag: str = "proof") -> str:
    return f"<{tag}-{n}@mail.example.se>"


def complaint(n: int, tag: str = "proof", attachment: bytes | None = None) -> bytes:
    """Complaint number ``n``: a sample complaint from ``sender(n)`` with ``message_id(n)``.

    ``attachment`` (raw bytes) is added as a base64 PDF attachment.
    """
    template = _templates()[n % len(_templates())]
    head, _, body = template.partition(b"\n\n")
    digits = f"{n:07d}"
    body = _SE_PHONE.sub(f"070-{digits[:3]} {digits[3:5]} {digits[5:]}".encode(), body)
    body = _NO_PHONE.sub(f"4{digits[:2]} {digits[2:4]} {digits[4:]}".encode(), body)
    head = (
        f"From: Medborgare {n} <{sender(n, tag)}>\nMessage-ID: {message_id(n, tag)}\n".encode()
        + head
    )
    if attachment is None:
        return (head + b"\n\n" + body).replace(b"\n", b"\r\n")
    return _with_attachment(head, body, attachment).replace(b"\n", b"\r\n")


def _with_attachment(head: bytes, body: bytes, data: bytes) -> bytes:
    import base64

    lines = [
        ln
        for ln in head.split(b"\n")
        if not ln.lower().startswith(
            (b"content-type", b"content-transfer-encoding", b"mime-version")
        )
    ]
    boundary = b"=_proof_boundary_"
    encoded = base64.encodebytes(data)
    return b"\n".join(
        [
            *lines,
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="' + boundary + b'"',
            b"",
            b"--" + boundary,
            b"Content-Type: text/plain; charset=utf-8",
            b"Content-Transfer-Encoding: 8bit",
            b"",
            body,
            b"--" + boundary,
            b'Content-Type: application/pdf; name="bilaga.pdf"',
            b'Content-Disposition: attachment; filename="bilaga.pdf"',
            b"Content-Transfer-Encoding: base64",
            b"",
            encoded,
            b"--" + boundary + b"--",
            b"",
        ]
    )


def complaints(count: int, tag: str = "proof", start: int = 0) -> Iterator[bytes]:
    for n in range(start, start + count):
        yield complaint(n, tag)
