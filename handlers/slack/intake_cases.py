"""Opening and joining cases from Slack posts, inside the caller's transaction: a
Slack message as an :class:`~bot.actions.chat_intake.IntakePost`, and the rule both
chats share (:mod:`bot.actions.chat_intake`).

Every event is handled once: its ``event_id`` is inserted into ``processed_event`` in
the same transaction that opens the case (:func:`first_time`), and the message itself
is stored under the unique id ``{channel}:{ts}``, so Slack's retries
(``X-Slack-Retry-Num``) and a reaction on a message that already is a case never open
a second one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session

from bot.actions import chat_intake
from bot.actions.chat_intake import IntakePost
from bot.actions.trail import slack_actor
from bot.config import Config
from bot.domain.vocabulary import Source
from bot.store.models import Case, ProcessedEvent
from handlers.slack.common import slack_time


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
    """Open a case from a Slack message (its thread reply goes to ``reply_ts``); None
    when the message already belongs to a case."""
    post = IntakePost(
        via=Source.SLACK.value,
        conversation=channel,
        message_id=ts,
        thread=reply_ts,
        user=user,
        actor=actor,
        text=text,
        name=name,
        at=slack_time(ts),
        attachments=attachments,
    )
    return chat_intake.open_from_post(session, cfg, now, post)


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
    """A reply in a case's intake thread is kept on the case
    (:func:`bot.actions.chat_intake.join_thread`)."""
    post = IntakePost(
        via=Source.SLACK.value,
        conversation=channel,
        message_id=ts,
        thread=thread_ts,
        user=user,
        actor=slack_actor(user),
        text=text,
        name=name,
        at=slack_time(ts),
    )
    return chat_intake.join_thread(session, cfg, now, post)
