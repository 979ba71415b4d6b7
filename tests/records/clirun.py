"""The real ``complaint-bot`` app, invoked in-process: the same code path as the
installed command without a new interpreter per call (keeps these tests fast)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from bot.cli.main import app


@dataclass(frozen=True)
class Ran:
    returncode: int
    stdout: str
    stderr: str


def run(config: Path, *args: str, check: bool = True) -> Ran:
    result = CliRunner().invoke(app, [*args, "--config", str(config)], catch_exceptions=False)
    ran = Ran(result.exit_code, result.stdout, result.stderr)
    if check and ran.returncode != 0:
        raise AssertionError(f"exit {ran.returncode}\n{ran.stdout}\n{ran.stderr}")
    return ran
