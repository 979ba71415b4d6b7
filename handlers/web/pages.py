"""The citizen's pages: Jinja2 templates in ``templates/web/`` (autoescaped), words from
the ``web`` gettext catalog (``templates/locale/<lang>/LC_MESSAGES/web.po``)."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import jinja2

from bot.domain.web_form import LANGUAGES
from bot.presenters.catalogs import messages

DOMAIN = "web"
TEMPLATE_DIR = Path(str(files("templates"))) / "web"
LANGUAGE_NAMES = {"sv": "Svenska", "nb": "Norsk bokmål", "nn": "Norsk nynorsk", "en": "English"}


def words(lang: str) -> Mapping[str, str]:
    """The page words in ``lang`` (Swedish for an unknown language or a missing word)."""
    return messages(DOMAIN, lang)


@cache
def environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,  # every page is HTML: all input is escaped
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def language_links(path: str, current: str, extra: Mapping[str, str] | None = None) -> list[Any]:
    """The language switch: one link per language, the current one marked."""
    return [
        {
            "lang": lang,
            "name": LANGUAGE_NAMES[lang],
            "href": f"{path}?{urlencode({**(extra or {}), 'lang': lang})}",
            "current": lang == current,
        }
        for lang in LANGUAGES
    ]


def render(template: str, lang: str, path: str = "/", **context: Any) -> str:
    """Render ``templates/web/<template>.html.j2`` in ``lang``."""
    return (
        environment()
        .get_template(f"{template}.html.j2")
        .render(
            lang=lang,
            w=words(lang),
            languages=language_links(path, lang),
            **context,
        )
    )


def stylesheet() -> bytes:
    return (TEMPLATE_DIR / "web.css").read_bytes()
