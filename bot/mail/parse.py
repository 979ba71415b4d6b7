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

import base64
import codecs
import contextlib
import hashlib
import quopri
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import policy
from email.headerregistry import Address, AddressHeader, DateHeader
from email.message import Message
from email.parser import BytesParser, HeaderParser
from email.utils import getaddresses, parsedate_to_datetime
from types import MappingProxyType
from typing import Any

import html2text

from bot.errors import Unprocessable

_CORE_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "subject",
        "date",
        "message-id",
        "received",
        "return-path",
        "sender",
        "reply-to",
        "delivered-to",
        "mime-version",
        "content-type",
    }
)

# Western single-byte charsets that Nordic senders declare while actually
# writing UTF-8 (and vice versa); for these, valid UTF-8 wins.
_WESTERN_8BIT = frozenset(
    {"us-ascii", "ascii", "iso-8859-1", "latin-1", "latin1", "iso-8859-15", "cp1252",
     "windows-1252"}
)
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_FOLDING = re.compile(r"\s*[\r\n]+\s*")
_ADDR_SPEC = re.compile(r"^[^@\s<>()]+@[^@\s<>()\[\]]+$")
_LOOSE_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+\.[^\s<>()\[\]\"',;:@]+")
_COMMENT = re.compile(r"\(([^()]*)\)")
_MAX_DEPTH = 30
MAX_ID_LENGTH = 998
"""The longest Message-ID kept whole (the column size; RFC 5322 allows no longer line)."""

_CP50221 = "x-cp50221"  # Microsoft's ISO-2022-JP with NEC/IBM extensions; decoded below

# Labels whose charset Python decodes too narrowly (or not at all), mapped to the
# supersets or siblings real mail actually uses, in the order to try them.
_CHARSET_FALLBACKS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("gb2312", "gb_2312-80", "gb_2312", "euc-cn", "x-euc-cn", "gbk", "x-gbk",
                     "cp936", "chinese", "csgb2312"), ("gb18030",)),
    **dict.fromkeys(("iso-2022-jp", "csiso2022jp", "iso2022jp", "iso-2022-jp-1"),
                    ("iso2022_jp_2", "iso2022_jp_ext", _CP50221, "iso2022_jp_2004")),
    **dict.fromkeys(("shift_jis", "shift-jis", "sjis", "x-sjis", "ms_kanji", "csshiftjis"),
                    ("cp932", "shift_jis_2004")),
    **dict.fromkeys(("euc-jp", "x-euc-jp", "cseucpkdfmtjapanese"), ("euc_jis_2004", "cp932")),
    **dict.fromkeys(("ks_c_5601-1987", "ks_c_5601", "ksc5601", "ks_c_5601-1989", "euc-kr",
                     "korean", "cseuckr", "iso-2022-kr"), ("cp949",)),
    **dict.fromkeys(("big5", "big-5", "x-big5", "csbig5"), ("big5hkscs", "cp950")),
    **dict.fromkeys(("iso-8859-1", "iso8859-1", "latin-1", "latin1", "l1", "us-ascii", "ascii",
                     "iso-8859-15", "iso8859-15"), ("cp1252",)),
    **dict.fromkeys(("iso-8859-8-i", "iso-8859-8-e"), ("iso-8859-8",)),
    **dict.fromkeys(("tis-620", "iso-8859-11", "windows-874"), ("cp874",)),
    "unicode-1-1-utf-7": ("utf-7",),
    "x-mac-roman": ("mac_roman",),
}


@dataclass(frozen=True)
class Attachment:
    """A part that is not readable body text. Only its description is kept."""

    filename: str
    content_type: str
    size: int
    truncated: bool  # larger than the cap: its size is an estimate and nothing of it is kept


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

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        return self.headers.get(name.lower())


# --------------------------------------------------------------------------- headers


