"""What a purge does to the rows it touches: blank a message, anonymise a case, cancel
what was still to be sent, delete a quarantined mail, and count it all.

The tools of :mod:`bot.actions.retention` (by age) and :mod:`bot.actions.erasure`
(one person on request).
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.actions.access_rows import code_details
from bot.actions.privacy import (
    ANONYMISED,
)
from bot.actions.status_links import revoke_links
from bot.actions.trail import audit, enqueue
from bot.domain.vocabulary import ChatOp
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
)

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


def blank_message(m: Message) -> bool:
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


def scrub_detail(detail: str) -> str:
    """An audit detail with only its coded facts (outcome, resolution...) kept."""
    kept = code_details(detail)
    return json.dumps(kept, ensure_ascii=False, sort_keys=True) if kept else "{}"


def cancel_or_blank(o: Outbox, counts: PurgeCounts) -> None:
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
        counts.messages += blank_message(m)
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
        scrubbed = scrub_detail(entry.detail)
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
        cancel_or_blank(o, counts)
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


def anonymise(
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


def delete_quarantined(session: Session, q: Quarantine, counts: PurgeCounts, now: datetime) -> None:
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
