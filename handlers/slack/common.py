"""What every Slack listener needs: who acts, where to answer, the staff check, delivery.

Listeners are thin: ``ack()``, then one call into a function here or in the
concern's module, which does the work through :mod:`bot.actions.cases` in one
transaction and then delivers what it queued (so the prompt updates in place
at once instead of at the next sweep).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from sqlmodel import select

from bot.actions.trail import Actor, audit, authorize, is_ombudsman, slack_actor
from bot.errors import NotAllowed
from bot.store.db import session_scope
from bot.store.models import Case

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

Body = Mapping[str, Any]


def user_id_of(body: Body) -> str:
    """The Slack user behind an action, view submission, command or event."""
    user = body.get("user")
    if isinstance(user, Mapping):
        return str(user.get("id", ""))
    if body.get("user_id"):
        return str(body["user_id"])
    event = body.get("event")
    if isinstance(event, Mapping):
        return str(event.get("user", ""))
    return str(user or "")


def channel_of(body: Body) -> str | None:
    """The channel a request came from, to answer in it; None when there is none (modals,
    App Home), and the answer goes to the user's DM with the app instead."""
    channel = body.get("channel")
    if isinstance(channel, Mapping) and channel.get("id"):
        return str(channel["id"])
    if body.get("channel_id"):
        return str(body["channel_id"])
    container = body.get("container")
    if isinstance(container, Mapping) and container.get("channel_id"):
        return str(container["channel_id"])
    event = body.get("event")
    if isinstance(event, Mapping):
        item = event.get("item")
        if isinstance(item, Mapping) and item.get("channel"):
            return str(item["channel"])
        if event.get("channel"):
            return str(event["channel"])
    return None


def action_value(body: Body) -> str:
    """The value of the button pressed or the option chosen."""
    actions = body.get("actions") or [{}]
    action = actions[0]
    chosen = action.get("selected_option")
    if isinstance(chosen, Mapping):
        return str(chosen.get("value", ""))
    return str(action.get("value", ""))


def answer(
    client: WebClient,
    user: str,
    channel: str | None,
    text: str,
    blocks: list[dict[str, Any]] | None = None,
) -> None:
    """Tell ``user`` only: an ephemeral message in ``channel``, else a DM from the app."""
    try:
        if channel:
            try:
                client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
                return
            except SlackApiError as exc:
                # Not in that channel (a DM, a modal from elsewhere): fall back to a DM.
                log.info(
                    "ephemeral to %s failed (%s); sending a DM", channel, exc.response.get("error")
                )
        client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except SlackClientError:
        log.warning("could not tell user %s: %s", user, text[:80], exc_info=True)


def audit_refusal(rt: Runtime, actor: str, action: str, ref: str | None) -> None:
    """Put a refused attempt on the audit trail (of the case, when it exists)."""
    with session_scope(rt.db) as session:
        case = (
            session.exec(select(Case).where(Case.ref == ref.strip().upper())).first()
            if ref
            else None
        )
        audit(session, case, actor, "refused", rt.clock(), attempted=action)
    log.warning("refused %s by %s", action, actor)


def require_staff(rt: Runtime, user: str, action: str, ref: str | None = None) -> Actor:
    """The authorised actor for ``user`` if they may act on cases; otherwise audit the
    attempt and raise :class:`NotAllowed` (the error handler tells them)."""
    actor = slack_actor(user)
    try:
        return authorize(rt.cfg, actor)
    except NotAllowed:
        audit_refusal(rt, actor, action, ref)
        raise


class NotOmbudsman(NotAllowed):
    """Someone other than the ombudsman pressed one of the ombudsman's buttons."""


def require_ombudsman(rt: Runtime, user: str, action: str, ref: str | None = None) -> Actor:
    """The actor for ``user`` if they are on ``ombudsman_users``; otherwise audit the
    attempt and raise :class:`NotOmbudsman` (staff may act on cases, but not take them
    over from the ombudsman's alert, ask for action plans or acknowledge escalations)."""
    actor = slack_actor(user)
    if not is_ombudsman(rt.cfg, actor):
        audit_refusal(rt, actor, action, ref)
        raise NotOmbudsman("only the ombudsman may do this")
    return authorize(rt.cfg, actor)


def deliver(rt: Runtime) -> None:
    """Wake the runner's delivery loop for what the action queued (the post appears
    within milliseconds); returns at once. A listener never delivers itself."""
    rt.delivery.wake()


def slack_time(ts: str) -> datetime:
    """A Slack message ``ts`` (``1700000000.000100``) as an aware UTC datetime."""
    return datetime.fromtimestamp(float(ts), UTC)


def lang_of(rt: Runtime) -> str:
    return rt.cfg.chat.staff_language
