"""What a Slack post means for intake, as pure functions: whether a ``message`` event
opens a case, joins one or is ignored; the text and attachments a case records. Who a
thread reply comes from is the chats' shared rule (:mod:`bot.actions.chat_intake`)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

# Plain messages, thread replies also sent to the channel, and posts with a photo
# or file; edits, joins, bot messages, deletions and the like are not complaints.
COMPLAINT_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
# How many attached files a case notes by name (the files are never downloaded).
MAX_ATTACHMENTS = 20


class MessageKind(StrEnum):
    OPEN = "open"  # a top-level message in an intake channel: a new case
    JOIN = "join"  # a reply in a thread: joins the case the thread belongs to
    IGNORE = "ignore"


def classify_message(
    event: Mapping[str, Any], intake_channels: tuple[str, ...], bot_user_id: str | None
) -> MessageKind:
    """What a ``message`` event means for intake (pure)."""
    if event.get("subtype") not in COMPLAINT_SUBTYPES or event.get("bot_id"):
        return MessageKind.IGNORE
    user = event.get("user")
    if not user or user == bot_user_id or event.get("channel") not in intake_channels:
        return MessageKind.IGNORE
    if not str(event.get("text") or "").strip() and not attachments_of(event):
        return MessageKind.IGNORE
    thread_ts = event.get("thread_ts")
    if thread_ts and thread_ts != event.get("ts"):
        return MessageKind.JOIN
    return MessageKind.OPEN


def attachments_of(message: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The files shared with a message, as the case records them (name, type, size);
    the files themselves stay in Slack."""
    files = message.get("files")
    if not isinstance(files, list):
        return []
    found = []
    for f in files[:MAX_ATTACHMENTS]:
        if not isinstance(f, Mapping):
            continue
        name = str(f.get("name") or f.get("title") or f.get("id") or "file")
        size = f.get("size")
        found.append(
            {
                "filename": name[:200],
                "content_type": str(f.get("mimetype") or "")[:100],
                "size": size if isinstance(size, int) else 0,
            }
        )
    return found


def intake_text(message: Mapping[str, Any]) -> str:
    """What a Slack post says, with a last line naming its files (a photo with no
    caption is still a complaint, and staff see that something was attached)."""
    text = str(message.get("text") or "")
    names = [a["filename"] for a in attachments_of(message)]
    if not names:
        return text
    note = "📎 " + ", ".join(names)
    return f"{text}\n{note}" if text.strip() else note
