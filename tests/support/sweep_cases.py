"""Many cases written straight into the tables, for the reminder sweep's tests and bench."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from bot.store.models import Case, Complainant, ContactAttempt, Escalation


def fill_cases(
    engine: sa.Engine, now: datetime, open_cases: int, due: int, varied: bool = False
) -> None:
    """``open_cases`` cases received three hours before ``now``; ``due`` of them due.

    Plain: all unclaimed (each due one earns a triage reminder). ``varied``: the due
    ones also differ (claimed by a Slack user or not, serious or not, received days
    ago, with a failed call or an escalation on record, with a phone or not), so
    that every rung of the ladder is taken somewhere.
    """
    step = max(1, open_cases // due)
    cases: list[dict[str, Any]] = []
    attempts: list[dict[str, Any]] = []
    escalations: list[dict[str, Any]] = []
    for i in range(1, open_cases + 1):
        is_due = i % step == 0 and i // step <= due
        received = now - timedelta(hours=3)
        row: dict[str, Any] = {
            "id": i,
            "ref": f"KL-2026-{i:06d}",
            "source": "email",
            "type": "complaint",
            "status": "new",
            "received_at": received,
            "created_at": received,
            "updated_at": received,
            "complainant_id": 1,
            "language": "sv",
            "subject": "Bench",
            "summary": "",
            "historical": False,
            "serious": False,
            "reopened_count": 0,
            "reminders_sent": 0,
            "first_contact_due_at": now + timedelta(days=1),
            "next_check_at": now - timedelta(minutes=1) if is_due else now + timedelta(days=30),
        }
        if varied and is_due:
            kind = (i // step) % 6
            if kind in (1, 4):
                row.update(status="claimed", assignee="slack:U0STAFF", claimed_at=received)
            if kind in (2, 4):
                row["received_at"] = row["created_at"] = now - timedelta(days=9)
                row["first_contact_due_at"] = now - timedelta(days=6)
            if kind == 3:
                row["serious"] = True
                row["phone"] = "+46701234567"
            if kind == 4:  # three failed calls: the number request is offered
                attempts += [
                    {
                        "case_id": i,
                        "at": now - timedelta(hours=h),
                        "by": "slack:U0STAFF",
                        "outcome": "no_answer",
                        "note": "",
                        "hard": False,
                    }
                    for h in (7, 6, 5)
                ]
            if kind == 5:
                escalations.append(
                    {
                        "case_id": i,
                        "at": now - timedelta(days=1),
                        "reason": "serious",
                        "by": "system",
                        "to": "ombudsman",
                        "note": "",
                    }
                )
        cases.append(row)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Complainant.__table__),  # type: ignore[attr-defined]
            [{"id": 1, "name": "Bench", "email": "bench@example.se"}],
        )
        for k in range(0, len(cases), 5000):
            conn.execute(sa.insert(Case.__table__), cases[k : k + 5000])  # type: ignore[attr-defined]
        if attempts:
            conn.execute(sa.insert(ContactAttempt.__table__), attempts)  # type: ignore[attr-defined]
        if escalations:
            conn.execute(sa.insert(Escalation.__table__), escalations)  # type: ignore[attr-defined]
        if engine.dialect.name == "postgresql":
            for table in ("case", "contact_attempt", "escalation"):
                last = f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}")'  # noqa: S608
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), {last}, false)"
                )
