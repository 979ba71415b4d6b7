"""Slack mrkdwn -> Adaptive Card text, made of ``TextRun``s that Teams never parses.

The presenters write Slack mrkdwn: untrusted text escaped (``&amp;`` ``&lt;``
``&gt;``), ``*bold*`` labels, and ``<url|label>``/``<@U…>`` entities. Here each line
becomes a ``RichTextBlock`` of ``TextRun``s: bold runs, links (only the presenters'
own entities, and only http(s), tel and mailto), and everything else as the text it
is. :func:`fit` keeps a card within what Teams accepts.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

Card = dict[str, Any]
Element = dict[str, Any]

# Teams refuses a message over about 100 KB counted in UTF-16 (80 KB advised; it was
# 28 KB for years): a card of at most 24 KB of UTF-8 is safe under every one of them.
MAX_CARD_BYTES = 24_000
ELLIPSIS = "…"

_ENTITY = re.compile(r"<([^<>\n]*)>")
# ``*bold*`` or ``\`code\```
_STYLED = re.compile(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])|`([^`\n]+)`")
_LINK_SCHEMES = ("https://", "http://", "tel:", "mailto:")


def unescape(text: str) -> str:
    """Slack's three escapes undone (``&lt;`` ``&gt;`` ``&amp;``), in that order."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def run(text: str, **style: Any) -> Element:
    run: Element = {"type": "TextRun", "text": text}
    run.update({k: v for k, v in style.items() if v})
    return run


def _entity_run(inner: str, style: Mapping[str, Any]) -> Element:
    """A Slack ``<...>`` entity (the presenters' own) as a plain run, or a link."""
    target, _, label = inner.partition("|")
    label = unescape(label)
    if target.startswith("@"):  # a user mention: shown as text, never notified
        return run(f"@{label or target[1:]}", **style)
    if target.startswith("!"):  # <!channel>, <!here>, <!subteam^S1|@group>: text only
        return run(label or f"@{target[1:].split('^')[0]}", **style)
    if target.startswith("#"):
        return run(f"#{label or target[1:]}", **style)
    url = unescape(target)
    if url.lower().startswith(_LINK_SCHEMES) and not any(c.isspace() for c in url):
        link = run(label or url, **style)
        link["selectAction"] = {"type": "Action.OpenUrl", "url": url}
        return link
    return run(unescape(inner), **style)


def _text_runs(text: str, style: Mapping[str, Any], markup: bool = True) -> list[Element]:
    if not markup:
        return [run(text, **style)]
    runs: list[Element] = []
    position = 0
    for match in _STYLED.finditer(text):
        if match.start() > position:
            runs.append(run(unescape(text[position : match.start()]), **style))
        if match.group(1) is not None:
            runs.append(run(unescape(match.group(1)), **{**style, "weight": "Bolder"}))
        else:
            runs.append(run(unescape(match.group(2)), **{**style, "fontType": "Monospace"}))
        position = match.end()
    if position < len(text):
        runs.append(run(unescape(text[position:]), **style))
    return runs


def line_runs(line: str, markup: bool = True, **style: Any) -> list[Element]:
    """One line of Slack mrkdwn as TextRuns: ``*bold*``, ```code```, links, the rest text.

    ``markup=False``: the line is plain text (Block Kit ``plain_text``), shown as is.
    """
    if not markup:
        return [r for r in _text_runs(line, style, markup=False) if r["text"]]
    runs: list[Element] = []
    position = 0
    for match in _ENTITY.finditer(line):
        runs.extend(_text_runs(line[position : match.start()], style))
        runs.append(_entity_run(match.group(1), style))
        position = match.end()
    runs.extend(_text_runs(line[position:], style))
    return [r for r in runs if r["text"]]


def mrkdwn_blocks(text: str, markup: bool = True, **style: Any) -> list[Element]:
    """Slack mrkdwn (or plain text) as RichTextBlocks, one per line (an empty line
    opens a paragraph)."""
    blocks: list[Element] = []
    gap = False
    for line in text.split("\n"):
        runs = line_runs(line, markup, **style)
        if not runs:
            gap = bool(blocks)
            continue
        block: Element = {"type": "RichTextBlock", "inlines": runs}
        if blocks:
            block["spacing"] = "Medium" if gap else "None"
        blocks.append(block)
        gap = False
    return blocks


def plain_text(mrkdwn: str) -> str:
    """Slack mrkdwn as plain text (for a notification's summary and the console)."""
    lines = ("".join(r["text"] for r in line_runs(line)) for line in mrkdwn.split("\n"))
    return "\n".join(lines).strip()


# --- size ------------------------------------------------------------------


def _size(card: Card) -> int:
    return len(json.dumps(card, ensure_ascii=False).encode())


def _runs(value: Any) -> Iterable[Element]:
    if isinstance(value, dict):
        if value.get("type") == "TextRun":
            yield value
        for item in value.values():
            yield from _runs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _runs(item)


def fit(card: Card, limit: int = MAX_CARD_BYTES) -> Card:
    """``card`` with its longest texts shortened (ending in ``…``) until it fits ``limit``.

    Teams refuses a larger activity outright; a shortened summary is better than none.
    """
    for _ in range(200):
        excess = _size(card) - limit
        if excess <= 0:
            return card
        longest = max(_runs(card), key=lambda r: len(r["text"]), default=None)
        if longest is None or len(longest["text"]) <= 40:
            break
        text = longest["text"]
        keep = max(20, min(len(text) // 2, len(text) - excess - 1))
        longest["text"] = text[:keep].rstrip() + ELLIPSIS
    return card
