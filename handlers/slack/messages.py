"""Block Kit for what staff see in Slack: the call-back prompt, escalations, reminders.

:func:`build_blocks` is the :data:`bot.presenters.chat.BlocksBuilder` that the outbox
calls at delivery time with a fresh :class:`~bot.presenters.staff_messages.CaseView`, so
the prompt is re-rendered from the case as it is now and updated in place.
Everything here is pure: plain data in, a list of blocks out.

The words describing the case come from :mod:`handlers.slack.case_facts`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bot.presenters.staff_messages import CaseView
from handlers.slack.blockkit import (
    MESSAGE_BLOCKS,
    PLACEHOLDER,
    button,
    context,
    esc,
    fields,
    header,
    md,
    mention,
    option,
    plain,
    section,
    tel_link,
)
from handlers.slack.case_facts import (
    fact_fields,
    label_of,
    method_text,
    staff_language,
    state_lines,
    summary_text,
    title,
)
from handlers.slack.enums import SNOOZE_MINUTES, ActionId, BlockId
from handlers.slack.labels import words

Block = dict[str, Any]


def snooze_value(ref: str, minutes: int) -> str:
    return f"{ref}|{minutes}"


# --- buttons ---------------------------------------------------------------


def may_ask_for_number(view: CaseView) -> bool:
    """The email fallback, only once calling failed or cannot start, and only with an
    address that works: the bot nudges towards the phone."""
    return (
        view.email_known
        and not view.ack_bounced
        and not view.closed
        and (view.failed_attempts > 0 or not view.phone_e164)
    )


def snooze_menu(w: Mapping[str, str], ref: str) -> dict[str, Any]:
    return {
        "type": "static_select",
        "action_id": ActionId.SNOOZE,
        "placeholder": plain(w["snooze"], PLACEHOLDER),
        "options": [option(w[f"snooze_{m}"], snooze_value(ref, m)) for m in SNOOZE_MINUTES],
    }


def prompt_actions(w: Mapping[str, str], view: CaseView) -> Block:
    elements: list[dict[str, Any]] = []
    if not view.assignee:
        elements.append(button(w["claim"], ActionId.CLAIM, view.ref, "primary"))
    elements.append(
        button(w["log_call"], ActionId.LOG_CALL, view.ref, "primary" if view.assignee else None)
    )
    elements.append(snooze_menu(w, view.ref))
    elements.append(button(w["escalate"], ActionId.ESCALATE, view.ref))
    elements.append(button(w["show_full_text"], ActionId.SHOW_FULL_TEXT, view.ref))
    if may_ask_for_number(view):
        elements.append(button(w["ask_for_number"], ActionId.ASK_FOR_NUMBER, view.ref))
    if view.assignee:
        # Ask a colleague to take it (they may say no; see bot.actions.assignment.hand_over).
        elements.append(button(w["hand_over"], ActionId.HAND_OVER, view.ref))
    return {"type": "actions", "block_id": BlockId.ACTIONS, "elements": elements}


# --- the four kinds --------------------------------------------------------


def prompt_blocks(view: CaseView, ctx: Mapping[str, Any]) -> list[Block]:
    """The call-back prompt: who, the number to dial, what it is about, the method, buttons."""
    w = words(staff_language(ctx))
    if view.anonymised:  # personal data erased: a neutral stub, no name, number or text
        return [
            header(w["title_closed"].format(ref=view.ref), BlockId.HEADER),
            section(w["erased"], BlockId.SUMMARY),
        ]
    blocks: list[Block] = [
        header(title(w, view), BlockId.HEADER),
        fields(fact_fields(w, view), BlockId.FACTS),
        section(summary_text(w, view), BlockId.SUMMARY),
        context(state_lines(w, view), BlockId.STATE),
    ]
    if not view.closed:
        if not view.anonymous:  # how to make the call: there is no call to make
            blocks.append(section(method_text(w), BlockId.METHOD))
        blocks.append(prompt_actions(w, view))
    return blocks


def escalation_value(ref: str, escalation_id: object) -> str:
    """The value of the alert's buttons: the case and which escalation it is about."""
    return f"{ref}|{escalation_id}" if escalation_id else ref


