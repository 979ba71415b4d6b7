"""Complaints posted in a chat's intake channels (Slack or Teams): the one rule both
chats follow, inside the caller's transaction.

* A new post opens a case: the staff prompt and a reply in the post's thread with
  the reference are queued, and a serious complaint is escalated at once.
* A reply in a case's intake thread is kept on the case. From the original poster
  (the complainant) it may bring a new number and reopen a recently closed case;
  from staff it may add a number when the case has none; from anyone else it is
  recorded, changes nothing, and staff get a note (never merge two people).

The message is stored under the unique id ``{conversation}:{message id}``, so a
chat's retry, or a second way in to the same post, never opens a second case. The
chat handlers read their own events into an :class:`IntakePost` and call
:func:`open_from_post` or :func:`join_thread`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from bot.actions.cases import complainant_of, escalate, reopen, set_case_phone
from bot.actions.opening import NewComplaint, open_case
from bot.actions.trail import OTHER_SENDER, SYSTEM_ACTOR, audit, enqueue, unique_key
from bot.config import Config
from bot.domain.vocabulary import ChatOp
from bot.mail.extract import (
    detect_language,
    find_phone_numbers,
    is_serious,
    phone_region,
    summarise,
)
from bot.presenters.catalogs import messages
from bot.redact import redact
from bot.store.models import (
    Case,
    Direction,
    EscalationReason,
    Message,
    OutboxKind,
    Status,
)


@dataclass(frozen=True)
class IntakePost:
    """One post in an intake conversation, as any chat reports it."""

    via: str  # the chat: "slack" | "teams" (the case's source and the message's channel)
    conversation: str  # the channel (Slack) or conversation (Teams) id
    message_id: str  # Slack's ts, Teams' activity id
    thread: str  # the thread it is in; for a new post, where the reply goes (itself)
    user: str  # the poster's chat user id ("" when unknown)
    actor: str  # who opens the case: the poster, or staff who marked the post
    text: str
    name: str | None  # the poster's display name
    at: datetime  # when the chat received it
    attachments: Sequence[Mapping[str, Any]] = ()  # files noted by name, never fetched

    @property
    def external_id(self) -> str:
        return f"{self.conversation}:{self.message_id}"


class Replier(StrEnum):
    """Who replied in a case's intake thread, which decides what the reply may change."""

    COMPLAINANT = "complainant"  # the original poster: the case's complainant
    STAFF = "staff"
    OTHER = "other"  # anyone else: recorded, changes nothing


def replier(cfg: Config, user: str, poster: str | None) -> Replier:
    """Who ``user`` is to a case whose original poster is ``poster`` (pure)."""
    if poster and user == poster:
        return Replier.COMPLAINANT
    if user in cfg.chat.staff_users or user in cfg.chat.ombudsman_users:
        return Replier.STAFF
    return Replier.OTHER


def subject_of(text: str) -> str:
    """The first line, redacted, as the case's subject."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return " ".join(redact(first).split())[:100]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def phones_in(cfg: Config, text: str, language: str) -> list[str]:
    """The phone numbers written in ``text`` (E.164), the organisation's own left out."""
    return find_phone_numbers(
        text,
        region=phone_region(language, cfg.policy.country),
        own_numbers=(cfg.organisation.phone, *cfg.organisation.own_numbers),
    )


def message_exists(session: Session, external_id: str) -> bool:
    return (
        session.exec(select(Message.id).where(Message.external_id == external_id)).first()
        is not None
    )


def inbound_message(
    case: Case,
    *,
    channel: str,
    external_id: str,
    text: str,
    sender: str | None,
    sender_name: str | None,
    at: datetime,
    **extra: Any,
) -> Message:
    """The row of one inbound chat (or registered) message on ``case``."""
    return Message(
        case_id=case.id,
        direction=Direction.INBOUND.value,
        channel=channel,
        external_id=external_id,
        content_hash=content_hash(text),
        sender=sender,
        sender_name=sender_name,
        body_text=text,
        at=at,
        **extra,
    )


def original_poster(session: Session, case: Case, via: str) -> str | None:
    """The chat user who wrote the complaint: the complainant's chat user, else (cases
    opened before that was recorded) the sender of the case's first ``via`` message."""
    chat_user = complainant_of(session, case).chat_user
    if chat_user:
        return chat_user
    first = session.exec(
        select(Message.sender)
        .where(
            Message.case_id == case.id,
            Message.direction == Direction.INBOUND.value,
            Message.channel == via,
        )
        .order_by(col(Message.id))
    ).first()
    return first or None


