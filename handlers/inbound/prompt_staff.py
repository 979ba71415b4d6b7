"""Step 9: ask staff to call the citizen back (or tell them the citizen wrote again)."""

from __future__ import annotations

from bot.actions.trail import enqueue, unique_key
from bot.domain.vocabulary import ChatOp
from bot.runners.pipeline import InboundContext
from bot.store.models import OutboxKind


def process(ctx: InboundContext) -> None:
    case = ctx.case
    assert case is not None
    if case.historical:
        return  # historical mail starts nothing
    if ctx.new_case:
        enqueue(
            ctx.session,
            kind=OutboxKind.CHAT,
            dedupe_key=f"prompt:{case.id}",
            payload={"op": ChatOp.PROMPT, "case_id": case.id},
            case=case,
            now=ctx.now,
        )
    else:
        enqueue(
            ctx.session,
            kind=OutboxKind.CHAT,
            dedupe_key=unique_key(f"case-message:{case.id}"),
            payload={"op": ChatOp.CASE_MESSAGE, "case_id": case.id, "reopened": ctx.reopened},
            case=case,
            now=ctx.now,
        )