def _decode_raw_bytes(value: str) -> tuple[str, bool]:
    """Undo the surrogate escapes the bytes parser leaves for raw 8-bit header bytes.

    Raw UTF-8 is legal (RFC 6532); anything else is guessed as cp1252 and
    reported as not clean (the second item is False).
    """
    raw = value.encode("utf-8", "surrogateescape")
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        return raw.decode("cp1252", "replace"), False


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= char <= "\udcff" for char in value)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> str:
    """``value`` without what no database column takes: NUL bytes and lone surrogates
    (from a mislabelled charset) become U+FFFD, so a message is never lost over them."""
    return _UNSTORABLE.sub("\ufffd", value)


def storable_id(message_id: str, limit: int = MAX_ID_LENGTH) -> str:
    """A Message-ID that fits the column: over ``limit``, its head plus a hash of the
    whole, so two long ids that differ only at the end stay two ids."""
    message_id = storable_text(message_id)
    if len(message_id) <= limit:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return f"{message_id[: limit - len(digest) - 8]}#sha256:{digest}"


def _charset_label(name: str) -> str:
    return name.strip().strip('"').lower().split("*", 1)[0]


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_ADJACENT_WORDS = re.compile(r"(?<=\?=)[ \t]+(?==\?)")
_ADDRESS_HEADERS = frozenset({"from", "to", "cc", "bcc", "reply-to", "sender", "resent-from",
                              "resent-to", "resent-sender", "return-path"})


def _decode_encoded_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1), match.group(2).lower(), match.group(3)
    try:
        if encoding == "b":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = quopri.decodestring(payload.replace("_", " ").encode("ascii", "replace"),
                                       header=True)
    except Exception:
        return match.group(0)
    return decode_text(data, _charset_label(charset))


def _predecode_words(name: str, value: str) -> str:
    """Decode RFC 2047 words whose charset Python reads too narrowly (GB2312 written as
    GBK, ISO-2022-JP with extensions, ks_c_5601...) with the same fallbacks as bodies.

    Other encoded words are left to the standard parser. In address headers a
    decoded word is quoted, so commas or brackets in a name cannot split the address.
    """
    if "=?" not in value or not any(
        _charset_label(m.group(1)) in _CHARSET_FALLBACKS for m in _ENCODED_WORD.finditer(value)
    ):
        return value
    value = _ADJACENT_WORDS.sub("", value)
    structured = name.lower() in _ADDRESS_HEADERS
    out: list[str] = []
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        out.append(value[position : match.start()])
        text = _decode_encoded_word(match)
        if structured:
            inside_quotes = value[: match.start()].replace('\\"', "").count('"') % 2 == 1
            escaped = text.replace("\\", "\\\\").replace('"', '\\"')
            text = escaped if inside_quotes else f'"{escaped}"'
        out.append(text)
        position = match.end()
    out.append(value[position:])
    return "".join(out)


