"""Retention purge and erasure: personal data removed from every copy, and cancelled
where it was still to be sent."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.actions.cases import (
    SYSTEM_ACTOR,
    audit,
    enqueue,
)
from bot.actions.privacy import (
    ANONYMISED,
    Needles,
    Person,
    cases_of,
    find_complainants,
    mail_text,
)
from bot.actions.status_links import revoke_links
from bot.actions.subject_access import code_details
from bot.config import Config
from bot.domain.vocabulary import ChatOp
from bot.errors import InvalidAction
from bot.store.models import (
    ActionPlan,
    Audit,
    Case,
    Complainant,
    ContactAttempt,
    Escalation,
    Message,
    Outbox,
    OutboxKind,
    OutboxStatus,
    Quarantine,
    Status,
)

# --- retention and erasure -------------------------------------------------

log = logging.getLogger(__name__)


@dataclass
class PurgeCounts:
    """What a purge changed (or, in a dry run, would change). Counts only, never content."""

    cases: int = 0
    complainants_deleted: int = 0
    messages: int = 0
    contact_attempts: int = 0
    escalations: int = 0
    action_plans: int = 0
    audit_entries: int = 0
    outbox_entries: int = 0
    outbox_cancelled: int = 0
    quarantine_entries: int = 0
    mentions_scrubbed: int = 0
    chat_messages_to_stub: int = 0
    refs: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def changed(self) -> bool:
        return any(v for k, v in self.as_dict().items() if k != "refs")

    def summary(self) -> str:
        return (
            f"{self.cases} cases, {self.messages} messages, "
            f"{self.contact_attempts} contact attempts, {self.escalations} escalations, "
            f"{self.action_plans} action plans, {self.audit_entries} audit entries, "
            f"{self.outbox_entries} outbox entries ({self.outbox_cancelled} pending "
            f"cancelled), {self.quarantine_entries} quarantined inputs, "
            f"{self.mentions_scrubbed} mentions elsewhere, "
            f"{self.chat_messages_to_stub} chat messages to replace, "
            f"{self.complainants_deleted} complainant records deleted"
        )


def erased_external_id(external_id: str) -> str:
    """What an erased email's Message-ID becomes (it may hold a name or an address):
    a hash, so that the same message delivered again is still known as seen."""
    return "erased:" + hashlib.sha256(external_id.encode("utf-8", "replace")).hexdigest()


def _blank_message(m: Message) -> bool:
    changed = bool(
        m.body_text
        or m.raw is not None
        or m.subject
        or m.sender
        or m.sender_name
        or (m.attachments or "[]") != "[]"
    )
    m.body_text, m.raw, m.subject, m.sender, m.sender_name = "", None, "", None, None
    m.attachments = "[]"
    if m.channel == "email" and not m.external_id.startswith("erased:"):
        m.external_id = erased_external_id(m.external_id)
        changed = True
    if m.channel == "email" and not m.message_id.startswith("erased:"):
        # A Message-ID may hold a name or an address: only its hash stays.
        m.message_id = erased_external_id(m.message_id)
        changed = True
    return changed


def _scrub_detail(detail: str) -> str:
    """An audit detail with only its coded facts (outcome, resolution...) kept."""
    kept = code_details(detail)
    return json.dumps(kept, ensure_ascii=False, sort_keys=True) if kept else "{}"


def _cancel_or_blank(o: Outbox, counts: PurgeCounts) -> None:
    """A pending entry is cancelled (it must never go out); any entry loses its text."""
    if o.status == OutboxStatus.PENDING.value:
        o.status = OutboxStatus.CANCELLED.value
        o.lease_until, o.lease_owner, o.result = None, None, None
        counts.outbox_cancelled += 1
    if o.payload != "{}" or o.last_error:
        counts.outbox_entries += 1
    o.payload, o.last_error = "{}", None


def _posted_refs(result: str | None) -> list[tuple[str, str]]:
    """Where a delivered chat entry's messages live (``posted C1:ts, C2:ts``)."""
    verb, _, rest = (result or "").partition(" ")
    if verb not in ("posted", "updated", "found"):
        return []
    refs = []
    for part in rest.split(", "):
        channel, sep, ts = part.strip().partition(":")
        if sep and channel and ts:
            refs.append((channel, ts))
    return refs


