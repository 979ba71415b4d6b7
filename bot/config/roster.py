"""The roster section: who takes call-backs and how unclaimed cases are offered."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import Field, field_validator

from bot.config.base import Section, SlackId


class RosterConfig(Section):
    """Who takes call-backs today, and how unclaimed cases are offered to them.

    Claiming stays the default: only a case nobody claimed within
    ``offer_after_minutes`` working minutes is *offered* (never forced) to the
    on-duty person with the lightest load. See docs/roster.md.
    """

    enabled: bool = True  # offers of unclaimed cases; hard-call care has its own switch
    users: tuple[SlackId, ...] = ()  # empty: [chat] staff_users
    usergroup: str = ""  # Slack user group id (S...), read with usergroups.users.list
    # Per person ISO weekdays (1 = Monday); anyone not listed works [policy] working_days.
    working_days: dict[SlackId, tuple[Annotated[int, Field(ge=1, le=7)], ...]] = {}  # noqa: RUF012
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
    debrief_with: str = ""  # a Slack user id; empty: the first of managers, else ombudsman
    managers: tuple[SlackId, ...] = ()  # see the weekly load view (with ombudsman_users)
    # Per intake source ("email", "slack", "phone", "counter", "letter") or Slack intake
    # channel id: false turns offers off for it. Missing: on (when enabled).
    sources: dict[str, bool] = {}  # noqa: RUF012 - pydantic copies it per instance

    @field_validator("usergroup", "debrief_with")
    @classmethod
    def _slack_id(cls, v: str) -> str:
        if v and not re.fullmatch(r"[A-Z0-9]{2,}", v):
            raise ValueError("must be a Slack id such as U0MANAGER or S0STAFF")
        return v

    def offers_for(self, source: str, channel: str | None = None) -> bool:
        """Whether unclaimed cases from ``source`` (or intake ``channel``) are offered."""
        if not self.enabled:
            return False
        if channel and channel in self.sources:
            return self.sources[channel]
        return self.sources.get(source, True)
