"""Jinja2 rendering of citizen emails and staff-facing texts.

Templates live in the ``templates`` package (so they ship inside the wheel) and
may be overridden per organisation from ``[organisation] templates_dir``.
Untrusted text (complaint bodies, subjects, names) only ever enters as a
variable, never as template source; HTML templates are autoescaped and the
``mrkdwn`` filter escapes text for Slack.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2

from bot.config import LANGUAGES, Config
from bot.presenters.catalogs import staff_word
from bot.presenters.letters import LetterLoader

PACKAGE_TEMPLATES = Path(str(files("templates")))


def mrkdwn_escape(text: object) -> str:
    """Escape text for Slack mrkdwn so ``<!channel>``, ``<@U1>`` and links stay inert."""
    s = "" if text is None else str(text)
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def one_line(text: object, limit: int = 200) -> str:
    """Collapse whitespace (CR/LF included) and cap the length."""
    s = " ".join(("" if text is None else str(text)).split())
    return s if len(s) <= limit else s[: limit - 1] + "…"


def renderer_for(cfg: Config) -> Renderer:
    """The renderer ``cfg`` asks for: the organisation's overrides first, then ours."""
    override = cfg.organisation.templates_dir
    return _renderer(
        str(cfg.resolve_path(override)) if override else "", cfg.policy.default_language
    )


@lru_cache(maxsize=8)
def _renderer(override_dir: str, default_language: str) -> Renderer:
    # One Jinja environment per configuration: it caches compiled templates.
    return Renderer(override_dir or None, default_language)


class Renderer:
    """Renders ``<name>.<lang>.<ext>.j2`` with a fallback to the default language."""

    def __init__(self, override_dir: str | Path | None = None, default_language: str = "sv"):
        search = [str(override_dir)] if override_dir else []
        search.append(str(PACKAGE_TEMPLATES))
        # A full template name first (overrides, staff texts), then a letter's formats.
        loader = jinja2.ChoiceLoader([jinja2.FileSystemLoader(search), LetterLoader(search)])
        self.default_language = default_language
        self.env = jinja2.Environment(
            loader=loader,
            autoescape=jinja2.select_autoescape(
                enabled_extensions=("html", "html.j2"), default_for_string=False
            ),
            undefined=jinja2.StrictUndefined,
            keep_trailing_newline=True,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._templates: dict[tuple[str, str, str], jinja2.Template] = {}
        self.env.filters["mrkdwn"] = mrkdwn_escape
        self.env.filters["one_line"] = one_line
        # Staff text templates name vocabulary words from the staff catalog.
        self.env.globals["staff_word"] = staff_word

    def template_name(self, name: str, lang: str, ext: str) -> str:
        """The first existing of ``name.lang.ext.j2`` and ``name.<default>.ext.j2``."""
        for candidate_lang in (lang, self.default_language, "sv"):
            if candidate_lang not in LANGUAGES:
                continue
            candidate = f"{name}.{candidate_lang}.{ext}.j2"
            try:
                self.env.get_template(candidate)
            except jinja2.TemplateNotFound:
                continue
            return candidate
        raise jinja2.TemplateNotFound(f"{name}.{lang}.{ext}.j2")

    def render(self, template: str, lang: str, ext: str, /, **context: Any) -> str:
        key = (template, lang, ext)
        found = self._templates.get(key)
        if found is None:
            # Looked up once: each lookup stats the template files (the hot path renders
            # three templates a message).
            found = self._templates[key] = self.env.get_template(
                self.template_name(template, lang, ext)
            )
        return found.render(**context)

    def has(self, name: str, lang: str, ext: str) -> bool:
        try:
            self.template_name(name, lang, ext)
        except jinja2.TemplateNotFound:
            return False
        return True
