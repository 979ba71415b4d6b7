"""The embedded chat: what would be posted to staff is printed as readable text.

Staff act through the ``complaint-bot case ...`` commands instead of buttons.
Like the Slack client, it masks identity numbers in everything it shows, whoever
wrote the text.
"""

from __future__ import annotations

import itertools
import sys
import threading
from pathlib import Path
from typing import TextIO

from bot.ports import ChatPost, ChatRef
from bot.redact import redact

_RULE = "─" * 72


class ConsoleChat:
    def __init__(self, stream: TextIO | None = None, path: Path | None = None):
        self.stream = stream or sys.stdout
        self.path = path
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def _show(self, header: str, post: ChatPost) -> str:
        ts = f"{next(self._seq)}.000000"
        block = f"{_RULE}\n{redact(header)}\n{redact(post.text)}\n{_RULE}\n"
        with self._lock:
            self.stream.write(block)
            self.stream.flush()
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as f:
                    f.write(block)
        return ts

    def check(self) -> str:
        return "console"

    def post(self, channel: str, post: ChatPost, thread_ts: str | None = None) -> ChatRef:
        where = f"#{channel}" + (f" (thread {thread_ts})" if thread_ts else "")
        return ChatRef(channel, self._show(f"[staff chat → {where}]", post))

    def update(self, ref: ChatRef, post: ChatPost) -> None:
        self._show(f"[staff chat → #{ref.channel}, updated message {ref.ts}]", post)

    def upload(self, user: str, filename: str, data: bytes, title: str) -> str:
        """Files go next to the console log (``console_path``), if one is set."""
        where = "not kept"
        if self.path is not None:
            target = self.path.parent / filename
            target.write_bytes(data)
            where = str(target)
        self._show(
            f"[staff chat → file to {user}]",
            ChatPost(text=f"{title}: {filename} ({len(data)} bytes, {where})"),
        )
        return f"file {filename}"

    def direct(self, user: str, post: ChatPost) -> ChatRef:
        return ChatRef(f"D{user}", self._show(f"[staff chat → direct message to {user}]", post))