def _anonymise_case(
    session: Session,
    case: Case,
    blank: Complainant,
    counts: PurgeCounts,
    now: datetime,
    actor: str,
    why: str,
) -> None:
    """Strip what identifies a person or tells their story; keep what the reports count."""
    case.subject, case.summary = "", ""
    case.phone, case.previous_phones = None, ""
    revoke_links(session, [case.id or 0])  # the status page of an erased case is gone
    case.complainant_id = blank.id or 0
    for m in session.exec(select(Message).where(Message.case_id == case.id)).all():
        counts.messages += _blank_message(m)
    for a in session.exec(select(ContactAttempt).where(ContactAttempt.case_id == case.id)).all():
        if a.note or a.next_step or a.remedy:
            counts.contact_attempts += 1
        a.note, a.next_step, a.remedy = "", None, None
    for e in session.exec(select(Escalation).where(Escalation.case_id == case.id)).all():
        if e.note:
            counts.escalations += 1
        e.note = ""
    for p in session.exec(select(ActionPlan).where(ActionPlan.case_id == case.id)).all():
        if p.steps or p.follow_up_note:
            counts.action_plans += 1
        p.steps, p.follow_up_note = "", ""
    # Audit details keep their codes (outcome, resolution), never text (a lesson, a remedy).
    for entry in session.exec(select(Audit).where(Audit.case_id == case.id)).all():
        scrubbed = _scrub_detail(entry.detail)
        if scrubbed != (entry.detail or "{}"):
            counts.audit_entries += 1
        entry.detail = scrubbed
    # Pending emails and posts are cancelled: nothing about this case goes out any more.
    # Delivered ones keep where they went (to replace the chat messages), not what.
    refs: list[tuple[str, str]] = []
    for o in session.exec(
        select(Outbox).where(Outbox.case_id == case.id).order_by(col(Outbox.id))
    ).all():
        if o.kind == OutboxKind.CHAT.value and o.status == OutboxStatus.SENT.value:
            refs += [r for r in _posted_refs(o.result) if r not in refs]
        _cancel_or_blank(o, counts)
    if case.prompt_channel and case.prompt_ts and (case.prompt_channel, case.prompt_ts) not in refs:
        refs.insert(0, (case.prompt_channel, case.prompt_ts))
    if refs:
        # Every staff message about the case becomes a neutral stub (see bot.runners.outbox).
        enqueue(
            session,
            kind=OutboxKind.CHAT,
            dedupe_key=f"erased:{case.id}",
            payload={"op": ChatOp.ERASED, "case_id": case.id, "refs": [list(r) for r in refs]},
            case=case,
            now=now,
        )
        counts.chat_messages_to_stub += len(refs)
    audit(session, case, actor, ANONYMISED, now, reason=why)
    counts.cases += 1
    counts.refs.append(case.ref)


def _delete_orphans(session: Session, complainant_ids: set[int], counts: PurgeCounts) -> None:
    session.flush()
    for cid in sorted(complainant_ids):
        in_use = session.exec(select(Case.id).where(Case.complainant_id == cid)).first()
        row = session.get(Complainant, cid)
        if in_use is None and row is not None:
            session.delete(row)
            counts.complainants_deleted += 1


def _anonymise(
    session: Session,
    cases: list[Case],
    now: datetime,
    actor: str,
    why: str,
    also_complainants: set[int] | None = None,
) -> PurgeCounts:
    """Anonymise ``cases``; then delete the complainant records (theirs and
    ``also_complainants``) that no case points to any more."""
    counts = PurgeCounts()
    previous = {c.complainant_id for c in cases} | (also_complainants or set())
    if cases:
        # One empty complainant record stands in for everyone anonymised in this run.
        blank = Complainant()
        session.add(blank)
        session.flush()
        for case in cases:
            _anonymise_case(session, case, blank, counts, now, actor, why)
    _delete_orphans(session, previous, counts)
    return counts


def _not_anonymised() -> Any:
    return ~sa.exists().where(col(Audit.case_id) == col(Case.id), col(Audit.action) == ANONYMISED)


