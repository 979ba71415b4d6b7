"""The web front over HTTP, against the running app (uvicorn on a free port), on SQLite
and PostgreSQL: what a POST opens, what a replayed or hostile POST does not."""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from pathlib import Path

from sqlmodel import select

from bot.actions.cases import close_case, get_case, log_contact
from bot.actions.erasure import erase_person
from bot.actions.privacy import Person
from bot.actions.trail import authorize
from bot.clock import FixedClock
from bot.store.db import session_scope
from bot.store.models import Audit, Case, Message, Outbox, Outcome, Resolution, StatusLink
from tests.support.web import Site, running_site
from tests.web.conftest import web_config

STORY = "Hemtjänsten kom inte i tisdags. Min mamma väntade hela dagen."


def cases(site: Site) -> list[Case]:
    with session_scope(site.rt.db) as s:
        found = s.exec(select(Case)).all()
        for c in found:
            s.expunge(c)
        return list(found)


def outbox(site: Site) -> list[Outbox]:
    with session_scope(site.rt.db) as s:
        rows = s.exec(select(Outbox)).all()
        for r in rows:
            s.expunge(r)
        return list(rows)


def test_a_post_opens_one_case_with_one_ack_and_one_prompt(site: Site) -> None:
    reply = site.fill(
        "sv",
        message=STORY + " Mitt personnummer är 19121212-1212.",
        name="Anna Berg",
        phone="070-123 45 67",
        email="Anna@Example.se",
        best_time="vardagar efter 15",
    )
    assert reply.status == 200 and reply.ref == "KL-2026-000001"
    assert "070-123 45 67" in reply.text and "vardagar efter 15" in reply.text
    [case] = cases(site)
    assert (case.source, case.phone, case.language) == ("web", "+46701234567", "sv")
    assert "19121212" not in case.summary and "Bäst att ringa: vardagar efter 15" in case.summary
    entries = outbox(site)
    assert sorted(o.dedupe_key for o in entries) == [f"ack:{case.id}", f"prompt:{case.id}"]
    assert all(o.status == "sent" for o in entries)  # delivered at once
    [eml] = (Path(site.rt.cfg.base_dir) / "outbox").glob("*.eml")
    mail = message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert str(mail["To"]) == "Anna Berg <anna@example.se>"
    text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    status_link = reply.status_path
    assert status_link and f"https://synpunkter.example.org{status_link}" in text
    chat = (Path(site.rt.cfg.base_dir) / "chat.log").read_text()
    assert "+46701234567" in chat and "19121212" not in chat


def test_a_replayed_post_opens_nothing_and_shows_the_same_reference(site: Site) -> None:
    form = site.client.get("/")
    site.clock.advance(seconds=5)
    fields = {
        "form_token": form.hidden("form_token"),
        "message": STORY,
        "phone": "070-123 45 67",
    }
    first = site.client.post(fields)
    again = site.client.post({**fields, "message": "Something else entirely"})
    assert first.ref == again.ref == "KL-2026-000001"
    assert first.status_path == again.status_path
    assert len(cases(site)) == 1 and len(outbox(site)) == 1  # one prompt, no ack (no email)


