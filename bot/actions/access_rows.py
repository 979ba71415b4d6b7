"""How each record reads in a subject-access export, scrubbed of everyone else.

:class:`Access` holds who the person is (their addresses, numbers, cases) and
who they are not (:class:`Needles` of everyone else); each method turns one
stored row (a case, message, quarantined mail, queued email) into plain data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session, col, select

from bot.actions.case_records import case_to_dict, iso
from bot.actions.privacy import OTHER_PERSON, Needles, mail_from, mail_text
from bot.actions.trail import ABOUT_OTHERS, OTHER_SENDER
from bot.config import Config
from bot.mail.parse import Unprocessable, parse_email
from bot.store.models import (
    ActionPlan,
    Audit,
    Case,
    ContactAttempt,
    Direction,
    Escalation,
    Message,
    Outbox,
    Quarantine,
)

_CODE_DETAIL_KEYS = (
    "outcome",
    "resolution",
    "reason",
    "source",
    "purpose",
    "via",
    "minutes",
    "rung",
    "hard",
    "historical",
    "lesson_shared",
    "kind",
)
_CODE = re.compile(r"^[a-z0-9_]{0,40}$")


def code_details(detail: str) -> dict[str, Any]:
    """The coded facts of an audit detail (outcome, resolution...), never free text."""
    try:
        data = json.loads(detail or "{}")
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {
        k: v
        for k, v in data.items()
        if k in _CODE_DETAIL_KEYS
        and (v is None or isinstance(v, bool | int) or (isinstance(v, str) and _CODE.match(v)))
    }


def _text(raw: bytes | None) -> str | None:
    if raw is None:
        return None
    return raw.decode("utf-8", errors="replace")


@dataclass
class Access:
    """One subject-access request being answered."""

    session: Session
    cfg: Config
    own_ids: set[int]
    emails: set[str]  # the person's addresses, lower case
    phones: set[str]
    own_senders: set[str]  # who counts as the person on their own cases
    others: Needles  # everyone else's identifiers

    def clean(self, text: str | None) -> str | None:
        return self.others.scrub(text) if text else text

    def message(self, m: Message) -> dict[str, Any]:
        return {
            "at": iso(m.at, self.cfg),
            "direction": m.direction,
            "channel": m.channel,
            "message_id": m.message_id,
            "sender": m.sender,
            "sender_name": self.clean(m.sender_name),
            "subject": self.clean(m.subject),
            "text": self.clean(m.body_text),
            "attachments": [
                {"filename": self.clean(a.get("filename"))}
                for a in json.loads(m.attachments or "[]")
            ],
            "raw": self.clean(_text(m.raw)),
        }

    def written_by_someone_else(self, m: Message) -> bool:
        if m.classification == OTHER_SENDER:  # a stranger's reply in the case's chat thread
            return True
        return (
            m.direction == Direction.INBOUND.value
            and m.sender is not None
            and m.sender.lower() not in self.own_senders
        )

    def case(self, case: Case) -> dict[str, Any]:
        cfg, s = self.cfg, self.session
        data = case_to_dict(s, cfg, case)
        data.pop("complainant")  # listed once, at the top
        data["subject"] = self.clean(case.subject)
        data.update(
            {
                "summary": self.clean(case.summary),
                "theme": case.theme,
                "unit": case.unit,
                "phone": case.phone,
                "previous_phones": case.previous_phones.split(),
            }
        )

        def rows(model: Any, order: Any) -> list[Any]:
            return list(
                s.exec(
                    select(model).where(model.case_id == case.id).order_by(order, col(model.id))
                ).all()
            )

        messages = rows(Message, col(Message.at))
        data["message_ids"] = [
            m.message_id for m in messages if not self.written_by_someone_else(m)
        ]
        data["messages"] = [
            {
                "at": iso(m.at, cfg),
                "direction": m.direction,
                "channel": m.channel,
                "from_another_person": True,
                "text": OTHER_PERSON,
            }
            if self.written_by_someone_else(m)
            else self.message(m)
            for m in messages
        ]
        data["contact_attempts"] = [
            {
                "at": iso(a.at, cfg),
                "by": a.by,
                "outcome": a.outcome,
                "note": self.clean(a.note),
                "remedy": self.clean(a.remedy),
                "next_step": self.clean(a.next_step),
                "hard": a.hard,
            }
            for a in rows(ContactAttempt, col(ContactAttempt.at))
        ]
        data["escalations"] = [
            {
                "at": iso(e.at, cfg),
                "reason": e.reason,
                "by": e.by,
                "to": e.to,
                "note": self.clean(e.note),
                "acknowledged_at": iso(e.acknowledged_at, cfg),
            }
            for e in rows(Escalation, col(Escalation.at))
        ]
        data["action_plans"] = [
            {
                "owner": p.owner,
                "steps": self.clean(p.steps),
                "created_at": iso(p.created_at, cfg),
                "due_at": iso(p.due_at, cfg),
                "followed_up_at": iso(p.followed_up_at, cfg),
                "done_at": iso(p.done_at, cfg),
                "follow_up_note": self.clean(p.follow_up_note),
            }
            for p in rows(ActionPlan, col(ActionPlan.due_at))
        ]
        data["audit"] = [
            {
                "at": iso(a.at, cfg),
                "actor": a.actor,
                "action": a.action,
                "detail": code_details(a.detail),
            }
            for a in rows(Audit, col(Audit.at))
            if a.action not in ABOUT_OTHERS
        ]
        return data

    def is_theirs(self, raw: bytes, mine: Needles) -> bool:
        """Quarantined mail is theirs when it is from their address, or when it has no
        readable sender (or a robot's, such as a web-form relay) and carries their
        address or number. Mail from anyone else that mentions them is not theirs."""
        sender, _ = mail_from(raw)
        if sender:
            if sender in self.emails:
                return True
            local = sender.split("@", 1)[0]
            if not re.match(
                r"^(no-?reply|do-?not-?reply|mailer-daemon|postmaster|"
                r"www|web|form|forms|wordpress)",
                local,
            ):
                return False
        return mine.found(mail_text(raw))

    def quarantine(self, q: Quarantine) -> dict[str, Any]:
        sender, _ = mail_from(q.raw)
        text = mail_text(q.raw)
        try:
            parsed = parse_email(bytes(q.raw))
            subject, body = parsed.subject, parsed.body_text
        except Unprocessable:
            subject, body = "", text
        return {
            "id": q.id,
            "at": iso(q.at, self.cfg),
            "resolved": q.resolved_at is not None,
            "sender": sender if sender in self.emails else None,
            "subject": self.clean(subject),
            "text": self.clean(body),
            "raw": self.clean(_text(bytes(q.raw))),
        }

    def outgoing(self, o: Outbox, payload: Mapping[str, Any]) -> dict[str, Any] | None:
        mail = outbox_mail(payload)
        if mail is None:
            return None
        to, subject, body = mail
        if not set(to) & self.emails:
            return None
        return {
            "at": iso(o.created_at, self.cfg),
            "status": o.status,
            "sent_at": iso(o.sent_at, self.cfg),
            "purpose": payload.get("purpose"),
            "to": sorted(set(to) & self.emails),
            "subject": self.clean(subject),
            "text": self.clean(body),
        }


def outbox_mail(payload: Mapping[str, Any]) -> tuple[list[str], str, str] | None:
    """(recipients, subject, text) of a queued email, or None."""
    eml = payload.get("eml")
    if not isinstance(eml, str):
        return None
    from email import message_from_string, policy
    from email.message import EmailMessage
    from email.utils import getaddresses

    msg = message_from_string(eml, policy=policy.default)
    to = [a.lower() for _, a in getaddresses([str(msg.get("To", ""))]) if a]
    body = msg.get_body(("plain",)) if isinstance(msg, EmailMessage) else None
    return to, str(msg.get("Subject", "")), body.get_content() if body is not None else ""
