"""Decide from an email alone what it is: a person's complaint, robot mail, or a doubt.

Modelled on GNU Mailman's ``can_acknowledge``: a small pure function over the
parsed message that returns a verdict *with its reason*. Nothing here touches
the database; the pipeline acts on the verdict.

The promise is that no complaint is lost: robot mail is dropped only on
**positive evidence**, a person's mail becomes a case (acknowledged only when
that is safe), and whatever stays ambiguous is a :attr:`MailKind.REVIEW` that
the pipeline puts in front of a human. The checks run in this order, and the
first that matches decides:

1. ``OWN`` - our own mail: the :data:`BOT_HEADER` we stamp on everything we
   send, or a From address that is one of ours, also with a ``+tag``
   (``synpunkter+x@``), in any case. First, because a loop is the worst outcome.
   One exception: From is ours, but without our header or ``Auto-Submitted`` and
   with someone else's Reply-To (the organisation's own web form sending in its
   name) is a ``REVIEW``, so that a citizen behind it is not lost.
2. ``FEEDBACK_REPORT`` - an abuse/spam feedback report (ARF):
   ``multipart/report; report-type=feedback-report`` or a
   ``message/feedback-report`` part.
3. ``BOUNCE`` - ``multipart/report`` delivery status notifications (any
   report but read receipts), ``X-Failed-Recipients``, a MAILER-DAEMON or
   postmaster sender (From, Sender, or MAILER-DAEMON in Return-Path), a VERP
   bounce sender (``bounces+...@``, ``bounce-...@``), and bounces without DSN
   structure: a bounce subject ("Undeliverable:", "Mail delivery failed",
   "Delivery Status Notification (Failure)", "Returned mail", ...) together
   with a robot sender (antivirus, gateway, Exchange), the null sender or
   ``Auto-Submitted``.
4. ``AUTO_REPLY`` - RFC 3834 ``Auto-Submitted`` other than ``no``,
   ``X-Autoreply``/``X-Autorespond``, ``Precedence: auto_reply``, read
   receipts, out-of-office subjects (sv, nb, nn, en, de: "Frånvaromeddelande",
   "Fraværsmelding", "Fråversmelding", "Out of office", "Abwesenheitsnotiz"...),
   the null sender ``<>``.
5. ``LIST`` - list headers of the common list servers: ``List-Id``,
   ``List-Post``, ``List-Subscribe``, ``List-Help``, ``List-Archive``,
   ``List-Owner``, ``X-Mailman-Version``, ``X-MLServer``, ``X-Mailing-List``,
   ``X-BeenThere``, ``X-Loop``, ``Mailing-List``, ``X-List``, ``X-ML-Name``,
   ``Precedence: list``.
6. ``BULK`` - a mailing: ``List-Unsubscribe`` together with
   ``Precedence: bulk/junk``.
7. ``REVIEW`` - mail flagged as spam (``X-Spam-Flag: YES``, ``X-Spam-Status:
   Yes``), ``Precedence: bulk/junk`` or a lone ``List-Unsubscribe`` without list
   evidence, a no-reply sender with no person to be found, and mail with no
   usable address that does not read like a complaint.
8. ``COMPLAINT`` - a person. The address the case is filed under
   (:attr:`Classification.contact`) is recovered in this order: Reply-To, From,
   Sender, an address labelled in the text ("E-post: anna@x.se", "Email: ..."),
   Return-Path (never ``<>``); addresses of ours, no-reply, bounce and
   mailer-daemon addresses are never a person.

Web forms: a message from a no-reply or form address (``noreply@``,
``wordpress@``, ``webform@``...) with a person in Reply-To or in the text is that
person's complaint. If it also carries ``Auto-Submitted: auto-generated`` or
``Precedence: bulk`` (steps 4 and 7), it is still a case, but it is never
acknowledged (RFC 3834). A message with no usable address at all opens a case
when it reads like a complaint (eight words or more, or a phone number and a
few words): staff call the number in the text; it is never acknowledged.

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

from bot.mail.addresses import (
    base_address,
    find_person,
    is_bounce_address,
    is_form_sender,
    is_no_reply_address,
    is_robot_address,
    local_part,
)
from bot.mail.parse import ParsedEmail

BOT_HEADER = "X-Complaint-Bot-Ref"
"""Stamped on every email the bot sends (value: the case reference)."""


class MailKind(StrEnum):
    COMPLAINT = "complaint"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"
    FEEDBACK_REPORT = "feedback_report"
    LIST = "list"
    BULK = "bulk"
    OWN = "own"
    REVIEW = "review"


ROBOT_KINDS = frozenset(
    {
        MailKind.AUTO_REPLY,
        MailKind.BOUNCE,
        MailKind.FEEDBACK_REPORT,
        MailKind.LIST,
        MailKind.BULK,
        MailKind.OWN,
    }
)
"""Kinds dropped on positive evidence: never a case, never answered."""


@dataclass(frozen=True)
class Classification:
    kind: MailKind
    reason: str  # a short English sentence naming the evidence (never the message's text)
    contact: str | None = None  # the person's address a case is filed under
    acknowledge: bool = True  # False: a case, but no automatic reply may go out
    bounce: bool = False  # evidence of a delivery failure, whatever ``kind`` won

    @property
    def is_robot(self) -> bool:
        return self.kind in ROBOT_KINDS

    @property
    def needs_review(self) -> bool:
        return self.kind is MailKind.REVIEW

    @property
    def may_acknowledge(self) -> bool:
        """Only a complaint from a person with an address may get an automatic reply."""
        return self.kind is MailKind.COMPLAINT and self.acknowledge and self.contact is not None


# --------------------------------------------------------------------------- evidence

_OUT_OF_OFFICE = (
    r"(?:out of (?:the )?office|automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|"
    r"automatiskt svar|automatisk svar|autosvar|auto[- ]?svar|frånvaro(?:meddelande)?|"
    r"fraværende|fråverande|fravær(?:s)?melding|fråv[æe]r(?:s)?melding|"
    r"abwesenheits(?:notiz|nachricht|meldung)|automatische antwort|abwesend)"
)
_STRONG_SUBJECT = re.compile(rf"^\s*{_OUT_OF_OFFICE}\s*(?::|$|[-–!.]\s*$)", re.IGNORECASE)
_WEAK_SUBJECT = re.compile(rf"^\s*{_OUT_OF_OFFICE}\b", re.IGNORECASE)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(?:undeliverable|undelivered mail|mail delivery (?:failed|failure|system)|"
    r"delivery status notification|returned mail|delivery failure|failure notice|"
    r"non[- ]?delivery|delivery has failed|message not delivered|could not be delivered|"
    r"olevererbart|ej levererat|kunne ikke leveres|kan ikke leveres|unzustellbar|"
    r"nicht zustellbar|virus (?:alert|found|detected|warning)|blocked message)",
    re.IGNORECASE,
)
_LIST_HEADERS = (
    "list-id",
    "list-post",
    "list-subscribe",
    "list-help",
    "list-archive",
    "list-owner",
    "x-mailman-version",
    "x-mlserver",
    "x-mailing-list",
    "x-beenthere",
    "x-loop",
    "mailing-list",
    "x-list",
    "x-ml-name",
)


def _report_type(mail: ParsedEmail) -> str:
    match = re.search(r"report-type\s*=\s*\"?([\w-]+)", mail.header("content-type") or "", re.I)
    return match.group(1).lower() if match else ""


def _senders(mail: ParsedEmail) -> list[str]:
    return [addr for addr in (mail.from_address, mail.sender_address) if addr]


def _own(mail: ParsedEmail, own: set[str]) -> str | None:
    if mail.header(BOT_HEADER) is not None:
        return f"The {BOT_HEADER} header marks it as the bot's own outgoing mail."
    sender = mail.from_address or mail.sender_address
    if sender and base_address(sender) in own:
        return "The From address is one of our own addresses."
    return None


def _person_in_reply_to(mail: ParsedEmail, own: set[str]) -> str | None:
    """The Reply-To address when it is someone else's: not ours, not a no-reply."""
    reply = mail.reply_to_address
    if reply and base_address(reply) not in own and not is_no_reply_address(reply):
        return reply
    return None


