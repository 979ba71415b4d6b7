"""Who can appear as an actor in the audit trail, as the strings it stores.

``slack:U…`` is a Slack user, ``cli:…`` the operator's shell (``cli:U1`` with
``--by U1``), ``system`` the bot itself. Whether an actor may act is decided once, in
:func:`bot.actions.trail.authorize`, which returns an :class:`~bot.actions.trail.Actor`.
"""

from __future__ import annotations

CLI_ACTOR_PREFIX = "cli:"
SLACK_ACTOR_PREFIX = "slack:"
SYSTEM_ID = "system"


def slack_actor(user_id: str) -> str:
    return f"{SLACK_ACTOR_PREFIX}{user_id}"


def slack_user(actor: str | None) -> str | None:
    """The Slack user id of a ``slack:U…`` actor; None for anyone else."""
    return actor[6:] if actor and actor.startswith(SLACK_ACTOR_PREFIX) else None
