"""Records hand-off: a registration record per case for the records system (diarium).

A case is registered as one *ärende* (matter) with its documents: every
message in and out (with its attachments) and every call note. The record is
plain data; JSON keeps the nesting, CSV has one row per document with the case
columns repeated, which is what diarium import tools read. The fields are
documented in ``docs/reports.md``.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from bot.actions.case_records import iso
from bot.actions.cases import complainant_of
from bot.config import Config
from bot.presenters.reports import cases_received
from bot.store.models import Case, ContactAttempt, Direction, Message

CASE_FIELDS = (
    "reference",
    "received_date",
    "received_at",
    "registered_at",
    "direction",
    "source",
    "case_type",
    "sender_name",
    "sender_email",
    "sender_phone",
    "representative_of",
    "subject",
    "status",
    "closed_at",
    "resolution",
)
DOCUMENT_FIELDS = (
    "document_no",
    "document_id",
    "document_date",
    "document_direction",
    "document_kind",
    "document_subject",
    "external_id",
    "attachments",
)
CSV_FIELDS = CASE_FIELDS + DOCUMENT_FIELDS


def registration_record(session: Session, cfg: Config, case: Case) -> dict[str, Any]:
    """The registration record of one case, with its documents in date order."""
    person = complainant_of(session, case)
    tz = cfg.policy.tz
    docs: list[dict[str, Any]] = []
    messages = session.exec(
        select(Message).where(Message.case_id == case.id).order_by(col(Message.at), col(Message.id))
    ).all()
    for m in messages:
        docs.append(
            {
                "document_id": f"M{m.id}",
                "document_date": iso(m.at, cfg),
                "document_direction": m.direction,
                "document_kind": f"{m.channel}:{m.classification}",
                "document_subject": m.subject,
                "external_id": m.message_id,
                "attachments": [
                    {
                        "filename": a.get("filename") or "",
                        "content_type": a.get("content_type") or "",
                        "size": a.get("size") or 0,
                    }
                    for a in json.loads(m.attachments or "[]")
                ],
            }
        )
    attempts = session.exec(
        select(ContactAttempt)
        .where(ContactAttempt.case_id == case.id)
        .order_by(col(ContactAttempt.at), col(ContactAttempt.id))
    ).all()
    for a in attempts:
        # A call note (tjänsteanteckning) is a document of the case too.
        docs.append(
            {
                "document_id": f"C{a.id}",
                "document_date": iso(a.at, cfg),
                "document_direction": "internal",
                "document_kind": f"call_note:{a.outcome}",
                "document_subject": "",
                "external_id": "",
                "attachments": [],
            }
        )
    docs.sort(key=lambda d: (d["document_date"] or "", d["document_id"]))
    for n, d in enumerate(docs, start=1):
        d["document_no"] = n
    return {
        "reference": case.ref,
        "received_date": case.received_at.astimezone(tz).date().isoformat(),
        "received_at": iso(case.received_at, cfg),
        "registered_at": iso(case.created_at, cfg),
        "direction": Direction.INBOUND.value,
        "source": case.source,
        "case_type": case.type,
        "sender_name": person.name,
        "sender_email": person.email,
        "sender_phone": case.phone,
        "representative_of": person.representative_of,
        "subject": case.subject,
        "status": case.status,
        "closed_at": iso(case.closed_at, cfg),
        "resolution": case.resolution,
        "documents": [{k: d[k] for k in DOCUMENT_FIELDS} for d in docs],
    }


def registration_records(
    session: Session, cfg: Config, start: date | None, end: date | None
) -> list[dict[str, Any]]:
    """Registration records of every case received from ``start`` to ``end`` (local dates)."""
    return [registration_record(session, cfg, c) for c in cases_received(session, cfg, start, end)]


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def records_csv(records: list[dict[str, Any]]) -> str:
    """One row per document (a case without documents still gets one row)."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(CSV_FIELDS), lineterminator="\r\n")
    writer.writeheader()
    for rec in records:
        base = {k: _cell(rec[k]) for k in CASE_FIELDS}
        for doc in rec["documents"] or [None]:
            row = dict(base)
            if doc is not None:
                row.update({k: _cell(doc[k]) for k in DOCUMENT_FIELDS if k != "attachments"})
                row["attachments"] = "; ".join(
                    f"{a['filename'] or '(unnamed)'} ({a['content_type']}, {a['size']} B)"
                    for a in doc["attachments"]
                )
            else:
                row.update(dict.fromkeys(DOCUMENT_FIELDS, ""))
            writer.writerow(row)
    return buf.getvalue()
