"""Jinja2 rendering of citizen emails and staff-facing texts.

Templates live in the ``templates`` package (so they ship inside the wheel) and
may be overridden per organisation from ``[organisation] templates_dir``.
Untrusted text (complaint bodies, subjects, names) only ever enters as a
variable, never as template source; HTML templates are autoescaped and the
``mrkdwn`` filter escapes text for Slack.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import escape

from bot.config import LANGUAGES, Config
from bot.presenters.catalogs import staff_word
from bot.presenters.letters import PER_CASE, LetterLoader

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
        # Letters rendered once per shape, their per-case words left as holes (letter()).
        # Only over our own letters: an organisation's override may use a word otherwise.
        self._skeletons: dict[tuple[Any, ...], _Skeleton | None] = {}
        self._use_skeletons = not (override_dir and (Path(override_dir) / "email").exists())
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

    def letter(self, template: str, lang: str, ext: str, context: Mapping[str, Any]) -> str:
        """:meth:`render` for a citizen letter (``email/<name>``), the same text, cheaper.

        A letter prints the words of one case (:data:`~bot.presenters.letters.PER_CASE`)
        as they are or tests them for being empty, never more; so what it says around
        them depends only on the rest of ``context`` and on which of them are empty. It is
        rendered once per such shape with markers in their place, and each case's words
        are put in (escaped in HTML as Jinja would). A shape whose output does not follow
        that rule (checked once, with other words) and a word with space at either end
        (``|trim`` could take it) go through :meth:`render`.
        """
        shape = self._shape(template, lang, ext, context)
        if shape is None:
            return self.render(template, lang, ext, **context)
        key, words = shape
        skeleton = self._skeletons.get(key, _UNSET)
        if skeleton is _UNSET:
            skeleton = self._skeletons[key] = self._skeleton(template, lang, ext, context)
        if skeleton is None:
            return self.render(template, lang, ext, **context)
        assert isinstance(skeleton, _Skeleton)
        return skeleton.fill(words)

    def _shape(
        self, template: str, lang: str, ext: str, context: Mapping[str, Any]
    ) -> tuple[tuple[Any, ...], dict[str, str]] | None:
        """The skeleton's key and the words to put in, or None: render it whole."""
        if not self._use_skeletons or len(self._skeletons) > _MAX_SKELETONS:
            return None
        fixed: list[tuple[str, Any]] = []
        words: dict[str, str] = {}
        for name, value in context.items():
            if name in PER_CASE and value and isinstance(value, str):
                if value != value.strip():
                    return None
                words[name] = value
                fixed.append((name, _FILLED))
            else:
                fixed.append((name, value))
        key = (template, lang, ext, tuple(sorted(fixed, key=lambda kv: kv[0])))
        try:
            hash(key)
        except TypeError:
            return None
        return key, words

    def _skeleton(
        self, template: str, lang: str, ext: str, context: Mapping[str, Any]
    ) -> _Skeleton | None:
        names = [n for n in context if n in PER_CASE and context[n] and isinstance(context[n], str)]
        marked = {**context, **{n: f"\x00{i}\x00" for i, n in enumerate(names)}}
        html = bool(self.env.autoescape) and (
            not callable(self.env.autoescape)
            or self.env.autoescape(self.template_name(template, lang, ext))
        )
        pieces = _MARKER.split(self.render(template, lang, ext, **marked))
        skeleton = _Skeleton(pieces[0::2], [names[int(i)] for i in pieces[1::2]], html)
        # The rule checked once: other words (needing escapes, of other lengths) put in
        # the skeleton read as the letter rendered with them.
        probe = {n: f"<{n} & 'Ö' \"{i}\">" * (i + 2) for i, n in enumerate(names)}
        if skeleton.fill(probe) != self.render(template, lang, ext, **{**context, **probe}):
            return None
        return skeleton

    def has(self, name: str, lang: str, ext: str) -> bool:
        try:
            self.template_name(name, lang, ext)
        except jinja2.TemplateNotFound:
            return False
        return True


_MARKER = re.compile("\x00([0-9]+)\x00")
_MAX_SKELETONS = 512  # shapes kept per renderer (a few per letter and language in practice)
_FILLED = object()  # a word in the skeleton's key: present, whatever it says
_UNSET = object()


class _Skeleton:
    """A letter rendered with markers for its words: the text around them, and which."""

    __slots__ = ("html", "names", "texts")

    def __init__(self, texts: list[str], names: list[str], html: bool) -> None:
        self.texts, self.names, self.html = texts, names, html

    def fill(self, words: Mapping[str, str]) -> str:
        texts = self.texts
        out = [texts[0]]
        for name, text in zip(self.names, texts[1:], strict=True):
            word = words[name]
            out.append(str(escape(word)) if self.html else word)
            out.append(text)
        return "".join(out)
