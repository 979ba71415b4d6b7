"""Citizen emails over a real SMTP server (aiosmtpd): content, language, headers,
threading, retries, rejections, loop guards."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from bot.actions.cases import get_case, log_contact
from bot.actions.citizen_mail import request_number, send_confirmation
from bot.actions.trail import authorize
from bot.adapters.smtp import SmtpMailer
from bot.clock import FixedClock
from bot.config import Secrets
from bot.errors import InvalidAction
from bot.store.db import session_scope
from bot.store.models import Outcome
from tests.conftest import make_config
from tests.harness import Bot, body_text, email
from tests.support.smtp import ReceivedMail, SmtpTestServer


@pytest.fixture
def smtp_bot(
    tmp_path: Path, db_url: str, engine: Engine, clock: FixedClock, smtp_server: SmtpTestServer
) -> Bot:
    cfg = make_config(
        tmp_path,
        db_url,
        outgoing={
            "kind": "smtp",
            "host": "127.0.0.1",
            "port": smtp_server.port,
            "security": "none",
            "username": "",
            "reply_to": "Synpunkter <svar@example.org>",
        },
    )
    mailer = SmtpMailer(cfg.outgoing, Secrets(smtp_password=SecretStr("")))
    bot = Bot(cfg, engine, clock, tmp_path, mailer=mailer)
    bot.smtp = smtp_server  # type: ignore[attr-defined]
    return bot


def received(bot: Bot) -> list[ReceivedMail]:
    smtp: SmtpTestServer = bot.smtp  # type: ignore[attr-defined]
    return smtp.messages


@pytest.mark.parametrize(
    "body,lang,needle",
    [
        (
            "Hej, hemtjänsten kom inte i går och ingen ringde. Ring mig på 070-123 45 67.",
            "sv",
            "Vi ringer dig på 070-123 45 67",
        ),
        (
            "Hei, hjemmetjenesten kom ikke i går, og ingen har ringt meg tilbake.",
            "nb",
            "Vi fant ikke noe telefonnummer",
        ),
        (
            "Hei, heimetenesta kom ikkje i går, og eg har ikkje høyrt noko frå dykk.",
            "nn",
            "Vi fann ikkje noko telefonnummer",
        ),
        (
            "Hello, the home care visit did not happen yesterday and nobody called me back.",
            "en",
            "We could not find a phone number",
        ),
    ],
)
def test_ack_in_the_citizens_language(smtp_bot: Bot, body: str, lang: str, needle: str) -> None:
    smtp_bot.deliver(email(body=body, msgid="<lang@x.se>"))
    smtp_bot.run_once()
    [mail] = received(smtp_bot)
    msg = mail.message
    assert mail.rcpt_tos == ("anna@example.se",)
    assert mail.mail_from == "synpunkter@example.org"
    assert msg["Content-Language"] == lang
    assert "[KL-2026-000001]" in msg["Subject"]
    assert needle in body_text(msg)
    assert "KL-2026-000001" in body_text(msg, "html")
    assert msg["Reply-To"] == "Synpunkter <svar@example.org>"
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["In-Reply-To"] == "<lang@x.se>"
    assert msg["Message-ID"].endswith("@example.org>")


def test_citizen_reply_threads_back(smtp_bot: Bot) -> None:
    smtp_bot.deliver(email(msgid="<t1@x.se>"))
    smtp_bot.run_once()
    ack = received(smtp_bot)[0].message
    smtp_bot.deliver(
        email(
            msgid="<t2@x.se>",
            subject="Sv: " + ack["Subject"],
            body="Tack, ni kan ringa efter tre.",
            headers={
                "In-Reply-To": ack["Message-ID"],
                "References": f"<t1@x.se> {ack['Message-ID']}",
            },
        )
    )
    smtp_bot.run_once()
    [case] = smtp_bot.cases()
    assert "t2@x.se" in case["message_ids"]
    assert len(received(smtp_bot)) == 1


def test_server_down_then_back_delivers_once(smtp_bot: Bot) -> None:
    smtp_bot.smtp.stop()  # type: ignore[attr-defined]
    smtp_bot.deliver(email(msgid="<d@x.se>"))
    smtp_bot.ingest()
    assert smtp_bot.flush().retried == 1
    smtp_bot.smtp.start()  # type: ignore[attr-defined]
    smtp_bot.clock.advance(minutes=1)
    assert smtp_bot.flush().sent == 1
    smtp_bot.clock.advance(hours=2)
    smtp_bot.flush()
    assert len(received(smtp_bot)) == 1
    assert smtp_bot.cases()[0]["ack_sent_at"] is not None


def test_temporary_rejection_retries_and_permanent_marks_the_case(smtp_bot: Bot) -> None:
    smtp_bot.smtp.fail_next(1, "451 4.3.0 greylisted")  # type: ignore[attr-defined]
    smtp_bot.deliver(email(msgid="<g@x.se>"))
    smtp_bot.run_once()
    assert received(smtp_bot) == []
    smtp_bot.clock.advance(minutes=1)
    smtp_bot.flush()
    assert len(received(smtp_bot)) == 1

    smtp_bot.smtp.refuse_recipient("ghost@example.se")  # type: ignore[attr-defined]
    smtp_bot.deliver(
        email(
            msgid="<p@x.se>",
            frm="Ghost <ghost@example.se>",
            body="Ingen kom. Jag har inget nummer.",
        )
    )
    smtp_bot.run_once()
    ghost = next(c for c in smtp_bot.cases() if c["complainant"]["email"] == "ghost@example.se")
    assert ghost["ack_bounced_at"] is not None and ghost["ack_sent_at"] is None
    assert ghost["escalated_at"] is not None  # no phone and no working address


def test_two_bots_ping_ponging_exchange_one_message_each(smtp_bot: Bot) -> None:
    """Another organisation's naive auto-responder answers everything, even with a new subject."""
    smtp_bot.deliver(
        email(
            msgid="<ping@other.se>",
            frm="Andra kommunen <info@other.se>",
            body="Vi har fått ditt meddelande.",
        )
    )
    for i in range(5):
        smtp_bot.run_once()
        ours = received(smtp_bot)[-1].message
        # the other bot answers our mail: once with headers, then naively without any
        smtp_bot.deliver(
            email(
                msgid=f"<pong{i}@other.se>",
                frm="Andra kommunen <info@other.se>",
                subject=f"Vi har tagit emot ditt meddelande {i}",
                headers={"In-Reply-To": ours["Message-ID"]} if i % 2 else {},
            )
        )
    smtp_bot.run_once()
    assert len(received(smtp_bot)) == 1


