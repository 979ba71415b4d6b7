"""classify(): which mail may be acknowledged, and why not."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.mail.addresses import is_no_reply_address
from bot.mail.classify import BOT_HEADER, MailKind, classify
from bot.mail.parse import ParsedEmail, parse_email

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "eml"
OWN = ("synpunkter@example.org", "Postmottak@Example.no")


def load(name: str) -> ParsedEmail:
    return parse_email((FIXTURES / name).read_bytes())


def headers(text: str) -> ParsedEmail:
    return parse_email(text.encode("utf-8") + b"\n\nHej, jag vill klaga.\n")


@pytest.mark.parametrize(
    ("name", "kind", "header"),
    [
        ("sv_complaint_phone.eml", MailKind.COMPLAINT, ""),
        ("sv_complaint_no_phone.eml", MailKind.COMPLAINT, ""),
        ("nb_complaint_phone.eml", MailKind.COMPLAINT, ""),
        ("nn_complaint.eml", MailKind.COMPLAINT, ""),
        ("en_complaint.eml", MailKind.COMPLAINT, ""),
        ("outlook_reply_sv.eml", MailKind.COMPLAINT, ""),
        ("gmail_reply_en.eml", MailKind.COMPLAINT, ""),
        ("html_only.eml", MailKind.COMPLAINT, ""),
        ("complaint_franvaro_subject.eml", MailKind.COMPLAINT, ""),
        ("webform_reply_to.eml", MailKind.COMPLAINT, ""),
        ("own_acknowledgement.eml", MailKind.OWN, BOT_HEADER),
        ("bounce_dsn.eml", MailKind.BOUNCE, "multipart/report"),
        ("bounce_mailer_daemon_plain.eml", MailKind.BOUNCE, "MAILER-DAEMON"),
        ("bounce_x_failed_recipients.eml", MailKind.BOUNCE, "X-Failed-Recipients"),
        ("autoreply_sv_outlook.eml", MailKind.AUTO_REPLY, "Auto-Submitted"),
        ("autoreply_sv_franvaro.eml", MailKind.AUTO_REPLY, "Subject"),
        ("autoreply_nb.eml", MailKind.AUTO_REPLY, "Auto-Submitted"),
        ("autoreply_en.eml", MailKind.AUTO_REPLY, "X-Autoreply"),
        ("autoreply_precedence.eml", MailKind.AUTO_REPLY, "Precedence"),
        ("read_receipt.eml", MailKind.AUTO_REPLY, "multipart/report"),
        ("null_sender_autoreply.eml", MailKind.AUTO_REPLY, "Return-Path"),
        ("mailing_list.eml", MailKind.LIST, "List-Id"),
        ("newsletter_bulk.eml", MailKind.BULK, "Precedence"),
        ("newsletter_unsubscribe_only.eml", MailKind.REVIEW, "List-Unsubscribe"),
        ("noreply_sender.eml", MailKind.REVIEW, "From"),
    ],
)
def test_fixture_kinds(name: str, kind: MailKind, header: str) -> None:
    result = classify(load(name), OWN)
    assert result.kind is kind
    assert header in result.reason
    assert result.may_acknowledge is (kind is MailKind.COMPLAINT)


def test_own_address_matches_case_insensitively() -> None:
    mail = headers("From: Eksempel kommune <POSTMOTTAK@example.no>\nSubject: Test")
    assert classify(mail, OWN).kind is MailKind.OWN
    assert classify(mail, ()).kind is MailKind.COMPLAINT


def test_our_returned_acknowledgement_is_a_bounce_not_own_mail() -> None:
    # The bot header sits only inside the returned original, not on the bounce.
    assert classify(load("bounce_dsn.eml"), OWN).kind is MailKind.BOUNCE


def test_own_mail_wins_over_every_other_signal() -> None:
    mail = headers(
        f"From: x@example.se\nSubject: Autosvar\n{BOT_HEADER}: KL-2026-000001\nList-Id: x"
    )
    assert classify(mail, OWN).kind is MailKind.OWN


def test_auto_submitted_no_is_a_person() -> None:
    mail = headers("From: Anna <anna@example.se>\nSubject: Hej\nAuto-Submitted: no")
    assert classify(mail, OWN).kind is MailKind.COMPLAINT


@pytest.mark.parametrize("value", ["auto-generated", "auto-replied", "auto-notified; owner"])
def test_any_other_auto_submitted_is_automatic(value: str) -> None:
    mail = headers(f"From: Anna <anna@example.se>\nSubject: Hej\nAuto-Submitted: {value}")
    assert classify(mail, OWN).kind is MailKind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    [
        "Frånvaro",
        "Autosvar: Ditt ärende",
        "Automatiskt svar: Klagomål",
        "Automatisk svar: Klage",
        "Fraværende: Klage",
        "Out of office",
        "Out of Office: complaint",
        "Automatic reply: complaint",
        "Autoreply: x",
        "AUTO-REPLY",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    mail = headers(f"From: Anna <anna@example.se>\nSubject: {subject}")
    assert classify(mail, OWN).kind is MailKind.AUTO_REPLY


@pytest.mark.parametrize(
    "subject",
    ["Frånvaro av personal på förskolan", "Out of office hours the phone is not answered"],
)
def test_subjects_that_only_start_like_out_of_office_need_a_second_signal(subject: str) -> None:
    plain = headers(f"From: Anna <anna@example.se>\nSubject: {subject}")
    assert classify(plain, OWN).kind is MailKind.COMPLAINT
    suppressed = headers(
        f"From: Anna <anna@example.se>\nSubject: {subject}\nX-Auto-Response-Suppress: All"
    )
    assert classify(suppressed, OWN).kind is MailKind.AUTO_REPLY


def test_x_auto_response_suppress_alone_is_not_an_auto_reply() -> None:
    # Outlook sets it on ordinary mail too, e.g. from shared mailboxes.
    mail = headers("From: Anna <anna@example.se>\nSubject: Klagomål\nX-Auto-Response-Suppress: OOF")
    assert classify(mail, OWN).kind is MailKind.COMPLAINT


def test_bounce_is_checked_before_auto_reply() -> None:
    mail = headers(
        "From: postmaster@example.se\nSubject: Delivery failed\nAuto-Submitted: auto-replied"
    )
    assert classify(mail, OWN).kind is MailKind.BOUNCE


def test_precedence_junk_alone_is_a_doubt_and_list_is_a_list() -> None:
    junk = headers("From: a@example.se\nSubject: x\nPrecedence: junk")
    listed = headers("From: a@example.se\nSubject: x\nPrecedence: list")
    assert classify(junk, OWN).kind is MailKind.REVIEW
    assert "without list evidence" in classify(junk, OWN).reason
    assert classify(listed, OWN).kind is MailKind.LIST


def test_no_reply_reply_to_files_under_the_from_person_without_an_answer() -> None:
    mail = headers("From: Anna <anna@example.se>\nReply-To: donotreply@example.se\nSubject: x")
    result = classify(mail, OWN)
    assert result.kind is MailKind.COMPLAINT
    assert result.contact == "anna@example.se"
    assert not result.may_acknowledge
    assert "Reply-To" in result.reason


def test_mail_without_any_address_and_little_text_goes_to_review() -> None:
    result = classify(headers("Subject: x"), OWN)
    assert result.kind is MailKind.REVIEW
    assert result.needs_review and not result.may_acknowledge


@pytest.mark.parametrize(
    "address",
    [
        "noreply@example.org",
        "no-reply@example.org",
        "No_Reply@Example.org",
        "donotreply@example.org",
        "do-not-reply@example.org",
        "do.not.reply@example.org",
        "MAILER-DAEMON@mx.example.org",
        "postmaster@example.org",
        "notifications-noreply@service.example.com",
        "noreply+bounce@example.org",
        "svara-inte@example.se",
        "ikke-svar@example.no",
    ],
)
def test_no_reply_addresses(address: str) -> None:
    assert is_no_reply_address(address)


@pytest.mark.parametrize(
    "address",
    ["anna.andersson@example.se", "reply@example.org", "norah.eply@example.org", "post@example.no"],
)
def test_personal_addresses_are_not_no_reply(address: str) -> None:
    assert not is_no_reply_address(address)


# --------------------------------------------------------------------------- issue 12 rules


@pytest.mark.parametrize(
    ("name", "kind", "evidence"),
    [
        ("bounce_antivirus_gateway.eml", MailKind.BOUNCE, "antivirus"),
        ("bounce_return_path_mailer_daemon.eml", MailKind.BOUNCE, "Return-Path"),
        ("bounce_verp_sender.eml", MailKind.BOUNCE, "VERP"),
        ("mailman_list_post.eml", MailKind.LIST, "List-Subscribe"),
        ("arf_feedback_report.eml", MailKind.FEEDBACK_REPORT, "feedback-report"),
        ("autoreply_nb_fravaersmelding.eml", MailKind.AUTO_REPLY, "Subject"),
        ("own_address_plus_tag.eml", MailKind.OWN, "our own"),
        ("spam_flagged_quoted_keywords.eml", MailKind.REVIEW, "spam"),
    ],
)
def test_new_fixture_kinds(name: str, kind: MailKind, evidence: str) -> None:
    result = classify(load(name), OWN)
    assert result.kind is kind
    assert evidence.lower() in result.reason.lower()
    assert not result.may_acknowledge


@pytest.mark.parametrize(
    ("name", "contact", "acknowledge"),
    [
        ("webform_noreply_body_address.eml", "birgitta.lind@example.se", True),
        ("webform_auto_generated.eml", "jonas.ek@example.se", False),
        ("no_from_complaint_phone.eml", None, False),
        ("from_group_undisclosed.eml", "karl.svensson@example.se", True),
        ("from_comment_name.eml", "anna.berg@example.se", True),
        ("from_obsolete_syntax.eml", "maria.lindqvist@example.se", True),
    ],
)
def test_a_person_is_recovered(name: str, contact: str | None, acknowledge: bool) -> None:
    result = classify(load(name), OWN)
    assert result.kind is MailKind.COMPLAINT
    assert result.contact == contact
    assert result.may_acknowledge is acknowledge


@pytest.mark.parametrize(
    "header",
    [
        "List-Subscribe: <mailto:x-request@l.example>",
        "X-Mailman-Version: 2.1.39",
        "X-MLServer: Sympa",
        "X-Mailing-List: x@l.example",
        "X-BeenThere: x@l.example",
        "X-Loop: x@l.example",
        "Mailing-List: contact x-help@l.example; run by ezmlm",
        "List-Post: <mailto:x@l.example>",
    ],
)
def test_list_servers_are_known_by_their_headers(header: str) -> None:
    result = classify(headers(f"From: Per <per@example.se>\nSubject: Hej\n{header}"), OWN)
    assert result.kind is MailKind.LIST


@pytest.mark.parametrize(
    "subject",
    [
        "Fraværsmelding",
        "Fråversmelding: klage",
        "Frånvaromeddelande",
        "Abwesenheitsnotiz",
        "Automatische Antwort: Beschwerde",
        "Out of the office",
    ],
)
def test_out_of_office_subjects_in_more_languages(subject: str) -> None:
    mail = headers(f"From: Kari <kari@example.no>\nSubject: {subject}")
    assert classify(mail, OWN).kind is MailKind.AUTO_REPLY


@pytest.mark.parametrize(
    "sender",
    ["synpunkter+abc@example.org", "SYNPUNKTER@EXAMPLE.ORG", "postmottak+x@example.no"],
)
def test_own_address_with_tag_in_any_case(sender: str) -> None:
    mail = headers(f"From: {sender}\nSubject: Hej")
    assert classify(mail, OWN).kind is MailKind.OWN


@pytest.mark.parametrize(
    "text",
    [
        "From: Anna <anna@example.se>\nSender: <MAILER-DAEMON@mx.example.se>\nSubject: x",
        "From: Anna <anna@example.se>\nReturn-Path: <MAILER-DAEMON>\nSubject: x",
        "From: bounces+123-abc=example.org@em.example.com\nSubject: x",
        "From: bounce-77@news.example.com\nSubject: x",
        "From: Mail Delivery System <mail@gw.example.se>\nReturn-Path: <>\n"
        "Subject: Mail delivery failed: returning message to sender",
        "From: postmaster@example.se\nSubject: Delivery Status Notification (Failure)",
        "From: MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@example.se\n"
        "Subject: Undeliverable: Klagomål",
        "From: virus-gateway@example.se\nSubject: Returned mail: see transcript",
    ],
)
def test_bounces_without_dsn_structure(text: str) -> None:
    result = classify(headers(text), OWN)
    assert result.kind is MailKind.BOUNCE
    assert result.bounce


def test_a_citizen_writing_about_undelivered_mail_is_still_a_complaint() -> None:
    mail = headers("From: Anna <anna@example.se>\nSubject: Undeliverable mail from the council")
    assert classify(mail, OWN).kind is MailKind.COMPLAINT


@pytest.mark.parametrize(
    ("text", "evidence"),
    [
        ("From: a@example.se\nSubject: x\nX-Spam-Flag: YES", "spam"),
        ("From: a@example.se\nSubject: x\nX-Spam-Status: Yes, score=8.1", "spam"),
        ("From: news@example.se\nSubject: x\nPrecedence: bulk", "Precedence is bulk"),
        ("From: Banken <no-reply@bank.example>\nSubject: x", "no-reply"),
        ("From: undisclosed-recipients:;\nSubject: x", "no usable sender"),
    ],
)
def test_what_stays_ambiguous_goes_to_review(text: str, evidence: str) -> None:
    result = classify(headers(text), OWN)
    assert result.kind is MailKind.REVIEW
    assert evidence.lower() in result.reason.lower()


def test_form_relay_with_precedence_bulk_is_a_case_without_acknowledgement() -> None:
    mail = headers(
        "From: Webbformulär <noreply@example.org>\nReply-To: anna@example.se\n"
        "Subject: Synpunkt\nPrecedence: bulk"
    )
    result = classify(mail, OWN)
    assert (result.kind, result.contact, result.may_acknowledge) == (
        MailKind.COMPLAINT,
        "anna@example.se",
        False,
    )


def test_auto_replied_form_relay_stays_an_auto_reply() -> None:
    mail = headers(
        "From: noreply@example.org\nReply-To: anna@example.se\nSubject: Re: x\n"
        "Auto-Submitted: auto-replied"
    )
    assert classify(mail, OWN).kind is MailKind.AUTO_REPLY


def test_body_address_of_ours_or_no_reply_is_never_the_person() -> None:
    mail = parse_email(
        b"From: noreply@forms.example\nSubject: Form\n\n"
        b"E-post: synpunkter@example.org\nEmail: no-reply@x.example\n"
    )
    assert classify(mail, OWN).kind is MailKind.REVIEW


def test_no_address_and_a_phone_number_reads_like_a_complaint() -> None:
    mail = parse_email("Subject: Sopor\n\nRing mig på 073-455 66 77 om soporna.\n".encode())
    result = classify(mail, OWN)
    assert result.kind is MailKind.COMPLAINT and result.contact is None
    assert not result.may_acknowledge


def test_our_own_from_with_a_citizen_in_reply_to_is_a_doubt_not_a_drop() -> None:
    def raw(extra: str) -> bytes:
        return (
            f"From: Exempel kommun <synpunkter@example.org>\r\n{extra}"
            "To: synpunkter@example.org\r\nSubject: Synpunkt\r\nMessage-ID: <f1@x>\r\n\r\n"
            "Parken ar skrapig, ring mig.\r\n"
        ).encode()

    own = {"synpunkter@example.org"}
    form = classify(parse_email(raw("Reply-To: Lisa Ek <lisa@example.se>\r\n")), own)
    assert form.kind is MailKind.REVIEW and form.contact == "lisa@example.se"
    assert classify(parse_email(raw("")), own).kind is MailKind.OWN
    ours = raw(f"{BOT_HEADER}: KL-2026-000001\r\nReply-To: lisa@example.se\r\n")
    assert classify(parse_email(ours), own).kind is MailKind.OWN
    auto = raw("Auto-Submitted: auto-replied\r\nReply-To: lisa@example.se\r\n")
    assert classify(parse_email(auto), own).kind is MailKind.OWN