def escalation_actions(w: Mapping[str, str], view: CaseView, ctx: Mapping[str, Any]) -> Block:
    """The ombudsman's buttons: take over, ask the manager for an action plan, acknowledge
    (until someone has), and the staff buttons to call and to read the whole text."""
    value = escalation_value(view.ref, ctx.get("escalation_id"))
    elements = [
        button(w["take_over"], ActionId.TAKE_OVER, value, "primary"),
        button(w["ask_for_action_plan"], ActionId.ASK_FOR_ACTION_PLAN, value),
    ]
    if not ctx.get("acknowledged_by"):
        elements.append(button(w["acknowledge_escalation"], ActionId.ACKNOWLEDGE_ESCALATION, value))
    elements += [
        button(w["log_call"], ActionId.LOG_CALL, view.ref),
        button(w["show_full_text"], ActionId.SHOW_FULL_TEXT, view.ref),
    ]
    return {"type": "actions", "block_id": BlockId.ACTIONS, "elements": elements}


def escalation_blocks(view: CaseView, ctx: Mapping[str, Any]) -> list[Block]:
    """To the ombudsman: which case, why, the same facts as the prompt, and their buttons.

    ``ctx``: ``reason``, ``note``, ``escalation_id``; once acknowledged also
    ``acknowledged_by`` (an actor) and ``acknowledged_at`` (already formatted).
    """
    w = words(staff_language(ctx))
    reason = str(ctx.get("reason") or "staff")
    lines = [f"*{w['escalation_reason']}:* {label_of(w, 'reason', reason)}"]
    if ctx.get("note"):
        lines.append(f"*{w['escalation_note']}:* {esc(ctx['note'], 2000)}")
    blocks: list[Block] = [
        header(w["escalation_title"].format(ref=view.ref), BlockId.HEADER),
        section("\n".join(lines)),
        fields(fact_fields(w, view), BlockId.FACTS),
        section(summary_text(w, view), BlockId.SUMMARY),
        context(state_lines(w, view), BlockId.STATE),
    ]
    if ctx.get("acknowledged_by"):
        blocks.append(
            context(
                [
                    w["escalation_acknowledged"].format(
                        user=mention(str(ctx["acknowledged_by"])),
                        when=esc(ctx.get("acknowledged_at") or "", 40),
                    )
                ],
                BlockId.ACKNOWLEDGED,
            )
        )
    if not view.closed:
        blocks.append(escalation_actions(w, view, ctx))
    return blocks


def reminder_blocks(view: CaseView, ctx: Mapping[str, Any]) -> list[Block]:
    """A nudge in the prompt's thread (or a DM): still nobody has called."""
    w = words(staff_language(ctx))
    lines = [w["reminder_title"].format(ref=view.ref)]
    if view.assignee:
        lines.append(w["claimed_by"].format(user=mention(view.assignee)))
    if view.deadline:
        lines.append(w["deadline"].format(deadline=esc(view.deadline, 40)))
    if view.phone_e164:
        lines.append(f"{w['phone']}: {tel_link(view.phone_e164, view.phone_national)}")
    blocks: list[Block] = [section("\n".join(lines), BlockId.HEADER)]
    if not view.closed:
        elements = [
            button(w["log_call"], ActionId.LOG_CALL, view.ref, "primary"),
            snooze_menu(w, view.ref),
        ]
        if not view.assignee:
            elements.insert(0, button(w["claim"], ActionId.CLAIM, view.ref))
        blocks.append({"type": "actions", "block_id": BlockId.ACTIONS, "elements": elements})
    return blocks


def case_message_blocks(view: CaseView, ctx: Mapping[str, Any]) -> list[Block]:
    """The complainant wrote again: a note in the prompt's thread."""
    w = words(staff_language(ctx))
    name = esc(view.name, 200) if view.name else w["the_complainant"]
    lines = [w["case_message_title"].format(ref=view.ref, name=name)]
    if ctx.get("other_sender"):  # someone else replied in the intake thread
        lines = [w["other_sender_message"].format(ref=view.ref)]
    elif ctx.get("reopened"):
        lines.append(w["case_message_reopened"])
    return [
        section("\n".join(lines), BlockId.HEADER),
        {
            "type": "actions",
            "block_id": BlockId.ACTIONS,
            "elements": [button(w["show_full_text"], ActionId.SHOW_FULL_TEXT, view.ref)],
        },
    ]