def _feedback_report(mail: ParsedEmail) -> str | None:
    if mail.is_report and _report_type(mail) == "feedback-report":
        return "Content-Type is multipart/report; report-type=feedback-report (an abuse report)."
    if any(part.content_type == "message/feedback-report" for part in mail.attachments):
        return "A message/feedback-report part marks an abuse report."
    return None


def _bounce(mail: ParsedEmail) -> str | None:
    if mail.is_report and _report_type(mail) not in ("disposition-notification", "feedback-report"):
        return "Content-Type is multipart/report (a delivery status notification)."
    if mail.header("x-failed-recipients") is not None:
        return "The X-Failed-Recipients header marks a bounce."
    for addr in _senders(mail):
        local = local_part(addr)
        if local in ("mailer-daemon", "postmaster"):
            return f"The sender is {local.upper()}, which sends bounces."
        if is_bounce_address(addr):
            return "The sender is a bounce address (VERP)."
    if mail.return_path and local_part(mail.return_path) == "mailer-daemon":
        return "Return-Path is MAILER-DAEMON, which sends bounces."
    if _BOUNCE_SUBJECT.match(mail.subject):
        auto = (mail.header("auto-submitted") or "").strip().lower()
        if mail.return_path == "":
            return "A bounce subject from the null sender <>."
        if auto and not auto.startswith("no"):
            return "A bounce subject with Auto-Submitted."
        if any(is_robot_address(addr) or is_no_reply_address(addr) for addr in _senders(mail)):
            return "A bounce subject from a mail gateway or antivirus sender."
    return None


