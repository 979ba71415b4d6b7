"""The citizen's status page: links (only a hash of each token is stored) and what it shows.

A link is made for a case opened by the web form (its token derived from the
form's) and for every acknowledgement email while the web front is enabled.
It runs out after ``[web] status_days``; erasure deletes the case's links.
The page shows three steps and nothing else: received, someone has called or
tried to call, closed. No staff names, nothing the citizen did not write.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from bot.config import Config
from bot.domain.vocabulary import Outcome, Status
from bot.domain.web_form import looks_like_status_token, token_hash
from bot.store.models import Case, ContactAttempt, StatusLink, WebSubmission


def status_url(cfg: Config, token: str) -> str:
    return f"{cfg.web.public_url}/status/{token}"


def issue_status_link(
    session: Session, cfg: Config, case: Case, now: datetime, token: str | None = None
) -> str:
    """Store a link for ``case`` (a new random token unless one is given); return the token."""
    token = token or secrets.token_urlsafe(32)
    key = token_hash(token)
    if session.get(StatusLink, key) is None:
        session.add(
            StatusLink(
                token_hash=key,
                case_id=case.id or 0,
                created_at=now,
                expires_at=now + timedelta(days=cfg.web.status_days),
            )
        )
        session.flush()
    return token


def case_for_status_token(session: Session, token: str, now: datetime) -> Case | None:
    """The case a status token shows, if the link exists and has not run out."""
    if not looks_like_status_token(token):
        return None
    link = session.get(StatusLink, token_hash(token))
    if link is None or link.expires_at <= now:
        return None
    return session.get(Case, link.case_id)


def revoke_links(session: Session, case_ids: list[int]) -> int:
    """Delete every status link (and sent-form record) of these cases: erasure."""
    if not case_ids:
        return 0
    found = session.exec(
        select(StatusLink.token_hash).where(col(StatusLink.case_id).in_(case_ids))
    ).all()
    session.execute(delete(StatusLink).where(col(StatusLink.case_id).in_(case_ids)))
    session.execute(delete(WebSubmission).where(col(WebSubmission.case_id).in_(case_ids)))
    return len(found)


@dataclass(frozen=True)
class CaseProgress:
    """What the status page shows (plain data; dates in the organisation's time zone)."""

    ref: str
    language: str
    received: str  # ISO date
    contact: str | None  # "reached" | "tried" | None (nobody has called yet)
    contact_date: str | None
    closed: str | None  # ISO date
    anonymous: bool


def progress_of(session: Session, cfg: Config, case: Case) -> CaseProgress:
    tz = cfg.policy.tz
    attempts = session.exec(
        select(ContactAttempt)
        .where(ContactAttempt.case_id == case.id)
        .order_by(col(ContactAttempt.at))
    ).all()
    reached = [a for a in attempts if Outcome(a.outcome).is_contact]
    contact = "reached" if reached else ("tried" if attempts else None)
    when = (reached or attempts)[0].at if attempts else None
    closed = case.closed_at if case.status == Status.CLOSED.value else None
    return CaseProgress(
        ref=case.ref,
        language=case.language,
        received=case.received_at.astimezone(tz).date().isoformat(),
        contact=contact,
        contact_date=when.astimezone(tz).date().isoformat() if when else None,
        closed=closed.astimezone(tz).date().isoformat() if closed else None,
        anonymous=case.source == "web" and case.first_contact_due_at is None and not case.phone,
    )
