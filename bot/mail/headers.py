"""Email headers: RFC 2047 words, raw 8-bit bytes, addresses, Message-IDs, dates.
Never raises: a bad header is a defect and the best value we could get."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import quopri
import re
from datetime import UTC, datetime
from email.headerregistry import Address, AddressHeader, DateHeader
from email.message import Message
from email.utils import getaddresses, parsedate_to_datetime
from typing import Any

from bot.mail.body import _CHARSET_FALLBACKS, _charset_label, decode_text, storable_text
from bot.mail.simple_headers import REGISTRY, Simple, read_simple

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

_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")
_FOLDING = re.compile(r"\s*[\r\n]+\s*")
_ADDR_SPEC = re.compile(r"^[^@\s<>()]+@[^@\s<>()\[\]]+$")
_LOOSE_ADDRESS = re.compile(r"[^\s<>()\[\]\"',;:@]+@[^\s<>()\[\]\"',;:@]+\.[^\s<>()\[\]\"',;:@]+")
_COMMENT = re.compile(r"\(([^()]*)\)")
MAX_ID_LENGTH = 998
"""The longest Message-ID kept whole (the column size; RFC 5322 allows no longer line)."""


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


_RAW_BYTE = re.compile("[\udc80-\udcff]")  # the surrogate escape of a raw 8-bit byte


def _has_surrogates(value: str) -> bool:
    return _RAW_BYTE.search(value) is not None


def _unfolded(value: str) -> str:
    """One line: folding (a line break and the white space around it) read as one space."""
    if "\n" in value or "\r" in value:
        value = _FOLDING.sub(" ", value)
    return value.strip()


def storable_id(message_id: str, limit: int = MAX_ID_LENGTH) -> str:
    """A Message-ID that fits the column: over ``limit``, its head plus a hash of the
    whole, so two long ids that differ only at the end stay two ids."""
    message_id = storable_text(message_id)
    if len(message_id) <= limit:
        return message_id
    digest = hashlib.sha256(message_id.encode("utf-8", "replace")).hexdigest()
    return f"{message_id[: limit - len(digest) - 8]}#sha256:{digest}"


_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=")
_ADJACENT_WORDS = re.compile(r"(?<=\?=)[ \t]+(?==\?)")
_ADDRESS_HEADERS = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "reply-to",
        "sender",
        "resent-from",
        "resent-to",
        "resent-sender",
        "return-path",
    }
)


def _decode_encoded_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1), match.group(2).lower(), match.group(3)
    try:
        if encoding == "b":
            data = base64.b64decode(payload + "=" * (-len(payload) % 4))
        else:
            data = quopri.decodestring(
                payload.replace("_", " ").encode("ascii", "replace"), header=True
            )
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
    bad header never loses the message. A value of simple form is read without
    the header registry (:func:`bot.mail.simple_headers.read_simple`), with the
    same result.
    """

    def __init__(self, message: Message, defects: list[str]) -> None:
        self._defects = defects
        self._raw: dict[str, list[str]] = {}
        self._spelling: dict[str, str] = {}  # as the sender spelled the name, for defects
        self._parsed: dict[tuple[str, int], tuple[Any, str] | None] = {}  # read() once each
        for name, value in message.raw_items():
            self._raw.setdefault(str(name).lower(), []).append(str(value))
            self._spelling.setdefault(str(name).lower(), str(name))

    def names(self) -> list[str]:
        return list(self._raw)

    def count(self, name: str) -> int:
        return len(self._raw.get(name.lower(), ()))

    def read(self, name: str, index: int = 0) -> tuple[Any, str] | None:
        """``(parsed header object or None, text)`` of one occurrence, or None if absent."""
        key = (name.lower(), index)
        if key not in self._parsed:
            self._parsed[key] = self._read(name, index)
        return self._parsed[key]

    def _read(self, name: str, index: int) -> tuple[Any, str] | None:
        values = self._raw.get(name.lower())
        if not values or index >= len(values):
            return None
        name = self._spelling[name.lower()]
        value = _unfolded(values[index])
        if _has_surrogates(value):
            value, clean = _decode_raw_bytes(value)
            if not clean:
                self._defects.append(f"{name}: raw 8-bit bytes that are not UTF-8 in header")
        try:
            if "=?" not in value and (simple := read_simple(name, value)) is not None:
                return simple, storable_text(simple.text)
            value = _predecode_words(name, value)
            parsed = REGISTRY(name, value)
            return parsed, storable_text(str(parsed))
        except Exception as exc:  # malformed header: keep the raw text instead
            self._defects.append(f"{name}: unparseable header ({type(exc).__name__})")
            return None, storable_text(value)

    def raw_text(self, name: str) -> str | None:
        """The first value as written (unfolded, 8-bit bytes decoded), before any parsing."""
        values = self._raw.get(name.lower())
        if not values:
            return None
        value = _unfolded(values[0])
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
            if isinstance(parsed, Simple):
                pairs = list(parsed.addresses or ())
            elif isinstance(parsed, AddressHeader):
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
            name = str(REGISTRY("Subject", _predecode_words("Subject", name)))
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
    if isinstance(parsed, Simple):
        when = parsed.datetime
    elif isinstance(parsed, DateHeader):
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