def _auto_submitted(mail: ParsedEmail) -> str:
    return (mail.header("auto-submitted") or "").strip().lower()


def _auto_reply(mail: ParsedEmail) -> str | None:
    auto_submitted = _auto_submitted(mail)
    if auto_submitted and not auto_submitted.startswith("no"):
        return f"Auto-Submitted is {auto_submitted[:40]!r} (RFC 3834)."
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if mail.header(name) is not None:
            return f"The {name.title()} header marks an automatic reply."
    if _precedence(mail) == "auto_reply":
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


def _precedence(mail: ParsedEmail) -> str:
    return (mail.header("precedence") or "").strip().lower()


def _list(mail: ParsedEmail) -> str | None:
    for name in _LIST_HEADERS:
        if mail.header(name) is not None:
            return f"The {name.title()} header marks list mail."
    if _precedence(mail) == "list":
        return "Precedence is list."
    return None


def _bulk_marker(mail: ParsedEmail) -> str | None:
    """A sign of mass or generated mail that is not, alone, evidence of a robot."""
    if _precedence(mail) in ("bulk", "junk"):
        return f"Precedence is {_precedence(mail)}"
    if mail.header("list-unsubscribe") is not None:
        return "A List-Unsubscribe header"
    return None


def _generated(mail: ParsedEmail) -> str | None:
    """RFC 3834 "generated" markers a web form relay may carry on a citizen's message."""
    auto_submitted = _auto_submitted(mail)
    if auto_submitted and not auto_submitted.startswith(("no", "auto-replied")):
        return f"Auto-Submitted is {auto_submitted[:40]!r}"
    return _bulk_marker(mail)


def is_spam_flagged(mail: ParsedEmail) -> bool:
    """A spam filter upstream flagged the message (X-Spam-Flag / X-Spam-Status / X-Spam)."""
    flag = (mail.header("x-spam-flag") or "").strip().lower()
    status = (mail.header("x-spam-status") or "").strip().lower()
    spam = (mail.header("x-spam") or "").strip().lower()
    return flag.startswith("yes") or status.startswith("yes") or spam.startswith("yes")


_WORD = re.compile(r"[^\W\d_]{2,}")
_PHONE_LIKE = re.compile(r"(?:\+|\b0)\d[\d \t-]{5,}\d")