def offer_blocks(view: CaseView, ctx: Mapping[str, Any]) -> list[Block]:
    """A DM asking one person to take the call-back: the offer's text and the buttons to
    answer it ("I'll call", "Can't now"), whose value is the offer id.

    ``ctx``: ``text`` (rendered from the offer template; it mentions the asker on
    purpose, and holds nothing the complainant wrote), ``offer_id``.
    """
    w = words(staff_language(ctx))
    blocks: list[Block] = [section(str(ctx.get("text") or view.ref), BlockId.OFFER)]
    if not view.closed and ctx.get("offer_id"):
        value = str(ctx["offer_id"])
        blocks.append(
            {
                "type": "actions",
                "block_id": BlockId.ACTIONS,
                "elements": [
                    button(w["accept_offer"], ActionId.ACCEPT_OFFER, value, "primary"),
                    button(w["decline_offer"], ActionId.DECLINE_OFFER, value),
                ],
            }
        )
    return blocks


def offer_answered_blocks(lang: str, ref: str, accepted: bool) -> list[Block]:
    """The offer DM once answered: what was said, and no buttons left to press."""
    w = words(lang)
    key = "offer_accepted" if accepted else "offer_declined"
    return [section(w[key].format(ref=esc(ref, 40)), BlockId.OFFER_ANSWER)]


def claimed_by_other_blocks(lang: str, ref: str, assignee: str) -> list[Block]:
    """To someone who pressed "I'll call" on a case another person has: who has it
    (``assignee`` is already a mention or escaped), and a button to take it over."""
    w = words(lang)
    return [
        section(w["claimed_by_other"].format(ref=esc(ref, 40), user=assignee), BlockId.STATE),
        {
            "type": "actions",
            "block_id": BlockId.ACTIONS,
            "elements": [button(w["take_over"], ActionId.TAKE_OVER_CLAIM, ref, "danger")],
        },
    ]


BUILDERS: dict[str, Callable[[CaseView, Mapping[str, Any]], list[Block]]] = {
    "prompt": prompt_blocks,
    "escalation": escalation_blocks,
    "reminder": reminder_blocks,
    "case_message": case_message_blocks,
    "offer": offer_blocks,
}


def build_blocks(kind: str, view: CaseView, ctx: dict[str, Any]) -> list[Block]:
    """Blocks for a staff message of ``kind``; an unknown kind gets none (text only)."""
    builder = BUILDERS.get(kind)
    if builder is None:
        return []
    return builder(view, ctx)[:MESSAGE_BLOCKS]


def escaped_chunks(text: str, size: int) -> list[str]:
    """``text`` escaped for mrkdwn, in pieces of at most ``size`` characters, never
    splitting an ``&amp;`` between two pieces."""
    pieces: list[str] = []
    current: list[str] = []
    length = 0
    for char in text:
        escaped = esc(char, 10)
        if length + len(escaped) > size:
            pieces.append("".join(current))
            current, length = [], 0
        current.append(escaped)
        length += len(escaped)
    if current:
        pieces.append("".join(current))
    return pieces


def full_text_blocks(lang: str, ref: str, texts: list[str]) -> list[Block]:
    """An ephemeral "show full text": every message of the case, escaped, in sections."""
    w = words(lang)
    blocks: list[Block] = [header(w["full_text_title"].format(ref=ref))]
    for text in [t for t in texts if t.strip()] or [w["no_text"]]:
        if len(blocks) > 1:
            blocks.append({"type": "divider"})
        for piece in escaped_chunks(text, 2900):
            if len(blocks) >= MESSAGE_BLOCKS - 1:
                blocks.append(context(["…"]))
                return blocks
            blocks.append({"type": "section", "text": md(piece)})
    return blocks