def closed_cases_before(session: Session, before: datetime) -> list[Case]:
    """Closed cases, closed before ``before``, not yet anonymised."""
    return list(
        session.exec(
            select(Case)
            .where(
                Case.status == Status.CLOSED.value, col(Case.closed_at) < before, _not_anonymised()
            )
            .order_by(col(Case.closed_at), col(Case.id))
        ).all()
    )


def _delete_quarantined(
    session: Session, q: Quarantine, counts: PurgeCounts, now: datetime
) -> None:
    """Delete a quarantined or review item; its review post in chat becomes a stub."""
    if q.post_channel and q.post_ts:
        enqueue(
            session,
            kind=OutboxKind.CHAT,
            dedupe_key=f"review-erased:{q.id}",
            payload={
                "op": ChatOp.REVIEW,
                "review_id": q.id,
                "erased_post": [q.post_channel, q.post_ts],
            },
            case=None,
            now=now,
        )
        counts.chat_messages_to_stub += 1
    session.delete(q)
    counts.quarantine_entries += 1


def _purge_leftovers(
    session: Session, before: datetime, counts: PurgeCounts, now: datetime
) -> None:
    """Mail that never opened a case (blanked: its Message-ID stays, so a redelivery is
    still known) and quarantined mail, resolved or not (deleted), older than ``before``."""
    for m in session.exec(
        select(Message).where(col(Message.case_id).is_(None), col(Message.at) < before)
    ).all():
        counts.messages += _blank_message(m)
    for q in session.exec(select(Quarantine).where(col(Quarantine.at) < before)).all():
        _delete_quarantined(session, q, counts, now)


def purge_closed_before(
    session: Session,
    before: datetime,
    now: datetime,
    actor: str,
    leftovers_before: datetime | None = None,
) -> PurgeCounts:
    """Anonymise every case closed before ``before``; delete the leftovers (mail that
    never opened a case, quarantined mail) from before ``leftovers_before`` (default:
    the same day)."""
    counts = _anonymise(session, closed_cases_before(session, before), now, actor, "retention")
    _purge_leftovers(session, leftovers_before or before, counts, now)
    log.info("purge (retention): %s", counts.summary())
    return counts


def retention_cutoffs(cfg: Config, now: datetime) -> tuple[datetime | None, datetime | None]:
    """(closed cases before, quarantine and unattached mail before) under ``[privacy]``."""
    p = cfg.privacy
    cases = now - timedelta(days=p.closed_case_days) if p.closed_case_days else None
    rest = now - timedelta(days=p.quarantine_days) if p.quarantine_days else None
    return cases, rest


def retention_purge(
    session: Session, cfg: Config, now: datetime, actor: str = SYSTEM_ACTOR
) -> PurgeCounts:
    """What the retention sweep does: closed cases and leftovers past their retention."""
    cases_before, rest_before = retention_cutoffs(cfg, now)
    counts = (
        _anonymise(session, closed_cases_before(session, cases_before), now, actor, "retention")
        if cases_before
        else PurgeCounts()
    )
    if rest_before:
        _purge_leftovers(session, rest_before, counts, now)
    return counts


def _rows(session: Session, model: Any) -> Iterator[Any]:
    yield from session.exec(select(model).order_by(col(model.id))).all()


def _payload_text(payload: str) -> str:
    """An outbox payload as readable text (JSON escapes undone, an email decoded)."""
    try:
        data = json.loads(payload or "{}")
    except ValueError:
        return payload or ""
    if not isinstance(data, dict):
        return str(data)
    texts = [v for v in data.values() if isinstance(v, str)]
    if isinstance(data.get("eml"), str):
        texts.append(mail_text(data["eml"].encode("utf-8", errors="replace")))
    return "\n".join(texts)


