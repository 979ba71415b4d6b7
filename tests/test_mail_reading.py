"""How an email is read and classified, end to end through the pipeline (issue 12).

Every message is a case, a robot on positive evidence, or kept for a human
(``Outcome.review``) - never silently dropped. Real ``.eml`` fixtures.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import select

from bot.clock import FixedClock
from bot.config import Config
from bot.store.db import session_scope
from bot.store.models import Message, Quarantine
from tests.harness import Bot, email

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "eml"
PLACEHOLDER_ACK_ID = b"ack.KL-2026-000001@example.org"


@pytest.fixture
def bot(cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path) -> Bot:
    return Bot(cfg, engine, clock, tmp_path)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def one(bot: Bot, raw: bytes):
    bot.deliver(raw)
    [outcome] = bot.run_once()
    return outcome


@pytest.mark.parametrize(
    "name",
    [
        "bounce_antivirus_gateway.eml",
        "bounce_return_path_mailer_daemon.eml",
        "bounce_verp_sender.eml",
        "mailman_list_post.eml",
        "arf_feedback_report.eml",
        "autoreply_nb_fravaersmelding.eml",
        "own_address_plus_tag.eml",
    ],
)
def test_robot_fixtures_open_no_case_and_get_no_answer(bot: Bot, name: str) -> None:
    outcome = one(bot, fixture(name))
    assert outcome.discarded and not outcome.review and not outcome.quarantined
    assert bot.cases() == []
    assert bot.sent_emails() == []


@pytest.mark.parametrize(
    ("name", "contact", "phone", "acknowledged"),
    [
        ("webform_noreply_body_address.eml", "birgitta.lind@example.se", "+46736123456", True),
        ("webform_reply_to.eml", "helena.lund@example.se", "+46765554433", True),
        ("webform_auto_generated.eml", "jonas.ek@example.se", None, False),
        ("no_from_complaint_phone.eml", None, "+46734556677", False),
        ("from_group_undisclosed.eml", "karl.svensson@example.se", None, True),
        ("from_comment_name.eml", "anna.berg@example.se", "+46703112233", True),
        ("from_obsolete_syntax.eml", "maria.lindqvist@example.se", "+46709987766", True),
    ],
)
def test_persons_behind_awkward_mail_get_a_case(
    bot: Bot, name: str, contact: str | None, phone: str | None, acknowledged: bool
) -> None:
    outcome = one(bot, fixture(name))
    assert outcome.new_case and not outcome.review
    [case] = bot.cases()
    assert case["complainant"]["email"] == contact
    assert case["complainant"]["phone"] == phone
    sent = bot.sent_emails()
    assert (case["ack_sent_at"] is not None) is acknowledged
    assert len(sent) == (1 if acknowledged else 0)
    if acknowledged:
        assert sent[0]["To"].addresses[0].addr_spec == contact
    assert "KL-2026-000001" in bot.staff_text()  # staff are prompted either way


def test_names_from_comments_and_obsolete_syntax(bot: Bot) -> None:
    one(bot, fixture("from_comment_name.eml"))
    one(bot, fixture("from_obsolete_syntax.eml"))
    names = sorted(c["complainant"]["name"] for c in bot.cases())
    assert names == ["Anna Berg", "Maria Lindqvist"]


def test_no_address_complaint_is_never_acknowledged_even_if_the_phone_is_known(bot: Bot) -> None:
    # Someone with that phone number wrote before, from an address: the new,
    # address-less message must not send them an acknowledgement.
    one(bot, email(body="Ring mig på 073-455 66 77, snön är inte röjd.", msgid="<x1@x.se>"))
    assert len(bot.sent_emails()) == 1
    bot.clock.advance(hours=30)
    outcome = one(bot, fixture("no_from_complaint_phone.eml"))
    assert outcome.new_case
    assert len(bot.sent_emails()) == 1


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (fixture("spam_flagged_quoted_keywords.eml"), "spam"),
        (fixture("noreply_sender.eml"), "no-reply"),
        (fixture("newsletter_unsubscribe_only.eml"), "List-Unsubscribe"),
        (email(frm="undisclosed-recipients:;", body="Hej.", msgid="<short@x.se>"), "no usable"),
    ],
)
def test_ambiguous_mail_is_kept_for_review(bot: Bot, raw: bytes, reason: str) -> None:
    outcome = one(bot, raw)
    assert outcome.review and reason.lower() in outcome.review.lower()
    assert not outcome.discarded and not outcome.quarantined
    assert bot.cases() == [] and bot.sent_emails() == []
    with session_scope(bot.engine) as session:
        [kept] = session.exec(select(Quarantine)).all()
        assert kept.raw == raw and kept.reason.startswith("review: ")


def test_spam_flagged_mail_never_escalates(bot: Bot) -> None:
    one(bot, fixture("spam_flagged_quoted_keywords.eml"))
    assert "ombud" not in bot.staff_text().lower()
    assert bot.cases() == []


def _ack_id(bot: Bot) -> bytes:
    [ack] = bot.sent_emails()
    return str(ack["Message-ID"]).strip().strip("<>").encode()


@pytest.mark.parametrize(
    ("name", "frm"),
    [
        ("bounce_antivirus_gateway.eml", None),
        ("bounce_return_path_mailer_daemon.eml", None),
        # a gateway that bounces "from" our own address: classified as our own mail
        ("bounce_antivirus_gateway.eml", b"From: Exempel kommun <synpunkter@example.org>"),
    ],
)
def test_a_bounce_of_our_acknowledgement_marks_the_case(
    bot: Bot, name: str, frm: bytes | None
) -> None:
    one(bot, email(frm="Anna Andersson <anna.andersson@kommun-b.se>", msgid="<c1@x.se>"))
    raw = fixture(name).replace(PLACEHOLDER_ACK_ID, _ack_id(bot))
    if frm is not None:
        raw = raw.replace(b"From: MailScanner <mailscanner@gw.kommun-b.se>", frm)
    outcome = one(bot, raw)
    assert outcome.discarded
    [case] = bot.cases()
    assert case["ack_bounced_at"] is not None
    assert len(bot.sent_emails()) == 1


def test_an_out_of_office_reply_to_our_acknowledgement_is_not_a_bounce(bot: Bot) -> None:
    one(bot, email(msgid="<c2@x.se>"))
    ack_id = _ack_id(bot).decode()
    one(
        bot,
        email(subject="Fraværsmelding", msgid="<oof@x.se>", headers={"In-Reply-To": f"<{ack_id}>"}),
    )
    [case] = bot.cases()
    assert case["ack_bounced_at"] is None


def test_unstorable_fields_still_make_a_case(bot: Bot) -> None:
    # a 300-char display name, a 1200-char Message-ID, NUL in subject and body, a
    # lone surrogate from a mislabelled charset: a case, on SQLite and PostgreSQL
    raw = fixture("unstorable_fields.eml")
    outcome = one(bot, raw)
    assert outcome.new_case and not outcome.quarantined, outcome
    [case] = bot.cases()
    assert case["complainant"]["email"] == "kalle@example.se"
    assert len(bot.sent_emails()) == 1
    with session_scope(bot.engine) as session:
        [message] = session.exec(select(Message).where(Message.direction == "inbound")).all()
        assert len(message.message_id) <= 998 and message.message_id.startswith("xxxx")
        assert message.sender_name is not None and len(message.sender_name) <= 200
        assert "\x00" not in message.subject + message.body_text
    # the same message again is still recognised as the same one
    again = one(bot, raw)
    assert again.discarded and "duplicate" in again.discarded


def test_two_long_message_ids_that_differ_at_the_end_stay_two(bot: Bot) -> None:
    head = "y" * 1100
    one(bot, email(msgid=f"<{head}a@x.se>", frm="a@example.se"))
    outcome = one(
        bot,
        email(
            msgid=f"<{head}b@x.se>",
            frm="a@example.se",
            subject="Annat",
            body="Gatlyktan på Storgatan 4 är trasig sedan en vecka.",
        ),
    )
    assert outcome.new_case
    assert len(bot.cases()) == 2


@pytest.mark.parametrize(
    ("name", "words"),
    [
        ("gb2312_with_gbk_chars.eml", ["朱镕基", "王喆", "昇平"]),
        ("iso2022jp_extended.eml", ["①", "髙橋", "ﾃｽﾄ"]),
    ],
)
def test_cjk_mail_is_read_without_mojibake(bot: Bot, name: str, words: list[str]) -> None:
    outcome = one(bot, fixture(name))
    assert outcome.new_case
    with session_scope(bot.engine) as session:
        [message] = session.exec(select(Message).where(Message.direction == "inbound")).all()
        text = message.subject + message.body_text + (message.sender_name or "")
    for word in words:
        assert word in text
    assert "\ufffd" not in text


def test_serious_keyword_is_matched_in_the_complaints_language(bot: Bot) -> None:
    one(
        bot,
        email(
            frm="tom@example.com",
            subject="No hot water",
            msgid="<hw@x.com>",
            body="There has been no hot water in the flat for three days now, "
            "please send someone to fix the boiler.",
        ),
    )
    one(
        bot,
        email(
            frm="eva@example.se",
            subject="Hot",
            msgid="<hot@x.se>",
            body="Personalen på boendet har fått hot från en anhörig och vi är rädda.",
        ),
    )
    cases = {c["complainant"]["email"]: c for c in bot.cases()}
    assert cases["tom@example.com"]["serious"] is False
    assert cases["eva@example.se"]["serious"] is True


def test_serious_keyword_only_in_a_quote_does_not_escalate(bot: Bot) -> None:
    body = (
        "Tack för svaret, jag väntar på ert samtal om bussen som var sen i dag igen.\n\n"
        "Den 23 nov. 2026 skrev Exempel kommun <synpunkter@example.org>:\n"
        "> Vi tar alla anmälningar om hot och våld på allvar.\n"
    )
    one(bot, email(body=body, msgid="<q@x.se>"))
    [case] = bot.cases()
    assert case["serious"] is False


def test_reference_numbers_are_not_phone_numbers(bot: Bot) -> None:
    one(
        bot,
        email(
            body="Min beställning REF-73703-924 och order 12345-678 kom aldrig. "
            "Ärendet gäller KL-2026-000012 från 2026-11-20.",
            msgid="<r@x.se>",
        ),
    )
    [case] = bot.cases()
    assert case["complainant"]["phone"] is None


def test_quarantine_reason_never_carries_message_text_or_sql_parameters() -> None:
    import sqlite3

    from sqlalchemy.exc import IntegrityError

    from bot.runners.pipeline import _reason

    secret = "Anna Andersson 070-123 45 67 hemtjänsten"
    cause = sqlite3.IntegrityError("UNIQUE constraint failed: message.external_id")
    db_error = IntegrityError("INSERT INTO message (subject) VALUES (?)", (secret,), cause)
    reason = _reason(db_error)
    assert secret not in reason and "070" not in reason and "INSERT" not in reason
    assert reason.startswith("IntegrityError: IntegrityError") and "message.external_id" in reason
    try:
        raise ValueError(secret)
    except ValueError as exc:
        assert secret not in _reason(exc) and _reason(exc).startswith("ValueError at ")


def test_a_web_form_case_carries_the_citizens_name_not_the_relays(bot: Bot) -> None:
    one(bot, fixture("webform_noreply_body_address.eml"))
    [case] = bot.cases()
    assert case["complainant"]["name"] == "Birgitta Lind"


def test_case_show_masks_an_identity_number_in_a_message_subject(bot: Bot) -> None:
    from bot.actions.case_records import case_detail
    from bot.actions.cases import get_case

    one(bot, email(subject="Mitt pnr 19121212\u20131212", body="Maten var kall igen."))
    [case] = bot.cases()
    with session_scope(bot.engine) as s:
        shown = case_detail(s, bot.cfg, get_case(s, case["ref"]))
    assert "1212" not in str(shown["messages"]) and "[ID-nummer]" in str(shown["messages"])
