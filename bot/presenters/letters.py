"""Citizen letters: one file per letter and language, one layout per format.

A letter, ``email/<name>.<lang>.j2``, holds its words once: a ``subject`` block,
a ``body`` block written with the paragraph macros of ``f`` (``f.p``, ``f.lead``,
``f.list``/``f.item``, ``f.b`` for emphasis), a ``privacy`` block and a
``closing`` block. :class:`LetterLoader` serves it under the names the renderer
asks for, ``email/<name>.<lang>.<subject|txt|html>.j2``, on top of the layout
and macros of that format (``email/layout.<fmt>.j2``, ``email/format.<fmt>.j2``).
The HTML part is compiled from the same letter under an ``.html.j2`` name, so it
is autoescaped; the text part is not. A file with the full name (for example an
organisation's override ``email/ack.sv.txt.j2``) still wins: this loader comes
after the plain file loader.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import jinja2

# The words of one case a letter may use, and how: only printed (``{{ ref }}``,
# ``{{ f.b(ref) }}``) or tested for being empty (``{% if phone %}``), never compared,
# cut or passed to a function. That lets the renderer write a letter once per shape
# and put each case's words in (``Renderer.letter``; tests/test_templates.py checks it).
PER_CASE = frozenset({"ref", "name", "phone", "status_url"})

LETTER_NAME = re.compile(r"^(email/[a-z_]+)\.([a-z]{2})\.(subject|txt|html)\.j2$")


def header(fmt: str, lang: str) -> str:
    """What a letter is read under: its format's layout and macros, and its language."""
    macros = "txt" if fmt == "subject" else fmt
    return (
        f'{{% extends "email/layout.{fmt}.j2" %}}'
        f'{{% import "email/format.{macros}.j2" as f %}}'
        f'{{% set lang = "{lang}" %}}'
    )


class LetterLoader(jinja2.BaseLoader):
    """Serves ``email/<name>.<lang>.<fmt>.j2`` from the letter ``email/<name>.<lang>.j2``."""

    def __init__(self, search: Sequence[str]) -> None:
        self.files = jinja2.FileSystemLoader(list(search))

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str | None, Callable[[], bool] | None]:
        match = LETTER_NAME.match(template)
        if not match:
            raise jinja2.TemplateNotFound(template)
        name, lang, fmt = match.groups()
        source, filename, uptodate = self.files.get_source(environment, f"{name}.{lang}.j2")
        # On the letter's first line, so error line numbers stay the letter's own.
        return header(fmt, lang) + source, filename, uptodate
