"""The words of a subject-access document, per language (sv, nb, nn, en).

They live in the ``access`` gettext catalog,
``templates/locale/<lang>/LC_MESSAGES/access.po`` (see docs/translating.md).

The document is for the citizen: no internal codes. Every status, outcome,
resolution, source, escalation reason and audit action has a word here; a code
without one is shown as the ``other`` word of its kind, never as the code.
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.presenters.catalogs import messages

DOMAIN = "access"


def access_words(lang: str) -> Mapping[str, str]:
    """The document's words in ``lang`` (Swedish for an unknown language)."""
    return messages(DOMAIN, lang)


def word_for(w: Mapping[str, str], kind: str, code: str | None) -> str:
    """The word for a code of ``kind`` (status, outcome, ...), never the code itself."""
    return w.get(f"{kind}_{code}", w[f"{kind}_other"])
