"""Who can appear as an actor in the audit trail, as the strings it stores.

``slack:U…`` is a Slack user (``teams:…`` a Teams one), ``cli:…`` the operator's
shell (``cli:U1`` with ``--by U1``), ``system`` the bot itself. Whether an actor
may act is decided once, in :func:`bot.actions.trail.authorize`, which returns an
:class:`~bot.actions.trail.Actor`.
"""

from __future__ import annotations

CLI_ACTOR_PREFIX = "cli:"
# A person in chat: ``slack:U…`` or ``teams:<Entra object id or Teams user id>``. One
# deployment uses one chat, so the id after the prefix is what the chat adapter takes.
CHAT_ACTOR_PREFIXES = ("slack:", "teams:")
SYSTEM_ID = "system"


def slack_actor(user_id: str) -> str:
    return f"slack:{user_id}"


def teams_actor(user_id: str) -> str:
    return f"teams:{user_id}"


def slack_user(actor: str | None) -> str | None:
    """The chat user id of a ``slack:U…`` (or ``teams:…``) actor; None for anyone else."""
    for prefix in CHAT_ACTOR_PREFIXES:
        if actor and actor.startswith(prefix):
            return actor[len(prefix) :]
    return None
