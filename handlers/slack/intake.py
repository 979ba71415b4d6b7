"""Complaints in from Slack: intake channels, thread replies, the intake reaction, the
slash command for complaints received by phone, at the counter or by letter.

Every event is handled once: its ``event_id`` is inserted into
``processed_event`` in the same transaction that opens the case, and the
message itself is stored under the unique id ``{channel}:{ts}``, so Slack's
retries (``X-Slack-Retry-Num``) and a reaction on a message that already is a
case never open a second one.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.actions.cases import complainant_of, escalate, reopen, set_case_phone
from bot.actions.citizen_mail import last_ack_to, queue_citizen_email
from bot.actions.opening import NewComplaint, open_case
from bot.actions.trail import OTHER_SENDER, SYSTEM_ACTOR, audit, enqueue, slack_actor, unique_key
from bot.config import Config
from bot.domain.acknowledgement import AckHistory, can_acknowledge, own_addresses_of
from bot.mail.extract import (
    detect_language,
    find_phone_numbers,
    is_serious,
    phone_region,
    summarise,
)
from bot.redact import redact
from bot.store.db import session_scope
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
    Body,
    answer,
    deliver,
    lang_of,
    require_staff,
    slack_time,
    user_id_of,
)
from handlers.slack.enums import BlockId, CallbackId
from handlers.slack.errors import after_ack
from handlers.slack.labels import say
from handlers.slack.modals import RegisterForm, read_metadata, read_register_form, register_modal
from handlers.slack.once import acting_once, mark_handled

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

# Plain messages, thread replies also sent to the channel, and posts with a photo
# or file; edits, joins, bot messages, deletions and the like are not complaints.
COMPLAINT_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
# How many attached files a case notes by name (the files are never downloaded).
MAX_ATTACHMENTS = 20


class MessageKind(StrEnum):
    OPEN = "open"  # a top-level message in an intake channel: a new case
    JOIN = "join"  # a reply in a thread: joins the case the thread belongs to
    IGNORE = "ignore"


def classify_message(
    event: Mapping[str, Any], intake_channels: tuple[str, ...], bot_user_id: str | None
) -> MessageKind:
    """What a ``message`` event means for intake (pure)."""
    if event.get("subtype") not in COMPLAINT_SUBTYPES or event.get("bot_id"):
        return MessageKind.IGNORE
    user = event.get("user")
    if not user or user == bot_user_id or event.get("channel") not in intake_channels:
        return MessageKind.IGNORE
    if not str(event.get("text") or "").strip() and not attachments_of(event):
        return MessageKind.IGNORE
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event.get("ts"):
        return MessageKind.JOIN
    return MessageKind.OPEN


def attachments_of(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The files shared with a message, as the case records them (name, type, size);
    the files themselves stay in Slack."""
    files = message.get("files")
    if not isinstance(files, list):
        return []
    found = []
    for f in files[:MAX_ATTACHMENTS]:
        if not isinstance(f, Mapping):
            continue
        name = str(f.get("name") or f.get("title") or f.get("id") or "file")
        size = f.get("size")
        found.append(
            {
                "filename": name[:200],
                "content_type": str(f.get("mimetype") or "")[:100],
                "size": size if isinstance(size, int) else 0,
            }
        )
    return found


def intake_text(message: Mapping[str, Any]) -> str:
    """What a Slack post says, with a last line naming its files (a photo with no
    caption is still a complaint, and staff see that something was attached)."""
    text = str(message.get("text") or "")
    names = [a["filename"] for a in attachments_of(message)]
    if not names:
        return text
    note = "📎 " + ", ".join(names)
    return f"{text}\n{note}" if text.strip() else note


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


def subject_of(text: str) -> str:
    """The first line, redacted, as the case's subject."""
    first = next((line for line in text.splitlines() if line.strip()), "")
    return " ".join(redact(first).split())[:100]


def content_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


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


