"""What one large message may cost the parser: a byte-level pass that cuts it down first.

The standard parser holds every part as lines of text and decodes a base64
attachment just to learn its size: a 24 MB message costs it ~20 times that in
memory. :func:`slim` walks the MIME tree on the raw bytes instead (``bytes.find``
and ``count`` with positions: nothing of a large part is copied) and returns a
small message of the same shape: a readable text part longer than
``text_bytes`` is cut at a line end; any other part longer than ``part_bytes``
keeps its MIME header, loses its body and gains a ``X-Complaint-Bot-Size:
<token> <decoded size>`` field (an embedded message keeps its own header, for
the Message-IDs of bounces). ``token`` is chosen per parse, so a sender cannot
forge the field. The raw message itself is never changed: this is what the
parser reads, not what is stored.
"""

from __future__ import annotations

import re
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser

#: Name of the field that carries a part's size when its body was left out.
SIZE_HEADER = "X-Complaint-Bot-Size"
#: Bytes (as sent, still encoded) of a readable text part that are read; the rest is cut.
TEXT_PART_BYTES = 200_000
#: A part (or message) larger than this is cut down before parsing.
PART_BYTES = 256 * 1024
#: Characters of body text kept after decoding (several text parts together).
MAX_BODY_CHARS = 200_000

_MAX_DEPTH = 30
_HEADER_END = re.compile(rb"\r?\n\r?\n")
_LEADING_BLANK = re.compile(rb"\r?\n")  # a part without a header starts with its blank line
_READABLE = frozenset({"text/plain", "text/html"})
_EMBEDDED = frozenset({"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"})
_WHITE = (b"\n", b"\r", b" ", b"\t")


def _header_of(block: bytes) -> Message:
    return BytesHeaderParser(policy=policy.compat32).parsebytes(block + b"\n\n")


def _is_attachment(header: Message) -> bool:
    try:
        return header.get_content_disposition() == "attachment" or bool(header.get_filename())
    except Exception:
        return True


def header_is_readable(block: bytes) -> bool:
    """Does the header ``block`` (a message's or a part's) open a readable text part?"""
    header = _header_of(block.rstrip(b"\r\n"))
    return header.get_content_type() in _READABLE and not _is_attachment(header)


def decoded_size(raw: bytes, start: int, end: int, encoding: str) -> int:
    """The size ``raw[start:end]`` decodes to, counted without decoding (or copying) it:
    exact for base64, the encoded size otherwise."""
    if encoding != "base64":
        return end - start
    white = sum(raw.count(ch, start, end) for ch in _WHITE)
    tail = raw[max(start, end - 16) : end].rstrip()
    padding = len(tail) - len(tail.rstrip(b"="))
    return max(0, (end - start - white) * 3 // 4 - padding)


def _cut_at_line(raw: bytes, start: int, end: int, limit: int) -> int:
    """Where to cut ``raw[start:end]`` to at most ``limit`` bytes: after a line end if
    there is one in the second half, else not inside a UTF-8 character."""
    stop = min(end, start + limit)
    if stop == end:
        return end
    newline = raw.rfind(b"\n", start + limit // 2, stop)
    if newline >= 0:
        return newline + 1
    while stop > start and raw[stop] & 0xC0 == 0x80:
        stop -= 1
    return stop


class _Slimmer:
    def __init__(self, raw: bytes, token: str, text_bytes: int, part_bytes: int) -> None:
        self.raw = raw
        self.token = token
        self.text_bytes = text_bytes
        self.part_bytes = part_bytes
        self.out: list[bytes] = []
        self.notes: list[str] = []

    def entity(self, start: int, end: int, depth: int) -> None:
        raw = self.raw
        if end - start <= self.part_bytes:
            self.out.append(raw[start:end])
            return
        found = _LEADING_BLANK.match(raw, start, end) or _HEADER_END.search(raw, start, end)
        if found is None:  # no body: a header of this size is not worth keeping whole
            self.out.append(raw[start : _cut_at_line(raw, start, end, self.part_bytes)])
            return
        newline = b"\r\n" if raw[found.start() : found.start() + 1] == b"\r" else b"\n"
        header = _header_of(raw[start : found.start()])
        ctype = header.get_content_type()
        boundary = header.get_boundary() if header.get_content_maintype() == "multipart" else None
        if boundary and depth < _MAX_DEPTH and self.multipart(start, found, end, boundary, depth):
            return
        body, encoding = found.end(), str(header.get("Content-Transfer-Encoding", "")).lower()
        encoding = encoding.strip()
        if ctype in _READABLE and not _is_attachment(header):
            cut = _cut_at_line(raw, body, end, self.text_bytes)
            if cut < end:
                self.notes.append(f"text part cut at {cut - body} of {end - body} bytes")
            self.out += [raw[start:cut], newline]
            return
        size = decoded_size(raw, body, end, encoding)
        self.out += [
            raw[start : found.start()],
            newline + f"{SIZE_HEADER}: {self.token} {size}".encode() + newline + newline,
        ]
        if ctype in _EMBEDDED:  # keep the embedded message's header (bounces name ours there)
            inner = _HEADER_END.search(raw, body, end)
            stop = inner.start() if inner else _cut_at_line(raw, body, end, self.text_bytes)
            self.out += [raw[body : min(stop, body + self.text_bytes)], newline + newline]

    def multipart(
        self, start: int, header_end: re.Match[bytes], end: int, boundary: str, depth: int
    ) -> bool:
        raw = self.raw
        delimiter = re.compile(
            rb"(?m)^--"
            + re.escape(boundary.encode("utf-8", "surrogateescape"))
            + rb"(--)?[ \t]*\r?$"
        )
        found = list(delimiter.finditer(raw, header_end.end(), end))
        if not found:
            return False
        preamble_end = min(found[0].start(), header_end.end() + self.part_bytes)
        self.out.append(raw[start:preamble_end])
        if preamble_end < found[0].start():
            self.out.append(b"\r\n")
        for here, after in zip(found, [*found[1:], None], strict=True):
            line_end = raw.find(b"\n", here.end(), end)
            part_start = end if line_end < 0 else line_end + 1
            self.out.append(raw[here.start() : part_start])
            if here.group(1):  # the close delimiter: the epilogue is not read
                return True
            self.entity(part_start, after.start() if after else end, depth + 1)
        return True


def slim(
    raw: bytes,
    token: str,
    *,
    text_bytes: int = TEXT_PART_BYTES,
    part_bytes: int = PART_BYTES,
) -> tuple[bytes, list[str]]:
    """``raw`` cut down (see the module doc), and notes of what was cut for the defects."""
    slimmer = _Slimmer(raw, token, text_bytes, part_bytes)
    slimmer.entity(0, len(raw), 0)
    return b"".join(slimmer.out), slimmer.notes


__all__ = [
    "MAX_BODY_CHARS",
    "PART_BYTES",
    "SIZE_HEADER",
    "TEXT_PART_BYTES",
    "decoded_size",
    "header_is_readable",
    "slim",
]