def open_from_post(session: Session, cfg: Config, now: datetime, post: IntakePost) -> Case | None:
    """Open a case from a new post; queue the staff prompt and the thread reply.

    Returns None when the post already belongs to a case.
    """
    if message_exists(session, post.external_id):
        return None
    text = post.text
    language = detect_language(text, default=cfg.policy.default_language)
    phones = phones_in(cfg, text, language)
    serious = is_serious(text, cfg.policy.serious_keywords_for(language))
    case = open_case(
        session,
        cfg,
        NewComplaint(
            source=post.via,
            received_at=post.at,
            name=post.name,
            phone=phones[0] if phones else None,
            language=language,
            subject=subject_of(text),
            summary=summarise(text),
            serious=serious,
            origin_channel=post.conversation,
            origin_ts=post.thread,
            chat_user=post.user or None,
        ),
        now,
        actor=post.actor,
    )
    session.add(
        inbound_message(
            case,
            channel=post.via,
            external_id=post.external_id,
            text=text,
            sender=post.user,
            sender_name=post.name,
            at=post.at,
            attachments=json.dumps(list(post.attachments), ensure_ascii=False),
        )
    )
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"prompt:{case.id}",
        payload={"op": ChatOp.PROMPT, "case_id": case.id},
        case=case,
        now=now,
    )
    # The reply is for the complainant: in the case's language, not the staff's.
    key = "intake_reply" if phones else "intake_reply_no_phone"
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"intake-reply:{case.id}",
        payload={
            "op": ChatOp.RAW,
            "case_id": case.id,
            "channel": post.conversation,
            "thread_ts": post.thread,
            "text": messages("staff", case.language)[key].format(ref=case.ref),
        },
        case=case,
        now=now,
    )
    if serious:
        escalate(
            session,
            cfg,
            case,
            SYSTEM_ACTOR,
            now,
            reason=EscalationReason.SERIOUS,
            note="serious keyword in the complaint",
        )
    return case


def join_thread(session: Session, cfg: Config, now: datetime, post: IntakePost) -> Case | None:
    """A reply in a case's intake thread is kept on the case (see the module docstring).

    Returns None when the thread is no case's, or the reply is already kept.
    """
    case = session.exec(
        select(Case).where(Case.origin_channel == post.conversation, Case.origin_ts == post.thread)
    ).first()
    if case is None or message_exists(session, post.external_id):
        return None
    who = replier(cfg, post.user, original_poster(session, case, post.via))
    session.add(
        inbound_message(
            case,
            channel=post.via,
            external_id=post.external_id,
            text=post.text,
            sender=post.user,
            sender_name=post.name,
            at=post.at,
            classification="reply" if who != Replier.OTHER else OTHER_SENDER,
        )
    )
    note: dict[str, object] = {"op": ChatOp.CASE_MESSAGE, "case_id": case.id}
    if who == Replier.OTHER:
        audit(session, case, post.actor, "other_sender_message", now, via=post.via)
        note["other_sender"] = True
    else:
        audit(session, case, post.actor, "message_added", now, via=post.via)
        phones = phones_in(cfg, post.text, case.language)
        if phones and (who == Replier.COMPLAINANT or not case.phone):
            by = SYSTEM_ACTOR if who == Replier.COMPLAINANT else post.actor
            set_case_phone(session, case, phones[0], now, by, via=post.via)
        note["reopened"] = reopen_if_recent(session, cfg, case, now, who)
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=unique_key(f"case-message:{case.id}"),
        payload=note,
        case=case,
        now=now,
    )
    return case


def reopen_if_recent(
    session: Session, cfg: Config, case: Case, now: datetime, who: Replier
) -> bool:
    """The complainant wrote again soon after the case was closed: reopen and escalate."""
    if (
        who != Replier.COMPLAINANT
        or case.status != Status.CLOSED.value
        or case.closed_at is None
        or now - case.closed_at > timedelta(days=cfg.policy.reopen_window_days)
    ):
        return False
    reopen(session, cfg, case, now)
    escalate(
        session,
        cfg,
        case,
        SYSTEM_ACTOR,
        now,
        reason=EscalationReason.REOPENED,
        note="the complainant wrote again after the case was closed",
    )
    return True