def reads_like_complaint(mail: ParsedEmail) -> bool:
    """Enough text for a person to act on: eight words, or a phone number and three words."""
    text = f"{mail.subject}\n{mail.summary_text}"
    words = len(_WORD.findall(text))
    return words >= 8 or (words >= 3 and _PHONE_LIKE.search(text) is not None)


# --------------------------------------------------------------------------- verdict


def classify(mail: ParsedEmail, own_addresses: Collection[str]) -> Classification:
    """What this mail is, with the reason; see the module docstring for the order of checks."""
    own = {base_address(address) for address in own_addresses if address.strip()}
    bounce = _bounce(mail)
    # Bounce evidence travels with every robot verdict: a returned acknowledgement
    # marks its case "ack bounced" whichever robot kind won.
    bounced = bounce is not None or _BOUNCE_SUBJECT.match(mail.subject) is not None
    if reason := _own(mail, own):
        if (
            mail.header(BOT_HEADER) is None
            and (relayed := _person_in_reply_to(mail, own))
            and not mail.header("auto-submitted")
        ):
            # Not our bot's mail (it stamps every email): perhaps the organisation's own
            # web form sending in our name for a citizen. Never answered; a human looks.
            return Classification(
                MailKind.REVIEW,
                "From is one of our own addresses but "
                "Reply-To names someone else: a form sending in our name?",
                contact=relayed,
            )
        return Classification(MailKind.OWN, reason, bounce=bounced)
    if reason := _feedback_report(mail):
        return Classification(MailKind.FEEDBACK_REPORT, reason)
    if bounce:
        return Classification(MailKind.BOUNCE, bounce, bounce=True)

    person = find_person(mail, own)
    relay = person is not None and person[1] != "From" and is_form_sender(mail.from_address)
    generated = _generated(mail) if relay else None
    if (reason := _auto_reply(mail)) and not generated:
        return Classification(MailKind.AUTO_REPLY, reason, bounce=bounced)
    if reason := _list(mail):
        return Classification(MailKind.LIST, reason, bounce=bounced)
    marker = _bulk_marker(mail)
    if (
        marker
        and not relay
        and _precedence(mail) in ("bulk", "junk")
        and (mail.header("list-unsubscribe") is not None)
    ):
        return Classification(
            MailKind.BULK, "Precedence bulk with List-Unsubscribe: a mailing.", bounce=bounced
        )

    if is_spam_flagged(mail):
        return Classification(MailKind.REVIEW, "A spam filter flagged it (X-Spam-Flag/Status).")
    if marker and not relay:
        return Classification(MailKind.REVIEW, f"{marker} without list evidence.")
    if person is not None:
        address, where = person
        if generated:
            return Classification(
                MailKind.COMPLAINT,
                f"A web-form relay with the person's address in {where}; {generated} "
                "forbids an automatic reply (RFC 3834).",
                contact=address,
                acknowledge=False,
            )
        if mail.reply_to_address and is_no_reply_address(mail.reply_to_address):
            return Classification(
                MailKind.COMPLAINT,
                "Reply-To is a no-reply address: filed under the From address, not acknowledged.",
                contact=address,
                acknowledge=False,
            )
        return Classification(
            MailKind.COMPLAINT, f"A person's address in {where}.", contact=address
        )
    for header, addr in (
        ("From", mail.from_address),
        ("Reply-To", mail.reply_to_address),
        ("Sender", mail.sender_address),
    ):
        if addr and is_no_reply_address(addr):
            return Classification(
                MailKind.REVIEW,
                f"The {header} address is a no-reply address and no person's "
                "address was found in Reply-To or the text.",
            )
    if reads_like_complaint(mail):
        return Classification(
            MailKind.COMPLAINT,
            "No usable sender address, but it reads like a complaint: "
            "a case for staff to call, never acknowledged.",
            acknowledge=False,
        )
    return Classification(
        MailKind.REVIEW,
        "No usable sender address and too little text to tell whether it is a complaint.",
    )
