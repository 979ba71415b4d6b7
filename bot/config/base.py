"""Pieces every section shares: the error type, the section base, the env-name check."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
LANGUAGES = ("sv", "nb", "nn", "en")
Language = Literal["sv", "nb", "nn", "en"]


class ConfigError(Exception):
    """The configuration cannot be used. The message names file, key and problem."""


_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# Prefixes of tokens people paste by mistake (Slack, GitHub, GitLab, Stripe, AWS...).
_SECRET_PREFIXES = (
    "xox",
    "xapp-",
    "ghp_",
    "gho_",
    "ghs_",
    "github_pat_",
    "glpat-",
    "sk_",
    "sk-",
    "pk_",
    "AKIA",
    "ASIA",
    "eyJ",
)


def env_name_problem(value: str) -> str | None:
    """Why ``value`` cannot be the name of an environment variable, or None.

    A ``*_env`` key names a variable; a value that looks like the secret itself
    (not a valid name, a known token prefix, long, or a random-looking mix of
    upper case, lower case and digits) is refused. The reason never repeats it.
    """
    random_looking = (
        any(c.islower() for c in value)
        and any(c.isupper() for c in value)
        and any(c.isdigit() for c in value)
    )
    if (
        not _ENV_NAME.fullmatch(value)
        or value.startswith(_SECRET_PREFIXES)
        or len(value) > 64
        or random_looking
        or (len(value) >= 20 and "_" not in value and any(c.isdigit() for c in value))
    ):
        return (
            "must be the name of an environment variable (such as SLACK_BOT_TOKEN), "
            "and this looks like a secret itself; put the secret in the environment "
            "(the value is not shown)"
        )
    return None


class Section(BaseModel):
    """Base of every section: frozen, unknown keys refused, `*_env` values checked."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @field_validator("*")
    @classmethod
    def _env_names_only(cls, v: Any, info: ValidationInfo) -> Any:
        if (info.field_name or "").endswith("_env") and isinstance(v, str) and v:
            problem = env_name_problem(v)
            if problem:
                raise ValueError(problem)
        return v


SlackId = Annotated[str, Field(pattern=r"^[A-Z0-9]{2,}$")]
# A Slack id, or a Teams one: an Entra object id (GUID), a Teams user id (``29:…``) or a
# conversation id (``19:…@thread.tacv2``). Slack deployments are held to SlackId below.
ChatId = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9:@._=-]+$", max_length=256)]
