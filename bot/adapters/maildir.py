"""The embedded mailbox: a local Maildir (``new/``, ``cur/``, ``tmp/``).

Mail delivered into ``new/`` is new mail, whoever put it there; after it is
handled it is moved to ``cur/`` with the standard ``:2,`` suffix, as any mail
reader does. Nothing is deleted. The file's modification time is the time it
arrived (Maildir delivery writes the file once and renames it into ``new/``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session

from bot.ports import InboundMail

log = logging.getLogger(__name__)


class MaildirMailbox:
    """A Maildir watched by polling ``new/`` (cheap: one directory stat per look)."""

    def __init__(self, path: Path, seed_dir: Path | None = None, poll_interval: float = 0.5):
        self.path = path
        self.key = f"maildir:{path.resolve()}"
        self.poll_interval = poll_interval
        fresh = not (path / "new").exists()
        for sub in ("new", "cur", "tmp"):
            (path / sub).mkdir(parents=True, exist_ok=True)
        if fresh and seed_dir is not None and seed_dir.is_dir():
            self._seed(seed_dir)
        self._last_mtime_ns = 0

    def _seed(self, seed_dir: Path) -> None:
        """Copy sample .eml files into ``new/`` (first run of the embedded default)."""
        for i, src in enumerate(sorted(seed_dir.glob("*.eml"))):
            name = f"{int(time.time())}.seed{i:04d}.{src.stem}"
            tmp = self.path / "tmp" / name
            shutil.copyfile(src, tmp)
            os.replace(tmp, self.path / "new" / name)
        log.info("maildir seeded with sample complaints from %s", seed_dir)

    def _files(self) -> list[Path]:
        entries = [
            p for p in (self.path / "new").iterdir() if p.is_file() and not p.name.startswith(".")
        ]
        return sorted(entries, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def pending(self) -> Iterator[InboundMail]:
        for f in self._files():
            try:
                raw = f.read_bytes()
                arrived = datetime.fromtimestamp(f.stat().st_mtime, UTC)
            except FileNotFoundError:  # taken by another instance meanwhile
                continue
            yield InboundMail(raw=raw, received_at=arrived, mailbox=self.key, position=f.name)

    def record(self, session: Session, mail: InboundMail) -> None:
        """Nothing to store: the move to ``cur/`` is the checkpoint, Message-ID the dedupe."""

    def done(self, mail: InboundMail) -> None:
        src = self.path / "new" / mail.position
        with contextlib.suppress(FileNotFoundError):  # another instance moved it
            os.replace(src, self.path / "cur" / f"{mail.position}:2,S")

    def wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        new = self.path / "new"
        while time.monotonic() < deadline:
            try:
                mtime = new.stat().st_mtime_ns
            except FileNotFoundError:
                mtime = 0
            if mtime != self._last_mtime_ns:
                self._last_mtime_ns = mtime
                if any(True for _ in new.iterdir()):
                    return
            time.sleep(min(self.poll_interval, max(0.0, deadline - time.monotonic())))

    def check(self) -> str:
        """The Maildir's folders exist and are writable; raises otherwise."""
        for sub in ("new", "cur", "tmp"):
            if not os.access(self.path / sub, os.W_OK):
                raise PermissionError(f"{self.path / sub} is not writable")
        return f"maildir {self.path}"

    def close(self) -> None:
        return None
