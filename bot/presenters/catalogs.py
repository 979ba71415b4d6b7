"""The gettext catalogs: every short word staff and citizens read, per language.

The catalogs live in ``templates/locale/<lang>/LC_MESSAGES/<domain>.po`` and are
managed with Babel (see docs/translating.md). A message id is a stable key
(``review_open``), the message string is the text in that language; Swedish is
the fallback for an unknown language and for a message missing in one.

``make`` compiles each ``.po`` to a ``.mo`` next to it (Babel's
``compile_catalog``); a catalog whose ``.mo`` is missing or older than its
``.po`` is compiled in memory on first use, so a fresh ``pip install -e .``
works without a build step.
"""

from __future__ import annotations

import ast
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from functools import cache
from importlib.resources import files
from pathlib import Path
from typing import IO, Any

from babel.messages.catalog import Catalog
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

# The catalogs are data in the ``templates`` package (words and letters, no code).
LOCALE_DIR = Path(str(files("templates"))) / "locale"
LANGUAGES = ("sv", "nb", "nn", "en")
FALLBACK = "sv"
DOMAINS = ("staff", "access", "web")
PLACEHOLDER = re.compile(r"\{([a-z_][a-z0-9_]*)\}")


def po_path(domain: str, lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{domain}.po"


def load(domain: str, lang: str) -> Catalog:
    """The catalog of ``domain`` in ``lang``: the compiled ``.mo`` when it is current."""
    po = po_path(domain, lang)
    mo = po.with_suffix(".mo")
    if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
        with mo.open("rb") as fh:
            return read_mo(fh)
    with po.open("rb") as fh:
        return read_po(fh, locale=lang, domain=domain)


def _table(catalog: Catalog) -> dict[str, str]:
    return {
        str(m.id): str(m.string)
        for m in catalog
        if m.id and isinstance(m.string, str) and m.string and not m.fuzzy
    }


@cache
def messages(domain: str, lang: str) -> Mapping[str, str]:
    """Key → text for ``lang``; a key missing there falls back to Swedish."""
    if lang not in LANGUAGES:
        lang = FALLBACK
    own = _table(load(domain, lang))
    if lang == FALLBACK:
        return own
    return ChainMap(own, _table(load(domain, FALLBACK)))


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def N_(key: str) -> str:
    """Mark ``key`` as a message key for extraction (gettext's ``N_``); returns the key.

    For keys chosen at run time from a table: ``{"deadline": N_("reason_deadline")}``.
    """
    return key


def staff_word(lang: str, kind: str, code: object) -> str:
    """The staff word for a code of ``kind`` (``source``, ``outcome``, ``resolution``,
    ``reason``) in ``lang``: the catalog's ``<kind>_<code>``, else the code itself.
    Staff text templates call it as a Jinja global."""
    text = messages("staff", lang).get(f"{kind}_{code}")
    return text if text is not None else str(code)


# -- Extraction ---------------------------------------------------------------
# The code names a message by key: ``say(lang, "key")``, ``words(lang)["key"]``,
# ``w["key"]`` (where ``w`` holds a words mapping), ``N_("key")`` (a key in a table).
# This is a Babel extractor (see babel.cfg) and the check that every key used in code
# is in the catalog.

KEY_FUNCTIONS = {"say": 1, "N_": 0}  # function name -> position of the key argument
WORDS_NAMES = {"w", "words", "access_words", "labels"}


def keys_in_source(source: str) -> Iterator[tuple[int, str]]:
    """(line, key) for every message key written literally in ``source``."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            pos = KEY_FUNCTIONS.get(name or "")
            if pos is not None and len(node.args) > pos:
                arg = node.args[pos]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    yield arg.lineno, arg.value
        elif (
            isinstance(node, ast.Subscript)
            and _is_words(node.value)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            yield node.lineno, node.slice.value


def _is_words(node: ast.expr) -> bool:
    if isinstance(node, ast.Name):
        return node.id in WORDS_NAMES
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in WORDS_NAMES
    )


def extract_keys(
    fileobj: IO[bytes], keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method: yields the message keys a Python file uses."""
    for lineno, key in keys_in_source(fileobj.read().decode("utf-8")):
        yield lineno, "", key, []
