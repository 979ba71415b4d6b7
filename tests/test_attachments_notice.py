"""Staff see what a person attached, and are told when an email was too large to keep
whole (issue 15: memory bounded by design must not hide what the citizen sent)."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from bot.actions.cases import get_case
from bot.adapters.imap_rules import truncated_message
from bot.clock import FixedClock
from bot.config import Config
from bot.presenters.staff_messages import case_view, human_size
from bot.store.db import session_scope
from handlers.slack.messages import prompt_blocks
from tests.harness import Bot


@pytest.fixture
def bot(cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path) -> Bot:
    return Bot(cfg, engine, clock, tmp_path)


def with_attachments(*files: tuple[str, bytes]) -> bytes:
    msg = EmailMessage()
    msg["From"] = "Anna Andersson <anna@example.se>"
    msg["To"] = "synpunkter@example.org"
    msg["Subject"] = "Trasig trappa"
    msg["Message-ID"] = "<att-1@example.se>"
    msg["Date"] = "Mon, 23 Nov 2026 10:00:00 +0100"
    msg.set_content("Hej, trappan vid skolan är trasig. Se bilderna. Ring 070-123 45 67.")
    for name, data in files:
        msg.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return msg.as_bytes()


def blocks_of(bot: Bot, ref: str, lang: str = "sv") -> str:
    with session_scope(bot.engine) as s:
        view = case_view(s, bot.cfg, get_case(s, ref), bot.clock())
    return json.dumps(prompt_blocks(view, {"lang": lang}), ensure_ascii=False)


def test_the_prompt_names_the_attachments_with_ids_masked(bot: Bot) -> None:
    bot.deliver(
        with_attachments(
            ("trappan.jpg", b"x" * 2_140_000),
            ("intyg 19850101-1234.pdf", b"%PDF" + b"y" * 3000),
        )
    )
    [outcome] = bot.run_once()

    staff = bot.staff_text()
    assert "📎 Bilagor: trappan.jpg (2,1 MB), intyg [ID-nummer].pdf (3 kB)" in staff
    blocks = blocks_of(bot, outcome.case or "")
    assert "trappan.jpg (2,1 MB)" in blocks and "19850101" not in blocks + staff
    # Sizes are written the way the staff language writes numbers ([chat] staff_language).
    assert "Attachments: trappan.jpg (2,1 MB)" in blocks_of(bot, outcome.case or "", "en")


def test_a_cut_down_email_is_said_to_be_so_and_where_the_whole_is(bot: Bot) -> None:
    whole = with_attachments(("film.mp4", b"z" * 1000))
    header, body = whole.split(b"\n\n", 1)
    # What the IMAP adapter keeps of a 24 MB email over the 10 MB limit.
    bot.deliver(truncated_message(header + b"\n\n", body, 24_000_000, 4096))
    [outcome] = bot.run_once()

    assert outcome.new_case
    staff = bot.staff_text()
    assert "⚠️ Mejlet var 24,0 MB, över gränsen på 10,0 MB" in staff
    assert "Hela mejlet ligger kvar i brevlådan" in staff
    assert "The email was 24,0 MB, over the 10,0 MB limit" in blocks_of(
        bot, outcome.case or "", "en"
    )


def test_an_email_without_attachments_says_nothing_of_them(bot: Bot) -> None:
    bot.deliver(with_attachments())
    [outcome] = bot.run_once()

    assert "Bilagor" not in bot.staff_text() and "📎" not in blocks_of(bot, outcome.case or "")


@pytest.mark.parametrize(
    ("size", "lang", "text"),
    [
        (80, "sv", "80 B"),
        (4096, "sv", "4 kB"),
        (5_000_000, "nb", "5,0 MB"),
        (2_100_000, "en", "2.1 MB"),
    ],
)
def test_sizes_read_as_people_write_them(size: int, lang: str, text: str) -> None:
    assert human_size(size, lang) == text