class _Headers:
    """Guarded header access: every header read of the parser goes through here.

    ``email.policy.default`` parses a header lazily when it is read, and a
    malformed one can raise then. :meth:`read` parses one raw value itself,
    catches anything, falls back to the raw text and records a defect, so one
    bad header never loses the message.
    """

    def __init__(self, message: Message, defects: list[str]) -> None:
        self._defects = defects
        self._raw: dict[str, list[str]] = {}
        self._spelling: dict[str, str] = {}  # as the sender spelled the name, for defects
        for name, value in message.raw_items():
            self._raw.setdefault(str(name).lower(), []).append(str(value))
            self._spelling.setdefault(str(name).lower(), str(name))

    def names(self) -> list[str]:
        return list(self._raw)

    def count(self, name: str) -> int:
        return len(self._raw.get(name.lower(), ()))

    def read(self, name: str, index: int = 0) -> tuple[Any, str] | None:
        """``(parsed header object or None, text)`` of one occurrence, or None if absent."""
        values = self._raw.get(name.lower())
        if not values or index >= len(values):
            return None
        name = self._spelling[name.lower()]
        value = _FOLDING.sub(" ", values[index]).strip()
        if _has_surrogates(value):
            value, clean = _decode_raw_bytes(value)
            if not clean:
                self._defects.append(f"{name}: raw 8-bit bytes that are not UTF-8 in header")
        try:
            value = _predecode_words(name, value)
            parsed = policy.default.header_factory(name, value)
            return parsed, storable_text(str(parsed))
        except Exception as exc:  # malformed header: keep the raw text instead
            self._defects.append(f"{name}: unparseable header ({type(exc).__name__})")
            return None, storable_text(value)

    def raw_text(self, name: str) -> str | None:
        """The first value as written (unfolded, 8-bit bytes decoded), before any parsing."""
        values = self._raw.get(name.lower())
        if not values:
            return None
        value = _FOLDING.sub(" ", values[0]).strip()
        return storable_text(_decode_raw_bytes(value)[0] if _has_surrogates(value) else value)

    def text(self, name: str) -> str | None:
        found = self.read(name)
        return None if found is None else found[1]

    def all_texts(self, name: str) -> list[str]:
        texts = []
        for index in range(self.count(name)):
            found = self.read(name, index)
            if found is not None:
                texts.append(found[1])
        return texts

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """``(display name, lower-cased addr-spec)`` pairs of an address header."""
        found = self.read(name)
        if found is None:
            return []
        parsed, text = found
        pairs: list[tuple[str, str]] = []
        try:
            if isinstance(parsed, AddressHeader):
                for address in parsed.addresses:
                    if isinstance(address, Address):
                        pairs.append((address.display_name or "", address.addr_spec))
        except Exception as exc:
            self._defects.append(f"{name}: unparseable address ({type(exc).__name__})")
            pairs = []
        if not pairs:
            pairs = [(display, addr) for display, addr in getaddresses([text]) if addr]
        usable = [
            (storable_text(display.strip()), addr.strip().lower())
            for display, addr in pairs
            if _ADDR_SPEC.match(addr.strip())
        ]
        raw_text = self.raw_text(name) or text
        if not usable:
            usable = _loose_address(raw_text)
        if len(usable) == 1 and not usable[0][0] and (comment := _COMMENT.search(raw_text)):
            usable = [(" ".join(comment.group(1).split()), usable[0][1])]  # addr (Anna Berg)
        return usable


def _loose_address(text: str) -> list[tuple[str, str]]:
    """What mature mail tools do with a From the grammar rejects: find the one thing
    that looks like an address (``Anna Berg anna@x.se``, ``<<anna@x.se>``) and take
    the rest as the name."""
    match = _LOOSE_ADDRESS.search(text)
    if match is None:
        return []
    address = match.group(0).strip(".").lower()
    if not _ADDR_SPEC.match(address):
        return []
    rest = (text[: match.start()] + " " + text[match.end() :]).replace("<", " ").replace(">", " ")
    comment = _COMMENT.search(rest)
    name = " ".join((comment.group(1) if comment else _COMMENT.sub(" ", rest)).split())
    if "=?" in name:
        with contextlib.suppress(Exception):  # an undecodable name stays as written
            name = str(policy.default.header_factory("Subject", _predecode_words("Subject", name)))
    return [(storable_text(name.strip().strip('"')), address)]


def _first_message_id(text: str | None) -> str | None:
    if not text:
        return None
    match = _MESSAGE_ID.search(text)
    if match:
        return match.group(1)
    bare = text.strip()
    if "@" in bare and not re.search(r"[\s<>]", bare) and len(bare) <= 250:
        return bare
    return None


