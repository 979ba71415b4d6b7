"""Citizen letters: written once per language, one layout per format, both parts alike."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from bot.presenters.letters import LETTER_NAME
from bot.presenters.render import PACKAGE_TEMPLATES, Renderer

LANGS = ("sv", "nb", "nn", "en")
LETTERS = ("ack", "number_request", "confirmation")
RENDERER = Renderer()
EMAIL = Path(PACKAGE_TEMPLATES) / "email"

CONTEXTS: list[dict[str, object]] = [
    {},
    {"phone": "", "org_phone": "", "name": ""},
    {"remedy": "apology", "next_step": "Vi ringer på fredag.", "resolution": "dialogue"},
    {"remedy": "Nytt besök <b>&</b>", "resolution": "not_resolved", "call_within_days": 3},
]


def context(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "ref": "KL-2026-000123",
        "name": "Anna Andersson",
        "phone": "070-123 45 67",
        "call_within_days": 1,
        "organisation": "Exempel kommun",
        "org_phone": "08-123 456 78",
        "ombudsman_contact": "klagomalsombud@example.org",
        "privacy_url": "https://example.org/personuppgifter",
        "call_date": "2026-03-04",
        "remedy": "",
        "next_step": "",
        "resolution": "",
    }
    return {**base, **overrides}


def words_of_html(page: str) -> list[str]:
    body = page.split("<body", 1)[1].split(">", 1)[1]
    inline = re.sub(r"</?strong>", "", body)
    return html.unescape(re.sub(r"<[^>]+>", " ", inline)).split()


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("letter", LETTERS)
def test_the_html_part_says_exactly_what_the_text_part_says(letter: str, lang: str) -> None:
    for overrides in CONTEXTS:
        text = RENDERER.render(f"email/{letter}", lang, "txt", **context(**overrides))
        page = RENDERER.render(f"email/{letter}", lang, "html", **context(**overrides))
        plain = [w for w in text.split() if w != "-"]
        assert words_of_html(page) == plain, (letter, lang, overrides)


def test_each_letter_is_one_file_per_language_over_one_layout_per_format() -> None:
    names = sorted(p.name for p in EMAIL.glob("*.j2"))
    letters = [n for n in names if re.fullmatch(r"[a-z_]+\.[a-z]{2}\.j2", n)]
    assert letters == sorted(f"{t}.{lang}.j2" for t in LETTERS for lang in LANGS)
    # No per-format copies of a letter: the renderer's names are served from the letter.
    assert not [n for n in names if LETTER_NAME.match(f"email/{n}")]
    assert {"layout.txt.j2", "layout.html.j2", "layout.subject.j2"} <= set(names)


def test_an_organisation_can_still_override_one_part(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "ack.sv.txt.j2").write_text("Eget: {{ ref }}\n")
    own = Renderer(tmp_path)
    assert own.render("email/ack", "sv", "txt", **context()) == "Eget: KL-2026-000123\n"
    assert "<strong>KL-2026-000123</strong>" in own.render("email/ack", "sv", "html", **context())
