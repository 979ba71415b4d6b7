"""Words the web pages name by a computed key exist in every language."""

from __future__ import annotations

import pytest

from bot.domain.web_form import LINE_FIELDS, Problem
from handlers.web.pages import words

LANGUAGES = ("sv", "nb", "nn", "en")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_field_problem_and_page_has_its_words(lang: str) -> None:
    w = words(lang)
    for problem in Problem:
        assert w[f"err_{problem.value}"]
    for name in (*LINE_FIELDS, "message", "attachment", "anonymous", "on_behalf"):
        assert w[f"label_{name}"]
    for name in (*LINE_FIELDS, "message", "attachment", "anonymous"):
        if name not in ("name",):
            assert w[f"hint_{name}"]
    for page in ("msg_bad_request", "msg_too_large", "msg_status_unknown", "msg_not_found"):
        assert w[page] and w[f"{page}_text"]
    for notice in ("problems", "token", "robot", "too_fast", "rate"):
        assert w[f"notice_{notice}"]


def test_the_languages_really_differ() -> None:
    titles = {words(lang)["form_title"] for lang in LANGUAGES}
    assert len(titles) == 4
