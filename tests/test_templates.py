"""Every citizen email and staff text, in every language, renders to what a reader expects.

Rendered through the real ``Renderer`` and ``build_citizen_email``, from the
package templates. Untrusted text enters only as variables, so template syntax
in it stays literal and HTML in it is escaped.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from bot.mail.compose import build_citizen_email
from bot.presenters.render import PACKAGE_TEMPLATES, Renderer
from bot.presenters.staff_messages import AttemptView, CaseView

LANGS = ("sv", "nb", "nn", "en")
CITIZEN_TEMPLATES = ("ack", "number_request", "confirmation")
STAFF_TEMPLATES = ("prompt", "case_message", "escalation", "reminder")
RUNGS = ("remind_triage", "remind_assignee", "retry_reminder")
RESOLUTIONS = ("dialogue", "other_measure", "not_resolved", "withdrawn", "left_service")
REF = "KL-2026-000123"

RENDERER = Renderer()


def citizen_context(**overrides: Any) -> dict[str, Any]:
    """What ``bot.actions.citizen_mail`` passes: ``citizen_context()`` plus the confirmation
    extras."""
    context: dict[str, Any] = {
        "ref": REF,
        "name": "Anna Andersson",
        "phone": "070-123 45 67",
        "call_within_days": 1,
        "organisation": "Exempel kommun",
        "org_phone": "08-123 456 78",
        "ombudsman_contact": "klagomalsombud@example.org",
        "privacy_url": "https://example.org/personuppgifter",
        "call_date": "2026-03-04",
        "remedy": "",
        "next_step": "",
        "resolution": "",
    }
    context.update(overrides)
    return context


def build(template: str, lang: str, **overrides: Any) -> EmailMessage:
    return build_citizen_email(
        renderer=RENDERER,
        template=template,
        lang=lang,
        context=citizen_context(**overrides),
        from_address="Exempel kommun <synpunkter@example.org>",
        reply_to="",
        to_address="anna@example.net",
        to_name="Anna Andersson",
        ref=REF,
        message_id=f"{template}.{REF}@example.org",
        now=datetime(2026, 3, 4, 9, 0, tzinfo=UTC),
        automatic=template == "ack",
    )


def parts(msg: EmailMessage) -> tuple[str, str, str]:
    """(subject, plain text, HTML) of a built email."""
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    return str(msg["Subject"]), text.get_content(), html.get_content()


def text_of(template: str, lang: str, **overrides: Any) -> str:
    return RENDERER.render(f"email/{template}", lang, "txt", **citizen_context(**overrides))


def sample_view(**overrides: Any) -> CaseView:
    view = CaseView(
        case_id=1,
        ref=REF,
        status="claimed",
        source="email",
        received="tis 03/03 09:15",
        age_hours=5.0,
        name="Anna Andersson",
        phone_national="070-123 45 67",
        phone_e164="+46701234567",
        email_known=True,
        language="sv",
        subject="Hemtjänsten kom inte",
        summary="Ingen kom på tisdagen.",
        deadline="ons 04/03 09:15",
        assignee="U0STAFF1",
        attempts=(AttemptView(at="tis 03/03 13:00", by="U0STAFF1", outcome="no_answer"),),
        failed_attempts=1,
        escalated=False,
        escalation_reasons=(),
        serious=False,
        ack_sent=True,
        ack_bounced=False,
        closed=False,
        resolution="",
        historical=False,
    )
    return dataclasses.replace(view, **overrides)


def staff_text(name: str, lang: str, view: CaseView | None = None, **context: Any) -> str:
    by_name: dict[str, dict[str, Any]] = {
        "case_message": {"reopened": False},
        "escalation": {
            "reason": "deadline",
            "reason_text": "tidsfristen för första kontakt har passerat",
            "note": "",
        },
        "reminder": {"rung": "remind_triage"},
    }
    defaults = by_name.get(name, {})
    return RENDERER.render(
        f"staff/{name}",
        lang,
        "txt",
        view=view or sample_view(),
        cli=False,
        **{**defaults, **context},
    )


# --- every template exists in every language (the renderer would silently fall back to sv)


@pytest.mark.parametrize("lang", LANGS)
def test_every_template_exists_in_every_language(lang: str) -> None:
    for name in CITIZEN_TEMPLATES:
        for ext in ("subject", "txt", "html"):
            assert (
                RENDERER.template_name(f"email/{name}", lang, ext)
                == f"email/{name}.{lang}.{ext}.j2"
            )
    for name in STAFF_TEMPLATES:
        assert RENDERER.template_name(f"staff/{name}", lang, "txt") == f"staff/{name}.{lang}.txt.j2"


def test_no_template_marks_anything_safe() -> None:
    for path in Path(PACKAGE_TEMPLATES).rglob("*.j2"):
        assert "|safe" not in path.read_text().replace(" ", ""), path.name


# --- citizen emails


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("template", CITIZEN_TEMPLATES)
def test_citizen_email_carries_the_reference_everywhere(template: str, lang: str) -> None:
    subject, text, html = parts(
        build(
            template,
            lang,
            remedy="apology",
            next_step="Vi ringer på fredag.",
            resolution="dialogue",
        )
    )
    assert subject.strip() and f"[{REF}]" in subject
    assert REF in text and REF in html
    assert "klagomalsombud@example.org" in text and "klagomalsombud@example.org" in html
    assert "https://example.org/personuppgifter" in text
    assert "Exempel kommun" in text and "Anna Andersson" in text
    assert html.lstrip().startswith("<!DOCTYPE html>") and f'lang="{lang}"' in html


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("template", ("ack", "number_request"))
def test_phone_and_no_phone_branches(template: str, lang: str) -> None:
    _s, with_phone, html_with_phone = parts(build(template, lang))
    no_phone_subject, without_phone, _h = parts(build(template, lang, phone=""))
    assert "070-123 45 67" in with_phone and "070-123 45 67" in html_with_phone
    assert "070-123 45 67" not in without_phone
    assert with_phone != without_phone
    assert REF in no_phone_subject


@pytest.mark.parametrize("lang", LANGS)
def test_number_request_asks_for_number_and_times_and_optional_org_phone(lang: str) -> None:
    _s, text, html = parts(build("number_request", lang))
    assert text.count("\n- ") == 2 and html.count("<li>") == 2
    assert "08-123 456 78" in text
    assert "08-123 456 78" not in text_of("number_request", lang, org_phone="")


@pytest.mark.parametrize("lang", LANGS)
def test_confirmation_shows_what_was_agreed(lang: str) -> None:
    bare = text_of("confirmation", lang)
    assert "2026-03-04" in bare
    with_step = text_of("confirmation", lang, next_step="Vi ringer på fredag.")
    assert "Vi ringer på fredag." in with_step and with_step != bare
    # Free-text remedies are shown as written; known ones as a sentence.
    assert "Nytt besök" in text_of("confirmation", lang, remedy="Nytt besök")
    apology = text_of("confirmation", lang, remedy="apology")
    assert apology != bare and "apology" not in apology
    assert text_of("confirmation", lang, remedy=" Ursäkt ") == apology
    assert text_of("confirmation", lang, remedy="compensation") not in (bare, apology)


@pytest.mark.parametrize("lang", LANGS)
def test_confirmation_words_each_resolution_and_omits_unknown_ones(lang: str) -> None:
    bare = text_of("confirmation", lang)
    phrases = {r: text_of("confirmation", lang, resolution=r) for r in RESOLUTIONS}
    for resolution, text in phrases.items():
        assert text != bare and resolution not in text, resolution
    assert len(set(phrases.values())) == len(RESOLUTIONS)
    assert text_of("confirmation", lang, resolution="something_new") == bare
    html = RENDERER.render(
        "email/confirmation", lang, "html", **citizen_context(resolution="something_new")
    )
    assert "something_new" not in html


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("template", CITIZEN_TEMPLATES)
def test_untrusted_text_stays_literal_and_escaped(template: str, lang: str) -> None:
    hostile = "{{ 7*7 }} <script>alert(1)</script>"
    subject, text, html = parts(
        build(
            template, lang, name=hostile, next_step=hostile, remedy=hostile, resolution="dialogue"
        )
    )
    assert "{{ 7*7 }}" in text and "49" not in text
    assert "<script>" in text  # plain text is shown as typed
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "{{ 7*7 }}" in html and "49" not in html
    assert "49" not in subject


def test_bokmal_and_nynorsk_are_different_written_standards() -> None:
    nynorsk, bokmal = {"ikkje", "korleis", "saka"}, {"ikke", "hvordan", "saken"}
    for template in CITIZEN_TEMPLATES:
        nb = set(text_of(template, "nb", phone="").replace(",", " ").split())
        nn = set(text_of(template, "nn", phone="").replace(",", " ").split())
        assert nynorsk <= nn and not bokmal & nn, template
        assert bokmal <= nb and not nynorsk & nb, template


# --- staff texts


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", STAFF_TEMPLATES)
def test_every_staff_text_renders_with_the_reference(name: str, lang: str) -> None:
    text = staff_text(name, lang)
    assert REF in text and text.strip()
    assert "None" not in text


@pytest.mark.parametrize("lang", LANGS)
def test_prompt_has_the_call_method_checklist_while_open(lang: str) -> None:
    open_case = staff_text("prompt", lang)
    assert open_case.count("☐") == 7
    assert "070-123 45 67" in open_case and "+46701234567" in open_case
    assert "no_answer" not in open_case  # attempt outcomes in words
    closed = staff_text("prompt", lang, sample_view(closed=True, resolution="dialogue"))
    assert "☐" not in closed and "(dialogue)" not in closed
    with_cli = RENDERER.render("staff/prompt", lang, "txt", view=sample_view(), cli=True)
    assert f"case log-call {REF}" in with_cli
    no_phone = staff_text("prompt", lang, sample_view(phone_national="", phone_e164=""))
    assert "070-123 45 67" not in no_phone


@pytest.mark.parametrize("lang", LANGS)
def test_reminder_differs_per_rung(lang: str) -> None:
    texts = [staff_text("reminder", lang, rung=rung) for rung in (*RUNGS, "")]
    assert len(set(texts)) == len(texts)
    assert all(REF in t and "070-123 45 67" in t for t in texts)


@pytest.mark.parametrize("lang", LANGS)
def test_escalation_gives_the_reason_and_note(lang: str) -> None:
    text = staff_text(
        "escalation",
        lang,
        reason="serious",
        reason_text="ärendet är allvarligt",
        note="Hot i samtalet",
    )
    assert "Hot i samtalet" in text
    others = staff_text("escalation", lang, reason="staff", reason_text="personalen bad om det")
    assert others != staff_text(
        "escalation", lang, reason="serious", reason_text="ärendet är allvarligt"
    )
    # An unknown reason falls back to the text the outbox gives.
    assert "helt ny orsak" in staff_text(
        "escalation", lang, reason="new", reason_text="helt ny orsak"
    )


@pytest.mark.parametrize("lang", LANGS)
def test_case_message_says_when_the_case_was_reopened(lang: str) -> None:
    plain = staff_text("case_message", lang)
    reopened = staff_text("case_message", lang, reopened=True)
    assert plain != reopened and REF in reopened
    nameless = staff_text("case_message", lang, sample_view(name=""))
    assert nameless.split(":", 1)[1].strip() and "Anna" not in nameless


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", STAFF_TEMPLATES)
def test_staff_texts_keep_template_syntax_in_case_data_literal(name: str, lang: str) -> None:
    view = sample_view(name="{{ 7*7 }}", subject="{% if true %}x{% endif %}", summary="{{ 7*7 }}")
    text = staff_text(name, lang, view, note="{{ 7*7 }}")
    assert "49" not in text
    if name in ("prompt", "escalation"):
        assert "{% if true %}x{% endif %}" in text
    if name != "reminder":  # a reminder shows no case data beyond the reference
        assert "{{ 7*7 }}" in text


@pytest.mark.parametrize("lang", LANGS)
def test_reminder_puts_the_number_on_its_own_line(lang: str) -> None:
    for rung in (*RUNGS, ""):
        lines = staff_text("reminder", lang, rung=rung).splitlines()
        assert lines[-1].endswith(": 070-123 45 67") and len(lines) == 2, rung


# --- a letter written once per shape reads as the letter rendered whole (Renderer.letter)

LETTER_WORDS = [
    {},
    {"name": "", "phone": ""},
    {"name": '<b>Åsa & "Bo"</b> {{ x }}', "phone": "070-1 <2>"},
    {"name": " Anna ", "phone": "070\n123"},  # space at an end: rendered whole
    {"status_url": "https://example.org/s/a&b<c>"},
    {"status_url": "https://example.org/s/abc", "name": "Ölof", "phone": ""},
    {"call_date": "2026-03-05", "remedy": "apology", "next_step": "we call again"},
    {"remedy": "compensation", "resolution": "dialogue"},
]


@pytest.mark.parametrize("template", CITIZEN_TEMPLATES)
@pytest.mark.parametrize("lang", LANGS)
def test_a_letter_written_once_per_shape_reads_as_the_letter_rendered_whole(
    template: str, lang: str
) -> None:
    renderer = Renderer()
    for words in LETTER_WORDS:
        for ref in (REF, "KL-2026-000999"):
            context = citizen_context(ref=ref, **words)
            for ext in ("subject", "txt", "html"):
                expected = RENDERER.render(f"email/{template}", lang, ext, **context)
                assert renderer.letter(f"email/{template}", lang, ext, context) == expected
    assert any(s is not None for s in renderer._skeletons.values())  # the quick way was taken


def test_an_organisations_own_letters_are_rendered_whole(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "ack.sv.txt.j2").write_text("Hej {{ name|upper }} ({{ name|length }})\n")
    renderer = Renderer(tmp_path, "sv")
    for name in ("Anna", "Bo"):
        context = citizen_context(name=name)
        assert (
            renderer.letter("email/ack", "sv", "txt", context)
            == f"Hej {name.upper()} ({len(name)})\n"
        )
    assert not renderer._skeletons
