"""Logging that never carries national ID numbers, and no secrets.

Every record passes a filter that masks Swedish personnummer and Norwegian
fødselsnummer in the final message. Code logs references and short forms
(``a***@example.org``), never complaint text.
"""

from __future__ import annotations

import logging
import sys

from bot.redact import redact


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        return True


def setup_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("apscheduler", "slack_bolt", "slack_sdk", "urllib3", "imapclient"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))
