"""Delivering the outbox's chat entries: load what an entry is about, ask the
presenter of its :class:`~bot.domain.vocabulary.ChatOp` for the post, deliver it
(post, update in place, direct message, or find again after a crash)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.actions.cases import get_case_by_id
from bot.domain.vocabulary import ChatOp
from bot.errors import PermanentDeliveryError
from bot.ports import ChatPost, ChatRef
from bot.presenters.chat import (
    PRESENTERS,
    About,
    review_erased_post,
    review_marker,
)
from bot.presenters.staff_messages import case_view
from bot.runners.outlets import FIND_MARGIN, POSTED, Effect, Outlets, no_effect
from bot.store.db import session_scope
from bot.store.models import Case, Escalation, Outbox, Quarantine

log = logging.getLogger(__name__)


# --- chat ------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """Where a case's chat entry goes: what it is about and where its prompt is."""

    payload: dict[str, Any]
    about: About
    prompt: ChatRef | None
    interrupted_since: datetime | None


def send_chat(
    engine: Engine,
    outlets: Outlets,
    payload: dict[str, Any],
    now: datetime,
    interrupted_since: datetime | None = None,
) -> tuple[str, Effect]:
    """Render from the case as it is now, then post. Returns a receipt and the effect.

    ``interrupted_since``: an earlier attempt (of an entry made then) died mid-send.
    A prompt is then first looked up in the triage channel, so that it is not
    posted twice (chats that cannot look up post again).
    """
    try:
        op = ChatOp(payload["op"])
    except ValueError:
        raise PermanentDeliveryError(f"unknown chat operation {payload['op']!r}") from None
    if op is ChatOp.MONTHLY_CHART:
        return _send_monthly_chart(engine, outlets, payload, now), no_effect
    if op is ChatOp.REVIEW:
        return _send_review(engine, outlets, payload, now, interrupted_since)
    with session_scope(engine) as session:
        case = get_case_by_id(session, payload["case_id"]) if payload.get("case_id") else None
        view = case_view(session, outlets.cfg, case, now) if case else None
        prompt = (
            ChatRef(case.prompt_channel, case.prompt_ts)
            if (case and case.prompt_channel and case.prompt_ts)
            else None
        )
        escalation = (
            session.get(Escalation, payload["escalation_id"])
            if payload.get("escalation_id")
            else None
        )
        about = About(
            payload,
            view,
            escalation_id=escalation.id if escalation else None,
            escalation_reason=escalation.reason if escalation else None,
            escalation_note=escalation.note if escalation else "",
        )
    post = PRESENTERS[op](outlets.presentation, about)
    return _DELIVERIES[op](outlets, post, _Target(payload, about, prompt, interrupted_since))


def _posted(ref: ChatRef) -> str:
    return f"{POSTED} {ref.channel}:{ref.ts}"


