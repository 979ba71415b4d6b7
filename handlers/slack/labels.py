"""Staff-facing words of the Slack app, from the ``staff`` gettext catalog.

The words live in ``templates/locale/<lang>/LC_MESSAGES/staff.po`` (sv, nb, nn,
en; see docs/translating.md). The language is ``[chat] staff_language``;
:func:`words` falls back to Swedish for an unknown code. Strings with
``{placeholders}`` are filled with :func:`say`; what goes into a placeholder is
escaped by the caller when it is untrusted. The thread reply in an intake
channel is for the complainant, so it is chosen by the case's language instead.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from bot.presenters.catalogs import LANGUAGES, messages

DOMAIN = "staff"


class _Labels(Mapping[str, Mapping[str, str]]):
    """Language → words, read from the catalogs on first use."""

    def __getitem__(self, lang: str) -> Mapping[str, str]:
        if lang not in LANGUAGES:
            raise KeyError(lang)
        return messages(DOMAIN, lang)

    def __iter__(self) -> Iterator[str]:
        return iter(LANGUAGES)

    def __len__(self) -> int:
        return len(LANGUAGES)


LABELS: Mapping[str, Mapping[str, str]] = _Labels()


def words(lang: str) -> Mapping[str, str]:
    """The labels for ``lang`` (Swedish when the language is unknown)."""
    return messages(DOMAIN, lang)


def say(lang: str, key: str, **values: object) -> str:
    """One label in ``lang`` with its ``{placeholders}`` filled in."""
    text = words(lang)[key]
    return text.format(**values) if values else text
