"""``complaint-bot run`` as a real process with ``[web] enabled``, checked from outside the
way a citizen's browser or a script would: plain HTTP to the form, the case list from
``cases --format json``, the acknowledgement from the folder outbox, and erasure with
``purge --person ... --apply``. The process keeps the real clock, so the test waits past
the (shortened) minimum fill time."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from email import message_from_bytes, policy
from pathlib import Path

import httpx
import pytest

from tests.support.cli import cases_json, run, write_config
from tests.support.smtp import free_port

REF = re.compile(r"\b[A-Z]{1,6}-\d{4}-\d{6}\b")
HIDDEN = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)"')
SECRET = "smoke-test-secret-of-enough-length"
FIELDS = {
    "message": "Ingen från hemtjänsten kom i tisdags.",
    "name": "Anna Berg",
    "phone": "912–34–567",  # en dashes, as phones and word processors type them
    "email": "anna@example.se",
}


def wait_for(url: str, proc: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "complaint-bot run exited"
        try:
            httpx.get(url, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError(f"nothing answered on {url}")


def test_run_serves_the_form_and_a_documented_post_opens_one_case(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_FORM_SECRET", SECRET)  # the other commands read the config too
    port = free_port()
    cfg = write_config(
        tmp_path,
        db_url,
        f"""
[web]
enabled = true
port = {port}
public_url = "https://synpunkter.example.org"
min_fill_seconds = 1.0
""",
    )
    env = {**os.environ, "WEB_FORM_SECRET": SECRET, "PYTHONUNBUFFERED": "1"}
    log = (tmp_path / "run.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(cfg)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(base + "/", proc)
        with httpx.Client(base_url=base, timeout=30) as web:
            form = web.get("/", headers={"Accept-Language": "nb,en;q=0.5"})
            hidden = dict(HIDDEN.findall(form.text))
            assert form.status_code == 200 and hidden["lang"] == "nb" and hidden["form_token"]

            too_fast = web.post("/", data={**hidden, **FIELDS})
            assert too_fast.status_code == 400 and FIELDS["message"] in too_fast.text
            assert cases_json(cfg) == []

            time.sleep(2.1)  # past min_fill_seconds, on the process's real clock
            answer = web.post("/", data={**hidden, **FIELDS})
            assert answer.status_code == 200, answer.text
            [ref] = set(REF.findall(answer.text))
            [case] = cases_json(cfg)
            assert (case["ref"], case["source"], case["language"]) == (ref, "web", "nb")
            assert case["complainant"]["phone"] == "+4791234567"  # read as Norwegian (nb)

            again = web.post("/", data={**hidden, **FIELDS})
            assert again.status_code == 200 and ref in again.text
            assert len(cases_json(cfg)) == 1

            mails = wait_for_files(tmp_path / "outbox", 1)
            mail = message_from_bytes(mails[0].read_bytes(), policy=policy.default)
            text = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            [link] = re.findall(r"https://synpunkter\.example\.org(/status/[\w-]+)", text)
            assert ref in web.get(link).text
            assert web.get("/status/" + "A" * 43).status_code == 404

            run(cfg, "case", "close", ref, "--resolution", "dialogue")
            run(cfg, "purge", "--person", FIELDS["email"], "--apply")
            assert web.get(link).status_code == 404
            # The same form once more after erasure: a clear page, and nothing opened.
            replayed = web.post("/", data={**hidden, **FIELDS})
            assert replayed.status_code == 409 and "<h1>" in replayed.text
            assert cases_json(cfg) == [] and len(cases_json(cfg, "--all")) == 1
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        finally:
            log.close()
    output = (tmp_path / "run.log").read_text(errors="replace")
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    assert "anna@example.se" not in output.lower()


def wait_for_files(folder: Path, count: int, seconds: float = 20) -> list[Path]:
    deadline = time.monotonic() + seconds
    found: list[Path] = []
    while time.monotonic() < deadline:
        found = sorted(folder.glob("*.eml")) if folder.exists() else []
        if len(found) >= count:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{len(found)} files in {folder}, expected {count}")