def test_number_request_and_written_confirmation(smtp_bot: Bot) -> None:
    smtp_bot.deliver(email(msgid="<n@x.se>", body="Hemtjänsten kom inte. Inget nummer här."))
    smtp_bot.run_once()
    with session_scope(smtp_bot.engine) as s:
        case = get_case(s, "KL-2026-000001")
        with pytest.raises(InvalidAction):
            send_confirmation(
                s,
                smtp_bot.cfg,
                smtp_bot.rt.renderer,
                case,
                authorize(smtp_bot.cfg, "cli:anna"),
                smtp_bot.clock(),
            )
        request_number(
            s,
            smtp_bot.cfg,
            smtp_bot.rt.renderer,
            case,
            authorize(smtp_bot.cfg, "cli:anna"),
            smtp_bot.clock(),
        )
    smtp_bot.flush()
    numreq = received(smtp_bot)[-1].message
    assert numreq["In-Reply-To"] == "<n@x.se>"
    assert "KL-2026-000001" in numreq["Subject"]
    assert numreq["Auto-Submitted"] is None  # sent by a person's decision
    with session_scope(smtp_bot.engine) as s:
        case = get_case(s, "KL-2026-000001")
        log_contact(
            s,
            smtp_bot.cfg,
            case,
            authorize(smtp_bot.cfg, "cli:anna"),
            smtp_bot.clock(),
            outcome=Outcome.REACHED,
            note="Samtal",
            remedy="ursäkt",
            next_step="Nytt besök på fredag kl 10",
        )
        send_confirmation(
            s,
            smtp_bot.cfg,
            smtp_bot.rt.renderer,
            case,
            authorize(smtp_bot.cfg, "cli:anna"),
            smtp_bot.clock(),
        )
    smtp_bot.flush()
    confirm = received(smtp_bot)[-1].message
    assert "Nytt besök på fredag kl 10" in body_text(confirm)
    assert len(received(smtp_bot)) == 3
