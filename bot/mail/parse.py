"""Turn the raw bytes of one email into a :class:`ParsedEmail`.

Everything downstream (classification, threading, extraction) reads the
parsed form and never the raw message, so this is the one place that copes
with what real mailboxes contain: wrong or missing charsets, RFC 2047 words,
raw 8-bit header bytes, bad dates, duplicate headers, HTML-only mail, bounces.

The rule is: *never raise*. A malformed part becomes a defect in
``ParsedEmail.defects`` and the best value we could get. The one exception is
input that is not an email at all, which raises
:class:`bot.errors.Unprocessable` so it can be quarantined. The threshold:
after parsing, the message must carry at least one of the header fields every
real message has (``From``, ``To``, ``Subject``, ``Date``, ``Message-ID``,
``Received``, ...; see ``_CORE_HEADERS``). Empty input, binary garbage and
plain text without a header block all fail it.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, fields
from datetime import datetime
from email import policy
from email.feedparser import BytesFeedParser
from email.message import Message
from email.parser import HeaderParser
from types import MappingProxyType

from bot.errors import Unprocessable

# Imported from here by the rest of the bot: parse is the front door.
from bot.mail.body import (  # noqa: F401
    Attachment,
    _BodyWalker,
    _content_type,
    _payload_bytes,
    decode_text,
    html_to_text,
    storable_text,
    strip_quotes_and_signature,
)
from bot.mail.headers import (
    _CORE_HEADERS,
    _FOLDING,
    MAX_ID_LENGTH,
    _date,
    _first_message_id,
    _Headers,
    _message_ids,
    _return_path,
    storable_id,
)
from bot.mail.simple_headers import POLICY
from bot.mail.slim import MAX_BODY_CHARS, PART_BYTES, slim


@dataclass(frozen=True)
class ParsedEmail:
    """What the bot needs to know about one inbound email."""

    message_id: str | None
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    subject: str
    from_name: str | None
    from_address: str | None
    reply_to_address: str | None
    to_addresses: tuple[str, ...]
    sender_address: str | None  # the Sender header (who sent it on From's behalf)
    return_path: str | None  # "" for the null sender <>, None when the header is absent
    date_header: datetime | None  # the sender's claim; never the received time
    headers: Mapping[str, str] = field(hash=False)
    body_text: str
    summary_text: str
    attachments: tuple[Attachment, ...]
    defects: tuple[str, ...]
    content_hash: str
    is_report: bool
    report_original_ids: tuple[str, ...]
    # Message-IDs of every message this one carries or quotes (attached originals,
    # "Message-ID:" lines in the text); a bounce without DSN structure names ours here.
    returned_message_ids: tuple[str, ...] = ()
    reply_to_name: str | None = None  # the display name of the Reply-To address
    # The message's size on the server when it was over ``[mailbox] max_message_bytes``
    # and only its header, first text part and parts' descriptions were fetched.
    cut_down_from: int | None = None

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())

    def __reduce__(self) -> tuple[object, tuple[dict[str, object]]]:
        # The headers are a read-only view, which does not pickle: send a plain dict (a
        # worker process hands parsed mail to the database writer).
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["headers"] = dict(self.headers)
        return (_unpickle, (values,))


def _unpickle(values: dict[str, object]) -> ParsedEmail:
    headers = values.pop("headers")
    assert isinstance(headers, dict)
    return ParsedEmail(headers=MappingProxyType(headers), **values)  # type: ignore[arg-type]


# --------------------------------------------------------------------------- assembly


def _content_hash(from_address: str | None, subject: str, body: str) -> str:
    normal = unicodedata.normalize("NFC", f"{from_address or ''}\n{subject}\n{body}")
    normal = " ".join(normal.split())
    return hashlib.sha256(normal.encode("utf-8")).hexdigest()


def _embedded_message_ids(parts: list[Message], defects: list[str]) -> Iterator[str]:
    for part in parts:
        try:
            payload = part.get_payload()
            if isinstance(payload, list) and payload and isinstance(payload[0], Message):
                inner = _Headers(payload[0], defects)
            else:
                raw = _payload_bytes(part, defects) or str(payload).encode("utf-8", "replace")
                headers_only = HeaderParser(policy=policy.compat32).parsestr(
                    raw.decode("utf-8", "replace")
                )
                inner = _Headers(headers_only, defects)
        except Exception as exc:
            defects.append(f"returned original unreadable ({type(exc).__name__})")
            continue
        message_id = _first_message_id(inner.text("Message-ID"))
        if message_id:
            yield message_id


_HEADER_LINE = re.compile(rb"^[!-9;-~]+[ \t]*:")
_OBSOLETE_COLON = re.compile(rb"^([!-9;-~]+)[ \t]+:")
_HEADER_END = re.compile(rb"\r?\n\r?\n")


def repair_header_block(raw: bytes) -> bytes:
    """Undo two header faults that make the standard parser lose headers.

    Obsolete syntax with white space before the colon (``From  : ...``, RFC 5322
    section 4.5) is closed up, and a line that is neither a header nor a
    continuation but is followed by more headers (broken folding: a display name
    split over two lines without indentation) is indented as a continuation.
    Returns ``raw`` unchanged when there is nothing to repair.
    """
    end = _HEADER_END.search(raw)
    head, rest = (raw[: end.start()], raw[end.start() :]) if end else (raw, b"")
    lines = head.split(b"\n")
    out: list[bytes] = []
    changed = False
    for index, line in enumerate(lines):
        if index == 0 and line.startswith(b"From ") and not _HEADER_LINE.match(line):
            out.append(line)  # an mbox "From " envelope line
            continue
        fixed = _OBSOLETE_COLON.sub(rb"\1:", line)
        if (
            not _HEADER_LINE.match(fixed)
            and fixed[:1] not in (b" ", b"\t")
            and fixed.strip()
            and out
            and any(_HEADER_LINE.match(later) for later in lines[index + 1 :])
        ):
            fixed = b" " + fixed
        changed = changed or fixed != line
        out.append(fixed)
    return b"\n".join(out) + rest if changed else raw


def _looks_like_email(headers: _Headers) -> bool:
    return any(name in _CORE_HEADERS for name in headers.names())


def parse_email(raw: bytes, *, max_attachment_bytes: int = 25_000_000) -> ParsedEmail:
    """Parse one email. Never raises, except :class:`Unprocessable` for non-email input."""
    if not raw or raw.isspace():
        raise Unprocessable("empty message")
    try:
        return _parse(raw, max_attachment_bytes)
    except Unprocessable:
        raise
    except Exception as exc:  # a safety net: quarantine instead of crashing the batch
        # the class only: an exception's text can quote the message
        raise Unprocessable(f"email parser failed: {type(exc).__name__}") from exc


_SLICE = 1 << 16


def _parse_bytes(raw: bytes) -> Message:
    """The message parsed once, fed in slices: ``BytesParser.parsebytes`` decodes the whole
    message into one string and copies it again; the feed parser takes it as it comes."""
    parser = BytesFeedParser(policy=POLICY)
    view = memoryview(raw)
    for start in range(0, len(raw), _SLICE):
        parser.feed(bytes(view[start : start + _SLICE]))
    return parser.close()


#: The first line of a message the IMAP adapter fetched cut down (bot.adapters.imap_large).
CUT_DOWN_MARKER = b"X-Complaint-Bot-Truncated: original size "


def _cut_down_from(raw: bytes) -> int | None:
    if not raw.startswith(CUT_DOWN_MARKER):
        return None
    digits = raw[len(CUT_DOWN_MARKER) : len(CUT_DOWN_MARKER) + 20].split(b" ", 1)[0]
    return int(digits) if digits.isdigit() else None


def _parse(raw: bytes, max_attachment_bytes: int) -> ParsedEmail:
    defects: list[str] = []
    tokens: set[str] = set()
    cut_down_from = _cut_down_from(raw)
    if cut_down_from is not None:
        defects.append(f"message of {cut_down_from} bytes: over the size limit, cut down")
        tokens.add("")
    if len(raw) > PART_BYTES:  # what one message may cost: parse a cut-down copy
        token = secrets.token_hex(8)
        tokens.add(token)
        raw, notes = slim(raw, token)
        defects += notes
    repaired = repair_header_block(raw)
    if repaired is not raw:
        defects.append("header block repaired (obsolete syntax or broken folding)")
    message = _parse_bytes(repaired)
    headers = _Headers(message, defects)
    if not _looks_like_email(headers):
        raise Unprocessable("not an email: no From, To, Subject, Date or other core header")
    for defect in getattr(message, "defects", []):
        defects.append(type(defect).__name__)

    if headers.count("Message-ID") > 1:
        defects.append("duplicate Message-ID header; the first one is used")
    message_id = _first_message_id(headers.text("Message-ID"))
    if message_id is not None and len(message_id) > MAX_ID_LENGTH:
        defects.append("Message-ID: longer than 998 characters; shortened with a hash")
        message_id = storable_id(message_id)
    if headers.count("Message-ID") and message_id is None:
        defects.append("Message-ID: not a valid message id")

    subject = _FOLDING.sub(" ", headers.text("Subject") or "").strip()
    senders = headers.addresses("From")
    if headers.count("From") and not senders:
        defects.append("From: no usable address")
    from_name = (senders[0][0] or None) if senders else None
    from_address = senders[0][1] if senders else None
    reply_to = headers.addresses("Reply-To")
    recipients = headers.addresses("To")
    on_behalf = headers.addresses("Sender")

    walker = _BodyWalker(max_attachment_bytes, defects, frozenset(tokens))
    try:
        body_text = walker.text_of(message)
    except Exception as exc:
        defects.append(f"body unreadable ({type(exc).__name__})")
        body_text = ""
    if len(body_text) > MAX_BODY_CHARS:
        defects.append(f"body text cut at {MAX_BODY_CHARS} of {len(body_text)} characters")
        body_text = body_text[:MAX_BODY_CHARS]
    body_text = storable_text(body_text.replace("\r\n", "\n").strip())
    summary_text = strip_quotes_and_signature(body_text)

    is_report = _content_type(message) == "multipart/report"
    original_ids: tuple[str, ...] = ()
    local_part = (from_address or "").split("@")[0]
    if is_report or local_part in ("mailer-daemon", "postmaster"):
        found = list(_embedded_message_ids(walker.embedded, defects))
        if not found:
            # a bounce that quotes the original inline, as some MTAs do
            found = re.findall(r"(?im)^\s*Message-ID:\s*<([^<>\s]+)>", body_text)
        original_ids = tuple(dict.fromkeys(found))
    quoted = list(_embedded_message_ids(walker.embedded, defects))
    quoted += re.findall(r"(?im)^[\s>]*Message-ID:\s*<([^<>\s]+)>", body_text)
    returned_ids = tuple(dict.fromkeys(storable_id(found_id) for found_id in quoted))

    header_map = {name: headers.text(name) or "" for name in headers.names()}
    return ParsedEmail(
        message_id=message_id,
        in_reply_to=tuple(map(storable_id, _message_ids(headers.text("In-Reply-To")))),
        references=tuple(map(storable_id, _message_ids(" ".join(headers.all_texts("References"))))),
        subject=subject,
        from_name=from_name,
        from_address=from_address,
        reply_to_address=reply_to[0][1] if reply_to else None,
        reply_to_name=(reply_to[0][0] or None) if reply_to else None,
        to_addresses=tuple(addr for _, addr in recipients),
        sender_address=on_behalf[0][1] if on_behalf else None,
        return_path=_return_path(headers.text("Return-Path")),
        date_header=_date(headers, defects),
        headers=MappingProxyType(header_map),
        body_text=body_text,
        summary_text=summary_text,
        attachments=tuple(walker.attachments),
        defects=tuple(dict.fromkeys(defects)),
        content_hash=_content_hash(from_address, subject, body_text),
        is_report=is_report,
        report_original_ids=tuple(map(storable_id, original_ids)),
        returned_message_ids=returned_ids,
        cut_down_from=cut_down_from,
    )
