"""Opening and joining cases from Slack posts, inside the caller's transaction.

Every event is handled once: its ``event_id`` is inserted into ``processed_event`` in
the same transaction that opens the case (:func:`first_time`), and the message itself
is stored under the unique id ``{channel}:{ts}``, so Slack's retries
(``X-Slack-Retry-Num``) and a reaction on a message that already is a case never open
a second one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.actions.cases import complainant_of, escalate, reopen, set_case_phone
from bot.actions.opening import NewComplaint, open_case
from bot.actions.trail import OTHER_SENDER, SYSTEM_ACTOR, audit, enqueue, slack_actor, unique_key
from bot.config import Config
from bot.mail.extract import (
    detect_language,
    find_phone_numbers,
    is_serious,
    phone_region,
    summarise,
)
from bot.store.models import (
    Case,
    Direction,
    EscalationReason,
    Message,
    OutboxKind,
    ProcessedEvent,
    Source,
    Status,
)
from handlers.slack.common import (
    slack_time,
)
from handlers.slack.intake_rules import Replier, content_hash, replier, subject_of
from handlers.slack.labels import say


def first_time(session: Session, event_id: str | None, now: datetime) -> bool:
    """Record ``event_id`` as handled; False if it already was (a Slack retry)."""
    if not event_id:
        return True
    table = ProcessedEvent.__table__  # type: ignore[attr-defined]
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    result = session.execute(
        insert(table)
        .values(event_id=event_id[:128], at=now)
        .on_conflict_do_nothing(index_elements=["event_id"])
    )
    return bool(getattr(result, "rowcount", 0))


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


def phones_in(cfg: Config, text: str, language: str) -> list[str]:
    return find_phone_numbers(
        text,
        region=phone_region(language, cfg.policy.country),
        own_numbers=(cfg.organisation.phone, *cfg.organisation.own_numbers),
    )


# --- opening and joining (inside the caller's transaction) -----------------


def open_from_slack(
    session: Session,
    cfg: Config,
    now: datetime,
    *,
    channel: str,
    ts: str,
    user: str,
    text: str,
    name: str | None,
    reply_ts: str,
    actor: str,
    attachments: Sequence[Mapping[str, Any]] = (),
) -> Case | None:
    """Open a case from a Slack message; queue the staff prompt and the thread reply.

    Returns None when the message already belongs to a case.
    """
    external_id = f"{channel}:{ts}"
    if message_exists(session, external_id):
        return None
    language = detect_language(text, default=cfg.policy.default_language)
    phones = phones_in(cfg, text, language)
    serious = is_serious(text, cfg.policy.serious_keywords_for(language))
    received = slack_time(ts)
    case = open_case(
        session,
        cfg,
        NewComplaint(
            source=Source.SLACK.value,
            received_at=received,
            name=name,
            phone=phones[0] if phones else None,
            language=language,
            subject=subject_of(text),
            summary=summarise(text),
            serious=serious,
            origin_channel=channel,
            origin_ts=reply_ts,
            chat_user=user or None,
        ),
        now,
        actor=actor,
    )
    session.add(
        inbound_message(
            case,
            channel="slack",
            external_id=external_id,
            text=text,
            sender=user,
            sender_name=name,
            at=received,
            attachments=json.dumps(list(attachments), ensure_ascii=False),
        )
    )
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"prompt:{case.id}",
        payload={"op": "prompt", "case_id": case.id},
        case=case,
        now=now,
    )
    reply = say(case.language, "intake_reply" if phones else "intake_reply_no_phone", ref=case.ref)
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"intake-reply:{case.id}",
        payload={
            "op": "raw",
            "case_id": case.id,
            "channel": channel,
            "thread_ts": reply_ts,
            "text": reply,
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


def original_poster(session: Session, case: Case) -> str | None:
    """The Slack user who wrote the complaint: the complainant's chat user, else (cases
    opened before that was recorded) the sender of the case's first message."""
    chat_user = complainant_of(session, case).chat_user
    if chat_user:
        return chat_user
    first = session.exec(
        select(Message.sender)
        .where(
            Message.case_id == case.id,
            Message.direction == Direction.INBOUND.value,
            Message.channel == "slack",
        )
        .order_by(col(Message.id))
    ).first()
    return first or None


def join_thread(
    session: Session,
    cfg: Config,
    now: datetime,
    *,
    channel: str,
    ts: str,
    thread_ts: str,
    user: str,
    text: str,
    name: str | None,
) -> Case | None:
    """A reply in a case's intake thread is kept on the case. From the complainant it may
    bring a new number and reopen a recently closed case; from staff it may add a number
    when there is none; from anyone else it changes nothing (staff get a note)."""
    case = session.exec(
        select(Case).where(Case.origin_channel == channel, Case.origin_ts == thread_ts)
    ).first()
    external_id = f"{channel}:{ts}"
    if case is None or message_exists(session, external_id):
        return None
    received = slack_time(ts)
    who = replier(cfg, user, original_poster(session, case))
    session.add(
        inbound_message(
            case,
            channel="slack",
            external_id=external_id,
            text=text,
            sender=user,
            sender_name=name,
            at=received,
            classification="reply" if who != Replier.OTHER else OTHER_SENDER,
        )
    )
    if who == Replier.OTHER:
        audit(session, case, slack_actor(user), "other_sender_message", now, via="slack")
        enqueue(
            session,
            kind=OutboxKind.CHAT,
            dedupe_key=unique_key(f"case-message:{case.id}"),
            payload={"op": "case_message", "case_id": case.id, "other_sender": True},
            case=case,
            now=now,
        )
        return case
    audit(session, case, slack_actor(user), "message_added", now, via="slack")
    phones = phones_in(cfg, text, case.language)
    if phones and (who == Replier.COMPLAINANT or not case.phone):
        set_case_phone(
            session,
            case,
            phones[0],
            now,
            SYSTEM_ACTOR if who == Replier.COMPLAINANT else slack_actor(user),
            via="slack",
        )
    reopened = False
    if (
        who == Replier.COMPLAINANT
        and case.status == Status.CLOSED.value
        and case.closed_at is not None
        and now - case.closed_at <= timedelta(days=cfg.policy.reopen_window_days)
    ):
        reopen(session, cfg, case, now)
        reopened = True
        escalate(
            session,
            cfg,
            case,
            SYSTEM_ACTOR,
            now,
            reason=EscalationReason.REOPENED,
            note="the complainant wrote again after the case was closed",
        )
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=unique_key(f"case-message:{case.id}"),
        payload={"op": "case_message", "case_id": case.id, "reopened": reopened},
        case=case,
        now=now,
    )
    return case
