"""Small Block Kit element helpers that keep every text escaped and within Slack's limits.

Untrusted text (complaint text, names, notes) goes through :func:`md` (escaped
mrkdwn) or :func:`plain` (``plain_text``, which Slack never parses for
mentions or links). Both cut text to the limit Slack enforces for the field,
so a long complaint can never make Slack refuse the whole message.
"""

from __future__ import annotations

import re
from typing import Any

from bot.presenters.render import mrkdwn_escape

# Limits from the Block Kit reference.
SECTION_TEXT = 3000
FIELD_TEXT = 2000
HEADER_TEXT = 150
BUTTON_TEXT = 75
OPTION_TEXT = 75
OPTION_VALUE = 150
PLACEHOLDER = 150
CONTEXT_TEXT = 3000
MODAL_TITLE = 24
MODAL_BUTTON = 24
INPUT_LABEL = 2000
HINT = 2000
METADATA = 3000
MESSAGE_BLOCKS = 50
VIEW_BLOCKS = 100

ELLIPSIS = "…"
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,4}$")
_SLACK_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_E164 = re.compile(r"^\+[1-9]\d{5,14}$")


def cut(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``…`` when cut."""
    if len(text) <= limit:
        return text
    return text[: limit - 1] + ELLIPSIS


def cut_escaped(text: str, limit: int) -> str:
    """Cut already-escaped mrkdwn without leaving half an ``&amp;`` behind."""
    if len(text) <= limit:
        return text
    head = _PARTIAL_ENTITY.sub("", text[: limit - 1])
    return head + ELLIPSIS


def esc(text: object, limit: int = SECTION_TEXT) -> str:
    """Untrusted text made inert for mrkdwn (``&``, ``<``, ``>``) and cut to ``limit``."""
    return cut_escaped(mrkdwn_escape(text), limit)


def plain(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    return {"type": "plain_text", "text": cut(text or " ", limit), "emoji": True}


def md(text: str, limit: int = SECTION_TEXT) -> dict[str, Any]:
    """A mrkdwn text object from text the caller has already escaped where needed."""
    return {"type": "mrkdwn", "text": cut_escaped(text or " ", limit)}


def section(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": md(text)}
    if block_id:
        block["block_id"] = block_id
    return block


def fields(items: list[str], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "fields": [md(i, FIELD_TEXT) for i in items[:10]]}
    if block_id:
        block["block_id"] = block_id
    return block


def header(text: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "header", "text": plain(text, HEADER_TEXT)}
    if block_id:
        block["block_id"] = block_id
    return block


def context(lines: list[str], block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "context",
        "elements": [md(line, CONTEXT_TEXT) for line in lines[:10]],
    }
    if block_id:
        block["block_id"] = block_id
    return block


def button(text: str, action_id: str, value: str, style: str | None = None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "button",
        "text": plain(text, BUTTON_TEXT),
        "action_id": action_id,
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def option(text: str, value: str) -> dict[str, Any]:
    return {"text": plain(text, OPTION_TEXT), "value": value[:OPTION_VALUE]}


def mention(actor: str) -> str:
    """``slack:U123`` as a mention ``<@U123>``; anything else escaped as text."""
    user = actor.removeprefix("slack:")
    if actor.startswith("slack:") and _SLACK_ID.match(user):
        return f"<@{user}>"
    return esc(actor, 200)


def tel_link(e164: str, national: str) -> str:
    """A dialable link, ``<tel:+46701234567|070-123 45 67>``, or escaped text if not E.164."""
    if not _E164.match(e164):
        return esc(national or e164, 100)
    return f"<tel:{e164}|{esc(national or e164, 60)}>"
