"""The review lane in Slack: the post for a message that might be a person's, and its
two buttons, "open as case" and "not a complaint".

The post is built from a :class:`bot.runners.review.ReviewView` (redacted, escaped, no
full text) by :func:`review_blocks`, which the outbox calls when it posts or
re-renders the item. Only staff and the ombudsman may press the buttons
(anyone else is refused and the attempt audited); each decision is taken once
in :mod:`bot.runners.review`, and a second press or a replayed request only tells the
presser who decided.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from slack_bolt import App

from bot.runners.review import ReviewResult, ReviewView, dismiss, open_as_case
from handlers.slack.blockkit import button, context, esc, fields, header, mention, section
from handlers.slack.case_facts import age_text, staff_language
from handlers.slack.context import Button, IdValue, Press, on_press, parse_review
from handlers.slack.enums import ActionId, BlockId
from handlers.slack.labels import say, words

if TYPE_CHECKING:
    from bot.wiring import Runtime

Block = dict[str, Any]


# --- the post -------------------------------------------------------------------


def decision_line(w: Mapping[str, str], view: ReviewView) -> str:
    user = mention(view.decided_by)
    when = esc(view.decided_at, 40)
    if view.decision == "opened":
        return w["review_opened"].format(ref=esc(view.case_ref, 40), user=user, when=when)
    return w["review_dismissed"].format(user=user, when=when)


def review_blocks(view: ReviewView, ctx: Mapping[str, Any]) -> list[Block]:
    """A review item for staff: why, who (redacted), what it says (redacted summary), and
    the two buttons while it is open; once decided, the decision instead of buttons."""
    w = words(staff_language(ctx))
    facts = [
        f"*{w['review_from']}*\n{esc(view.sender, 320) or w['review_no_sender']}",
        f"*{w['review_received']}*\n{age_text(w, view.age_hours)} ({esc(view.received, 40)})",
    ]
    summary = []
    if view.subject:
        summary.append(f"*{w['subject']}:* {esc(view.subject, 300)}")
    summary.append(f"*{w['summary']}:*\n{esc(view.summary, 2400) if view.summary else '–'}")
    blocks: list[Block] = [
        header(w["review_title"], BlockId.HEADER),
        section(f"*{w['review_reason']}:* {esc(view.reason, 500)}", BlockId.REVIEW_REASON),
        fields(facts, BlockId.REVIEW_FACTS),
        section("\n".join(summary), BlockId.REVIEW_SUMMARY),
    ]
    if view.historical:
        blocks.append(context([w["review_historical"]]))
    if view.decision:
        blocks.append(context([decision_line(w, view)], BlockId.REVIEW_DECISION))
    else:
        value = str(view.review_id)
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.ACTIONS,
                "elements": [
                    button(w["review_open"], ActionId.REVIEW_OPEN, value, "primary"),
                    button(w["review_dismiss"], ActionId.REVIEW_DISMISS, value),
                ],
            }
        )
    return blocks


# --- the buttons ----------------------------------------------------------------


def tell(p: Press[IdValue], result: ReviewResult) -> None:
    """Tell the presser what happened: done now, or decided before (by whom)."""
    if not result.changed:
        text = say(p.lang, "review_already", user=mention(result.decided_by))
    elif result.decision == "opened":
        text = say(p.lang, "review_opened_now", ref=result.case_ref or "")
    else:
        text = say(p.lang, "review_dismissed_now")
    p.answer(text)


def open_review(p: Press[IdValue]) -> None:
    """ "Open as case": the message becomes a case with the normal call-back prompt."""
    tell(p, open_as_case(p.rt.db, p.rt.services, p.value.id, p.actor))
    p.deliver()  # the post shows the decision; the prompt goes out


def dismiss_review(p: Press[IdValue]) -> None:
    """ "Not a complaint": the item is resolved; the message stays stored."""
    tell(p, dismiss(p.rt.db, p.rt.cfg, p.value.id, p.actor, p.rt.clock()))
    p.deliver()


def register(app: App, rt: Runtime) -> None:
    """Attach the review lane's buttons to ``app``."""

    # Deciding opens its own transactions and is idempotent (a second press is told who
    # decided), so these buttons get no session from the middleware.
    on_press(
        app,
        rt,
        {
            ActionId.REVIEW_OPEN: Button(
                open_review, "review_open", parse_review, own_transactions=True
            ),
            ActionId.REVIEW_DISMISS: Button(
                dismiss_review, "review_dismiss", parse_review, own_transactions=True
            ),
        },
    )
