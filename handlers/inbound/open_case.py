"""Step 6: open a case for a new complaint, or bring a closed one back.

Extraction (phone, name, language, serious keywords) reads the summary text,
so numbers inside quoted replies are not mistaken for the complainant's. Language
and phone numbers are usually found ahead (``ctx.prepared``, once per message).
"""

from __future__ import annotations

from datetime import timedelta

from bot.actions.cases import complainant_of, escalate, reopen, set_case_phone
from bot.actions.opening import NewComplaint, note_mention, open_case_for
from bot.actions.trail import SYSTEM_ACTOR
from bot.errors import Discard
from bot.mail.classify import is_spam_flagged
from bot.mail.extract import guess_name, is_serious, own_words
from bot.mail.prepare import case_texts, language_and_phones
from bot.runners.pipeline import InboundContext
from bot.runners.prepare import settings_of
from bot.store.models import EscalationReason, Source, Status


def _fit(text: str | None, limit: int) -> str | None:
    return text if text is None or len(text) <= limit else text[: limit - 1] + "…"


def _is_serious(text: str, keywords: tuple[str, ...]) -> bool:
    """:func:`is_serious`, asked only about the keywords found in ``text`` at all (a word
    is matched as it is written, in any case): most complaints hold none, and one plain
    search is cheaper than one pattern per keyword."""
    low = text.lower()
    return is_serious(text, tuple(word for word in keywords if word.lower() in low))


def process(ctx: InboundContext) -> None:
    p = ctx.parsed
    assert p is not None
    cfg = ctx.cfg
    ahead = ctx.prepared if ctx.prepared is not None and ctx.prepared.parsed is p else None
    if ahead is not None:
        language, phones = ahead.language, ahead.phones
    else:
        language, phones = language_and_phones(p, settings_of(ctx.services))
    ctx.phone = phones[0] if phones else None

    if ctx.case is not None:
        # The thread step let only the complainant (or an address on the case) get here,
        # so a new number in this message is the complainant's: it becomes the case's.
        case = ctx.case
        ctx.complainant = complainant_of(ctx.session, case)
        if case.status != Status.CLOSED.value:
            set_case_phone(ctx.session, case, ctx.phone, ctx.now, SYSTEM_ACTOR, via="email")
            return
        window = timedelta(days=cfg.policy.reopen_window_days)
        if case.closed_at is not None and ctx.now - case.closed_at <= window:
            set_case_phone(ctx.session, case, ctx.phone, ctx.now, SYSTEM_ACTOR, via="email")
            reopen(ctx.session, cfg, case, ctx.now)
            ctx.reopened = True
            escalate(
                ctx.session,
                cfg,
                case,
                SYSTEM_ACTOR,
                ctx.now,
                reason=EscalationReason.REOPENED,
                note="the complainant wrote again after the case was closed",
            )
            return
        ctx.case = None  # too long ago: a new case

    if ctx.mail.historical and cfg.mailbox.historical == "skip":
        raise Discard("historical mail skipped (mailbox.historical = 'skip')")
    # Keywords of the complaint's own language, in what the sender wrote now (not in
    # quotes, forwarded reports or attachments); a spam-flagged message never escalates.
    words = ahead.own_words if ahead is not None and ahead.own_words is not None else None
    serious = not is_spam_flagged(p) and _is_serious(
        own_words(p) if words is None else words, cfg.policy.serious_keywords_for(language)
    )
    contact = ctx.classification.contact if ctx.classification else None
    # The name worked out ahead was for the classifier's contact; forcing may change it.
    ahead_contact = ahead.classification.contact if ahead and ahead.classification else None
    name = ahead.name if ahead is not None and ahead_contact == contact else guess_name(p, contact)
    if ahead is not None and ahead.subject is not None and ahead.summary is not None:
        subject, summary = ahead.subject, ahead.summary
    else:
        subject, summary = case_texts(p)
    opened = open_case_for(
        ctx.session,
        cfg,
        NewComplaint(
            source=Source.EMAIL.value,
            received_at=ctx.mail.received_at,
            name=_fit(name, 200),
            email=contact,
            phone=ctx.phone,
            language=language,
            subject=subject,
            summary=summary,
            historical=ctx.mail.historical,
            serious=serious,
        ),
        ctx.now,
    )
    ctx.case, ctx.complainant = opened.case, opened.complainant
    ctx.new_complainant = opened.new_complainant
    ctx.new_case = True
    if ctx.mentioned_case is not None:
        note_mention(ctx.session, ctx.case, ctx.mentioned_case, ctx.now, via="email")
    if serious and not ctx.mail.historical:
        escalate(
            ctx.session,
            cfg,
            ctx.case,
            SYSTEM_ACTOR,
            ctx.now,
            reason=EscalationReason.SERIOUS,
            note="serious keyword in the complaint",
            new_case=True,
        )
