"""Logging that tells what happened, not what was written.

Every record that reaches our handler, ours or a library's, passes
:class:`RedactingFilter`: Swedish personnummer and Norwegian fødselsnummer are
masked (in any spelling, see :mod:`bot.redact`) in the message, its arguments
and the exception text; control characters are escaped, so a value with a
newline cannot forge a second log line; and each line is capped at
:data:`MAX_LINE` characters. Code logs case references and short forms
(``a***@example.org``), never complaint text.

Third-party loggers are set explicitly (:data:`LIBRARY_LEVELS`): none of them
logs below WARNING, where some would log request bodies, SQL parameters or
mail commands.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
from typing import TextIO

from bot.redact import redact

MAX_LINE = 2000
MAX_TRACEBACK_LINES = 60

# Every library the bot uses that logs, at the level it may log at.
LIBRARY_LEVELS: dict[str, int] = {
    "slack_bolt": logging.WARNING,
    "slack_sdk": logging.WARNING,
    "urllib3": logging.WARNING,
    "websocket": logging.WARNING,
    "imapclient": logging.WARNING,
    "imaplib": logging.WARNING,
    "apscheduler": logging.WARNING,
    "alembic": logging.WARNING,
    "sqlalchemy": logging.WARNING,
    "aiosmtpd": logging.WARNING,
    "mail.log": logging.WARNING,  # aiosmtpd's own logger name
    "asyncio": logging.WARNING,
    "psycopg": logging.WARNING,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "requests": logging.WARNING,
    "oauthlib": logging.WARNING,
    "msal": logging.WARNING,
    "jinja2": logging.WARNING,
    "phonenumbers": logging.WARNING,
    "matplotlib": logging.WARNING,
    "PIL": logging.WARNING,
    "hypothesis": logging.WARNING,
}

_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` with control, format and line/paragraph-separator characters written
    as escapes (``\\n``, ``\\x1b``, ``\\u202e``), so one value stays on one line and
    cannot reorder what is shown around it."""
    out: list[str] = []
    for char in text:
        if char in _NAMED_ESCAPES:
            out.append(_NAMED_ESCAPES[char])
        elif unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp"):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return "".join(out)


def cap(text: str, limit: int = MAX_LINE) -> str:
    """At most ``limit`` characters, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[: limit - 40]}... [{len(text) - limit + 40} characters cut]"


def clean_message(text: str) -> str:
    """One log line: masked, escaped and capped."""
    return cap(escape_controls(redact(text)))


def clean_block(text: str) -> str:
    """A traceback or stack: masked, every line escaped, capped and indented with
    ``  | `` so that no line of it can pass for a log record of its own."""
    lines = redact(text).splitlines()
    if len(lines) > MAX_TRACEBACK_LINES:
        cut = len(lines) - MAX_TRACEBACK_LINES
        lines = [*lines[:5], f"... {cut} lines cut ...", *lines[-(MAX_TRACEBACK_LINES - 5) :]]
    return "\n".join("  | " + cap(escape_controls(line)) for line in lines)


class RedactingFilter(logging.Filter):
    """Masks, escapes and caps every record before it is formatted (see the module)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = f"{record.msg!s} (unformattable arguments)"
        record.msg = clean_message(message)
        record.args = None
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            record.exc_info = None
        if record.exc_text:
            record.exc_text = clean_block(record.exc_text)
        if record.stack_info:
            record.stack_info = clean_block(record.stack_info)
        return True


def configure_libraries(level: int = logging.INFO) -> None:
    """Set every library logger in :data:`LIBRARY_LEVELS`, and undo levels that
    libraries copied onto their child loggers (Bolt copies the root level), so the
    children follow their parent."""
    for name, library_level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(max(level, library_level))
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger) and any(
            name.startswith(parent + ".") for parent in LIBRARY_LEVELS
        ):
            logger.setLevel(logging.NOTSET)


def setup_logging(level: int = logging.INFO, stream: TextIO | None = None) -> None:
    """One handler on the root logger (stderr, or ``stream``), filtered as above."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    configure_libraries(level)
