"""The ``complaint-bot`` command line for tests.

``run`` invokes the real Typer app in-process (the same code path as the
installed command, without a new interpreter per call: fast); ``cli`` runs
``python -m bot`` as a real process, for the few smoke tests that prove the
installed command starts. ``write_config`` writes a small embedded-default
config.toml for either.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from bot.cli.main import app


def write_config(tmp_path: Path, db_url: str, extra: str = "") -> Path:
    """A config.toml in ``tmp_path``: Maildir inbox (seeded from ``samples/``), folder
    outbox, console chat; ``extra`` is appended as more TOML."""
    (tmp_path / "samples").mkdir(exist_ok=True)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'''
[database]
url = "{db_url}"
[mailbox]
kind = "maildir"
path = "inbox"
seed_dir = "samples"
[outgoing]
kind = "folder"
path = "outbox"
[chat]
kind = "console"
staff_users = ["U0STAFF1"]
ombudsman_users = ["U0OMBUD"]
{extra}
''')
    return cfg


@dataclass(frozen=True)
class Ran:
    """What a command did: its exit code and what it printed."""

    returncode: int
    stdout: str
    stderr: str


def run(
    config: Path, *args: str, check: bool = True, env: Mapping[str, str | None] | None = None
) -> Ran:
    """``complaint-bot ARGS --config CONFIG``, in this process (``env``: variables set
    for the call). The logging set-up a command does is undone afterwards, so its
    handler does not outlive the captured output it writes to."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        result = CliRunner().invoke(
            app, [*args, "--config", str(config)], env=env, catch_exceptions=False
        )
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
    ran = Ran(result.exit_code, result.stdout, result.stderr)
    if check and ran.returncode != 0:
        raise AssertionError(f"exit {ran.returncode}\n{ran.stdout}\n{ran.stderr}")
    return ran


def cli(cfg: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """``python -m bot ARGS --config CFG`` as a real process, in the config's folder."""
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args, "--config", str(cfg)],
        capture_output=True,
        text=True,
        cwd=cfg.parent,
        timeout=120,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def cases_json(cfg: Path, *flags: str) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(run(cfg, "cases", "--format", "json", *flags).stdout)
    return cases
