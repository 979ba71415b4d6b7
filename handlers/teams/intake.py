"""Complaints in from Teams: a new post in an intake conversation opens a case, and
the bot answers in that post's thread with the reference; replies in the thread
join the case by Slack's intake thread rules (:func:`handlers.slack.intake.replier`):
the original poster may bring a new number and reopen a recently closed case, staff
may add a number when there is none, anyone else is recorded and changes nothing.

Teams sends channel posts to the bot when it is @mentioned, or all of them when the
app package grants ``ChannelMessage.Read.Group``; the mention itself is not part of
the complaint. Each activity is handled once (its key in ``processed_event`` in the
transaction that opens the case), and the message is stored under the unique id
``{conversation}:{activity id}``, so a retry never opens a second case.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlmodel import Session, select

from bot.actions.cases import escalate, reopen, set_case_phone
from bot.actions.opening import NewComplaint, open_case
from bot.actions.trail import OTHER_SENDER, SYSTEM_ACTOR, audit, enqueue, teams_actor, unique_key
from bot.mail.extract import detect_language, is_serious, summarise
from bot.store.db import session_scope
from bot.store.models import Case, EscalationReason, OutboxKind, Source, Status
from handlers.slack.common import deliver
from handlers.slack.intake_cases import (
    inbound_message,
    message_exists,
    original_poster,
    phones_in,
)
from handlers.slack.intake_rules import Replier, replier, subject_of
from handlers.slack.labels import say
from handlers.slack.once import first_time
from handlers.teams.activity import Incoming
from handlers.teams.press import activity_key, teams_user

if TYPE_CHECKING:
    from bot.config import Config
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

CHANNEL = "teams"  # Message.channel of what came in through Teams


def is_intake(cfg: Config, inc: Incoming) -> bool:
    """A person's post in an intake conversation (pure); the bot's own posts are not."""
    return (
        inc.conversation in cfg.chat.intake_channels
        and bool(inc.user)
        and not inc.user.startswith("28:")  # bots, this one included
        and bool(inc.text.strip())
    )


def open_from_teams(
    session: Session, cfg: Config, now: datetime, inc: Incoming, user: str
) -> Case | None:
    """Open a case from a top-level post; queue the staff prompt and the thread reply.
    None when the post already belongs to a case."""
    external_id = f"{inc.conversation}:{inc.id}"
    if message_exists(session, external_id):
        return None
    text = inc.text
    language = detect_language(text, default=cfg.policy.default_language)
    phones = phones_in(cfg, text, language)
    serious = is_serious(text, cfg.policy.serious_keywords_for(language))
    received = inc.at or now
    case = open_case(
        session,
        cfg,
        NewComplaint(
            source=Source.TEAMS.value,
            received_at=received,
            name=inc.name,
            phone=phones[0] if phones else None,
            language=language,
            subject=subject_of(text),
            summary=summarise(text),
            serious=serious,
            origin_channel=inc.conversation,
            origin_ts=inc.id,
            chat_user=user,
        ),
        now,
        actor=teams_actor(user),
    )
    session.add(
        inbound_message(
            case,
            channel=CHANNEL,
            external_id=external_id,
            text=text,
            sender=user,
            sender_name=inc.name,
            at=received,
        )
    )
    prompt = {"op": "prompt", "case_id": case.id}
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=f"prompt:{case.id}",
        payload=prompt,
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
            "channel": inc.conversation,
            "thread_ts": inc.id,
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


def join_teams_thread(
    session: Session, cfg: Config, now: datetime, inc: Incoming, user: str
) -> Case | None:
    """A reply in a case's intake thread is kept on the case (see the module docstring)."""
    case = session.exec(
        select(Case).where(Case.origin_channel == inc.conversation, Case.origin_ts == inc.thread)
    ).first()
    external_id = f"{inc.conversation}:{inc.id}"
    if case is None or message_exists(session, external_id):
        return None
    who = replier(cfg, user, original_poster(session, case))
    actor = teams_actor(user)
    session.add(
        inbound_message(
            case,
            channel=CHANNEL,
            external_id=external_id,
            text=inc.text,
            sender=user,
            sender_name=inc.name,
            at=inc.at or now,
            classification="reply" if who != Replier.OTHER else OTHER_SENDER,
        )
    )
    note: dict[str, object] = {"op": "case_message", "case_id": case.id}
    if who == Replier.OTHER:
        audit(session, case, actor, "other_sender_message", now, via=CHANNEL)
        note["other_sender"] = True
    else:
        audit(session, case, actor, "message_added", now, via=CHANNEL)
        phones = phones_in(cfg, inc.text, case.language)
        if phones and (who == Replier.COMPLAINANT or not case.phone):
            by = SYSTEM_ACTOR if who == Replier.COMPLAINANT else actor
            set_case_phone(session, case, phones[0], now, by, via=CHANNEL)
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


def handle_post(rt: Runtime, inc: Incoming) -> None:
    """A post in Teams: open a case, or join the case of its thread; once per activity."""
    if not is_intake(rt.cfg, inc):
        return
    user, now = teams_user(rt, inc), rt.clock()
    key = activity_key(inc)
    with session_scope(rt.db) as session:
        if key is not None and not first_time(session, key, now):
            return
        if inc.top_level:
            case = open_from_teams(session, rt.cfg, now, inc, user)
        else:
            case = join_teams_thread(session, rt.cfg, now, inc, user)
    if case is not None:
        log.info("Teams post %s -> case %s", inc.id[:24], case.ref)
        deliver(rt)
