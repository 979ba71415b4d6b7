"""Whose address is it: ours, a robot's, a web form's, or a person's.

Pure string rules over addresses, and :func:`find_person`, which looks for the
person behind a message in Reply-To, From, Sender, the text and Return-Path.
:mod:`bot.mail.classify` decides with them.
"""

from __future__ import annotations

import re

from bot.mail.parse import ParsedEmail

_NO_REPLY_LOCAL = re.compile(
    r"^(?:mailerdaemon|postmaster)$|noreply|donotreply|dontreply|svarainte|svaraej|ikkesvar|"
    r"ikkjesvar|ingensvar|nichtantworten|noresponder|nepasrepondre"
)
_BOUNCE_LOCAL = re.compile(r"^(?:bounces?|bounce-?back)(?:[+=_.-]|$)|^mailer-?daemon$")
_FORM_LOCAL = re.compile(
    r"form|skjema|blankett|webmaster|wordpress|drupal|joomla|typo3|sitevision|episerver|"
    r"^www|^web$|^website$|^site$|e-?tjanst|eservice|e-?tjeneste|notification|notifier|"
    r"mailer$|^system$|^robot$|^automat"
)
_ROBOT_LOCAL = re.compile(
    r"mailer-?daemon|postmaster|virus|scanner|mailscanner|quarantine|gateway|mailgw|"
    r"microsoftexchange|exchangeadmin|^smtp|^mta$|^mail-?admin|^administrator$|^daemon$"
)


def local_part(addr: str) -> str:
    """The part before the ``@``, lower case (the whole string when there is none)."""
    return addr.strip().lower().rpartition("@")[0] or addr.strip().lower()


def base_address(addr: str) -> str:
    """``Synpunkter+Tag@Example.org`` -> ``synpunkter@example.org`` (sub-address dropped)."""
    local, _, domain = addr.strip().lower().rpartition("@")
    if not local:
        return addr.strip().lower()
    return f"{local.split('+', 1)[0]}@{domain}"


def is_no_reply_address(addr: str) -> bool:
    """True for addresses nobody reads replies to (``no-reply@``, ``MAILER-DAEMON@`` ...)."""
    local = local_part(addr).split("+", 1)[0]
    compact = re.sub(r"[-_.]", "", local)
    return bool(_NO_REPLY_LOCAL.search(compact))


def is_bounce_address(addr: str) -> bool:
    """A VERP or bounce-handling address (``bounces+x=y@``, ``bounce-123@``, MAILER-DAEMON)."""
    return bool(_BOUNCE_LOCAL.search(local_part(addr)))


def is_form_sender(addr: str | None) -> bool:
    """No sender, a no-reply sender, or a web form's (``wordpress@``, ``webform@``...)."""
    return addr is None or is_no_reply_address(addr) or bool(_FORM_LOCAL.search(local_part(addr)))


_LABELLED_ADDRESS = re.compile(
    r"(?im)^[ \t*•-]*(?:[^\W\d_]+[ \t]){0,2}(?:e-?post|e-?mail|epost|mail)"
    r"(?:[- ]?adress(?:e)?|[- ]?address)?[ \t]*[:=][ \t]*(?:[^<\n@]*<)?(?:mailto:)?"
    r"([^\s<>@,;:()\[\]\"']+@[^\s<>@,;:()\[\]\"']+\.[^\W\d_]{2,})"
)


def labelled_addresses(text: str) -> list[str]:
    """Addresses a web form writes into the text under a label: "E-post: anna@x.se",
    "Email: ...", "Din e-postadress: ...". Quoted lines ("> ...") are not read."""
    found = [match.group(1).lower() for match in _LABELLED_ADDRESS.finditer(text)]
    return list(dict.fromkeys(found))


def is_robot_address(addr: str) -> bool:
    """A mail system's own address: gateway, virus scanner, Exchange, postmaster."""
    return bool(_ROBOT_LOCAL.search(local_part(addr)))


def is_person(addr: str | None, own: set[str]) -> bool:
    """Could a person read a reply to ``addr``: valid, not ours, not a robot's."""
    return bool(
        addr
        and len(addr) <= 254
        and re.fullmatch(r"[^@\s<>()]+@[^@\s<>()\[\]]+\.[^@\s<>()\[\].]+", addr)
        and base_address(addr) not in own
        and not is_no_reply_address(addr)
        and not is_bounce_address(addr)
        and not is_robot_address(addr)
    )


def find_person(mail: ParsedEmail, own: set[str]) -> tuple[str, str] | None:
    """``(address, where it was found)`` of the person behind the message, or None."""
    candidates = [
        ("Reply-To", mail.reply_to_address),
        ("From", mail.from_address),
        ("Sender", mail.sender_address),
    ]
    candidates += [("the text", addr) for addr in labelled_addresses(mail.body_text)]
    if mail.return_path:
        candidates.append(("Return-Path", mail.return_path))
    for where, addr in candidates:
        if addr and is_person(addr, own):
            return addr, where
    return None
