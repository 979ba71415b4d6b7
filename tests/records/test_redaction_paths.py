"""National ID numbers never leave for Slack or the logs in clear: the whole path,
from a real email through the pipeline to the Slack Web API (the fake one) and the
log handler that ``complaint-bot`` installs."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.clock import FixedClock
from bot.config import Config
from bot.logs import RedactingFilter
from tests.harness import Bot, email
from tests.support.fake_slack import FakeSlack
from tests.support.slack_chat import chat_for

IDS = ("19811218-9876", "811218-9875", "19811278-9873", "02016126007", "42016126009")
DIGITS = tuple(i.replace("-", "")[-4:] for i in IDS)
BODY = (
    "Hej! Det gäller min mamma, personnummer 19811218-9876 (eller 811218-9875 som det "
    "står i brevet), samordningsnummer 19811278-9873. Hennes norske fødselsnummer er "
    "02016126007, D-nummer 42016126009. Ring mig på 070-123 45 67."
)


@pytest.fixture
def log_text() -> Iterator[io.StringIO]:
    """What the handler installed by ``complaint-bot`` would write, at DEBUG."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def test_ids_in_a_complaint_reach_neither_slack_nor_the_log(
    cfg: Config,
    engine: Engine,
    clock: FixedClock,
    tmp_path: Path,
    fake_slack: FakeSlack,
    log_text: io.StringIO,
) -> None:
    bot = Bot(cfg, engine, clock, tmp_path, chat=chat_for(fake_slack))
    bot.deliver(email(subject="Klagomål 19811218-9876", body=BODY))
    bot.run_once()
    posted = [json.dumps(c.params, ensure_ascii=False) for c in fake_slack.calls()]
    assert posted, "the call-back prompt went to Slack"
    sent = "\n".join(posted)
    assert "mamma" in sent  # the summary went out, redacted
    for national_id, tail in zip(IDS, DIGITS, strict=True):
        assert national_id not in sent and tail not in sent
    logged = log_text.getvalue()
    for national_id in IDS:
        assert national_id not in logged


def test_the_log_filter_masks_ids_passed_as_arguments(log_text: io.StringIO) -> None:
    logging.getLogger("bot.test").warning(
        "complainant %s wrote %r", "811218-9876", {"pnr": "02016126007"}
    )
    logged = log_text.getvalue()
    assert "811218-9876" not in logged and "02016126007" not in logged
    assert "complainant" in logged