def test_hostile_posts_change_nothing_and_get_a_clear_answer(site: Site) -> None:
    form = site.client.get("/?lang=en")
    token = form.hidden("form_token")
    site.clock.advance(seconds=5)
    good = {"form_token": token, "lang": "en", "message": STORY, "phone": "070-123 45 67"}
    hostile = [
        ({**good, "form_token": ""}, 403, "The form could not be sent"),
        ({**good, "form_token": token[:-3] + "AAA"}, 403, "The form could not be sent"),
        ({**good, "message": "<script>alert(1)</script>"}, 400, "remove code or HTML"),
        ({**good, "name": "<script>alert(1)</script>"}, 400, "remove code or HTML"),
        ({**good, "email": "a@example.se\r\nBcc: all@example.se"}, 400, "only have one line"),
        ({**good, "name": "Anna\r\nX-Header: 1"}, 400, "only have one line"),
        ({**good, "message": "x" * 10_001}, 400, "too long"),
    ]
    for fields, status, words in hostile:
        reply = site.client.post(fields)
        assert reply.status == status, fields
        assert words in reply.text and '<html lang="en">' in reply.text
        assert "<script>alert" not in reply.text  # never reflected unescaped
    # From another site's page: refused even with a good token.
    foreign = site.client.post(good, headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    # Over the size limit: refused before it is read.
    huge = site.client.post({**good, "message": "x" * 6_000_000}, {"Accept-Language": "en"})
    assert huge.status == 413 and "too large" in huge.text
    odd = site.client.request("POST", "/", b"{}", {"Content-Type": "application/json"})
    assert odd.status == 415
    assert cases(site) == [] and outbox(site) == []


def test_a_refused_form_comes_back_with_what_was_typed_and_errors_tied_to_fields(
    site: Site,
) -> None:
    reply = site.fill("sv", message=STORY, name="Anna <Berg>", phone="", email="fel")
    assert reply.status == 400
    assert STORY in reply.text and "Anna &lt;Berg&gt;" in reply.text
    assert 'aria-describedby="h-email e-email" aria-invalid="true"' in reply.text
    assert 'href="#f-email"' in reply.text  # the error summary links the field
    assert cases(site) == []


def test_a_form_sent_too_fast_is_shown_again_with_the_text_kept(site: Site) -> None:
    reply = site.fill("nb", wait=0.5, message=STORY, phone="912 34 567")
    assert reply.status == 400 and "sendt svært raskt" in reply.text and STORY in reply.text
    assert cases(site) == []
    site.clock.advance(seconds=3)  # the new token on that page is old enough now
    again = site.client.post(
        {
            "form_token": reply.hidden("form_token"),
            "lang": "nb",
            "message": STORY,
            "phone": "912 34 567",
        }
    )
    assert again.status == 200
    [case] = cases(site)
    assert (case.language, case.phone) == ("nb", "+4791234567")


def test_the_honeypot_opens_nothing(site: Site) -> None:
    reply = site.fill("sv", message=STORY, phone="070-123 45 67", website="http://spam")
    assert reply.status == 400 and STORY in reply.text and cases(site) == []


def test_an_anonymous_complaint_is_opened_and_nobody_is_asked_to_call(site: Site) -> None:
    reply = site.fill(
        "en",
        message=STORY,
        anonymous="1",
        name="Anna",
        email="anna@example.se",
        phone="070-123 45 67",
    )
    assert reply.status == 200 and "stay anonymous" in reply.text
    [case] = cases(site)
    assert case.phone is None and case.first_contact_due_at is None and case.next_check_at is None
    assert "Anonym" in case.summary
    assert [o.dedupe_key for o in outbox(site)] == [f"prompt:{case.id}"]  # no ack
    with session_scope(site.rt.db) as s:
        [msg] = s.exec(select(Message)).all()
        assert msg.sender is None and msg.sender_name is None
        assert s.exec(select(Audit).where(Audit.action == "anonymous")).first() is not None
    status = site.client.get(reply.status_path or "")
    assert "nobody will call you" in status.text


def test_an_attachment_is_kept_with_the_message(site: Site) -> None:
    form = site.client.get("/")
    site.clock.advance(seconds=5)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 500
    fields = {"form_token": form.hidden("form_token"), "message": STORY, "phone": "0701234567"}
    reply = site.client.post(fields, files={"attachment": ("trasig.png", "image/png", png)})
    assert reply.status == 200
    with session_scope(site.rt.db) as s:
        [msg] = s.exec(select(Message)).all()
        assert json.loads(msg.attachments) == [
            {"filename": "trasig.png", "content_type": "image/png", "size": len(png)}
        ]
        assert msg.raw is not None and b"trasig.png" in msg.raw
    form = site.client.get("/")
    site.clock.advance(seconds=5)
    bad = site.client.post(
        {**fields, "form_token": form.hidden("form_token")},
        files={"attachment": ("x.png", "image/png", b"<html><script>alert(1)</script>")},
    )
    assert bad.status == 400 and STORY in bad.text and len(cases(site)) == 1


def test_rate_limits_per_address_honour_forwarded_for_only_from_trusted_proxies(
    tmp_path: Path, db_url: str, clock: FixedClock
) -> None:
    cfg = web_config(tmp_path, db_url, rate_per_address=1, trusted_proxies=["127.0.0.1"])
    with running_site(cfg, clock) as site:
        first = site.fill("sv", message=STORY, phone="070-123 45 67")
        assert first.status == 200
        form = site.client.get("/")
        site.clock.advance(seconds=5)
        fields = {"form_token": form.hidden("form_token"), "message": STORY, "phone": "0701234567"}
        limited = site.client.post(fields)
        assert limited.status == 429 and STORY in limited.text
        # Another citizen behind the same (trusted) proxy is not limited by the first.
        other = site.client.post(fields, headers={"X-Forwarded-For": "198.51.100.7"})
        assert other.status == 200
    cfg = web_config(tmp_path, db_url, rate_per_address=1)
    with running_site(cfg, clock) as site:
        site.fill("sv", message=STORY, phone="070-123 45 67")
        form = site.client.get("/")
        site.clock.advance(seconds=5)
        fields = {"form_token": form.hidden("form_token"), "message": STORY, "phone": "0701234567"}
        # Not a trusted proxy: a forged header does not get around the limit.
        forged = site.client.post(fields, headers={"X-Forwarded-For": "198.51.100.8"})
        assert forged.status == 429


def test_pages_carry_strict_security_headers_and_the_chosen_language(site: Site) -> None:
    page = site.client.get("/", headers={"Accept-Language": "nn-NO,en;q=0.5"})
    assert page.status == 200 and '<html lang="nn">' in page.text
    csp = page.headers["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'self'" in csp
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    assert page.headers["Referrer-Policy"] == "same-origin"
    assert "<script" not in page.text and "style=" not in page.text
    for lang in ("sv", "nb", "nn", "en"):
        assert f'href="/?lang={lang}"' in page.text or lang == "nn"
    assert site.client.get("/static/web.css").headers["Content-Type"].startswith("text/css")
    missing = site.client.get("/nowhere?lang=en")
    assert missing.status == 404 and "Page not found" in missing.text


def test_the_frame_ancestors_come_from_the_config(
    tmp_path: Path, db_url: str, clock: FixedClock
) -> None:
    cfg = web_config(tmp_path, db_url, frame_ancestors=["https://www.example.org"])
    with running_site(cfg, clock) as site:
        headers = site.client.get("/").headers
        assert (
            "frame-ancestors 'self' https://www.example.org" in headers["Content-Security-Policy"]
        )
        assert "X-Frame-Options" not in headers


def test_the_status_page_follows_the_case_and_erasure_revokes_it(site: Site) -> None:
    reply = site.fill("en", message=STORY, phone="070-123 45 67", email="anna@example.se")
    path = reply.status_path or ""
    page = site.client.get(path)
    assert page.status == 200 and "We received your case on 2026-11-24" in page.text
    assert "Someone here will call you" in page.text
    assert page.headers["Cache-Control"] == "no-store" and page.headers["X-Robots-Tag"] == "noindex"
    with session_scope(site.rt.db) as s:
        case = get_case(s, "KL-2026-000001")
        log_contact(
            s,
            site.rt.cfg,
            case,
            authorize(site.rt.cfg, "slack:U0STAFF1"),
            site.clock(),
            outcome=Outcome.NO_ANSWER,
            note="Staff note that must not show",
        )
    page = site.client.get(path)
    assert "We tried to call you on 2026-11-24" in page.text
    assert "Staff note" not in page.text and "U0STAFF1" not in page.text
    assert "Vi försökte" in site.client.get(path + "?lang=sv").text
    with session_scope(site.rt.db) as s:
        case = get_case(s, "KL-2026-000001")
        log_contact(
            s,
            site.rt.cfg,
            case,
            authorize(site.rt.cfg, "slack:U0STAFF1"),
            site.clock(),
            outcome=Outcome.REACHED,
        )
        close_case(
            s,
            site.rt.cfg,
            case,
            authorize(site.rt.cfg, "slack:U0STAFF1"),
            site.clock(),
            resolution=Resolution.DIALOGUE,
        )
    page = site.client.get(path)
    assert "We talked to you" in page.text and "The case was closed on 2026-11-24" in page.text
    assert site.client.get(path[:-4] + "AAAA").status == 404  # a guessed token
    with session_scope(site.rt.db) as s:
        erase_person(s, Person(email="anna@example.se"), site.clock(), "cli:test")
        assert s.exec(select(StatusLink)).all() == []
    gone = site.client.get(path + "?lang=en")
    assert gone.status == 404 and "no longer works" in gone.text and "KL-2026" not in gone.text


def test_a_status_link_runs_out(site: Site) -> None:
    reply = site.fill("sv", message=STORY, phone="070-123 45 67")
    site.clock.advance(days=site.rt.cfg.web.status_days + 1)
    assert site.client.get(reply.status_path or "").status == 404


def test_an_email_complaint_ack_links_a_status_page_while_the_web_runs(site: Site) -> None:
    from bot.actions.cases import complainant_of
    from bot.actions.citizen_mail import queue_citizen_email
    from bot.actions.opening import NewComplaint, open_case

    with session_scope(site.rt.db) as s:
        case = open_case(
            s,
            site.rt.cfg,
            NewComplaint(source="email", received_at=site.clock(), email="b@example.se"),
            site.clock(),
        )
        queue_citizen_email(
            s,
            site.rt.cfg,
            site.rt.renderer,
            case,
            complainant_of(s, case),
            site.clock(),
            template="ack",
            dedupe_key="ack:x",
        )
        [row] = s.exec(select(Outbox)).all()
        mail = message_from_bytes(json.loads(row.payload)["eml"].encode(), policy=policy.default)
        eml = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    link = eml.split("https://synpunkter.example.org", 1)[1].split()[0]
    page = site.client.get(link)
    assert page.status == 200 and case.ref in page.text
