"""Decide from headers alone whether an email is a complaint we may acknowledge.

Modelled on the idea of GNU Mailman's ``can_acknowledge``: a small pure
function over headers. Every kind except :attr:`MailKind.COMPLAINT` means
"never send an automatic reply to this"; what else happens to the message
(thread it, record a bounce, ignore it) is the pipeline's decision.

The checks run in this order, and the first that matches decides:

1. ``OWN`` - our own outgoing mail (the :data:`BOT_HEADER` we stamp on it, or a
   From address that is one of ours). First, because a loop is the worst outcome.
2. ``BOUNCE`` - delivery status notifications: ``multipart/report`` (except
   read receipts), ``X-Failed-Recipients``, From MAILER-DAEMON or postmaster.
   Before auto-replies because many bounces also carry ``Auto-Submitted``, and
   a bounce tells the pipeline that an acknowledgement did not arrive.
3. ``AUTO_REPLY`` - RFC 3834 ``Auto-Submitted`` other than ``no``,
   ``X-Autoreply``, ``X-Autorespond``, ``Precedence: auto_reply``, read
   receipts, out-of-office subjects, the null sender ``<>``.
4. ``BULK`` / ``LIST`` - ``Precedence: bulk/junk`` (bulk), then ``List-Id``,
   ``List-Post``, ``X-Mailing-List``, ``Precedence: list`` (list), then a lone
   ``List-Unsubscribe`` (a newsletter: bulk).
5. ``NO_REPLY`` - the address a reply would go to (Reply-To, else From) is a
   no-reply address. A web form that sends from ``no-reply@`` with the
   citizen in Reply-To is therefore still a complaint.
6. ``COMPLAINT`` - everything else.

Out-of-office subjects are matched in two strengths, because a real complaint
may well begin with "Frånvaro av personal ...": a subject that *is* the
phrase, or starts with it followed by a colon ("Autosvar: ...", "Out of
office"), decides alone; a subject that merely starts with the phrase counts
only together with ``X-Auto-Response-Suppress``.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from enum import StrEnum

from bot.mail.parse import ParsedEmail

BOT_HEADER = "X-Complaint-Bot-Ref"
"""Stamped on every email the bot sends (value: the case reference)."""


class MailKind(StrEnum):
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    LIST = "list"
    BULK = "bulk"
    OWN = "own"
    NO_REPLY = "no_reply"


@dataclass(frozen=True)
class Classification:
    kind: MailKind
    reason: str  # a short English sentence naming the header that decided

    @property
    def may_acknowledge(self) -> bool:
        """Only a complaint from a person may get an automatic reply."""
        return self.kind is MailKind.COMPLAINT


_OUT_OF_OFFICE = (
    r"(?:out of (?:the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|"
    r"automatiskt svar|automatisk svar|autosvar|auto[- ]?svar|frånvaro(?:meddelande)?|"
    r"fraværende|fråverande|abwesenheitsnotiz)"
)
_STRONG_SUBJECT = re.compile(rf"^\s*{_OUT_OF_OFFICE}\s*(?::|$|[-–!.]\s*$)", re.IGNORECASE)
_WEAK_SUBJECT = re.compile(rf"^\s*{_OUT_OF_OFFICE}\b", re.IGNORECASE)
_NO_REPLY_LOCAL = re.compile(
    r"^(?:mailerdaemon|postmaster)$|noreply|donotreply|svarainte|ikkesvar|ikkjesvar|ingensvar"
)


def is_no_reply_address(addr: str) -> bool:
    """True for addresses nobody reads replies to (``no-reply@``, ``MAILER-DAEMON@`` ...)."""
    local = addr.strip().lower().rpartition("@")[0] or addr.strip().lower()
    local = local.split("+", 1)[0]
    compact = re.sub(r"[-_.]", "", local)
    return bool(_NO_REPLY_LOCAL.search(compact))


def _report_type(mail: ParsedEmail) -> str:
    match = re.search(r"report-type\s*=\s*\"?([\w-]+)", mail.header("content-type") or "", re.I)
    return match.group(1).lower() if match else ""


def _own(mail: ParsedEmail, own: set[str]) -> str | None:
    if mail.header(BOT_HEADER) is not None:
        return f"The {BOT_HEADER} header marks it as the bot's own outgoing mail."
    if mail.from_address and mail.from_address in own:
        return "The From address is one of our own addresses."
    return None


def _bounce(mail: ParsedEmail) -> str | None:
    if mail.is_report and _report_type(mail) != "disposition-notification":
        return "Content-Type is multipart/report (a delivery status notification)."
    if mail.header("x-failed-recipients") is not None:
        return "The X-Failed-Recipients header marks a bounce."
    local = (mail.from_address or "").rpartition("@")[0]
    if local in ("mailer-daemon", "postmaster"):
        return f"The From address is {local.upper()}, which sends bounces."
    return None


def _auto_reply(mail: ParsedEmail) -> str | None:
    auto_submitted = (mail.header("auto-submitted") or "").strip().lower()
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted is {auto_submitted!r} (RFC 3834)."
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if mail.header(name) is not None:
            return f"The {name.title()} header marks an automatic reply."
    precedence = (mail.header("precedence") or "").strip().lower()
    if precedence == "auto_reply":
        return "Precedence is auto_reply."
    if mail.is_report:
        return "Content-Type is multipart/report with a read receipt."
    if _STRONG_SUBJECT.match(mail.subject):
        return "The Subject is an out-of-office or automatic reply subject."
    if mail.header("x-auto-response-suppress") is not None and _WEAK_SUBJECT.match(mail.subject):
        return "X-Auto-Response-Suppress with an out-of-office Subject marks an automatic reply."
    if mail.return_path == "":
        return "Return-Path is the null sender <>, which must never be replied to."
    return None


def _list_or_bulk(mail: ParsedEmail) -> Classification | None:
    precedence = (mail.header("precedence") or "").strip().lower()
    if precedence in ("bulk", "junk"):
        return Classification(MailKind.BULK, f"Precedence is {precedence}.")
    for name in ("list-id", "list-post", "x-mailing-list"):
        if mail.header(name) is not None:
            return Classification(MailKind.LIST, f"The {name.title()} header marks list mail.")
    if precedence == "list":
        return Classification(MailKind.LIST, "Precedence is list.")
    if mail.header("list-unsubscribe") is not None:
        return Classification(MailKind.BULK, "The List-Unsubscribe header marks a mailing.")
    return None


def classify(mail: ParsedEmail, own_addresses: Collection[str]) -> Classification:
    """What kind of mail this is; see the module docstring for the order of checks."""
    own = {address.strip().lower() for address in own_addresses}
    if reason := _own(mail, own):
        return Classification(MailKind.OWN, reason)
    if reason := _bounce(mail):
        return Classification(MailKind.BOUNCE, reason)
    if reason := _auto_reply(mail):
        return Classification(MailKind.AUTO_REPLY, reason)
    if found := _list_or_bulk(mail):
        return found
    reply_address = mail.reply_to_address or mail.from_address
    if reply_address is None:
        return Classification(MailKind.NO_REPLY, "There is no From or Reply-To address.")
    if is_no_reply_address(reply_address):
        header = "Reply-To" if mail.reply_to_address else "From"
        return Classification(MailKind.NO_REPLY, f"The {header} address is a no-reply address.")
    return Classification(MailKind.COMPLAINT, "No automatic, list or no-reply header was found.")
