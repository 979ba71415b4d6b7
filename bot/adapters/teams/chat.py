"""Posts staff prompts to Microsoft Teams (the :class:`bot.ports.Chat` behind
``kind = "teams"``), through the Bot Connector.

A :class:`~bot.ports.ChatRef` for Teams is ``(conversation id, activity id)``. Each
post's Block Kit becomes one Adaptive Card (:mod:`bot.adapters.teams.cards`); an
update replaces the card in place (PUT); a direct message opens (once, then cached)
the 1:1 conversation with the user in the organisation's tenant; a report chart goes
into that conversation as an inline image.
"""

from __future__ import annotations

import base64
import io
import logging
import mimetypes
import struct
import threading
from collections.abc import Collection
from typing import Any

from bot.adapters.teams.cards import CARD_CONTENT_TYPE, blocks_to_card
from bot.adapters.teams.connector import BotConnector, path_id
from bot.adapters.teams.text import plain_text
from bot.errors import PermanentDeliveryError
from bot.ports import ChatPost, ChatRef

log = logging.getLogger(__name__)

SUMMARY_MAX = 250  # what a notification shows of a card
# Teams shows an inline picture of at most 1 MB and 1024x1024 pixels.
PICTURE_MAX_BYTES = 1024 * 1024
PICTURE_MAX_SIDE = 1024


def _id(answer: dict[str, Any]) -> str:
    """The ``id`` the connector answered with; "" for anything but a short string or
    number (an HTML page or garbage read as JSON is no id)."""
    raw = answer.get("id")
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return ""
    text = str(raw)
    return text if len(text) <= 512 else ""


def bot_id(app_id: str) -> str:
    """The bot's id in Teams conversations: ``28:`` and the Entra app id."""
    return app_id if app_id.startswith("28:") else f"28:{app_id}"


def _png_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or len(data) < 24:
        return None
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def picture_for_teams(data: bytes) -> bytes:
    """``data`` (a PNG) as Teams shows it inline: scaled down to 1024x1024 when larger
    (with Pillow, which the charts extra brings), and at most 1 MB."""
    size = _png_size(data)
    if size is not None and max(size) > PICTURE_MAX_SIDE:
        try:
            from PIL import Image
        except ImportError:  # pragma: no cover - matplotlib (charts) requires Pillow
            raise PermanentDeliveryError(
                f"Teams upload: a {size[0]}x{size[1]} picture is over 1024x1024"
            ) from None
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((PICTURE_MAX_SIDE, PICTURE_MAX_SIDE))
            out = io.BytesIO()
            image.save(out, format="PNG", optimize=True)
            data = out.getvalue()
    if len(data) > PICTURE_MAX_BYTES:
        raise PermanentDeliveryError("Teams upload: the picture is over 1 MB")
    return data


class TeamsChat:
    """A :class:`bot.ports.Chat` over the Bot Connector REST API."""

    def __init__(
        self,
        connector: BotConnector,
        *,
        app_id: str,
        tenant_id: str,
        triage_channel: str = "",
        dialog_actions: Collection[str] = (),
    ) -> None:
        self._connector = connector
        self.app_id = app_id
        self.tenant_id = tenant_id
        self.triage_channel = triage_channel
        self.dialog_actions = frozenset(dialog_actions)
        self._direct: dict[str, str] = {}
        self._lock = threading.Lock()

    # -- the port -------------------------------------------------------------

    def activity(self, post: ChatPost) -> dict[str, Any]:
        """The message activity for ``post``: one Adaptive Card and a plain summary."""
        card = blocks_to_card(post.blocks, post.text, self.dialog_actions)
        activity: dict[str, Any] = {
            "type": "message",
            "attachments": [{"contentType": CARD_CONTENT_TYPE, "content": card}],
        }
        summary = plain_text(post.text)[:SUMMARY_MAX]
        if summary:
            activity["summary"] = summary
        return activity

    def post(self, channel: str, post: ChatPost, thread_ts: str | None = None) -> ChatRef:
        """Post to the conversation ``channel`` (as a reply to ``thread_ts`` when given)."""
        activity = self.activity(post)
        path = f"/v3/conversations/{path_id(channel)}/activities"
        if thread_ts:
            activity["replyToId"] = thread_ts
            path += f"/{path_id(thread_ts)}"
        answer = self._connector.call("POST", path, activity, what="post")
        activity_id = _id(answer)
        if not activity_id:
            raise PermanentDeliveryError("Teams post: the connector answered without an id")
        return ChatRef(channel=channel, ts=activity_id)

    def update(self, ref: ChatRef, post: ChatPost) -> None:
        """Replace the card at ``ref`` (the same message, edited)."""
        activity = self.activity(post)
        activity["id"] = ref.ts
        self._connector.call(
            "PUT",
            f"/v3/conversations/{path_id(ref.channel)}/activities/{path_id(ref.ts)}",
            activity,
            what="update",
        )

    def direct(self, user: str, post: ChatPost) -> ChatRef:
        """Send ``post`` to ``user`` in the bot's 1:1 conversation with them."""
        return self.post(self.open_direct(user), post)

    def upload(self, user: str, filename: str, data: bytes, title: str) -> str:
        """Share an image (the report chart) with ``user``, inline in their 1:1 chat."""
        conversation = self.open_direct(user)
        content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        if not content_type.startswith("image/"):
            raise PermanentDeliveryError(f"Teams upload: {filename} is not an image")
        encoded = base64.b64encode(picture_for_teams(data)).decode("ascii")
        activity = {
            "type": "message",
            "text": title,
            "textFormat": "plain",
            "attachments": [
                {
                    "contentType": content_type,
                    "contentUrl": f"data:{content_type};base64,{encoded}",
                    "name": filename,
                }
            ],
        }
        answer = self._connector.call(
            "POST", f"/v3/conversations/{path_id(conversation)}/activities", activity, what="upload"
        )
        return f"uploaded {filename} to {conversation}:{answer.get('id', '')}"

    def check(self) -> str:
        """The app's token, and that the bot can reach the triage conversation."""
        self._connector.token("sign-in")
        where = f"Teams {self._connector.service_url} as {self.app_id}"
        if not self.triage_channel:
            return where
        members = self._connector.call(
            "GET",
            f"/v3/conversations/{path_id(self.triage_channel)}/members",
            what="triage conversation",
        )
        count = len(members.get("items") or [])
        return f"{where}; triage conversation reachable ({count} members)"

    # -- helpers --------------------------------------------------------------

    def open_direct(self, user: str) -> str:
        """The id of the bot's 1:1 conversation with ``user`` (created on first use)."""
        with self._lock:
            known = self._direct.get(user)
        if known:
            return known
        answer = self._connector.call(
            "POST",
            "/v3/conversations",
            {
                "isGroup": False,
                "bot": {"id": bot_id(self.app_id)},
                "members": [{"id": user}],
                "tenantId": self.tenant_id,
                "channelData": {"tenant": {"id": self.tenant_id}},
            },
            what="open a 1:1 conversation",
        )
        conversation = _id(answer)
        if not conversation:
            raise PermanentDeliveryError("Teams: creating the 1:1 conversation gave no id")
        with self._lock:
            self._direct[user] = conversation
        return conversation

    def close(self) -> None:
        self._connector.close()
