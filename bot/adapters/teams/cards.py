"""Slack Block Kit -> one Adaptive Card (v1.5) for Microsoft Teams. Pure functions.

The presenters build Block Kit (``bot.presenters``, ``handlers/slack/messages``); the
Teams adapter hands each post's blocks to :func:`blocks_to_card`, so the domain, the
outbox and the sweeps do not know which chat they talk to.

Untrusted text cannot do anything here: every text becomes ``TextRun`` elements of a
``RichTextBlock``, which Teams never parses as markdown (so ``[x](https://…)``,
``**``, ``<at>…</at>`` stay characters), and no card carries mention entities. The
only links are the ones the presenters wrote as Slack ``<url|label>`` entities (the
complainant's ``<`` arrives escaped as ``&lt;``), and only for http(s), tel and mailto.

Buttons become ``Action.Submit`` with ``data = {"cb_action": action_id, "cb_value":
value}``; for action ids in ``dialog_actions`` Teams is asked for a dialog
(``"msteams": {"type": "task/fetch"}``). A menu (``static_select``/``overflow``)
becomes an ``Action.ShowCard`` holding one such button per option.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from typing import Any

from bot.adapters.teams.text import (
    ELLIPSIS,
    Card,
    Element,
    fit,
    mrkdwn_blocks,
    run,
)

SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
VERSION = "1.5"
CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"

_STYLES = {"primary": "positive", "danger": "destructive"}


def _text_of(obj: Any) -> tuple[str, bool]:
    """A Block Kit text object's text and whether it is mrkdwn."""
    if isinstance(obj, Mapping):
        return str(obj.get("text") or ""), obj.get("type") == "mrkdwn"
    return str(obj or ""), False


def text_object_blocks(obj: Any, **style: Any) -> list[Element]:
    """A Block Kit text object (mrkdwn or plain_text) as RichTextBlocks."""
    text, is_mrkdwn = _text_of(obj)
    # plain_text is shown as written: nothing in it is markup
    return mrkdwn_blocks(text, is_mrkdwn, **style)


# --- actions ---------------------------------------------------------------


def submit(
    title: str,
    action_id: str,
    value: str,
    dialog_actions: Collection[str] = (),
    style: str | None = None,
) -> Element:
    """An ``Action.Submit`` carrying the Slack action id and value (see the module doc)."""
    data: dict[str, Any] = {"cb_action": action_id, "cb_value": value}
    if action_id in dialog_actions:
        data["msteams"] = {"type": "task/fetch"}
    action: Element = {"type": "Action.Submit", "title": title or " ", "data": data}
    if style in _STYLES:
        action["style"] = _STYLES[style]
    return action


def element_actions(element: Mapping[str, Any], dialog_actions: Collection[str]) -> list[Element]:
    """One Block Kit interactive element as card actions (none for unknown kinds)."""
    kind = element.get("type")
    action_id = str(element.get("action_id") or "")
    if kind == "button":
        if element.get("url"):
            title, _ = _text_of(element.get("text"))
            return [{"type": "Action.OpenUrl", "title": title, "url": str(element["url"])}]
        title, _ = _text_of(element.get("text"))
        value = str(element.get("value") or "")
        return [submit(title, action_id, value, dialog_actions, element.get("style"))]
    if kind in ("static_select", "overflow"):
        title, _ = _text_of(element.get("placeholder")) if kind == "static_select" else ("…", 0)
        choices = [
            submit(_text_of(o.get("text"))[0], action_id, str(o.get("value") or ""), dialog_actions)
            for o in element.get("options") or []
        ]
        return [
            {
                "type": "Action.ShowCard",
                "title": title or "…",
                "card": {
                    "type": "AdaptiveCard",
                    "body": [{"type": "ActionSet", "actions": choices}],
                },
            }
        ]
    return []


def _action_set(actions: list[Element]) -> list[Element]:
    return [{"type": "ActionSet", "actions": actions}] if actions else []


# --- blocks ----------------------------------------------------------------


def _fields(items: Iterable[Any]) -> list[Element]:
    """A section's fields, two to a row, as ColumnSets."""
    columns = [
        {"type": "Column", "width": "stretch", "items": text_object_blocks(f)} for f in items
    ]
    return [{"type": "ColumnSet", "columns": columns[i : i + 2]} for i in range(0, len(columns), 2)]


def block_elements(block: Mapping[str, Any], dialog_actions: Collection[str]) -> list[Element]:
    """One Block Kit block as card elements."""
    kind = block.get("type")
    if kind == "header":
        return text_object_blocks(block.get("text"), size="Large", weight="Bolder")
    if kind == "section":
        out = text_object_blocks(block["text"]) if block.get("text") else []
        out += _fields(block.get("fields") or [])
        if block.get("accessory"):
            out += _action_set(element_actions(block["accessory"], dialog_actions))
        return out
    if kind == "context":
        return [
            e
            for item in block.get("elements") or []
            if isinstance(item, Mapping) and item.get("type") in ("mrkdwn", "plain_text")
            for e in text_object_blocks(item, size="Small", isSubtle=True)
        ]
    if kind == "actions":
        actions = [
            a for e in block.get("elements") or [] for a in element_actions(e, dialog_actions)
        ]
        return _action_set(actions)
    if kind == "image" and str(block.get("image_url", "")).startswith(("https://", "data:")):
        return [{"type": "Image", "url": block["image_url"], "altText": block.get("alt_text", "")}]
    if kind == "input":
        return input_elements(block)
    return []  # divider (handled by the caller), rich_text, file...: nothing to show


