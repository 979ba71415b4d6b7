"""The roster section: who takes call-backs and how unclaimed cases are offered."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from bot.config.base import CHAT_ID, SLACK_ID, ChatId, Section


class RosterConfig(Section):
    """Who takes call-backs today, and how unclaimed cases are offered to them.

    Claiming stays the default: only a case nobody claimed within
    ``offer_after_minutes`` working minutes is *offered* (never forced) to the
    on-duty person with the lightest load. See docs/roster.md.
    """

    # People are named by the chat's ids ([chat] kind): Slack user ids, or under Teams
    # Entra object ids or Teams user ids (29:…), as in [chat] staff_users.
    enabled: bool = True  # offers of unclaimed cases; hard-call care has its own switch
    users: tuple[ChatId, ...] = ()  # empty: [chat] staff_users
    usergroup: str = ""  # Slack user group id (S...), read with usergroups.users.list
    # Per person ISO weekdays (1 = Monday); anyone not listed works [policy] working_days.
    working_days: dict[ChatId, tuple[Annotated[int, Field(ge=1, le=7)], ...]] = {}  # noqa: RUF012
    # A Slack status text containing one of these words (whole words, any case) means away.
    away_words: tuple[str, ...] = (
        "semester",
        "ledig",
        "sjuk",
        "sjukskriven",
        "vab",
        "föräldraledig",
        "tjänstledig",
        "ferie",
        "syk",
        "sykemeldt",
        "sykmeldt",
        "foreldrepermisjon",
        "permisjon",
        "vacation",
        "holiday",
        "sick",
        "sick leave",
        "parental leave",
        "out of office",
    )
    away_emojis: tuple[str, ...] = (
        ":palm_tree:",
        ":desert_island:",
        ":beach_with_umbrella:",
        ":airplane:",
        ":face_with_thermometer:",
        ":thermometer:",
        ":mask:",
        ":baby:",
        ":baby_bottle:",
    )
    offer_after_minutes: int = Field(60, ge=1)  # working minutes without a claim
    answer_within_minutes: int = Field(30, ge=1)  # working minutes; then the next person
    daily_cap: int = Field(6, ge=0)  # call-backs per person per day; 0: no cap
    hard_call_weight: float = Field(2.0, ge=0)  # each hard call today counts as this many
    age_weight_per_day: float = Field(0.5, ge=0)  # an open call-back weighs 1 + this per day
    hard_call_care: bool = True  # thank the caller and offer a debrief after a hard call
    debrief_with: str = ""  # a chat user id; empty: the first of managers, else ombudsman
    managers: tuple[ChatId, ...] = ()  # see the weekly load view (with ombudsman_users)
    # Per intake source ("email", "slack", "phone", "counter", "letter") or Slack intake
    # channel id: false turns offers off for it. Missing: on (when enabled).
    sources: dict[str, bool] = {}  # noqa: RUF012 - pydantic copies it per instance

    @field_validator("usergroup")
    @classmethod
    def _slack_id(cls, v: str) -> str:
        if v and not re.fullmatch(SLACK_ID, v):
            raise ValueError("must be a Slack id such as S0STAFF")
        return v

    @field_validator("debrief_with")
    @classmethod
    def _chat_id(cls, v: str) -> str:
        if v and not re.fullmatch(CHAT_ID, v):
            raise ValueError("must be a chat user id, as in [chat] staff_users")
        return v

    def id_problem(self, kind: str) -> str | None:
        """What is wrong with the people named here for a chat of ``kind`` (``key: what``),
        else None: Slack (and the console) take Slack ids; Teams has no user groups."""
        if kind == "teams":
            if self.usergroup:
                return "usergroup: a Slack user group; under Teams list the people in users"
            return None
        named = [
            *((f"users[{i}]", u) for i, u in enumerate(self.users)),
            *((f"working_days.{u}", u) for u in self.working_days),
            *((f"managers[{i}]", u) for i, u in enumerate(self.managers)),
            *([("debrief_with", self.debrief_with)] if self.debrief_with else []),
        ]
        for key, value in named:
            if not re.fullmatch(SLACK_ID, value):
                return (
                    f'{key}: not a Slack id: {value[:40]!r} (Teams ids need [chat] kind = "teams")'
                )
        return None

    def offers_for(self, source: str, channel: str | None = None) -> bool:
        """Whether unclaimed cases from ``source`` (or intake ``channel``) are offered."""
        if not self.enabled:
            return False
        if channel and channel in self.sources:
            return self.sources[channel]
        return self.sources.get(source, True)
