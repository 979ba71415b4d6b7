"""Today's on-duty roster: who takes call-backs, and why anyone else does not.

From the configuration (``[roster] users``, else ``[chat] staff_users``, and
each person's working days) and, in Slack, the members of a user group and
everyone's status: a status that says vacation, sick or parental leave takes
the person off today's roster. The console has only the configuration.

Slack presence ("away" = not active right now) is deliberately not used: it
flips with every idle laptop and would empty the roster at lunch.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.config import Config
from bot.domain.fair_share import is_away

if TYPE_CHECKING:  # a Slack client is handed in by the caller; the console has none
    from slack_sdk import WebClient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RosterEntry:
    """One person considered for today's roster."""

    user: str
    on_duty: bool
    reason: str  # why not on duty, or where they came from

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def may_act(cfg: Config, user: str) -> bool:
    """Only people who may act on cases can be offered one."""
    return user in cfg.chat.staff_users or user in cfg.chat.ombudsman_users


def configured_users(cfg: Config) -> tuple[str, ...]:
    """The roster from the file: ``[roster] users``, else ``[chat] staff_users``."""
    return cfg.roster.users or cfg.chat.staff_users


def works_today(cfg: Config, user: str, now: datetime) -> bool:
    """Whether today (local) is one of ``user``'s working days."""
    days = cfg.roster.working_days.get(user, cfg.policy.working_days)
    return now.astimezone(cfg.policy.tz).isoweekday() in days


def _usergroup_members(cfg: Config, client: WebClient) -> list[str]:
    response = client.usergroups_users_list(usergroup=cfg.roster.usergroup)
    return [str(u) for u in response.get("users") or []]


def _profile(client: WebClient, user: str) -> dict[str, Any]:
    response = client.users_info(user=user)
    info = response.get("user") or {}
    profile = dict(info.get("profile") or {})
    profile["deleted"] = bool(info.get("deleted"))
    profile["is_bot"] = bool(info.get("is_bot"))
    return profile


def today_roster(cfg: Config, now: datetime, client: WebClient | None = None) -> list[RosterEntry]:
    """Everyone considered today, in roster order (configured users, then the group's).

    Slack failures never empty the roster: a user group that cannot be read
    adds nobody, and a status that cannot be read counts as "not away".
    """
    users = list(configured_users(cfg))
    group_error = ""
    if client is not None and cfg.roster.usergroup:
        try:
            for u in _usergroup_members(cfg, client):
                if u not in users:
                    users.append(u)
        except Exception as exc:
            group_error = f"{type(exc).__name__}"
            log.warning("roster: cannot read user group %s: %s", cfg.roster.usergroup, exc)
    entries: list[RosterEntry] = []
    for user in users:
        source = "config" if user in configured_users(cfg) else "user group"
        if not may_act(cfg, user):
            entries.append(RosterEntry(user, False, "not on [chat] staff_users"))
            continue
        if not works_today(cfg, user, now):
            entries.append(RosterEntry(user, False, "not a working day"))
            continue
        if client is not None:
            try:
                profile = _profile(client, user)
            except Exception as exc:
                log.warning("roster: cannot read %s's Slack status: %s", user, exc)
                entries.append(RosterEntry(user, True, f"{source}; status unknown"))
                continue
            if profile["deleted"] or profile["is_bot"]:
                entries.append(RosterEntry(user, False, "deactivated in Slack"))
                continue
            if is_away(profile, cfg.roster.away_words, cfg.roster.away_emojis):
                status = " ".join(
                    str(profile.get(k) or "") for k in ("status_emoji", "status_text")
                ).strip()
                entries.append(RosterEntry(user, False, f"away: {status[:60]}"))
                continue
        entries.append(RosterEntry(user, True, source))
    if group_error:
        entries.append(
            RosterEntry(cfg.roster.usergroup, False, f"user group unreadable ({group_error})")
        )
    return entries


def on_duty(entries: list[RosterEntry]) -> list[str]:
    """The people who take call-backs today, in roster order."""
    return [e.user for e in entries if e.on_duty]
