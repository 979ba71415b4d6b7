"""Complaints in from Teams: a new post in an intake conversation opens a case, and
the bot answers in that post's thread with the reference; replies in the thread
join the case by the intake rule Slack shares (:mod:`bot.actions.chat_intake`):
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
from datetime import datetime
from typing import TYPE_CHECKING

from bot.actions.chat_intake import IntakePost, join_thread, open_from_post
from bot.actions.trail import teams_actor
from bot.domain.vocabulary import Source
from bot.store.db import session_scope
from handlers.slack.common import deliver
from handlers.slack.once import first_time
from handlers.teams.activity import Incoming
from handlers.teams.press import activity_key, teams_user

if TYPE_CHECKING:
    from bot.config import Config
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


def is_intake(cfg: Config, inc: Incoming) -> bool:
    """A person's post in an intake conversation (pure); the bot's own posts are not."""
    return (
        inc.conversation in cfg.chat.intake_channels
        and bool(inc.user)
        and not inc.user.startswith("28:")  # bots, this one included
        and bool(inc.text.strip())
    )


def intake_post(inc: Incoming, user: str, now: datetime) -> IntakePost:
    """A Teams post as the chats' intake rule reads it: a new post is its own thread."""
    return IntakePost(
        via=Source.TEAMS.value,
        conversation=inc.conversation,
        message_id=inc.id,
        thread=inc.id if inc.top_level else (inc.thread or inc.id),
        user=user,
        actor=teams_actor(user),
        text=inc.text,
        name=inc.name,
        at=inc.at or now,
    )


def handle_post(rt: Runtime, inc: Incoming) -> None:
    """A post in Teams: open a case, or join the case of its thread; once per activity."""
    if not is_intake(rt.cfg, inc):
        return
    user, now = teams_user(rt, inc), rt.clock()
    key = activity_key(inc)
    post = intake_post(inc, user, now)
    with session_scope(rt.db) as session:
        if key is not None and not first_time(session, key, now):
            return
        if inc.top_level:
            case = open_from_post(session, rt.cfg, now, post)
        else:
            case = join_thread(session, rt.cfg, now, post)
    if case is not None:
        log.info("Teams post %s -> case %s", inc.id[:24], case.ref)
        deliver(rt)
