"""Care for the people who call: telling a colleague their case was taken over, and
a thank-you with an offered debrief after a hard call. Direct messages through the
outbox; the case reference, nothing personal.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session

from bot.actions.roster import may_act
from bot.actions.trail import (
    CHAT_ACTOR_PREFIXES,
    CLI_ACTOR_PREFIX,
    SYSTEM_ACTOR,
    audit,
    enqueue,
    unique_key,
)
from bot.config import Config
from bot.domain.vocabulary import ChatOp
from bot.presenters.render import renderer_for
from bot.store.models import Case, OutboxKind

# --- who is who ------------------------------------------------------------


def staff_id(actor: str | None) -> str | None:
    """The Slack user id behind an actor: ``slack:U1`` and ``cli:U1`` are both U1."""
    if not actor:
        return None
    for prefix in (*CHAT_ACTOR_PREFIXES, CLI_ACTOR_PREFIX):
        if actor.startswith(prefix):
            return actor[len(prefix) :]
    return None


def actor_forms(user: str) -> list[str]:
    """Every actor string that means ``user`` (Slack, or the command line with ``--by``)."""
    return [*(f"{prefix}{user}" for prefix in CHAT_ACTOR_PREFIXES), f"{CLI_ACTOR_PREFIX}{user}"]


def debrief_partner(cfg: Config, caller: str | None) -> str | None:
    """Whom to offer a debrief with: ``debrief_with``, else the first manager, else the
    first ombudsman; never the caller themself."""
    for user in (cfg.roster.debrief_with, *cfg.roster.managers, *cfg.chat.ombudsman_users):
        if user and user != caller:
            return user
    return None


# --- messages --------------------------------------------------------------


def _render(cfg: Config, name: str, **context: Any) -> str:
    return (
        renderer_for(cfg)
        .render(
            f"staff/{name}",
            cfg.chat.staff_language,
            "txt",
            cli=cfg.chat.kind == "console",
            **context,
        )
        .strip()
    )


def _dm(
    session: Session,
    case: Case,
    user: str,
    text: str,
    now: datetime,
    purpose: str,
    op: ChatOp = ChatOp.RAW,
    **extra: Any,
) -> None:
    """Queue a direct message to ``user`` (the outbox's "raw" chat operation, or "offer",
    which adds the chat's answer buttons)."""
    enqueue(
        session,
        kind=OutboxKind.CHAT,
        dedupe_key=unique_key(f"{purpose}:{case.id}"),
        payload={
            "op": op,
            "user": user,
            "text": text,
            "case_id": case.id,
            "purpose": purpose,
            **extra,
        },
        case=case,
        now=now,
    )


def tell_taken_over(
    session: Session, cfg: Config, case: Case, previous: str, actor: str, now: datetime
) -> None:
    """Tell the previous assignee that ``actor`` took ``case`` over from them (a DM, when
    they are someone the chat can reach)."""
    user = staff_id(previous)
    if user is None or not may_act(cfg, user):
        return
    by = staff_id(actor) or actor
    _dm(
        session,
        case,
        user,
        _render(
            cfg, "offer", kind="taken_over", ref=case.ref, by=by, received="", minutes=0, user=user
        ),
        now,
        "taken-over",
    )


# --- hard calls ------------------------------------------------------------


def after_hard_call(session: Session, cfg: Config, case: Case, actor: str, now: datetime) -> None:
    """After a call marked hard: thank the caller and offer a short debrief with a named
    colleague or manager (a DM to both: the case reference, nothing personal).

    The hard call itself lowers the caller's next offers today through
    :func:`bot.domain.fair_share.load`; nothing to store here.
    """
    if not cfg.roster.hard_call_care:
        return
    caller = staff_id(actor)
    partner = debrief_partner(cfg, caller)
    if caller:
        _dm(
            session,
            case,
            caller,
            _render(
                cfg, "hard_call", role="caller", ref=case.ref, caller=caller, partner=partner or ""
            ),
            now,
            "hard-call-thanks",
        )
    if partner:
        _dm(
            session,
            case,
            partner,
            _render(
                cfg,
                "hard_call",
                role="partner",
                ref=case.ref,
                caller=caller or actor,
                partner=partner,
            ),
            now,
            "hard-call-debrief",
        )
    audit(
        session,
        case,
        SYSTEM_ACTOR,
        "hard_call_care",
        now,
        caller=caller or actor,
        debrief_with=partner,
    )
