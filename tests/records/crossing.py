"""Where two people's data cross: a message from one on the other's case, mail
that never became a case, staff notes that name the other, quarantined mail."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.actions.cases import get_case, log_contact
from bot.actions.trail import authorize
from bot.mail.parse import parse_email
from bot.runners.pipeline import quarantine
from bot.store.db import session_scope
from bot.store.models import Direction, Message, Outcome, Quarantine
from tests.conftest import FIXTURES
from tests.harness import email
from tests.records.people import People

BERTIL_ON_ANNAS = "Jag är Annas granne och såg samma sak, ring mig på 070-765 43 21."
ANNA_ON_BERTILS = "Anna här, jag såg också att bussen inte kom."
BERTIL_UNATTACHED = "Skickar igen: skolskjutsen kom inte. Bertil Berg, 0707654321."
ANNA_UNATTACHED = "Anna igen: hemtjänsten har inte hört av sig."
NOTE_NAMING_BERTIL = "Grannen Bertil Berg (bertil@example.se, 070-765 43 21) hörde också av sig."
BERTIL_REMEDY = "Ersättning för taxiresa"
ANNA_FORM_TEXT = "070 123 45 67"  # in the web-form relay quarantined for Anna

# Everything that identifies Bertil or tells his story.
BERTIL_TRACES = (
    "bertil@example.se",
    "Bertil Berg",
    "+46707654321",
    "070-765 43 21",
    "070 765 43 21",
    "0707654321",
    BERTIL_REMEDY,
    "Skolskjutsen kom inte",
    "Annas granne",
    "Bussen stannade inte",
    "Bertil berättade",
)


@dataclass
class Crossing:
    bertil_quarantine_ids: list[int]
    anna_quarantine_ids: list[int]


def _message(case_id: int | None, frm: str, body: str, msgid: str, at: datetime) -> Message:
    raw = email(frm=frm, body=body, msgid=f"<{msgid}>", subject="Samma sak")
    parsed = parse_email(raw)
    return Message(
        case_id=case_id,
        direction=Direction.INBOUND.value,
        channel="email",
        external_id=msgid,
        content_hash=parsed.content_hash,
        sender=parsed.from_address,
        sender_name=parsed.from_name,
        subject=parsed.subject,
        body_text=parsed.body_text,
        raw=raw,
        at=at,
    )


def cross(people: People, engine: Engine) -> Crossing:
    """Store the crossings as the pipeline and staff would have left them."""
    cfg, now = people.bot.cfg, people.bot.clock()
    form = (FIXTURES / "eml" / "webform_relay_base64.eml").read_bytes()
    anna_body = base64.encodebytes(
        f"Namn: Anna Andersson\nTelefon: {ANNA_FORM_TEXT}\nHemtjänsten kom inte.\n".encode()
    )
    anna_form = form.split(b"\r\n\r\n", 1)[0] + b"\r\n\r\n" + anna_body.replace(b"\n", b"\r\n")
    with session_scope(engine) as s:
        anna, bertil = get_case(s, people.anna), get_case(s, people.bertil)
        s.add(
            _message(
                anna.id,
                "Bertil Berg <bertil@example.se>",
                BERTIL_ON_ANNAS,
                "bertil-2@example.se",
                now + timedelta(minutes=5),
            )
        )
        s.add(
            _message(
                bertil.id,
                "Anna Andersson <anna@example.se>",
                ANNA_ON_BERTILS,
                "anna-2@example.se",
                now + timedelta(minutes=6),
            )
        )
        s.add(
            _message(
                None,
                "Bertil Berg <bertil@example.se>",
                BERTIL_UNATTACHED,
                "bertil-3@example.se",
                now + timedelta(minutes=7),
            )
        )
        s.add(
            _message(
                None,
                "Anna Andersson <anna@example.se>",
                ANNA_UNATTACHED,
                "anna-3@example.se",
                now + timedelta(minutes=8),
            )
        )
        log_contact(
            s,
            cfg,
            anna,
            authorize(cfg, "slack:U0STAFF1"),
            now + timedelta(minutes=9),
            outcome=Outcome.NO_ANSWER,
            note=NOTE_NAMING_BERTIL,
        )
        log_contact(
            s,
            cfg,
            bertil,
            authorize(cfg, "slack:U0STAFF1"),
            now + timedelta(minutes=9),
            outcome=Outcome.REACHED,
            note="Uppföljning.",
            remedy=BERTIL_REMEDY,
        )
        at = now + timedelta(minutes=10)
        quarantine(s, source="maildir", key="q1", reason="parser failed", raw=form, now=at)
        quarantine(
            s,
            source="maildir",
            key="q2",
            reason="parser failed",
            now=at,
            raw=email(
                frm="Bertil Berg <bertil@example.se>",
                msgid="<bq@example.se>",
                body="Ring Anna på 070-123 45 67, hon vet.",
            ),
        )
        quarantine(s, source="maildir", key="q3", reason="parser failed", raw=anna_form, now=at)
        s.flush()
        s.execute(
            sa.update(Quarantine)
            .where(Quarantine.source_key == "q2")  # type: ignore[arg-type]
            .values(resolved_at=at)
        )
        ids = {q.source_key: q.id for q in s.execute(sa.select(Quarantine)).scalars()}
    return Crossing([ids["q1"], ids["q2"]], [ids["q3"]])
