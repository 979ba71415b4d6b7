"""Opening a case: who the complainant is, the new case row, and the cases it mentions.

The pipeline and the register commands call :func:`open_case`; it queues nothing
(the pipeline decides acknowledgement and prompt).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, select

from bot.actions.trail import SYSTEM_ACTOR, audit
from bot.config import Config
from bot.domain.calendar import WorkingCalendar
from bot.domain.ladder import LadderPolicy, first_contact_due
from bot.store.db import insert_row
from bot.store.models import Case, Complainant, Status
from bot.store.refs import allocate_ref


@dataclass(frozen=True)
class NewComplaint:
    """What is known about a complaint when it arrives."""

    source: str
    received_at: datetime
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    language: str = "sv"
    subject: str = ""
    summary: str = ""
    historical: bool = False
    serious: bool = False
    case_type: str = "complaint"
    representative_of: str | None = None
    origin_channel: str | None = None
    origin_ts: str | None = None
    chat_user: str | None = None  # the Slack user who wrote it (the complainant in chat)


def find_or_create_complainant(
    session: Session,
    email: str | None,
    phone: str | None,
    name: str | None,
    representative_of: str | None = None,
    chat_user: str | None = None,
) -> Complainant:
    """The same person writing again is the same complainant: the same email address, or
    the same chat user. Never a phone number: two people may share one (a household, a
    care home's desk phone), and merging them would show one the other's case."""
    return _find_or_create(session, email, phone, name, representative_of, chat_user)[0]


def _find_or_create(
    session: Session,
    email: str | None,
    phone: str | None,
    name: str | None,
    representative_of: str | None,
    chat_user: str | None,
) -> tuple[Complainant, bool]:
    found: Complainant | None = None
    # The bulk writer looked up its group's addresses at once (bot.runners.bulk).
    known: dict[str, Complainant | None] | None = session.info.get("complainants")
    if email and known is not None and email.lower() in known:
        found = known[email.lower()]
    elif email:
        found = session.exec(select(Complainant).where(Complainant.email == email.lower())).first()
    elif chat_user:
        found = session.exec(select(Complainant).where(Complainant.chat_user == chat_user)).first()
    if found is None:
        found = insert_row(
            session,
            Complainant,
            {
                "name": name,
                "email": email.lower() if email else None,
                "phone": phone,
                "chat_user": chat_user,
                "representative_of": representative_of,
                "email_bounced_at": None,
            },
        )
        if known is not None and found.email:
            known[found.email] = found
        return found, True
    if name and not found.name:
        found.name = name
    if phone and not found.phone:
        found.phone = phone
    return found, False


def open_case(
    session: Session, cfg: Config, new: NewComplaint, now: datetime, actor: str = SYSTEM_ACTOR
) -> Case:
    """Open a case for ``new``; queue nothing (the pipeline decides ack and prompt)."""
    return open_case_for(session, cfg, new, now, actor).case


@dataclass(frozen=True)
class Opened:
    """A case just opened, its complainant, and whether the complainant is new too."""

    case: Case
    complainant: Complainant
    new_complainant: bool


# Every other column of a new case, as Case() would leave it.
_CASE_DEFAULTS: dict[str, object] = {
    c.name: (c.default.arg if c.default is not None else None)
    for c in Case.__table__.c  # type: ignore[attr-defined]
    if c.name != "id"
}


def open_case_for(
    session: Session, cfg: Config, new: NewComplaint, now: datetime, actor: str = SYSTEM_ACTOR
) -> Opened:
    """:func:`open_case`, keeping hold of the complainant (the pipeline needs it next:
    reading it back by id would cost a query, and a new one has no history to look up)."""
    year = new.received_at.astimezone(cfg.policy.tz).year
    # The reference first: taking it may run a statement, before which the bulk writer
    # inserts what it holds back (bot.runners.bulk); a new complainant held a moment
    # longer goes in with the rest of the group's.
    ref = allocate_ref(session, cfg.policy.reference_prefix, year)
    complainant, created = _find_or_create(
        session, new.email, new.phone, new.name, new.representative_of, new.chat_user
    )
    first_contact_due_at = next_check_at = None
    if not new.historical:
        calendar = WorkingCalendar.from_policy(cfg.policy)
        first_contact_due_at = first_contact_due(
            new.received_at, LadderPolicy.from_policy(cfg.policy), calendar
        )
        next_check_at = now
    # Inserted as a row, not built and flushed (the hot path opens a case a message).
    case = insert_row(
        session,
        Case,
        {
            **_CASE_DEFAULTS,
            "ref": ref,
            "source": new.source,
            "type": new.case_type,
            "status": Status.NEW.value,
            "received_at": new.received_at,
            "created_at": now,
            "updated_at": now,
            "complainant_id": complainant.id or 0,
            "phone": new.phone,
            "language": new.language,
            "subject": new.subject[:300],
            "summary": new.summary[:2000],
            "historical": new.historical,
            "serious": new.serious,
            "first_contact_due_at": first_contact_due_at,
            "next_check_at": next_check_at,
            "origin_channel": new.origin_channel,
            "origin_ts": new.origin_ts,
        },
    )
    audit(
        session,
        case,
        actor,
        "opened",
        now,
        source=new.source,
        historical=new.historical,
        serious=new.serious,
    )
    return Opened(case, complainant, created)


def note_mention(session: Session, new_case: Case, old_case: Case, now: datetime, via: str) -> None:
    """``new_case`` was opened by someone else pointing at ``old_case``: both audit trails
    say so (the references only; nothing the other person wrote)."""
    audit(
        session,
        new_case,
        SYSTEM_ACTOR,
        "mentions_case",
        now,
        ref=old_case.ref,
        why="different_sender",
        via=via,
    )
    audit(
        session,
        old_case,
        SYSTEM_ACTOR,
        "mentioned_by_case",
        now,
        ref=new_case.ref,
        why="different_sender",
        via=via,
    )
