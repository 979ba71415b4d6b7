"""The inbound path end to end on the embedded adapters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import FixedClock
from bot.config import Config
from bot.ports import InboundMail
from tests.harness import Bot, body_text, email


@pytest.fixture
def bot(cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path) -> Bot:
    return Bot(cfg, engine, clock, tmp_path)


def test_complaint_opens_case_acks_and_prompts(bot: Bot) -> None:
    bot.deliver(email())
    outcomes = bot.run_once()

    assert [o.new_case for o in outcomes] == [True]
    [case] = bot.cases()
    assert case["ref"] == "KL-2026-000001"
    assert case["status"] == "acknowledged"
    assert case["source"] == "email"
    assert case["complainant"] == {
        "name": "Anna Andersson",
        "email": "anna@example.se",
        "phone": "+46701234567",
        "representative_of": None,
    }
    assert case["language"] == "sv"
    assert "m1@example.se" in case["message_ids"]
    assert case["ack_sent_at"] is not None

    [ack] = bot.sent_emails()
    assert ack["To"] == "Anna Andersson <anna@example.se>"
    assert "[KL-2026-000001]" in ack["Subject"]
    assert ack["In-Reply-To"] == "<m1@example.se>"
    assert ack["Auto-Submitted"] == "auto-replied"
    assert ack["X-Auto-Response-Suppress"] == "All"
    text = body_text(ack)
    assert "KL-2026-000001" in text and "070-123 45 67" in text

    staff = bot.staff_text()
    assert "KL-2026-000001" in staff and "070-123 45 67" in staff and "#C0TRIAGE" in staff


def test_received_time_is_arrival_not_date_header(bot: Bot, tmp_path: Path) -> None:
    path = bot.deliver(email(headers={}))  # Date header says 23 Nov 10:00 +0100
    import os

    os.utime(path, (1_795_000_000, 1_795_000_000))  # 2026-11-18T...Z
    bot.run_once()
    [case] = bot.cases()
    assert case["received_at"].startswith("2026-11-18")


def test_same_message_twice_opens_one_case_and_one_ack(bot: Bot) -> None:
    bot.deliver(email())
    bot.deliver(email())
    outcomes = bot.run_once()
    assert [o.new_case for o in outcomes] == [True, False]
    assert "duplicate" in (outcomes[1].discarded or "")
    assert len(bot.cases()) == 1
    assert len(bot.sent_emails()) == 1


def test_reply_to_ack_threads_onto_case_and_adds_phone(bot: Bot) -> None:
    bot.deliver(email(body="Hemtjänsten kom inte. Jag har inget nummer här.", msgid="<a@x.se>"))
    bot.run_once()
    [ack] = bot.sent_emails()
    assert bot.cases()[0]["complainant"]["phone"] is None
    assert "inget telefonnummer" in body_text(ack)

    reply = email(
        subject=f"Re: {ack['Subject']}",
        msgid="<b@x.se>",
        body="Ni kan ringa mig på 0701234567 efter lunch.",
        headers={"In-Reply-To": ack["Message-ID"], "References": ack["Message-ID"]},
    )
    bot.deliver(reply)
    outcomes = bot.run_once()
    assert outcomes[0].new_case is False
    [case] = bot.cases()
    assert {"a@x.se", "b@x.se"} <= set(case["message_ids"])
    assert case["complainant"]["phone"] == "+46701234567"
    assert len(bot.sent_emails()) == 1  # the reply is not acknowledged again


def test_reference_in_subject_threads(bot: Bot) -> None:
    bot.deliver(email(msgid="<a@x.se>"))
    bot.run_once()
    # From the complainant (another sender opens a case of its own: tests/test_identity.py).
    bot.deliver(
        email(
            subject="Angående KL-2026-000001",
            msgid="<c@x.se>",
            frm="Anna <ANNA@example.se>",
            body="Jag vill lägga till en sak.",
        )
    )
    bot.run_once()
    [case] = bot.cases()
    assert "c@x.se" in case["message_ids"]


@pytest.mark.parametrize(
    "headers,frm,subject",
    [
        # each carries only its own evidence, under an ordinary subject
        ({"Auto-Submitted": "auto-replied"}, "anna@example.se", "Hemtjänsten"),
        ({}, "anna@example.se", "Automatiskt svar: Frånvarande"),
        (
            {"Precedence": "bulk", "List-Unsubscribe": "<mailto:u@news.example.se>"},
            "news@example.se",
            "Hemtjänsten",
        ),
        ({"List-Id": "<lista.example.se>"}, "lista@example.se", "Hemtjänsten"),
        ({"X-Mailman-Version": "2.1.39"}, "lista@example.se", "Hemtjänsten"),
        ({}, "synpunkter@example.org", "Hemtjänsten"),
        ({}, "Synpunkter+test@Example.org", "Hemtjänsten"),
        ({}, "MAILER-DAEMON@mx.example.se", "Hemtjänsten"),
    ],
)
def test_robot_mail_opens_no_case_and_gets_no_reply(
    bot: Bot, headers: dict[str, str], frm: str, subject: str
) -> None:
    bot.deliver(email(headers=headers, frm=frm, subject=subject))
    outcomes = bot.run_once()
    assert outcomes[0].discarded and not outcomes[0].review
    assert bot.cases() == []
    assert bot.sent_emails() == []


@pytest.mark.parametrize(
    "headers,frm",
    [
        ({"Precedence": "bulk"}, "news@example.se"),  # bulk without list evidence
        ({"X-Spam-Flag": "YES"}, "anna@example.se"),  # spam-flagged
        ({}, "noreply@example.se"),  # no-reply, nobody behind it
    ],
)
def test_ambiguous_mail_is_kept_for_review_not_dropped(
    bot: Bot, headers: dict[str, str], frm: str
) -> None:
    bot.deliver(email(headers=headers, frm=frm))
    outcomes = bot.run_once()
    assert outcomes[0].review and not outcomes[0].discarded
    assert bot.cases() == []
    assert bot.sent_emails() == []


def test_one_bad_message_does_not_stop_the_next(bot: Bot) -> None:
    bot.deliver(b"\x00\x01\x02 not an email at all \xff\xfe", name="1.bad")
    bot.deliver(email(msgid="<good@x.se>"), name="2.good")
    outcomes = bot.run_once()
    assert outcomes[0].quarantined
    assert outcomes[1].new_case
    assert len(bot.cases()) == 1
    assert not list((bot.inbox / "new").iterdir())  # both handled, nothing deleted
    assert len(list((bot.inbox / "cur").iterdir())) == 2


def test_second_complaint_in_window_opens_case_silently(bot: Bot) -> None:
    bot.deliver(email(msgid="<1@x.se>"))
    bot.deliver(email(msgid="<2@x.se>", subject="En annan sak", body="Snöröjningen är dålig."))
    bot.run_once()
    assert len(bot.cases()) == 2
    assert len(bot.sent_emails()) == 1


def test_untrusted_text_is_inert(bot: Bot) -> None:
    # An encoded display name that decodes to a CR/LF plus a header: the classic injection.
    bot.deliver(
        email(
            frm="=?utf-8?b?RXZlDQpCY2M6IHZpY3RpbUBleGFtcGxlLmNvbQ==?= <eve@example.se>",
            subject="=?utf-8?q?{{ 7*7 }} <!channel>=0D=0AX-Evil:_1 <script>?=",
            body="{{ config }} {% for x in range(3) %}x{% endfor %} <b>hi</b>",
            msgid="<inj@x.se>",
        )
    )
    bot.run_once()
    [ack] = bot.sent_emails()
    assert ack["Bcc"] is None and ack["X-Evil"] is None
    assert ack["To"].addresses[0].addr_spec == "eve@example.se"
    assert "\n" not in str(ack["To"])
    html = body_text(ack, "html")
    text = body_text(ack)
    assert "<script>" not in html and "<b>hi</b>" not in html
    assert "49" not in text and "{{" not in text  # nothing of the complaint is a template
    [case] = bot.cases()
    assert case["subject"].startswith("{{ 7*7 }}")  # kept as data, shown as data


def test_national_id_never_reaches_staff(bot: Bot) -> None:
    bot.deliver(
        email(
            body="Min mamma 19121212-1212 fick ingen hjälp. Ring 070-123 45 67.", msgid="<pn@x.se>"
        )
    )
    bot.run_once()
    assert "1212" not in bot.staff_text().replace("070-123", "")
    assert "19121212" not in bot.staff_text()


def test_historical_mail_opens_silently(
    cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path
) -> None:
    class OldMailbox:
        key = "test:old"

        def __init__(self) -> None:
            self.mails = [
                InboundMail(email(msgid="<old@x.se>"), clock(), self.key, "1", historical=True)
            ]

        def pending(self) -> Iterator[InboundMail]:
            yield from self.mails

        def record(self, session: Session, mail: InboundMail) -> None:
            return None

        def done(self, mail: InboundMail) -> None:
            return None

        def wait(self, timeout: float) -> None:
            return None

        def close(self) -> None:
            return None

    bot = Bot(cfg, engine, clock, tmp_path, mailbox=OldMailbox())
    bot.run_once()
    [case] = bot.cases()
    assert case["ack_sent_at"] is None
    assert case["historical"] is True
    assert bot.sent_emails() == []
    assert bot.staff_text() == ""
