"""A message over ``[mailbox] max_message_bytes``: fetched cut down, never whole.

Three small FETCHes instead of the message: its ``BODYSTRUCTURE`` and header;
the MIME header of every part (``BODY.PEEK[n.MIME]``); the first
``TEXT_PART_BYTES`` of the first readable text part (``BODY.PEEK[n]<0.N>``) and
the header of any embedded message (a bounce names our Message-ID there). From
them a small message of the same meaning is built: a first line
``X-Complaint-Bot-Truncated: original size <bytes> bytes``, the original header
(its Content-Type replaced by a ``multipart/mixed`` of our own), the text part
cut at a line end, and every other part as its MIME header plus
``X-Complaint-Bot-Size: <size>`` and no body. The parser turns those into
attachment descriptions marked as not kept (:mod:`bot.mail.body`); the case is
opened as for any message. The message itself stays in the mailbox, unchanged
(``BODY.PEEK``). A server that answers these FETCHes oddly gets the old way:
the header and the first bytes of the body.
"""

from __future__ import annotations

import imaplib
import logging
import re
import secrets
from collections.abc import Iterator
from typing import Any

from imapclient import IMAPClient

from bot.adapters.imap_rules import truncated_message
from bot.mail.slim import SIZE_HEADER, TEXT_PART_BYTES, header_is_readable

log = logging.getLogger("bot.adapters.imap")

#: Parts of a cut-down message that are described; the rest are left out.
MAX_PARTS = 200
#: Bytes of the body fetched when the cut-down FETCHes fail (the old way).
FALLBACK_BYTES = 1_000_000

_CONTENT_FIELD = re.compile(rb"(?i)^content-(?:type|transfer-encoding)[ \t]*:")
_EMBEDDED = (b"message/rfc822", b"message/global")


def _text(value: Any) -> bytes:
    return value.lower() if isinstance(value, bytes) else str(value or "").lower().encode()


def leaves(structure: Any, section: str = "") -> Iterator[tuple[str, Any]]:
    """``(section, BodyData)`` of every non-multipart part, in order (``1``, ``2.1``, ...)."""
    if structure.is_multipart:
        for number, child in enumerate(structure[0], 1):
            yield from leaves(child, f"{section}.{number}" if section else str(number))
    else:
        yield section or "1", structure


def size_of(part: Any) -> int:
    """The decoded size of a part from its BODYSTRUCTURE (encoded octets; base64 estimated)."""
    try:
        size = int(part[6])
    except (IndexError, TypeError, ValueError):
        return 0
    return size * 57 // 78 if _text(part[5]) == b"base64" else size


def cut_at_line(body: bytes, limit: int) -> bytes:
    """At most ``limit`` bytes of ``body``, ending at a line end when there is one."""
    if len(body) < limit:
        return body
    newline = body.rfind(b"\n", 0, limit)
    return body[: newline + 1] if newline >= limit // 2 else body[:limit]


def _without_content_fields(header: bytes) -> bytes:
    kept: list[bytes] = []
    dropping = False
    for line in header.rstrip(b"\r\n").split(b"\n"):
        if line[:1] in (b" ", b"\t"):
            if not dropping:
                kept.append(line)
            continue
        dropping = bool(_CONTENT_FIELD.match(line))
        if not dropping:
            kept.append(line)
    return b"\n".join(kept).rstrip(b"\r\n") + b"\r\n"


def _fetched(answer: dict[bytes, Any], key: str) -> bytes:
    value = answer.get(key.encode())
    return bytes(value) if value else b""


def cut_down(client: IMAPClient, uid: int, size: int, text_bytes: int = TEXT_PART_BYTES) -> bytes:
    """The message ``uid`` (``size`` bytes on the server) cut down; see the module doc."""
    first = client.fetch([uid], ["BODYSTRUCTURE", "BODY.PEEK[HEADER]"])[uid]
    header, structure = _fetched(first, "BODY[HEADER]"), first[b"BODYSTRUCTURE"]
    marker = f"X-Complaint-Bot-Truncated: original size {size} bytes\r\n".encode()
    if not structure.is_multipart:
        if header_is_readable(header):
            answer = client.fetch([uid], [f"BODY.PEEK[TEXT]<0.{text_bytes}>"])[uid]
            return marker + header + cut_at_line(_fetched(answer, "BODY[TEXT]<0>"), text_bytes)
        noted = f"{SIZE_HEADER}: {size_of(structure)}\r\n\r\n".encode()
        return marker + header.rstrip(b"\r\n") + b"\r\n" + noted
    parts = list(leaves(structure))[:MAX_PARTS]
    answer = client.fetch([uid], [f"BODY.PEEK[{section}.MIME]" for section, _ in parts])[uid]
    mime = {section: _fetched(answer, f"BODY[{section}.MIME]") for section, _ in parts}
    text = next((s for s, _ in parts if mime[s] and header_is_readable(mime[s])), None)
    embedded = [  # a message sent encoded has no header the server could find
        s
        for s, p in parts
        if _text(p[0]) + b"/" + _text(p[1]) in _EMBEDDED
        and _text(p[5]) not in (b"base64", b"quoted-printable")
    ]
    wanted = [f"BODY.PEEK[{s}.HEADER]" for s in embedded]
    wanted += [f"BODY.PEEK[{text}]<0.{text_bytes}>"] if text else []
    bodies = client.fetch([uid], wanted)[uid] if wanted else {}
    boundary = f"=_cut_{secrets.token_hex(12)}"
    out = [
        marker,
        _without_content_fields(header),
        f'Content-Type: multipart/mixed; boundary="{boundary}"\r\n\r\n'.encode(),
    ]
    for section, part in parts:
        own = mime[section].rstrip(b"\r\n") or b"Content-Type: " + _text(part[0]) + b"/" + _text(
            part[1]
        )
        out.append(f"--{boundary}\r\n".encode() + own + b"\r\n")
        if section == text:
            body = cut_at_line(_fetched(bodies, f"BODY[{section}]<0>"), text_bytes)
            out += [b"\r\n", body, b"\r\n"]
            continue
        out.append(f"{SIZE_HEADER}: {size_of(part)}\r\n\r\n".encode())
        if section in embedded:
            inner = _fetched(bodies, f"BODY[{section}.HEADER]")[:text_bytes]
            out += [inner.rstrip(b"\r\n"), b"\r\n\r\n"]
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


def fetch_large(client: IMAPClient, uid: int, size: int, limit: int, label: str) -> bytes:
    """:func:`cut_down`, or the header and the body's first bytes if the server will not."""
    log.warning("IMAP %s: UID %d is %d bytes, over %d: fetched cut down", label, uid, size, limit)
    try:
        return cut_down(client, uid, size, min(TEXT_PART_BYTES, limit // 2))
    except (OSError, EOFError, imaplib.IMAP4.abort):
        raise  # the connection: the caller reconnects
    except Exception as exc:  # a NO/BAD or an answer imapclient could not read
        log.warning("IMAP %s: UID %d: cut-down fetch failed (%s)", label, uid, type(exc).__name__)
    wanted = ["BODY.PEEK[HEADER]", f"BODY.PEEK[TEXT]<0.{FALLBACK_BYTES}>"]
    parts = client.fetch([uid], wanted)[uid]
    header, body = _fetched(parts, "BODY[HEADER]"), _fetched(parts, "BODY[TEXT]<0>")
    return truncated_message(header, body, size, FALLBACK_BYTES)
