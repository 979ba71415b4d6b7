"""The embedded outgoing mail: each email is written as an .eml file into a folder."""

from __future__ import annotations

import os
import re
from email.message import EmailMessage
from pathlib import Path

from bot.mail.compose import BOT_HEADER


class FolderMailer:
    def __init__(self, path: Path):
        self.path = path
        path.mkdir(parents=True, exist_ok=True)

    def send(self, message: EmailMessage) -> str:
        msgid = str(message.get("Message-ID", "")).strip("<>")
        ref = str(message.get(BOT_HEADER, "") or "mail")
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", f"{ref}-{msgid}")[:180]
        target = self.path / f"{stem}.eml"
        tmp = self.path / f".{stem}.tmp"
        tmp.write_bytes(message.as_bytes())
        os.replace(tmp, target)  # atomic: a reader never sees half a file
        return f"written {target.name}"

    def check(self) -> str:
        """The outbox folder is writable; raises otherwise."""
        if not os.access(self.path, os.W_OK):
            raise PermissionError(f"{self.path} is not writable")
        return f"folder {self.path}"

    def close(self) -> None:
        return None
