"""Kept for existing imports: the in-process command line lives in tests/support/cli.py."""

from __future__ import annotations

from tests.support.cli import Ran, run

__all__ = ["Ran", "run"]
