"""What staff read in chat: one presenter per chat operation of the outbox.

The outbox claims an entry, loads what it is about and asks the presenter of its
operation (:data:`PRESENTERS`) for the post; it then only delivers. Posts are
rendered at delivery time from the case as it is then, so a prompt always shows
the current state. With Slack, the Block Kit builders (handed over by
``bot.wiring``) add the blocks; the console shows the text.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.config import Config
from bot.domain.vocabulary import ChatOp, EscalationReason
from bot.ports import ChatPost
from bot.presenters.catalogs import N_, messages
from bot.presenters.render import Renderer, mrkdwn_escape
from bot.presenters.staff_messages import CaseView, render_staff

# Block Kit builders for Slack (handed over by bot.wiring); the console shows text.
BlocksBuilder = Callable[[str, CaseView, dict[str, Any]], list[dict[str, Any]]]
# The review lane's post is about a message, not a case (see bot.runners.review.ReviewView).
ReviewBlocksBuilder = Callable[[Any, dict[str, Any]], list[dict[str, Any]]]

# Why a case was escalated, in the staff catalog (templates/locale/*/LC_MESSAGES/staff.po).
ESCALATION_REASON_KEYS: dict[str, str] = {
    EscalationReason.DEADLINE: N_("reason_deadline"),
    EscalationReason.SERIOUS: N_("reason_serious"),
    EscalationReason.ACK_BOUNCED: N_("reason_ack_bounced"),
    EscalationReason.REOPENED: N_("reason_reopened"),
    EscalationReason.STAFF: N_("reason_staff"),
}


def escalation_reason_text(lang: str, reason: str) -> str:
    """Why the case was escalated, in ``lang``; an unknown reason is shown as its code."""
    key = ESCALATION_REASON_KEYS.get(reason)
    return messages("staff", lang)[key] if key else reason


@dataclass(frozen=True)
class Presentation:
    """How posts are made here: the configuration, the templates and the chat's blocks."""

    cfg: Config
    renderer: Renderer
    blocks: BlocksBuilder | None = None
    review_blocks: ReviewBlocksBuilder | None = None


@dataclass(frozen=True)
class About:
    """What one outbox entry is about, loaded at delivery time."""

    payload: Mapping[str, Any]
    view: CaseView | None = None
    escalation_id: int | None = None
    escalation_reason: str | None = None
    escalation_note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def case(self) -> CaseView:
        assert self.view is not None, "this chat operation needs a case"
        return self.view


def staff_post(p: Presentation, kind: str, view: CaseView, context: dict[str, Any]) -> ChatPost:
    """``templates/staff/<kind>`` about a case, with the chat's blocks when it has them."""
    post = render_staff(
        p.renderer, p.cfg, kind, view=view, cli=p.cfg.chat.kind == "console", **context
    )
    if p.blocks is not None:
        # The builder has no config of its own: tell it the staff language.
        blocks = p.blocks(kind, view, {**context, "lang": p.cfg.chat.staff_language})
        # Slack parses the fallback text for mentions and links too: all of it inert.
        return ChatPost(text=mrkdwn_escape(post.text), blocks=blocks)
    return post


def raw_post(p: Presentation, about: About) -> ChatPost:
    """Text rendered when the entry was queued."""
    return ChatPost(text=about.payload["text"], blocks=about.payload.get("blocks") or [])


def offer_post(p: Presentation, about: About) -> ChatPost:
    """The text was rendered when the offer was made; the chat adds its answer buttons."""
    payload = about.payload
    if p.blocks is None:
        return ChatPost(text=payload["text"])
    return ChatPost(
        text=payload["text"],
        blocks=p.blocks(
            "offer",
            about.case,
            {
                "text": payload["text"],
                "offer_id": payload.get("offer_id"),
                "offer_kind": payload.get("offer_kind", ""),
                "lang": p.cfg.chat.staff_language,
            },
        ),
    )


def prompt_post(p: Presentation, about: About) -> ChatPost:
    """The call-back prompt (for an anonymised case: the neutral stub it renders as)."""
    return staff_post(p, "prompt", about.case, {})


def case_message_post(p: Presentation, about: About) -> ChatPost:
    return staff_post(
        p,
        "case_message",
        about.case,
        {
            "reopened": bool(about.payload.get("reopened")),
            "other_sender": bool(about.payload.get("other_sender")),
        },
    )


def escalation_post(p: Presentation, about: About) -> ChatPost:
    reason = about.escalation_reason or "staff"
    return staff_post(
        p,
        "escalation",
        about.case,
        {
            "reason": reason,
            "reason_text": escalation_reason_text(p.cfg.chat.staff_language, reason),
            "note": about.escalation_note,
            # The ombudsman's buttons say which escalation they acknowledge.
            "escalation_id": about.escalation_id,
        },
    )


def reminder_post(p: Presentation, about: About) -> ChatPost:
    return staff_post(p, "reminder", about.case, {"rung": about.payload.get("rung", "")})


def review_marker(review_id: int) -> str:
    """In every review post's text, so a post that may have gone out can be found again."""
    return f"[R-{review_id}]"


def review_post(p: Presentation, about: About) -> ChatPost:
    """A review-lane item, as it is now (open with buttons, or decided without);
    ``about.extra["review"]`` is its :class:`bot.runners.review.ReviewView`."""
    review_id = int(about.payload["review_id"])
    view = about.extra["review"]
    post = render_staff(
        p.renderer,
        p.cfg,
        "review",
        view=view,
        marker=review_marker(review_id),
        cli=p.cfg.chat.kind == "console",
    )
    if p.review_blocks is not None:
        post = ChatPost(
            text=mrkdwn_escape(post.text),
            blocks=p.review_blocks(view, {"lang": p.cfg.chat.staff_language}),
        )
    return post


def review_erased_post(p: Presentation, about: About) -> ChatPost:
    """What an erased review item's post becomes: a neutral stub."""
    return render_staff(
        p.renderer, p.cfg, "review_erased", marker=review_marker(int(about.payload["review_id"]))
    )


Presenter = Callable[[Presentation, About], ChatPost]

# One presenter per operation. MONTHLY_CHART is a file, drawn by bot.presenters.reports.
PRESENTERS: dict[ChatOp, Presenter] = {
    ChatOp.PROMPT: prompt_post,
    ChatOp.ERASED: prompt_post,
    ChatOp.CASE_MESSAGE: case_message_post,
    ChatOp.ESCALATION: escalation_post,
    ChatOp.REMINDER: reminder_post,
    ChatOp.OFFER: offer_post,
    ChatOp.RAW: raw_post,
    ChatOp.REVIEW: review_post,
}
