"""Screenshots of the web form and its answer page for docs/web.md.

Run:  .venv/bin/python scripts/web_screenshots.py   (after scripts/install-test-servers)

Serves the real web front on a throw-away SQLite database, fills in the form in a
headless Chromium and saves docs/web-form.png, docs/web-answer.png, docs/web-status.png.
"""

from __future__ import annotations

import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import FixedClock  # noqa: E402
from bot.config import parse_config  # noqa: E402
from bot.store import db  # noqa: E402
from tests.support import browser  # noqa: E402
from tests.support.web import running_site  # noqa: E402


def main() -> int:
    problem = browser.missing()
    if problem:
        print(problem, file=sys.stderr)
        return 1
    tmp = Path(tempfile.mkdtemp(prefix="cb-shots-"))
    url = f"sqlite:///{tmp / 'shots.db'}"
    engine = db.make_engine(url)
    db.upgrade(engine)
    engine.dispose()
    cfg = parse_config(
        {
            "database": {"url": url},
            "mailbox": {"kind": "maildir", "path": str(tmp / "inbox")},
            "outgoing": {"kind": "folder", "path": str(tmp / "outbox")},
            "chat": {"kind": "console", "console_path": str(tmp / "chat.log")},
            "web": {"enabled": True},
        },
        base_dir=str(tmp),
    )
    clock = FixedClock(datetime(2026, 11, 24, 8, 0, tzinfo=UTC))
    docs = ROOT / "docs"
    with running_site(cfg, clock) as site, browser.browser_page("sv") as page:
        page.goto(f"{site.base}/?lang=sv")
        page.fill("#f-message", "Hemtjänsten kom inte i tisdags. Min mamma väntade hela dagen.")
        page.fill("#f-name", "Anna Berg")
        page.fill("#f-phone", "070-123 45 67")
        page.fill("#f-best_time", "Vardagar efter kl. 15")
        page.screenshot(path=str(docs / "web-form.png"), full_page=True)
        clock.advance(seconds=30)
        page.click("button[type=submit]")
        page.wait_for_selector("#case-ref")
        page.screenshot(path=str(docs / "web-answer.png"), full_page=True)
        page.click("#status-link")
        page.wait_for_selector("#case-ref")
        page.screenshot(path=str(docs / "web-status.png"), full_page=True)
    print("wrote docs/web-form.png, docs/web-answer.png, docs/web-status.png")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