def _scrub_mentions(session: Session, needles: Needles, counts: PurgeCounts, now: datetime) -> None:
    """The person's address, number and name, wherever else they are written: in
    other people's messages and cases, staff notes, audit details, the outbox."""

    def fix(row: Any, *columns: str) -> bool:
        hit = False
        for column in columns:
            value = getattr(row, column)
            if isinstance(value, str) and needles.found(value):
                setattr(row, column, needles.scrub(value))
                hit = True
        return hit

    for c in _rows(session, Case):
        counts.mentions_scrubbed += fix(c, "subject", "summary")
    for m in _rows(session, Message):
        hit = fix(m, "subject", "body_text", "sender_name", "attachments")
        if m.raw is not None and needles.found(mail_text(m.raw)):
            m.raw = None  # raw bytes cannot be edited safely: the parsed text stays
            hit = True
        counts.mentions_scrubbed += hit
    for a in _rows(session, ContactAttempt):
        counts.mentions_scrubbed += fix(a, "note", "remedy", "next_step")
    for e in _rows(session, Escalation):
        counts.mentions_scrubbed += fix(e, "note")
    for p in _rows(session, ActionPlan):
        counts.mentions_scrubbed += fix(p, "steps", "follow_up_note")
    for entry in _rows(session, Audit):
        if needles.found(entry.detail):
            entry.detail = _scrub_detail(entry.detail)
            counts.audit_entries += 1
    for o in _rows(session, Outbox):
        if (
            needles.found(o.payload)
            or needles.found(_payload_text(o.payload))
            or needles.found(o.last_error)
        ):
            _cancel_or_blank(o, counts)
    for q in _rows(session, Quarantine):
        if needles.found(mail_text(bytes(q.raw))):
            _delete_quarantined(session, q, counts, now)


def erase_person(session: Session, person: Person, now: datetime, actor: str) -> PurgeCounts:
    """Erase one person on request: all their cases anonymised, their records deleted,
    their own messages blanked wherever they sit, their address, number and name
    scrubbed from everything else (other cases, notes, audit, outbox, quarantine).

    Refuses (:class:`InvalidAction`) while any of their cases is open: close it first,
    so that nobody is left waiting for a call the bot can no longer prompt.
    """
    complainants = find_complainants(session, person)
    cases = cases_of(session, complainants)
    still_open = [c.ref for c in cases if c.status != Status.CLOSED.value]
    if still_open:
        raise InvalidAction("open cases must be closed before erasure: " + ", ".join(still_open))
    emails = {e.lower() for e in [person.email, *(c.email for c in complainants)] if e}
    phones = {p for p in [person.phone, *(c.phone for c in complainants)] if p}
    for case in cases:  # the numbers given on their cases are theirs too
        phones |= {p for p in [case.phone, *case.previous_phones.split()] if p}
    names = {n for n in [person.name, *(c.name for c in complainants)] if n}
    # Their complainant records go, also one no case points to any more.
    counts = _anonymise(
        session,
        cases,
        now,
        actor,
        "erasure",
        also_complainants={c.id for c in complainants if c.id is not None},
    )
    # What they wrote elsewhere: on someone else's case, or on none.
    written = select(Message).where(sa.func.lower(col(Message.sender)).in_(sorted(emails)))
    if person.name:
        written = select(Message).where(
            sa.or_(
                sa.func.lower(col(Message.sender)).in_(sorted(emails)),
                sa.func.lower(col(Message.sender_name)) == person.name.lower(),
            )
        )
    for m in session.exec(written).all():
        counts.messages += _blank_message(m)
    _scrub_mentions(session, Needles.of(emails=emails, phones=phones, names=names), counts, now)
    log.info("purge (erasure): %s", counts.summary())
    return counts


# --- out of the file --------------------------------------------------------

ERASABLE_TABLES = (
    "case",
    "complainant",
    "message",
    "contact_attempt",
    "escalation",
    "action_plan",
    "audit",
    "outbox",
    "quarantine",
)


def erase_from_storage(engine: Engine) -> None:
    """After a purge has committed: make the old bytes leave the database files.

    SQLite runs with ``secure_delete`` (see :mod:`bot.store.db`), so freed space is
    zeroed; a ``TRUNCATE`` checkpoint copies the zeroed pages into the file and
    empties the write-ahead log. PostgreSQL: ``VACUUM`` of the tables a purge
    touches, so dead row versions are removed from their pages (WAL segments
    and backups keep them until they are recycled; see docs/privacy.md).
    """
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            busy = cur.fetchone()
            cur.close()
        finally:
            raw.close()
        if busy and busy[0]:
            log.warning(
                "purge: the write-ahead log could not be emptied (a reader was "
                "busy); it will be at the next checkpoint"
            )
    elif engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ERASABLE_TABLES:
                conn.exec_driver_sql(f'VACUUM "{table}"')
