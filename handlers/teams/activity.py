"""What a Teams activity means for the bot, read in one place (pure).

Teams sends every interaction as an activity to ``POST /api/messages``:

* a press of an Adaptive Card ``Action.Submit``: a ``message`` activity with no
  text and ``value = {"cb_action": <Slack action_id>, "cb_value": <button value>}``
  (the card translator keeps the Slack ids, so one table of actions serves both);
* a press of a button that opens a dialog: an ``invoke`` named ``task/fetch``
  whose ``value.data`` is that button's data; the dialog's submission an
  ``invoke`` named ``task/submit`` with the inputs beside ``cb_action``/``cb_value``;
* a post in a channel: a ``message`` with text; its ``conversation.id`` is
  ``<channel>;messageid=<thread root>`` (the root is the post itself at top level).

Who: ``from.aadObjectId`` (the person's Entra object id: the same for every app,
shown in the Entra admin centre, so this is what ``staff_users`` and
``ombudsman_users`` hold) and ``from.id`` (the Teams user id ``29:…``, which the
lists may hold instead; it is also what direct messages are sent to).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

MAX_TEXT = 20_000


class Kind(StrEnum):
    PRESS = "press"  # Action.Submit on a card
    DIALOG_FETCH = "task/fetch"  # a button that opens a dialog
    DIALOG_SUBMIT = "task/submit"  # the dialog's submission
    POST = "post"  # a message with text (intake)
    OTHER = "other"  # conversation updates, reactions, typing...: nothing to do


@dataclass(frozen=True)
class Incoming:
    """One activity, as the handlers need it."""

    kind: Kind
    id: str
    conversation: str  # without ``;messageid=``
    thread: str | None  # the thread's root message id, when in a channel thread
    reply_to: str | None  # the activity answered (the card, for a press)
    channel_id: str  # "msteams"
    user: str  # from.id
    aad: str  # from.aadObjectId, "" when Teams sent none
    name: str | None
    text: str
    action: str  # cb_action
    value: str  # cb_value
    data: Mapping[str, Any] = field(default_factory=dict)  # a dialog's inputs, and the rest
    at: datetime | None = None
    service_url: str = ""
    tenant: str = ""

    @property
    def top_level(self) -> bool:
        """A new post in a channel (not a reply in a thread)."""
        return not self.thread or self.thread == self.id


def _s(value: Any, limit: int = 512) -> str:
    # NUL: PostgreSQL cannot store it (nor take it as a parameter), and no text needs it.
    return value[:limit].replace("\x00", "") if isinstance(value, str) else ""


def _map(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """A card's or dialog's data without NULs in its keys and text values."""
    return {
        str(k).replace("\x00", ""): v.replace("\x00", "") if isinstance(v, str) else v
        for k, v in data.items()
    }


_AT = re.compile(r"<at\b[^>]*>.*?</at>", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"<[^>]{0,500}>")
_BREAK = re.compile(r"<\s*(br|/p|/div)\b[^>]*>", re.IGNORECASE)


def plain_text(text: str) -> str:
    """A post's text without @mentions of the bot or HTML (Teams may send either)."""
    text = _AT.sub("", text[:MAX_TEXT])
    text = _BREAK.sub("\n", text)
    text = html.unescape(_TAG.sub("", text))
    return "\n".join(line.rstrip() for line in text.strip().splitlines())


def _when(stamp: str) -> datetime | None:
    try:
        at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


def read(body: Mapping[str, Any]) -> Incoming:
    """The activity ``body`` as an :class:`Incoming` (never raises on odd input)."""
    sender = _map(body.get("from"))
    conv_id = _s(_map(body.get("conversation")).get("id"))
    conversation, _, rest = conv_id.partition(";")
    thread = rest.partition("messageid=")[2].partition(";")[0] or None
    value = body.get("value")
    kind = Kind.OTHER
    name = _s(body.get("name"))
    data: Mapping[str, Any] = {}
    if body.get("type") == "invoke" and name in (Kind.DIALOG_FETCH, Kind.DIALOG_SUBMIT):
        kind = Kind(name)
        data = _clean(_map(_map(value).get("data")))
    elif body.get("type") == "message":
        if isinstance(value, Mapping) and value.get("cb_action"):
            kind, data = Kind.PRESS, _clean(value)
        elif _s(body.get("text"), MAX_TEXT).strip():
            kind = Kind.POST
    tenant = _s(_map(_map(body.get("channelData")).get("tenant")).get("id"))
    return Incoming(
        kind=kind,
        id=_s(body.get("id")),
        conversation=conversation,
        thread=thread,
        reply_to=_s(body.get("replyToId")) or None,
        channel_id=_s(body.get("channelId")),
        user=_s(sender.get("id")),
        aad=_s(sender.get("aadObjectId")),
        name=_s(sender.get("name"), 200) or None,
        text=plain_text(_s(body.get("text"), MAX_TEXT)) if kind == Kind.POST else "",
        action=_s(data.get("cb_action"), 100),
        value=_s(data.get("cb_value"), 200),
        data=data,
        at=_when(_s(body.get("timestamp"), 64)),
        service_url=_s(body.get("serviceUrl"), 2048),
        tenant=tenant or _s(_map(body.get("conversation")).get("tenantId")),
    )


def dialog_inputs(data: Mapping[str, Any]) -> dict[str, str]:
    """A dialog's submitted inputs: every field but the action's own (``cb_*``, ``msteams``)."""
    return {
        str(k): v if isinstance(v, str) else str(v)
        for k, v in data.items()
        if not str(k).startswith("cb_") and k != "msteams" and v is not None
    }