def _message_ids(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    ids = _MESSAGE_ID.findall(text)
    if not ids:
        single = _first_message_id(text)
        return (single,) if single else ()
    return tuple(dict.fromkeys(ids))


def _date(headers: _Headers, defects: list[str]) -> datetime | None:
    found = headers.read("Date")
    if found is None:
        return None
    parsed, text = found
    when: datetime | None = None
    if isinstance(parsed, DateHeader):
        try:
            when = parsed.datetime
        except Exception:
            when = None
    if when is None:
        try:
            when = parsedate_to_datetime(text)
        except Exception:
            when = None
    if when is None:
        defects.append("Date: not a valid date")
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _return_path(text: str | None) -> str | None:
    if text is None:
        return None
    match = re.search(r"<([^<>]*)>", text)
    return (match.group(1) if match else text).strip().lower()


# --------------------------------------------------------------------------- bodies


def _charset_known(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


def decode_text(payload: bytes, declared: str | None, defects: list[str] | None = None) -> str:
    """Decode body bytes, getting å ä ö æ ø (and CJK) right when the charset is missing or wrong.

    Order: valid UTF-8 first when nothing or a Western 8-bit charset was
    declared (senders often mislabel UTF-8 as ISO-8859-1); then the supersets
    real mail uses for the declared label (GB2312 -> GB18030, ISO-2022-JP -> its
    extended variants, ks_c_5601 -> cp949, ISO-8859-1 -> windows-1252, see
    ``_CHARSET_FALLBACKS``); then the declared charset itself; then UTF-8, cp1252
    and finally latin-1, which never fails. Lone surrogates a decoding leaves
    (a broken UTF-7 sequence) become U+FFFD. Unknown charset names fall through
    to the same chain.
    """
    notes = defects if defects is not None else []
    charset = _charset_label(declared or "") or None
    order: list[str] = []
    if charset is None or charset in _WESTERN_8BIT:
        order.append("utf-8")
    if charset is not None:
        order += _CHARSET_FALLBACKS.get(charset, ())
        if _charset_known(charset):
            order.append(charset)
        else:
            notes.append(f"unknown charset {charset!r}")
    order += ["utf-8", "cp1252", "latin-1"]
    for name in dict.fromkeys(order):
        try:
            text = _decode_as(payload, name)
        except (UnicodeDecodeError, LookupError):
            continue
        if _UNSTORABLE.search(text.replace("\x00", "")):
            notes.append(f"body in {name} has lone surrogates; replaced")
        if charset is not None and not payload.isascii() and not _same_codec(name, charset):
            notes.append(f"body declared {charset} but decoded as {name}")
        return storable_text(text)
    return payload.decode("latin-1", "replace")  # unreachable: latin-1 decodes any bytes


_ISO2022JP_SHIFT = re.compile(rb"\x1b(\(B|\(J|\(I|\$@|\$B)")


def decode_cp50221(payload: bytes) -> str:
    """ISO-2022-JP as Outlook writes it (CP50221): the JIS X 0208 escape also carries
    the NEC and IBM extension rows (circled numbers, 髙) that Python's iso2022 codecs
    reject, and ``ESC ( I`` half-width katakana. Each two-byte run is moved to
    Shift_JIS and read as cp932. Raises UnicodeDecodeError on anything else."""
    out: list[str] = []
    mode = b"(B"
    position = 0
    for match in [*_ISO2022JP_SHIFT.finditer(payload), None]:
        end = match.start() if match else len(payload)
        chunk = payload[position:end]
        if b"\x1b" in chunk:
            raise UnicodeDecodeError("cp50221", payload, position, end, "unknown escape")
        if mode in (b"$@", b"$B"):
            if len(chunk) % 2:
                raise UnicodeDecodeError("cp50221", payload, position, end, "odd length")
            sjis = bytearray()
            for j1, j2 in zip(chunk[::2], chunk[1::2], strict=True):
                if not (0x21 <= j1 <= 0x7E and 0x21 <= j2 <= 0x7E):
                    raise UnicodeDecodeError("cp50221", payload, position, end, "not JIS")
                s1 = ((j1 + 1) >> 1) + (0x70 if j1 <= 0x5E else 0xB0)
                s2 = j2 + (0x1F + (j2 >= 0x60) if j1 % 2 else 0x7E)
                sjis += bytes((s1, s2))
            out.append(bytes(sjis).decode("cp932"))
        elif mode == b"(I":
            out.append(bytes(byte | 0x80 for byte in chunk).decode("cp932"))
        else:
            out.append(chunk.decode("ascii"))
        if match:
            mode, position = match.group(1), match.end()
    return "".join(out)


def _decode_as(payload: bytes, name: str) -> str:
    return decode_cp50221(payload) if name == _CP50221 else payload.decode(name)


def _same_codec(a: str, b: str) -> bool:
    try:
        return codecs.lookup(a).name == codecs.lookup(b).name
    except LookupError:
        return False


def html_to_text(html: str) -> str:
    """Readable text from an HTML body; never raises."""
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = True
    converter.unicode_snob = True
    try:
        return str(converter.handle(html)).strip()
    except Exception:
        return re.sub(r"<[^>]*>", " ", html).strip()


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _param(part: Message, getter: str, defects: list[str]) -> str | None:
    try:
        value = getattr(part, getter)()
    except Exception as exc:
        defects.append(f"{getter}: unparseable ({type(exc).__name__})")
        return None
    return str(value) if value else None


def _is_attachment(part: Message, defects: list[str]) -> bool:
    try:
        disposition = part.get_content_disposition()
    except Exception:
        disposition = None
    return disposition == "attachment" or bool(_param(part, "get_filename", defects))


def _payload_bytes(part: Message, defects: list[str]) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except Exception as exc:
        defects.append(f"body part could not be decoded ({type(exc).__name__})")
        return b""
    return payload if isinstance(payload, bytes) else b""


class _BodyWalker:
    """Collects the readable text and the attachments of a message tree."""

    def __init__(self, max_attachment_bytes: int, defects: list[str]) -> None:
        self.max_attachment_bytes = max_attachment_bytes
        self.defects = defects
        self.attachments: list[Attachment] = []
        self.embedded: list[Message] = []  # message/rfc822 and rfc822-headers parts

    def text_of(self, part: Message, depth: int = 0) -> str:
        """The readable text of ``part``: plain preferred, HTML converted as fallback."""
        if depth > _MAX_DEPTH:
            self.defects.append("multipart nesting too deep; rest ignored")
            return ""
        ctype = _content_type(part)
        if ctype in ("message/rfc822", "text/rfc822-headers", "message/rfc822-headers"):
            # a returned original or a forwarded message: not the sender's words
            self.embedded.append(part)
            self._guarded_attach(part, ctype)
            return ""
        if part.is_multipart():
            children = self._children(part)
            if ctype == "multipart/alternative":
                return self._best_alternative(children, depth)
            texts = [self.text_of(child, depth + 1) for child in children]
            return "\n\n".join(text for text in texts if text.strip())
        if ctype in ("text/plain", "text/html") and not _is_attachment(part, self.defects):
            charset = _param(part, "get_content_charset", self.defects)
            text = decode_text(_payload_bytes(part, self.defects), charset, self.defects)
            return html_to_text(text) if ctype == "text/html" else text.strip()
        self._guarded_attach(part, ctype)
        return ""

    def _guarded_attach(self, part: Message, ctype: str) -> None:
        try:
            self._attach(part, ctype)
        except Exception as exc:  # one odd part must not cost the rest of the message
            self.defects.append(f"{ctype} part unreadable ({type(exc).__name__})")
            self.attachments.append(Attachment("", ctype, 0, truncated=False))

    def _children(self, part: Message) -> list[Message]:
        payload = part.get_payload()
        return [child for child in payload if isinstance(child, Message)] if isinstance(
            payload, list
        ) else []

    def _best_alternative(self, children: list[Message], depth: int) -> str:
        plain = [c for c in children if _content_type(c) == "text/plain"]
        others = [c for c in children if _content_type(c) != "text/plain"]
        for child in plain + others:
            text = self.text_of(child, depth + 1)
            if text.strip():
                return text
        return ""

    def _attach(self, part: Message, ctype: str) -> None:
        filename = storable_text(_param(part, "get_filename", self.defects) or "")[:255]
        payload = part.get_payload()
        if isinstance(payload, list) and payload and isinstance(payload[0], Message):
            # message/rfc822: the payload is the embedded message itself
            size = len(payload[0].as_bytes(policy=policy.compat32))
        else:
            raw = part.get_payload()
            encoded_size = len(raw) if isinstance(raw, str | bytes) else 0
            try:
                cte = str(part.get("Content-Transfer-Encoding", "")).lower()
            except Exception:
                cte = ""
            estimate = encoded_size * 3 // 4 if "base64" in cte else encoded_size
            if estimate > self.max_attachment_bytes:
                self.attachments.append(Attachment(filename, ctype, estimate, truncated=True))
                return
            size = len(_payload_bytes(part, self.defects))
        truncated = size > self.max_attachment_bytes
        self.attachments.append(Attachment(filename, ctype, size, truncated))


# --------------------------------------------------------------------------- summary

_QUOTE_HEADER = re.compile(
    r"^\s*(?:On|Den|Am|Le|El|Op|På)\b.{0,250}\b"
    r"(?:wrote|skrev|schrieb|a écrit|escribió|schreef)\s*:?\s*$"
    r"|^.{0,250}\d.{0,250}\b(?:skrev|wrote)\b[^:]{0,200}<[^<>@\s]+@[^<>\s]+>\s*:?\s*$",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(
    r"^\s*-{2,}\s*(?:Original Message|Ursprungligt meddelande|Originalmeddelande|"
    r"Opprinnelig melding|Opphavleg melding|Forwarded message|Vidarebefordrat meddelande|"
    r"Videresendt melding)\s*-{2,}\s*$"
    r"|^\s*_{10,}\s*$"
    r"|^\s*(?:Begin forwarded message|Start (?:på|of) vidarebefordrat meddelande|"
    r"Videresendt melding|Vidaresendt melding)\s*:\s*$",
    re.IGNORECASE,
)
_REPLY_FROM = re.compile(r"^\s*\*?(?:From|Från|Fra|Frå|Von)\s*:\*?\s*\S", re.IGNORECASE)
_REPLY_FIELD = re.compile(
    r"^\s*\*?(?:Sent|Skickat|Sendt|Date|Datum|Dato|To|Till|Til|Subject|Ämne|Emne|Cc|"
    r"Kopia|Kopi)\s*:",
    re.IGNORECASE,
)
_MOBILE_SIGNATURE = re.compile(
    r"^\s*(?:Sent from my|Skickat från min|Sendt fra min|Sendt frå min|Hämta Outlook|"
    r"Get Outlook for)\b",
    re.IGNORECASE,
)


def strip_quotes_and_signature(body: str, *, whole_if_empty: bool = True) -> str:
    """The part of ``body`` the sender wrote now: no quoted replies, no signature.

    Cuts at the first reply marker ("On ... wrote:", "Den ... skrev:", an
    Outlook "From:/Från:/Fra:" header block or separator line, or the "-- "
    signature separator), drops "> " quoted lines and "Sent from my iPhone"
    lines. Falls back to the whole body if that leaves nothing (unless
    ``whole_if_empty`` is False: then the sender wrote nothing of their own).
    """
    lines = body.splitlines()
    kept: list[str] = []
    for index, line in enumerate(lines):
        two_lines = line + " " + lines[index + 1] if index + 1 < len(lines) else line
        if line.rstrip() in ("--", "-- ") or _SEPARATOR.match(line):
            break
        if _QUOTE_HEADER.match(line) or (
            _QUOTE_HEADER.match(two_lines) and re.search(r"wrote|skrev", lines[index + 1], re.I)
        ):
            break
        if _REPLY_FROM.match(line) and any(
            _REPLY_FIELD.match(following) for following in lines[index + 1 : index + 5]
        ):
            break
        if line.lstrip().startswith(">") or _MOBILE_SIGNATURE.match(line):
            continue
        kept.append(line.rstrip())
    summary = "\n".join(kept).strip()
    summary = re.sub(r"\n{3,}", "\n\n", summary)
    return summary or (body.strip() if whole_if_empty else "")


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
    if not raw or not raw.strip():
        raise Unprocessable("empty message")
    try:
        return _parse(raw, max_attachment_bytes)
    except Unprocessable:
        raise
    except Exception as exc:  # a safety net: quarantine instead of crashing the batch
        # the class only: an exception's text can quote the message
        raise Unprocessable(f"email parser failed: {type(exc).__name__}") from exc


def _parse(raw: bytes, max_attachment_bytes: int) -> ParsedEmail:
    defects: list[str] = []
    repaired = repair_header_block(raw)
    if repaired is not raw:
        defects.append("header block repaired (obsolete syntax or broken folding)")
    message = BytesParser(policy=policy.default).parsebytes(repaired)
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

    walker = _BodyWalker(max_attachment_bytes, defects)
    try:
        body_text = walker.text_of(message)
    except Exception as exc:
        defects.append(f"body unreadable ({type(exc).__name__})")
        body_text = ""
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
    )
