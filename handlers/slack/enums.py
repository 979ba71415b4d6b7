"""Every ``action_id``, ``callback_id`` and ``block_id`` the Slack app uses.

Listeners and builders name these members; no id is spelled as a string
literal anywhere else, so a renamed button cannot silently lose its listener.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """Buttons and menus on the call-back prompt (and in modals)."""

    CLAIM = "case.claim"
    LOG_CALL = "case.log_call"
    SNOOZE = "case.snooze"
    ESCALATE = "case.escalate"
    SHOW_FULL_TEXT = "case.show_full_text"
    ASK_FOR_NUMBER = "case.ask_for_number"
    # on the ephemeral answer to a claim of a case someone else has
    TAKE_OVER_CLAIM = "case.take_over_claim"
    # on the ombudsman's escalation alert, and in the ombudsman's App Home
    TAKE_OVER = "escalation.take_over"
    ASK_FOR_ACTION_PLAN = "escalation.ask_for_action_plan"
    ACKNOWLEDGE_ESCALATION = "escalation.acknowledge"
    FOLLOW_UP_DONE = "action_plan.follow_up_done"
    # on an offer DM (the value is the offer id), and "hand over" on the prompt
    ACCEPT_OFFER = "offer.accept"
    DECLINE_OFFER = "offer.decline"
    HAND_OVER = "case.hand_over"
    # on a review lane post (the value is the review item's id)
    REVIEW_OPEN = "review.open_as_case"
    REVIEW_DISMISS = "review.not_a_complaint"
    # The one input element inside each modal input block.
    INPUT = "input"


class CallbackId(StrEnum):
    """Modals."""

    LOG_CALL = "modal.log_call"
    ESCALATE = "modal.escalate"
    REGISTER = "modal.register_complaint"
    ACTION_PLAN = "modal.action_plan"
    HAND_OVER = "modal.hand_over"


class BlockId(StrEnum):
    """Blocks of the prompt, and the input blocks of the modals."""

    # prompt
    HEADER = "prompt.header"
    FACTS = "prompt.facts"
    SUMMARY = "prompt.summary"
    STATE = "prompt.state"
    METHOD = "prompt.method"
    ACTIONS = "prompt.actions"
    # log call modal
    OUTCOME = "call.outcome"
    NOTE = "call.note"
    REMEDY = "call.remedy"
    NEXT_STEP = "call.next_step"
    RESOLUTION = "call.resolution"
    OPTIONS = "call.options"
    # escalate modal
    REASON = "escalate.reason"
    # escalation alert: who acknowledged it
    ACKNOWLEDGED = "escalation.acknowledged"
    # action plan modal
    PLAN_OWNER = "plan.owner"
    PLAN_STEPS = "plan.steps"
    PLAN_DUE = "plan.due"
    # hand-over modal
    HAND_OVER_TO = "handover.to"
    # offer DM
    OFFER = "offer.text"
    OFFER_ANSWER = "offer.answer"
    # review lane post
    REVIEW_REASON = "review.reason"
    REVIEW_FACTS = "review.facts"
    REVIEW_SUMMARY = "review.summary"
    REVIEW_DECISION = "review.decision"
    # App Home
    LOAD = "home.load"
    # register modal
    NAME = "register.name"
    PHONE = "register.phone"
    EMAIL = "register.email"
    TEXT = "register.text"
    SOURCE = "register.source"


class CallOption(StrEnum):
    """Checkbox values in the log-call modal."""

    SEND_CONFIRMATION = "send_confirmation"
    HARD_CALL = "hard_call"


SNOOZE_MINUTES: tuple[int, ...] = (30, 60, 120)
