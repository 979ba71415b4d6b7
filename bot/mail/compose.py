"""Building citizen emails: pure functions from case data to an EmailMessage.

Every header value that came from outside (names, subjects, addresses) passes
through :func:`safe_header_text` or :func:`valid_address` first, so a CR/LF in
a complainant's name can never add a header.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email import message_from_string, quoprimime
from email.header import Header
from email.message import EmailMessage
from email.policy import default
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the caller renders with its own templates; this module only builds
    from bot.presenters.render import Renderer

BOT_HEADER = "X-Complaint-Bot-Ref"
_ADDR_RE = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$"
)
_MSGID_RE = re.compile(r"^[\x21-\x7e]{1,900}$")


def safe_header_text(value: object, limit: int = 150) -> str:
    """One line, control characters removed, length-capped: safe in any header."""
    s = "" if value is None else str(value)
    if not s.isprintable():
        s = "".join(ch if ch.isprintable() else " " for ch in s)
    s = " ".join(s.split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def valid_address(addr: str | None) -> str | None:
    """The bare address if it is a plain, single, well-formed address; else None."""
    if not addr or any(c in addr for c in '\r\n\0,;<> \t"()'):
        return None
    addr = addr.strip()
    return addr if _ADDR_RE.match(addr) and len(addr) <= 254 else None


@lru_cache(maxsize=64)  # our own addresses: the same few every time
def address_domain(from_address: str) -> str:
    _name, addr = parseaddr(from_address)
    return addr.rsplit("@", 1)[-1] if "@" in addr else "localhost"


def bare_address(from_address: str) -> str:
    return parseaddr(from_address)[1]


def new_message_id(purpose: str, ref: str, from_address: str) -> str:
    """A Message-ID in our own domain (without angle brackets)."""
    return make_msgid(idstring=f"{purpose}.{ref}", domain=address_domain(from_address)).strip("<>")


@dataclass(frozen=True)
class CitizenEmail:
    """A finished citizen email as RFC 5322 text (what the outbox stores and sends)."""

    eml: str
    subject: str
    text: str  # the plain-text body, as rendered


def citizen_email_text(
    *,
    renderer: Renderer,
    template: str,
    lang: str,
    context: dict[str, Any],
    from_address: str,
    reply_to: str,
    to_address: str,
    to_name: str | None,
    ref: str,
    message_id: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    automatic: bool = True,
) -> CitizenEmail:
    """The same email as :func:`build_citizen_email`, written out directly as text.

    Building an ``EmailMessage`` and serialising it costs ~10 ms a message (the
    header registry parses every header it is given); writing the text takes a
    fraction of that. Headers from outside pass the same filters; non-ASCII
    header text is RFC 2047-encoded; a body goes as 8bit UTF-8 when its lines are
    short, else quoted-printable (what ``EmailMessage.set_content`` chooses).
    """
    to = valid_address(to_address)
    if to is None:
        raise ValueError("recipient address is not a plain, valid address")
    name = f"email/{template}"
    subject = safe_header_text(renderer.letter(name, lang, "subject", context), 200)
    text = _normal(renderer.letter(name, lang, "txt", context))
    html = _normal(renderer.letter(name, lang, "html", context))
    head = [
        ("From", _address_header(from_address)),
        ("To", _mailbox(safe_header_text(to_name, 80), to)),
        ("Subject", _encoded(subject, "Subject")),
        ("Date", format_datetime(now)),
        ("Message-ID", f"<{message_id}>"),
    ]
    if in_reply_to and _MSGID_RE.match(in_reply_to):
        head.append(("In-Reply-To", f"<{in_reply_to}>"))
    refs = [r for r in references if r]
    if in_reply_to and in_reply_to not in refs:
        refs.append(in_reply_to)
    if ids := [f"<{i}>" for i in refs[-20:] if _MSGID_RE.match(i)]:
        head.append(("References", "\n ".join(ids)))
    if reply_to:
        head.append(("Reply-To", _address_header(reply_to)))
    if automatic:
        head.append(("Auto-Submitted", "auto-replied"))
    head.append(("X-Auto-Response-Suppress", "All"))
    head.append((BOT_HEADER, safe_header_text(ref, 100)))
    boundary = f"==============={secrets.token_hex(10)}=="
    head += [
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("Content-Language", safe_header_text(lang, 20)),
    ]
    out = [f"{key}: {value}" for key, value in head]
    for subtype, body in (("plain", text), ("html", html)):
        out += ["", f"--{boundary}", *_text_part(subtype, body)]
    out += ["", f"--{boundary}--", ""]
    return CitizenEmail("\n".join(out), subject, text)


def _encoded(value: str, name: str) -> str:
    if value.isascii() and len(value) + len(name) < 76:
        return value
    return Header(value, "utf-8" if not value.isascii() else "us-ascii", header_name=name).encode(
        linesep="\n"
    )


@lru_cache(maxsize=64)  # our own From and Reply-To: the same few every time
def _address_header(value: str) -> str:
    display, addr = parseaddr(value)
    if not addr:
        return safe_header_text(value, 300)
    return _mailbox(safe_header_text(display, 80), addr)


def _mailbox(display: str, addr: str) -> str:
    """``Name <addr>``: an ASCII name quoted as needed, any other in RFC 2047 words."""
    if display.isascii():
        return formataddr((display, addr))
    words = Header(display, "utf-8", header_name="To").encode(linesep="\n")
    return f"{words} <{addr}>"


def _normal(body: str) -> str:
    """Line ends as ``set_content`` leaves them: ``\\n``, and one at the end."""
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    return body if body.endswith("\n") else body + "\n"


def _text_part(subtype: str, body: str) -> list[str]:
    lines = body.split("\n")
    if max(map(len, lines)) <= 78:
        cte, encoded = ("7bit" if body.isascii() else "8bit"), body
    else:
        cte, encoded = (
            "quoted-printable",
            quoprimime.body_encode(body.encode("utf-8").decode("latin-1"), maxlinelen=76, eol="\n"),
        )
    return [
        f'Content-Type: text/{subtype}; charset="utf-8"',
        f"Content-Transfer-Encoding: {cte}",
        "",
        encoded.rstrip("\n"),
    ]


def build_citizen_email(
    *,
    renderer: Renderer,
    template: str,
    lang: str,
    context: dict[str, Any],
    from_address: str,
    reply_to: str,
    to_address: str,
    to_name: str | None,
    ref: str,
    message_id: str,
    now: datetime,
    in_reply_to: str | None = None,
    references: Sequence[str] = (),
    automatic: bool = True,
) -> EmailMessage:
    """The email :func:`citizen_email_text` writes — the one the outbox sends — read back
    as an ``EmailMessage`` (for ``preview-email`` and for tests that look at its parts).

    ``automatic`` marks machine-sent mail (the acknowledgement) as RFC 3834
    ``auto-replied`` so well-behaved auto-responders stay quiet.
    """
    written = citizen_email_text(
        renderer=renderer,
        template=template,
        lang=lang,
        context=context,
        from_address=from_address,
        reply_to=reply_to,
        to_address=to_address,
        to_name=to_name,
        ref=ref,
        message_id=message_id,
        now=now,
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
    )
    msg = message_from_string(written.eml, policy=default)
    assert isinstance(msg, EmailMessage)
    return msg
