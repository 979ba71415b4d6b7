"""Header values read cheaply: simple forms without the header registry, the rest through it once.

``email.policy.default`` parses a header with a full RFC 5322 grammar each
time it is read (the parser and the body walker read a part's Content-Type
some ten times) and builds a new class for every value: 20-100 µs a header.
Two things make that cheap without changing a single result:

* :data:`REGISTRY` is the same header registry, but it builds each header
  class once and keeps the header objects of recent values (a header object
  is a pure function of its name and value, and never changed afterwards), so
  a value is parsed once however often it is read, and the Content-Type every
  message of a mailer shares is parsed once for all of them. :data:`POLICY` is
  ``email.policy.default`` with it.
* :func:`read_simple` gives what the registry would give for a value of the
  form nearly every real header has (plain text without encoded words,
  ``Name <local@domain>``, ``<id@host>``, a date), computed directly; it
  answers None for anything else, which then goes to the registry. What
  "simple" means is deliberately narrow: each form is one whose registry
  result is the value itself (or, for dates, the registry's own functions).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.headerregistry import (
    AddressHeader,
    BaseHeader,
    DateHeader,
    HeaderRegistry,
    MessageIDHeader,
    UnstructuredHeader,
)
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Any

_KEEP_CHARS = 256  # longer values are parsed each time rather than kept
_KEEP_VALUES = 512


class _Registry(HeaderRegistry):
    """:class:`HeaderRegistry` that builds each class once and keeps recent header objects."""

    def __init__(self) -> None:
        super().__init__()
        self._classes: dict[type, type] = {}
        # (lru_cache is thread-safe, and does not keep a value that raised)
        self._made = lru_cache(maxsize=_KEEP_VALUES)(self._make)

    def __getitem__(self, name: str) -> type:
        base = self.registry.get(name.lower(), self.default_class)
        cls = self._classes.get(base)
        if cls is None:
            cls = self._classes[base] = super().__getitem__(name)
        return cls

    def _make(self, name: str, value: str) -> BaseHeader:
        header: BaseHeader = self[name](name, value)
        return header

    def __call__(self, name: str, value: Any) -> BaseHeader:
        if type(value) is str and len(value) <= _KEEP_CHARS:
            made: BaseHeader = self._made(name, value)
            return made
        return self._make(name, value)


REGISTRY = _Registry()
POLICY = policy.default.clone(header_factory=REGISTRY)


@dataclass(frozen=True)
class Simple:
    """What the registry would have parsed from a simple value."""

    text: str  # str() of the registry's header object
    addresses: tuple[tuple[str, str], ...] | None = None  # (display name, addr-spec)
    datetime: datetime | None = None


# atext (RFC 5322) without "=" and "?", so that no encoded word can hide in it.
_ATEXT = r"A-Za-z0-9!#$%&'*+/^_`{|}~-"
_DOT_ATOM = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
_ADDR_SPEC = rf"{_DOT_ATOM}@{_DOT_ATOM}"
_NAME_WORD = rf"(?:[{_ATEXT}]|[^\x00-\x7f\W])+"  # atext, or letters and digits beyond ASCII
_MAILBOX = re.compile(rf"(?:({_NAME_WORD}(?: {_NAME_WORD})*) <({_ADDR_SPEC})>|({_ADDR_SPEC}))")
_MAILBOX_LIST = re.compile(rf"{_MAILBOX.pattern}(?:, {_MAILBOX.pattern})*")
_MESSAGE_ID = re.compile(rf"<{_ADDR_SPEC}>")
_SURROGATE = re.compile("[\ud800-\udfff]")


def _kind(name: str) -> type:
    return REGISTRY.registry.get(name.lower(), REGISTRY.default_class)


def read_simple(name: str, value: str) -> Simple | None:
    """The registry's reading of ``value`` (unfolded, stripped, no raw 8-bit bytes) for a
    header ``name``, when the value has a simple form; None otherwise.

    Raises what the registry would raise for a date it cannot read.
    """
    if _SURROGATE.search(value):
        return None  # the registry's own business (it raises for some)
    kind = _kind(name)
    if issubclass(kind, UnstructuredHeader):
        return None if "=?" in value else Simple(value)
    if issubclass(kind, AddressHeader):
        if not _MAILBOX_LIST.fullmatch(value):
            return None
        pairs = tuple(
            (display, addr) if addr else ("", bare)
            for display, addr, bare in _MAILBOX.findall(value)
        )
        return Simple(value, addresses=pairs)
    if issubclass(kind, MessageIDHeader):
        return Simple(value) if _MESSAGE_ID.fullmatch(value) else None
    if issubclass(kind, DateHeader):
        if not value:
            return Simple("")
        try:
            when = parsedate_to_datetime(value)
        except ValueError:
            return Simple(value)
        return Simple(format_datetime(when), datetime=when)
    return None
