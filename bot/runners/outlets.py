"""Where the outbox's side effects go: the mailer, the chat and how posts are made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session

from bot.config import Config
from bot.ports import Chat, Mailer
from bot.presenters.chat import (
    BlocksBuilder,
    Presentation,
    ReviewBlocksBuilder,
)
from bot.presenters.render import Renderer
from bot.store.models import Outbox

FIND_MARGIN = timedelta(minutes=2)  # clock skew between us and the chat server
POSTED = "posted"  # receipt prefix of a chat message newly posted (not updated, not found)

# A chat entry's effect once it is out (e.g. remembering where a post went).
Effect = Callable[[Session, Outbox], None]


@dataclass
class Outlets:
    """Where side effects go, and how staff messages are rendered (by the presenters)."""

    cfg: Config
    mailer: Mailer
    chat: Chat
    renderer: Renderer
    blocks: BlocksBuilder | None = None
    review_blocks: ReviewBlocksBuilder | None = None

    @property
    def presentation(self) -> Presentation:
        return Presentation(self.cfg, self.renderer, self.blocks, self.review_blocks)


def no_effect(_s: Session, _e: Outbox) -> None:
    return None
