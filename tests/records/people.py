"""Two complainants with real ingested mail, a call note, an escalation and an action plan."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from bot.actions.cases import escalate, get_case, log_contact
from bot.actions.trail import authorize
from bot.clock import FixedClock
from bot.config import Config
from bot.store.db import session_scope
from bot.store.models import ActionPlan, EscalationReason, Outcome
from tests.conftest import make_config
from tests.harness import Bot, email
from tests.support.cli import write_config

ANNA_BODY = "Hej, hemtjänsten kom inte i går. Ring mig på 070-123 45 67."
BERTIL_BODY = "Skolskjutsen kom inte i morse. Mitt nummer är 070-765 43 21."
ANNA_NOTE = "Pratade med Anna om besöket, ny tid på torsdag."
BERTIL_NOTE = "Bertil berättade om bussen."


@dataclass
class People:
    bot: Bot
    config: Path  # for the command line
    anna: str  # case references
    bertil: str


def two_people(tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock) -> People:
    cfg: Config = make_config(tmp_path, db_url)
    bot = Bot(cfg, engine, clock, tmp_path)
    bot.deliver(email(body=ANNA_BODY, msgid="<anna-1@example.se>"))
    bot.deliver(
        email(
            frm="Bertil Berg <bertil@example.se>",
            subject="Skolskjuts",
            body=BERTIL_BODY,
            msgid="<bertil-1@example.se>",
        )
    )
    bot.run_once()
    refs = {c["complainant"]["email"]: c["ref"] for c in bot.cases()}
    now = clock()
    with session_scope(engine) as s:
        for ref, note in (
            (refs["anna@example.se"], ANNA_NOTE),
            (refs["bertil@example.se"], BERTIL_NOTE),
        ):
            case = get_case(s, ref)
            log_contact(
                s,
                cfg,
                case,
                authorize(cfg, "slack:U0STAFF1"),
                now,
                outcome=Outcome.REACHED,
                note=note,
                remedy="apology",
            )
        anna = get_case(s, refs["anna@example.se"])
        escalate(
            s,
            cfg,
            anna,
            authorize(cfg, "slack:U0STAFF1"),
            now,
            reason=EscalationReason.STAFF,
            note="Anna vill prata med chefen.",
        )
        assert anna.id is not None
        s.add(
            ActionPlan(
                case_id=anna.id,
                owner="chef",
                steps="Nytt schema för Anna.",
                due_at=now + timedelta(days=7),
                created_at=now,
            )
        )
    return People(
        bot, write_config(tmp_path, db_url), refs["anna@example.se"], refs["bertil@example.se"]
    )