def _card(body: list[Element], extra: Mapping[str, Any] | None = None) -> Card:
    card: Card = {
        "type": "AdaptiveCard",
        "$schema": SCHEMA,
        "version": VERSION,
        "body": body,
        "msteams": {"width": "Full"},
    }
    card.update(extra or {})
    return fit(card)


def _body(blocks: Iterable[Mapping[str, Any]], dialog_actions: Collection[str]) -> list[Element]:
    body: list[Element] = []
    separate = False
    for block in blocks:
        if block.get("type") == "divider":
            separate = bool(body)
            continue
        elements = block_elements(block, dialog_actions)
        if elements and separate:
            elements[0] = {**elements[0], "separator": True, "spacing": "Medium"}
        if elements:
            separate = False
        body.extend(elements)
    return body


def blocks_to_card(
    blocks: Iterable[Mapping[str, Any]], text: str = "", dialog_actions: Collection[str] = ()
) -> Card:
    """One Adaptive Card for a post: its ``blocks``, or its mrkdwn ``text`` when it has none."""
    body = _body(blocks, dialog_actions)
    if not body:
        body = mrkdwn_blocks(text) or [{"type": "RichTextBlock", "inlines": [run(ELLIPSIS)]}]
    return _card(body)


# --- dialogs ---------------------------------------------------------------


def _choices(options: Iterable[Mapping[str, Any]]) -> list[Element]:
    return [
        {"title": _text_of(o.get("text"))[0], "value": str(o.get("value") or "")} for o in options
    ]


def _input_control(element: Mapping[str, Any]) -> Element | None:
    kind = element.get("type")
    if kind in ("plain_text_input", "email_text_input", "number_input", "url_text_input"):
        control: Element = {"type": "Input.Text"}
        if element.get("multiline"):
            control["isMultiline"] = True
        if element.get("max_length"):
            control["maxLength"] = int(element["max_length"])
        if kind == "email_text_input":
            control["style"] = "Email"
        if kind == "url_text_input":
            control["style"] = "Url"
        if element.get("initial_value"):
            control["value"] = str(element["initial_value"])
        return control
    if kind in ("radio_buttons", "static_select", "checkboxes"):
        control = {
            "type": "Input.ChoiceSet",
            "choices": _choices(element.get("options") or []),
            "style": "compact" if kind == "static_select" else "expanded",
        }
        if kind == "checkboxes":
            control["isMultiSelect"] = True
        initial = element.get("initial_option")
        if isinstance(initial, Mapping) and initial.get("value"):
            control["value"] = str(initial["value"])
        return control
    if kind == "datepicker":
        control = {"type": "Input.Date"}
        if element.get("initial_date"):
            control["value"] = str(element["initial_date"])
        return control
    if kind in ("users_select", "multi_users_select"):
        # Teams' people picker: the answer is the person's Entra object id.
        control = {
            "type": "Input.ChoiceSet",
            "choices": [],
            "choices.data": {"type": "Data.Query", "dataset": "graph.microsoft.com/users"},
        }
        if kind == "multi_users_select":
            control["isMultiSelect"] = True
        return control
    return None


def input_elements(block: Mapping[str, Any]) -> list[Element]:
    """A Block Kit ``input`` block as one Input.* element whose id is the block id."""
    element = block.get("element") or {}
    control = _input_control(element) if isinstance(element, Mapping) else None
    if control is None:
        return []
    label, _ = _text_of(block.get("label"))
    control["id"] = str(block.get("block_id") or "")
    control["label"] = label
    control["isRequired"] = not block.get("optional", False)
    placeholder, _ = _text_of(element.get("placeholder"))
    if placeholder and control["type"] == "Input.Text":
        control["placeholder"] = placeholder
    out = [control]
    hint, _ = _text_of(block.get("hint"))
    if hint:
        out += text_object_blocks({"type": "plain_text", "text": hint}, size="Small", isSubtle=True)
    return out


def modal_to_card(view: Mapping[str, Any]) -> Card:
    """A Slack modal view as the Adaptive Card of a Teams dialog (task module).

    Its inputs are Input.* elements with id = the Slack block id; submitting sends
    ``{"cb_action": callback_id, "cb_value": private_metadata, <block id>: value, ...}``.
    The dialog's title (``view["title"]``) goes in the task module's ``title`` (see
    :func:`modal_title`), not in the card.
    """
    body = _body(view.get("blocks") or [], ())
    submit_title, _ = _text_of(view.get("submit"))
    actions = []
    if submit_title:
        data = {
            "cb_action": str(view.get("callback_id") or ""),
            "cb_value": str(view.get("private_metadata") or ""),
        }
        actions.append({"type": "Action.Submit", "title": submit_title, "data": data})
    return _card(body, {"actions": actions} if actions else None)


def modal_title(view: Mapping[str, Any]) -> str:
    """A modal's title (the Teams dialog's title bar)."""
    return _text_of(view.get("title"))[0]
