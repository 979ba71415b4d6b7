"""Reading the TOML file and turning validation errors into one line per key."""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config.base import ConfigError
from bot.config.tree import Config


def _format_loc(loc: tuple[int | str, ...]) -> str:
    parts: list[str] = []
    for p in loc:
        if isinstance(p, int) and parts:
            parts[-1] += f"[{p}]"  # list items: staff_users[0]
        else:
            parts.append(str(p))
    if not parts:
        return "(top level)"
    if len(parts) == 1:
        return parts[0]
    section = ".".join(parts[:-1])
    return f"[{section}] {parts[-1]}"


def _format_error(path: str, err: Mapping[str, Any]) -> str:
    loc = tuple(err.get("loc", ()))
    msg = str(err.get("msg", "invalid"))
    if err.get("type") == "extra_forbidden":
        msg = "unknown key"
    # model-level validators prefix their message with the key: "host: required ..."
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
        if ": " in msg and " " not in msg.split(": ", 1)[0]:
            key, msg = msg.split(": ", 1)
            loc = (*loc, key)
    return f"{path}: {_format_loc(loc)}: {msg}"


def load_config(path: str | Path) -> Config:
    """Read, validate and freeze the configuration at ``path``.

    Raises :class:`ConfigError` with one line per problem, each naming the file and key.
    """
    p = Path(path)
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: file not found") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    return parse_config(raw, source=str(p), base_dir=str(p.resolve().parent))


def parse_config(
    raw: Mapping[str, Any], *, source: str = "<config>", base_dir: str = "."
) -> Config:
    """Validate a mapping (as read from TOML) into a :class:`Config`."""
    try:
        return Config.model_validate({**raw, "source_path": source, "base_dir": base_dir})
    except ValidationError as exc:
        lines = [_format_error(source, e) for e in exc.errors()]
        raise ConfigError("\n".join(lines)) from None


def default_config_path() -> Path:
    """``./config.toml`` if present, else ``config.example.toml``."""
    local = Path("config.toml")
    return local if local.exists() else Path("config.example.toml")
