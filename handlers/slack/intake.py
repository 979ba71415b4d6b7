"""Complaints in from Slack: posts in the intake channels, replies in a case's thread,
and the intake reaction staff put on a message elsewhere. The rules are in
:mod:`handlers.slack.intake_rules`, the database work in :mod:`handlers.slack.intake_cases`,
the slash command for complaints taken by phone in :mod:`handlers.slack.registration`."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackClientError

from bot.actions.trail import slack_actor
from bot.store.db import session_scope
from handlers.slack.common import (
    Body,
    deliver,
    require_staff,
)
from handlers.slack.intake_cases import first_time, join_thread, open_from_slack
from handlers.slack.intake_rules import MessageKind, attachments_of, classify_message, intake_text

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)

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


# --- listeners (events are acknowledged by Bolt before these run) -----------


def register(app: App, rt: Runtime) -> None:
    """Attach the intake listeners to ``app``."""

    @app.event("message")
    def on_message(
        body: dict[str, Any], event: dict[str, Any], client: WebClient, context: dict[str, Any]
    ) -> None:
        handle_message(rt, body, event, client, context.get("bot_user_id"))

    @app.event("reaction_added")
    def on_reaction(body: dict[str, Any], event: dict[str, Any], client: WebClient) -> None:
        handle_reaction(rt, body, event, client)