def _to_user_or_channel(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    if t.payload.get("user"):
        return _posted(outlets.chat.direct(t.payload["user"], post)), no_effect
    return _posted(
        outlets.chat.post(t.payload["channel"], post, t.payload.get("thread_ts"))
    ), no_effect


def _to_user(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    return _posted(outlets.chat.direct(t.payload["user"], post)), no_effect


def _prompt_in_triage(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    """Update the case's prompt in place, or post it (found again after a crash)."""
    if t.prompt is not None:
        outlets.chat.update(t.prompt, post)
        return f"updated {t.prompt.channel}:{t.prompt.ts}", no_effect
    cfg, view = outlets.cfg, t.about.case
    found = None
    find = getattr(outlets.chat, "find", None)
    if t.interrupted_since is not None and find is not None:
        found = find(cfg.chat.triage_channel, view.ref, t.interrupted_since - FIND_MARGIN)
    ref = found or outlets.chat.post(cfg.chat.triage_channel, post)

    def store_ref(session: Session, _e: Outbox) -> None:
        c = session.get(Case, view.case_id)
        assert c is not None
        c.prompt_channel, c.prompt_ts = ref.channel, ref.ts

    return f"{'found' if found else POSTED} {ref.channel}:{ref.ts}", store_ref


def _replace_all(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    """The case was anonymised: every staff message about it becomes the neutral stub."""
    replaced = 0
    for channel, ts in t.payload.get("refs") or []:
        try:
            outlets.chat.update(ChatRef(str(channel), str(ts)), post)
            replaced += 1
        except PermanentDeliveryError as exc:  # deleted meanwhile: nothing left to replace
            log.warning(
                "outbox: case %s: a chat message could not be replaced: %s", t.about.case.ref, exc
            )
    return f"replaced {replaced} message(s)", no_effect


def _in_prompt_thread(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    ref = outlets.chat.post(
        t.prompt.channel if t.prompt else outlets.cfg.chat.triage_channel,
        post,
        t.prompt.ts if t.prompt else None,
    )
    return _posted(ref), no_effect


def _to_ombudsman(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    refs = [outlets.chat.direct(u, post) for u in outlets.cfg.chat.ombudsman_users] or [
        outlets.chat.post(outlets.cfg.chat.triage_channel, post)
    ]
    return POSTED + " " + ", ".join(f"{r.channel}:{r.ts}" for r in refs), no_effect


def _reminder(outlets: Outlets, post: ChatPost, t: _Target) -> tuple[str, Effect]:
    if t.payload.get("user"):
        return _posted(outlets.chat.direct(t.payload["user"], post)), no_effect
    return _posted(
        outlets.chat.post(outlets.cfg.chat.triage_channel, post, t.prompt.ts if t.prompt else None)
    ), no_effect


Delivery = Callable[[Outlets, ChatPost, _Target], tuple[str, Effect]]

# How each operation about a case (or none, for RAW) goes out; REVIEW and
# MONTHLY_CHART load what they are about themselves (below).
_DELIVERIES: dict[ChatOp, Delivery] = {
    ChatOp.RAW: _to_user_or_channel,
    ChatOp.OFFER: _to_user,
    ChatOp.PROMPT: _prompt_in_triage,
    ChatOp.ERASED: _replace_all,
    ChatOp.CASE_MESSAGE: _in_prompt_thread,
    ChatOp.ESCALATION: _to_ombudsman,
    ChatOp.REMINDER: _reminder,
}


def _send_review(
    engine: Engine,
    outlets: Outlets,
    payload: dict[str, Any],
    now: datetime,
    interrupted_since: datetime | None,
) -> tuple[str, Effect]:
    """Post a review item to the triage channel, or update its post in place, rendered
    from the item as it is now (open with buttons, or decided without)."""
    from bot.runners.review import review_view

    cfg = outlets.cfg
    review_id = int(payload["review_id"])
    with session_scope(engine) as session:
        q = session.get(Quarantine, review_id)
        if q is None:  # erased meanwhile: its post, if any, becomes a neutral stub
            erased = payload.get("erased_post")
            if not erased:
                return "gone", no_effect
            stub = review_erased_post(outlets.presentation, About(payload))
            try:
                outlets.chat.update(ChatRef(str(erased[0]), str(erased[1])), stub)
            except PermanentDeliveryError as exc:  # deleted meanwhile: nothing to replace
                log.warning("outbox: review %s: the post could not be replaced: %s", review_id, exc)
            return "replaced 1 message(s)", no_effect
        view = review_view(cfg, q, now)
        posted = ChatRef(q.post_channel, q.post_ts) if q.post_channel and q.post_ts else None
    post = PRESENTERS[ChatOp.REVIEW](outlets.presentation, About(payload, extra={"review": view}))
    if posted is not None:
        outlets.chat.update(posted, post)
        return f"updated {posted.channel}:{posted.ts}", no_effect
    found = None
    find = getattr(outlets.chat, "find", None)
    if interrupted_since is not None and find is not None:
        found = find(
            cfg.chat.triage_channel, review_marker(review_id), interrupted_since - FIND_MARGIN
        )
    ref = found or outlets.chat.post(cfg.chat.triage_channel, post)

    def store_ref(session: Session, _e: Outbox) -> None:
        item = session.get(Quarantine, review_id)
        if item is not None:
            item.post_channel, item.post_ts = ref.channel, ref.ts

    return f"{'found' if found else POSTED} {ref.channel}:{ref.ts}", store_ref


def _send_monthly_chart(
    engine: Engine, outlets: Outlets, payload: dict[str, Any], now: datetime
) -> str:
    """Draw the month's chart now (from the database as it is) and share it."""
    from datetime import date

    from bot.presenters.charts import ChartsUnavailable
    from bot.presenters.monthly import monthly_summary

    month = date.fromisoformat(f"{payload['month']}-01")
    with session_scope(engine) as session:
        try:
            summary = monthly_summary(session, outlets.cfg, month, now, chart=True)
        except ChartsUnavailable as exc:
            raise PermanentDeliveryError(f"no chart: {exc}") from exc
    if summary.chart_png is None:
        raise PermanentDeliveryError("no chart: matplotlib is not installed (extra 'charts')")
    return outlets.chat.upload(
        payload["user"],
        f"klagomal-{summary.month}.png",
        summary.chart_png,
        f"Klagomål {summary.month}",
    )
