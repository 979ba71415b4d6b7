"""A real browser fills in the form with the keyboard only, in two languages, sees the
reference, opens the status page; axe-core finds no WCAG 2.1 A/AA violation on the
form, the form with errors, the answer and the status page."""

from __future__ import annotations

import os

import pytest

from tests.support import browser
from tests.support.web import Site

# `make test` sets CB_REQUIRE_BROWSER=1 after scripts/install-test-servers: there a missing
# browser fails the test instead of skipping it, so the scan cannot silently not run.
REQUIRED = os.environ.get("CB_REQUIRE_BROWSER") == "1"
pytestmark = pytest.mark.skipif(
    browser.missing() is not None and not REQUIRED, reason=str(browser.missing())
)


@pytest.fixture(autouse=True)
def _browser_installed() -> None:
    why = browser.missing()
    if why is not None:
        pytest.fail(f"{why}; CB_REQUIRE_BROWSER=1 (make test) requires the browser test")


def no_violations(page: object, what: str) -> None:
    found = browser.axe_violations(page)
    assert found == [], f"{what}: {found}"


@pytest.mark.parametrize(
    ("lang", "story", "phone", "expect"),
    [
        ("sv", "Ingen kom från hemtjänsten i tisdags.", "070-123 45 67", "Vi ringer dig inom"),
        ("en", "Nobody from home care came on Tuesday.", "+46 70 123 45 67", "We will call you"),
    ],
)
def test_a_citizen_sends_the_form_with_the_keyboard_and_follows_the_case(
    site: Site, lang: str, story: str, phone: str, expect: str
) -> None:
    with browser.browser_page(lang) as page:
        page.goto(f"{site.base}/?lang={lang}")
        assert page.get_attribute("html", "lang") == lang
        no_violations(page, "form")

        # Sent empty: the error summary and the field errors, still accessible.
        browser.tab_to(page, "f-message")
        browser.tab_to(page, "")  # past the fields to the button (it has no id)
        while page.evaluate("document.activeElement.tagName") != "BUTTON":
            page.keyboard.press("Tab")
        site.clock.advance(seconds=5)
        page.keyboard.press("Enter")
        page.wait_for_selector(".error-summary")
        assert page.get_attribute("#f-message", "aria-invalid") == "true"
        no_violations(page, "form with errors")

        browser.tab_to(page, "f-message")
        page.keyboard.type(story)
        browser.tab_to(page, "f-name")
        page.keyboard.type("Anna Berg")
        browser.tab_to(page, "f-phone")
        page.keyboard.type(phone)
        browser.tab_to(page, "f-best_time")
        page.keyboard.type("9-11")
        browser.tab_to(page, "f-email")
        page.keyboard.type("anna@example.se")
        while page.evaluate("document.activeElement.tagName") != "BUTTON":
            page.keyboard.press("Tab")
        site.clock.advance(seconds=5)
        page.keyboard.press("Enter")

        page.wait_for_selector("#case-ref")
        ref = page.inner_text("#case-ref")
        assert ref.startswith("KL-2026-")
        assert expect in page.inner_text("main")
        no_violations(page, "answer")

        browser.tab_to(page, "status-link")
        page.keyboard.press("Enter")
        page.wait_for_url("**/status/**")
        assert page.inner_text("#case-ref") == ref
        assert page.get_attribute("html", "lang") == lang
        no_violations(page, "status page")