def register_complaint(
    session: Session, rt: Runtime, form: RegisterForm, phone: str | None, actor: str, view_id: str
) -> Case | None:
    """A complaint staff took by phone, at the counter or by letter; acknowledged by email
    when an address was given and :func:`~bot.domain.acknowledgement.can_acknowledge` agrees, as
    for email intake. None if this modal was already submitted."""
    cfg, now = rt.cfg, rt.clock()
    external_id = f"view:{view_id}"
    if message_exists(session, external_id):
        return None
    language = detect_language(form.text, default=cfg.policy.default_language)
    if phone is None:
        found = phones_in(cfg, form.text, language)
        phone = found[0] if found else None
    serious = is_serious(form.text, cfg.policy.serious_keywords_for(language))
    case = open_case(
        session,
        cfg,
        NewComplaint(
            source=form.source.value,
            received_at=now,
            name=form.name or None,
            email=form.email or None,
            phone=phone,
            language=language,
            subject=subject_of(form.text),
            summary=summarise(form.text),
            serious=serious,
        ),
        now,
        actor=actor,
    )
    session.add(
        inbound_message(
            case,
            channel=form.source.value,
            external_id=external_id,
            text=form.text,
            sender=form.email or None,
            sender_name=form.name or None,
            at=now,
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
    complainant = complainant_of(session, case)
    ok, why = can_acknowledge(
        mail_kind="complaint",
        sender=complainant.email,
        own_addresses=own_addresses_of(cfg),
        historical=False,
        history=AckHistory(
            last_ack_to_sender_at=last_ack_to(session, complainant.id or 0),
            sender_bounced_at=complainant.email_bounced_at,
        ),
        now=now,
        window=timedelta(hours=cfg.policy.ack_window_hours),
        bounce_block=timedelta(days=cfg.policy.bounce_block_days),
    )
    if ok:
        queue_citizen_email(
            session,
            cfg,
            rt.renderer,
            case,
            complainant,
            now,
            template="ack",
            dedupe_key=f"ack:{case.id}",
        )
    elif complainant.email:
        audit(session, case, SYSTEM_ACTOR, "ack_skipped", now, reason=why)
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


# --- talking to Slack ------------------------------------------------------


def display_name(client: WebClient, user: str) -> str | None:
    """The poster's real name, if Slack tells us (best effort: a case opens without it)."""
    try:
        info = client.users_info(user=user)
    except SlackClientError:
        return None
    profile = (info.get("user") or {}).get("profile") or {}
    name = profile.get("real_name") or (info.get("user") or {}).get("real_name")
    return str(name)[:200] if name else None


def fetch_message(client: WebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message at ``channel``/``ts``: top level via history, else as a thread reply."""
    try:
        found = client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
        for message in found.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
        replies = client.conversations_replies(channel=channel, ts=ts, inclusive=True, limit=1)
        for message in replies.get("messages") or []:
            if message.get("ts") == ts:
                return dict(message)
    except SlackClientError:
        log.warning(
            "could not fetch message %s:%s for the intake reaction", channel, ts, exc_info=True
        )
    return None


# --- the work behind each listener -----------------------------------------


def handle_message(
    rt: Runtime, body: Body, event: Mapping[str, Any], client: WebClient, bot_user_id: str | None
) -> None:
    kind = classify_message(event, rt.cfg.chat.intake_channels, bot_user_id)
    if kind == MessageKind.IGNORE:
        return
    channel, ts, user = str(event["channel"]), str(event["ts"]), str(event["user"])
    text = intake_text(event)
    name = display_name(client, user)
    with session_scope(rt.db) as session:
        if not first_time(session, body.get("event_id"), rt.clock()):
            return
        if kind == MessageKind.OPEN:
            case = open_from_slack(
                session,
                rt.cfg,
                rt.clock(),
                channel=channel,
                ts=ts,
                user=user,
                text=text,
                name=name,
                reply_ts=ts,
                actor=slack_actor(user),
                attachments=attachments_of(event),
            )
        else:
            case = join_thread(
                session,
                rt.cfg,
                rt.clock(),
                channel=channel,
                ts=ts,
                thread_ts=str(event["thread_ts"]),
                user=user,
                text=text,
                name=name,
            )
    if case is not None:
        log.info("Slack message %s:%s -> case %s (%s)", channel, ts, case.ref, kind)
        deliver(rt)


def handle_reaction(rt: Runtime, body: Body, event: Mapping[str, Any], client: WebClient) -> None:
    item = event.get("item") or {}
    if event.get("reaction") != rt.cfg.chat.intake_reaction or item.get("type") != "message":
        return
    channel, ts = str(item.get("channel", "")), str(item.get("ts", ""))
    actor = require_staff(rt, str(event.get("user", "")), "open_by_reaction")
    message = fetch_message(client, channel, ts)
    if message is None or message.get("bot_id") or not intake_text(message).strip():
        return
    user = str(message.get("user") or "")
    name = display_name(client, user) if user else None
    with session_scope(rt.db) as session:
        if not first_time(session, body.get("event_id"), rt.clock()):
            return
        case = open_from_slack(
            session,
            rt.cfg,
            rt.clock(),
            channel=channel,
            ts=ts,
            user=user,
            text=intake_text(message),
            name=name,
            reply_ts=str(message.get("thread_ts") or ts),
            actor=actor,
            attachments=attachments_of(message),
        )
    if case is not None:
        log.info("intake reaction on %s:%s -> case %s", channel, ts, case.ref)
        deliver(rt)


def open_register_modal(rt: Runtime, body: Body, client: WebClient) -> None:
    require_staff(rt, user_id_of(body), "register")
    mark_handled(rt, body)
    client.views_open(
        trigger_id=body["trigger_id"],
        view=register_modal(lang_of(rt), str(body.get("channel_id") or "")),
    )


def check_register(
    rt: Runtime, view: Mapping[str, Any]
) -> tuple[RegisterForm | None, str | None, dict[str, str]]:
    """Read and validate the register modal (fast: it runs before ``ack``)."""
    lang = lang_of(rt)
    form = read_register_form(view["state"]["values"], lang)
    if isinstance(form, dict):
        return None, None, form
    phone = None
    if form.phone_text:
        found = find_phone_numbers(form.phone_text, region=rt.cfg.policy.country)
        if not found:
            return None, None, {BlockId.PHONE: say(lang, "invalid_phone")}
        phone = found[0]
    return form, phone, {}


def submit_register(
    rt: Runtime,
    body: Body,
    view: Mapping[str, Any],
    form: RegisterForm,
    phone: str | None,
    client: WebClient,
) -> None:
    user = user_id_of(body)
    actor = require_staff(rt, user, "register")
    with acting_once(rt, body) as session:
        case = register_complaint(session, rt, form, phone, actor, str(view.get("id", "")))
    if case is None:
        return
    channel = read_metadata(view).get("channel") or None
    answer(client, user, channel, say(lang_of(rt), "registered", ref=case.ref))
    deliver(rt)


# --- listeners: ack first, then the work ------------------------------------


def register(app: App, rt: Runtime) -> None:
    """Attach the intake listeners to ``app``."""

    @app.event("message")
    def on_message(
        body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]
    ) -> None:
        # Events are acknowledged by Bolt before this runs.
        handle_message(rt, body, event, client, context.get("bot_user_id"))

    @app.event("reaction_added")
    def on_reaction(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        handle_reaction(rt, body, event, client)

    @app.command(rt.cfg.chat.slash_command)
    def on_command(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        after_ack(rt, body, client, lambda: open_register_modal(rt, body, client))

    @app.view(CallbackId.REGISTER.value)
    def on_register(
        ack: Ack, body: dict[str, Any], view: dict[str, Any], client: WebClient
    ) -> None:
        form, phone, errors = check_register(rt, view)
        if form is None:
            ack(response_action="errors", errors=errors)
            return
        ack()
        after_ack(rt, body, client, lambda: submit_register(rt, body, view, form, phone, client))
