"""The municipal rules: time zone, working time, deadlines, serious keywords."""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from bot.config.base import Language, Section


class WorkingHours(Section):
    start: time = time(8, 0)
    end: time = time(16, 30)

    @model_validator(mode="after")
    def _order(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError("end: must be after start")
        return self


class PolicyConfig(Section):
    timezone: str = "Europe/Stockholm"
    country: Literal["SE", "NO"] = "SE"
    default_language: Language = "sv"
    reference_prefix: str = Field("KL", pattern=r"^[A-Z]{1,6}$")
    working_hours: WorkingHours = WorkingHours()
    working_days: tuple[Annotated[int, Field(ge=1, le=7)], ...] = (1, 2, 3, 4, 5)
    extra_closed_days: tuple[date, ...] = ()
    first_contact_working_hours: float = Field(8.5, gt=0)
    reminder_every_working_hours: float = Field(2.0, gt=0)
    retry_after_no_answer_working_hours: float = Field(2.0, gt=0)
    failed_attempts_before_email: int = Field(3, ge=1)
    ombudsman_after_working_hours: float = Field(17.0, gt=0)
    stage1_response_working_days: int = Field(10, ge=1)
    stage2_response_working_days: int = Field(20, ge=1)
    ack_window_hours: float = Field(24.0, ge=0)
    bounce_block_days: int = Field(60, ge=0)
    reopen_window_days: int = Field(90, ge=0)
    retention_days: int = Field(0, ge=0)
    # Serious keywords per language: a complaint is matched against the list of the
    # language it is written in (Swedish "hot" must not fire on English "hot water").
    # (pydantic copies a mutable default per instance; ruff cannot see the base model here)
    serious_keywords_by_language: dict[Language, tuple[str, ...]] = {  # noqa: RUF012
        "sv": (
            "hot",
            "hotar",
            "hotad",
            "hotade",
            "våld",
            "misshandel",
            "misshandlad",
            "övergrepp",
            "självmord",
            "lex sarah",
            "lex maria",
        ),
        "nb": (
            "trussel",
            "trusler",
            "truer",
            "truet",
            "vold",
            "overgrep",
            "selvmord",
            "mishandling",
        ),
        "nn": (
            "trugsmål",
            "truar",
            "trussel",
            "vald",
            "vold",
            "overgrep",
            "sjølvmord",
            "mishandling",
        ),
        "en": (
            "threat",
            "threatened",
            "threatening",
            "violence",
            "abuse",
            "abused",
            "suicide",
            "self-harm",
        ),
    }
    # Older configurations: one flat list, matched in every language (kept working).
    serious_keywords: tuple[str, ...] = ()

    def serious_keywords_for(self, language: str) -> tuple[str, ...]:
        """The keywords that mark a complaint in ``language`` as serious."""
        words = self.serious_keywords_by_language.get(language, ())  # type: ignore[call-overload]
        return tuple(dict.fromkeys((*words, *self.serious_keywords)))

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)
