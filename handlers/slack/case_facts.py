"""The words that describe a case in every staff message: title, facts, summary, state
and the call method, in the staff language. Pure: a
:class:`~bot.presenters.staff_messages.CaseView` in, mrkdwn strings out.

Language: ``context["lang"]`` when the caller gives one, else the staff language set
with :func:`set_staff_language` (``build_app`` sets it from ``[chat] staff_language``),
else Swedish.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.mail.extract import format_phone_national
from bot.presenters.staff_messages import CaseView
from handlers.slack.blockkit import (
    esc,
    mention,
    tel_link,
)

_staff_language = "sv"


def set_staff_language(lang: str) -> None:
    """The language of staff-facing blocks when the caller does not pass ``context["lang"]``."""
    global _staff_language
    _staff_language = lang


def staff_language(ctx: Mapping[str, Any] | None = None) -> str:
    lang = (ctx or {}).get("lang")
    return str(lang) if lang else _staff_language


# --- pieces ----------------------------------------------------------------


def age_text(w: Mapping[str, str], hours: float) -> str:
    if hours < 48:
        return w["age_hours"].format(n=int(hours))
    return w["age_days"].format(n=int(hours // 24))


def label_of(w: Mapping[str, str], prefix: str, code: str) -> str:
    """A vocabulary word (source, outcome, resolution, language) or the code itself."""
    return w.get(f"{prefix}_{code}", code)


def title(w: Mapping[str, str], view: CaseView) -> str:
    if view.closed:
        return w["title_closed"].format(ref=view.ref)
    flags = [w["serious"]] if view.serious else []
    if view.escalated:
        flags.append(w["escalated"])
    opening = w["title_anonymous" if view.anonymous else "title_open"]
    return " ".join([opening.format(ref=view.ref), *flags])


def alternatives_text(w: Mapping[str, str], view: CaseView) -> str:
    """Numbers the person gave before, dialable, after the one to call."""
    links = ", ".join(tel_link(n, format_phone_national(n)) for n in view.phone_alternatives[:5])
    return w["phone_alternatives"].format(numbers=links)


def phone_line(w: Mapping[str, str], view: CaseView) -> str:
    if view.phone_e164:
        line = (
            f"*{w['phone']}*\n{tel_link(view.phone_e164, view.phone_national)} · "
            f"{esc(view.phone_e164, 40)}"
        )
    elif view.anonymous:  # nobody is to call: say so, instead of "no number yet"
        line = f"*{w['phone']}*\n{w['no_phone_anonymous']}"
    else:
        missing = (
            w["no_phone_asked"] if view.email_known and not view.ack_bounced else w["no_phone"]
        )
        line = f"*{w['phone']}*\n{missing}"
    if view.phone_alternatives:
        line += "\n" + alternatives_text(w, view)
    return line


def fact_fields(w: Mapping[str, str], view: CaseView) -> list[str]:
    facts = [
        f"*{w['name']}*\n{esc(view.name, 500) if view.name else w['no_name']}",
        phone_line(w, view),
        f"*{w['source']}*\n{label_of(w, 'source', view.source)}",
        f"*{w['age']}*\n{age_text(w, view.age_hours)} ({esc(view.received, 40)})",
        f"*{w['language']}*\n{label_of(w, 'lang', view.language)}",
    ]
    if view.deadline and not view.closed:
        facts.append(f"*{w['deadline'].format(deadline=esc(view.deadline, 40))}*")
    return facts


def summary_text(w: Mapping[str, str], view: CaseView) -> str:
    parts = []
    if view.subject:
        parts.append(f"*{w['subject']}:* {esc(view.subject, 300)}")
    parts.append(f"*{w['summary']}:*\n{esc(view.summary, 2400) if view.summary else '–'}")
    return "\n".join(parts)


def state_lines(w: Mapping[str, str], view: CaseView) -> list[str]:
    state = [
        w["claimed_by"].format(user=mention(view.assignee)) if view.assignee else w["unclaimed"]
    ]
    if view.attempts:
        state.append(w["attempts"].format(n=len(view.attempts)))
    if view.status in ("contacted", "closed") and any(
        a.outcome in ("reached", "meeting") for a in view.attempts
    ):
        state.append(w["contacted"])
    if view.closed:
        state.append(w["closed"].format(resolution=label_of(w, "resolution", view.resolution)))
    lines = [" · ".join(state)]
    if view.mentions:
        lines.append(
            w["mentions_other_sender"].format(refs=", ".join(esc(r, 40) for r in view.mentions[:5]))
        )
    lines.extend(
        f"{esc(a.at, 40)} · {label_of(w, 'outcome', a.outcome)} · {mention(a.by)}"
        for a in view.attempts[-5:]
    )
    if view.ack_bounced:
        lines.append(w["ack_bounced"])
    if view.attachments:
        lines.append(w["attachments"].format(files=esc(", ".join(view.attachments), 600)))
    if view.cut_down:
        size, limit = view.cut_down
        lines.append(w["mail_cut_down"].format(size=size, limit=limit))
    return lines


def method_text(w: Mapping[str, str]) -> str:
    steps = "\n".join(f"☐ {step}" for step in w["method_steps"].split("|"))
    return f"*{w['method']}*\n{steps}"
