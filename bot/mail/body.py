"""Email bodies: charsets that lie, RFC 2047-free payload decoding, HTML to text,
walking the MIME tree to the readable text and the attachments, and the summary
without quotes and signatures. Never raises: a bad part is a defect."""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from email import policy
from email.message import Message

import html2text

from bot.mail.charsets import _CHARSET_FALLBACKS, _CP50221, _WESTERN_8BIT

_MAX_DEPTH = 30


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable_text(value: str) -> str:
    """``value`` without what no database column takes: NUL bytes and lone surrogates
    (from a mislabelled charset) become U+FFFD, so a message is never lost over them."""
    return _UNSTORABLE.sub("\ufffd", value)


def _charset_label(name: str) -> str:
    return name.strip().strip('"').lower().split("*", 1)[0]


@dataclass(frozen=True)
class Attachment:
    """A part that is not readable body text. Only its description is kept."""

    filename: str
    content_type: str
    size: int
    truncated: bool  # larger than the cap: its size is an estimate and nothing of it is kept


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

    def __init__(
        self,
        max_attachment_bytes: int,
        defects: list[str],
        size_tokens: frozenset[str] = frozenset(),
    ) -> None:
        self.max_attachment_bytes = max_attachment_bytes
        # Whose X-Complaint-Bot-Size fields to believe: this parse's slim() token, and ""
        # (a plain size: the part was left on the server) for a message the adapter cut down.
        self.size_tokens = size_tokens
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
        return (
            [child for child in payload if isinstance(child, Message)]
            if isinstance(payload, list)
            else []
        )

    def _best_alternative(self, children: list[Message], depth: int) -> str:
        plain = [c for c in children if _content_type(c) == "text/plain"]
        others = [c for c in children if _content_type(c) != "text/plain"]
        for child in plain + others:
            text = self.text_of(child, depth + 1)
            if text.strip():
                return text
        return ""

    def _noted_size(self, part: Message) -> tuple[int, bool] | None:
        """``(size, left on the server)`` from the last trusted ``X-Complaint-Bot-Size``
        field (ours come after whatever the sender wrote in the part's header)."""
        if not self.size_tokens:
            return None
        found = None
        for value in part.get_all("X-Complaint-Bot-Size") or ():
            words = str(value).split()
            if len(words) == 1 and "" in self.size_tokens and words[0].isdigit():
                found = int(words[0]), True
            elif len(words) == 2 and words[0] in self.size_tokens and words[1].isdigit():
                found = int(words[1]), False
        return found

    def _attach(self, part: Message, ctype: str) -> None:
        filename = storable_text(_param(part, "get_filename", self.defects) or "")[:255]
        noted = self._noted_size(part)
        if noted is not None:  # the body was left out (slim()) or on the server (cut down)
            size, left = noted
            truncated = left or size > self.max_attachment_bytes
            self.attachments.append(Attachment(filename, ctype, size, truncated))
            return
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
_WROTE = re.compile(r"wrote|skrev", re.IGNORECASE)
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
    last = len(lines) - 1
    for index, line in enumerate(lines):
        if line.rstrip() in ("--", "-- ") or _SEPARATOR.match(line):
            break
        if _QUOTE_HEADER.match(line) or (  # "On ... Anna <a@x.se>" / "wrote:" over two lines
            index < last
            and _WROTE.search(lines[index + 1])  # (the cheaper test first)
            and _QUOTE_HEADER.match(line + " " + lines[index + 1])
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
