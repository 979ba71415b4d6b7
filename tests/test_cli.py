"""The command line as an operator (and outside checks) use it.

Most commands run in-process through the real Typer app (``run``: fast); one
smoke test per command group starts the installed entry point as a real
process (``cli``), as an operator or systemd would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.harness import email
from tests.support.cli import cases_json, cli, run, write_config
from tests.support.dovecot import Dovecot, ImapUser
from tests.support.smtp import SmtpTestServer

ROOT = Path(__file__).parent.parent
__all__ = ["cases_json", "cli", "write_config"]  # other test modules imported them from here


def test_ingest_list_log_call_close(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    for f in sorted(EXAMPLES.glob("*.eml"))[:3]:
        shutil.copyfile(f, tmp_path / "samples" / f.name)
    out = run(cfg, "ingest", "--once")
    assert "3 new cases" in out.stderr
    assert "Ring tillbaka" in out.stdout  # the staff prompt, on the console

    cases = cases_json(cfg)
    assert len(cases) == 3
    for c in cases:
        for key in (
            "ref",
            "status",
            "source",
            "received_at",
            "complainant",
            "language",
            "message_ids",
            "ack_sent_at",
            "reminders_sent",
            "first_contact_at",
            "escalated_at",
            "closed_at",
            "resolution",
        ):
            assert key in c
        assert set(c["complainant"]) >= {"name", "email", "phone"}
        assert c["received_at"][-6] in "+-"  # ISO-8601 with offset
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3

    ref = cases[0]["ref"]
    run(cfg, "case", "log-call", ref, "--outcome", "no_answer", "--by", "anna")
    run(
        cfg,
        "case",
        "log-call",
        ref,
        "--outcome",
        "reached",
        "--note",
        "Pratade 10 min.",
        "--remedy",
        "apology",
        "--next-step",
        "Ny tid på torsdag",
    )
    run(cfg, "case", "close", ref, "--resolution", "dialogue")

    # The installed entry point, as a real process: the smoke test of the ``case`` group.
    shown = json.loads(cli(cfg, "case", "show", ref, "--format", "json").stdout)
    assert shown["status"] == "closed" and shown["resolution"] == "dialogue"
    assert [a["outcome"] for a in shown["attempts"]] == ["no_answer", "reached"]
    assert shown["first_contact_at"] is not None
    actions = [a["action"] for a in shown["audit"]]
    assert actions[:1] == ["opened"] and "contact_logged" in actions and actions[-1] == "closed"
    assert shown["audit"][-1]["actor"].startswith("cli:")
    table = run(cfg, "case", "show", ref).stdout
    assert "Pratade 10 min." in table and "closed" in table

    assert ref not in [c["ref"] for c in cases_json(cfg)]
    assert ref in [c["ref"] for c in cases_json(cfg, "--all")]

    report = json.loads(run(cfg, "report", "--format", "json").stdout)
    assert report["received"] == 3 and report["resolved_through_dialogue"] == pytest.approx(1 / 3)
    assert "metric,value" in run(cfg, "report", "--format", "csv").stdout


def test_exit_codes(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    assert run(cfg, "case", "show", "KL-2026-999999", check=False).returncode == 3
    run(cfg, "ingest", "--once")
    assert cases_json(cfg) == []
    (tmp_path / "inbox" / "new" / "x").write_bytes(email())
    run(cfg, "ingest", "--once")
    [c] = cases_json(cfg)
    run(cfg, "case", "close", c["ref"], "--resolution", "withdrawn")
    assert (
        run(cfg, "case", "close", c["ref"], "--resolution", "dialogue", check=False).returncode == 4
    )
    assert run(cfg, "tick", "--now", "not-a-time", check=False).returncode == 2


def test_check_reports_each_server(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    out = run(cfg, "check")
    lines = out.stdout.splitlines()
    assert lines[0].startswith("ok   config")
    assert any(line.startswith("ok   database") for line in lines)
    bad = write_config(tmp_path, db_url, extra="")
    text = bad.read_text().replace(
        'kind = "folder"',
        'kind = "smtp"\nhost = "127.0.0.1"\nport = 1\nsecurity = "none"\nusername = ""',
    )
    bad.write_text(text)
    proc = run(bad, "check", check=False)
    assert proc.returncode == 1
    assert any(line.startswith("FAIL outgoing") for line in proc.stdout.splitlines())


def test_run_picks_up_new_mail_within_seconds_and_stops_on_sigterm(
    tmp_path: Path, db_url: str
) -> None:
    cfg = write_config(tmp_path, db_url)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "run", "--config", str(cfg)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not (tmp_path / "inbox" / "new").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(0.5)
        tmp = tmp_path / "inbox" / "tmp" / "drop.eml"
        tmp.write_bytes(email(msgid="<drop@x.se>"))
        dropped = time.monotonic()
        os.replace(tmp, tmp_path / "inbox" / "new" / "drop.eml")
        found = False
        while time.monotonic() - dropped < 20 and not found:
            found = any("drop@x.se" in c["message_ids"] for c in cases_json(cfg))
            time.sleep(0.2)
        assert found, "the dropped message did not become a case"
        assert list((tmp_path / "outbox").glob("*.eml")), "no acknowledgement written"
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _out, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    assert proc.returncode == 0, err
    assert "stopped" in err


def test_citizen_email_and_action_plan_commands(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    (tmp_path / "samples" / "a.eml").write_bytes(email(body="Ingen kom. Inget nummer här."))
    run(cfg, "ingest", "--once")
    [c] = cases_json(cfg)
    ref = c["ref"]
    assert run(cfg, "case", "confirm", ref, check=False).returncode == 4  # no call yet
    run(cfg, "case", "log-call", ref, "--outcome", "no_answer")
    run(cfg, "case", "request-number", ref)
    run(cfg, "case", "log-call", ref, "--outcome", "reached", "--next-step", "Besök fredag")
    run(cfg, "case", "confirm", ref)
    run(
        cfg,
        "case",
        "plan",
        ref,
        "--owner",
        "U0STAFF1",
        "--steps",
        "Ny rutin",
        "--due",
        "2099-01-15",
    )
    run(cfg, "case", "plan-done", ref, "--note", "Klart")
    from email import message_from_bytes, policy

    subjects = [
        str(message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"])
        for f in (tmp_path / "outbox").glob("*.eml")
    ]
    assert len(subjects) == 3 and all(ref in s for s in subjects)
    actions = [
        a["action"]
        for a in json.loads(run(cfg, "case", "show", ref, "--format", "json").stdout)["audit"]
    ]
    assert {
        "number_requested",
        "confirmation_sent",
        "action_plan_added",
        "action_plan_done",
    } <= set(actions)


def test_check_reaches_real_imap_and_smtp(
    tmp_path: Path, db_url: str, dovecot: Dovecot, imap_user: ImapUser, smtp_server: SmtpTestServer
) -> None:
    extra_env = {"CB_IMAP_PW": imap_user.password}
    cfg = write_config(tmp_path, db_url)
    text = cfg.read_text().replace(
        '[mailbox]\nkind = "maildir"',
        (
            f'[mailbox]\nkind = "imap"\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
            f'security = "none"\nusername = "{imap_user.name}"\npassword_env = "CB_IMAP_PW"'
        ),
    )
    text = text.replace(
        '[outgoing]\nkind = "folder"',
        (
            f'[outgoing]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
            'security = "none"\nusername = ""'
        ),
    )
    cfg.write_text(text)
    ran = run(cfg, "check", env=extra_env, check=False)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "ok   mailbox: IMAP 127.0.0.1" in ran.stdout
    assert "ok   outgoing: SMTP 127.0.0.1" in ran.stdout
    smtp_server.stop()
    broken = run(cfg, "check", env={"CB_IMAP_PW": "wrong"}, check=False)
    assert broken.returncode == 1
    assert "FAIL mailbox" in broken.stdout and "FAIL outgoing" in broken.stdout
