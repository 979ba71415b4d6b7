"""Step 3: a message seen before stops here.

A message is the same message when it has the same Message-ID *and* the same
sender: two people whose mail programs reuse one Message-ID have written two
messages. Without a Message-ID, the same content (which includes the sender)
from the same sender is the same message.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING

from sqlmodel import col, select

from bot.actions.purge import erased_external_id
from bot.errors import Discard
from bot.store.models import Direction, Message

if TYPE_CHECKING:  # the pipeline imports its steps; a step needs it for types only
    from bot.runners.pipeline import InboundContext


def sender_of(ctx: InboundContext) -> str | None:
    """The sender as stored on the message row (and part of its storage key)."""
    assert ctx.parsed is not None
    return ctx.parsed.from_address


def message_id(ctx: InboundContext) -> str:
    """What the message is known by: its Message-ID, or a content hash when it has none."""
    assert ctx.parsed is not None
    return ctx.parsed.message_id or f"sha256:{ctx.parsed.content_hash}"


def storage_key(msg_id: str, sender: str | None) -> str:
    """The unique key of an inbound email: its Message-ID together with its sender.

    Hashed, because a Message-ID may be as long as the column. (A frozen copy lives in
    migration 0005, which rewrote the keys stored before.)
    """
    digest = hashlib.sha256(f"{(sender or '').strip().lower()}\n{msg_id}".encode()).hexdigest()
    return f"email-in:{digest}"


def external_id(ctx: InboundContext) -> str:
    """The message's unique storage key (see :func:`storage_key`)."""
    return storage_key(message_id(ctx), sender_of(ctx))


def _group_seen(ctx: InboundContext) -> set[str] | None:
    """The storage keys of the group's messages already stored, looked up in one query for
    the whole group (the bulk writer's fast path; None: on the savepoint path)."""
    group = ctx.group
    if group is None:
        return None
    seen: set[str] | None = group.cache.get("dedupe")
    if seen is None:
        keys = {
            storage_key(
                p.parsed.message_id or f"sha256:{p.parsed.content_hash}", p.parsed.from_address
            )
            for _, p in group.items
            if p is not None and p.parsed is not None
        }
        erased = {erased_external_id(k): k for k in keys}
        found = set(
            ctx.session.exec(
                select(Message.external_id).where(
                    col(Message.external_id).in_(sorted({*keys, *erased}))
                )
            ).all()
        )
        seen = group.cache["dedupe"] = {erased.get(f, f) for f in found}
    return seen


def remember_stored(ctx: InboundContext) -> None:
    """This message's row was added: a copy later in the same group is a duplicate."""
    seen = _group_seen(ctx) if ctx.group is not None else None
    if seen is not None:
        seen.add(external_id(ctx))


def process(ctx: InboundContext) -> None:
    ext = external_id(ctx)
    group_seen = _group_seen(ctx)
    if group_seen is not None and ctx.prepared is not None and ctx.prepared.parsed is ctx.parsed:
        seen: int | str | None = ext if ext in group_seen else None
    else:
        # An erased message keeps only a hash of its Message-ID: a redelivery is still known.
        seen = ctx.session.exec(
            select(Message.id).where(col(Message.external_id).in_([ext, erased_external_id(ext)]))
        ).first()
    if seen is not None:
        raise Discard("duplicate: this message was handled before")
    if ctx.parsed is not None and ctx.parsed.message_id is None:
        same = ctx.session.exec(
            select(Message.id).where(
                Message.content_hash == ctx.parsed.content_hash,
                Message.direction == Direction.INBOUND.value,
            )
        ).first()
        if same is not None:
            raise Discard("duplicate: same content as an earlier message without Message-ID")
