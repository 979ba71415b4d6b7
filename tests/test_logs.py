"""Logs tell what happened, not what was written."""

from __future__ import annotations

import io
import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.logs import LIBRARY_LEVELS, MAX_LINE
from tests.support.log_capture import log_output  # noqa: F401

log = logging.getLogger("bot.test_logs")
SPELLED = "340512\u200b-1234"  # defined here, so the traceback's source line does not show it


def test_identity_numbers_are_masked_in_messages_arguments_and_tracebacks(
    log_output: io.StringIO,  # noqa: F811
) -> None:
    log.info("case KL-2026-000001 from %s", "pnr 19340512\u20131234")
    try:
        raise ValueError(f"bad value {SPELLED}")
    except ValueError:
        log.exception("failed for fnr %s", "020161 26007")

    text = log_output.getvalue()
    assert "KL-2026-000001" in text and "[ID-nummer]" in text
    for digits in ("1234", "26007", "020161"):
        assert digits not in text.replace("KL-2026-000001", "")
    assert "ValueError" in text  # the traceback is still there, masked


def test_a_value_cannot_forge_a_log_line(log_output: io.StringIO) -> None:  # noqa: F811
    log.warning(
        "subject: %s", "hej\n2026-11-23 10:00:00,000 INFO bot.pipeline: case opened\r\x1b[2K\u202e"
    )

    lines = log_output.getvalue().splitlines()
    assert len(lines) == 1
    assert "\\n2026-11-23" in lines[0] and "\\x1b" in lines[0] and "\\u202e" in lines[0]


def test_traceback_lines_cannot_pass_for_records(log_output: io.StringIO) -> None:  # noqa: F811
    try:
        raise RuntimeError("x\n2026-11-23 10:00:00,000 INFO bot: case opened")
    except RuntimeError:
        log.exception("sweep failed")

    first, *rest = log_output.getvalue().splitlines()
    assert "sweep failed" in first
    assert rest and all(line.startswith("  | ") for line in rest)


def test_lines_are_capped(log_output: io.StringIO) -> None:  # noqa: F811
    log.info("body %s", "x" * 2_000_000)

    (line,) = log_output.getvalue().splitlines()
    assert len(line) < MAX_LINE + 100
    assert "characters cut" in line


def test_library_loggers_stay_quiet_below_warning(log_output: io.StringIO) -> None:  # noqa: F811
    # Bolt copies the root level onto its child loggers; setup undoes that.
    child = logging.getLogger("slack_bolt.App")
    for name in LIBRARY_LEVELS:
        logging.getLogger(f"{name}.child").info("%s body: Anna, 19340512-1234", name)
        logging.getLogger(name).info("request body")
    child.info("Invalid request signature detected (body: ...)")
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT ... ('19340512-1234',)")

    assert log_output.getvalue() == ""
    for name in (
        "slack_bolt",
        "slack_sdk",
        "urllib3",
        "imapclient",
        "apscheduler",
        "alembic",
        "sqlalchemy",
        "mail.log",
        "asyncio",
    ):
        assert logging.getLogger(name).getEffectiveLevel() >= logging.WARNING


def test_a_failed_statement_does_not_quote_what_citizens_wrote(engine: Engine) -> None:
    """A database error ends up in a logged traceback: it must not carry its parameters."""
    with pytest.raises(sa.exc.DBAPIError) as failed, engine.connect() as conn:
        conn.execute(
            sa.text("INSERT INTO no_such_table (who) VALUES (:who)"), {"who": "anna@example.se"}
        )
    assert "anna@example.se" not in str(failed.value)
