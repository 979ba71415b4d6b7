"""The command line as an operator (and outside checks) use it: real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import EXAMPLES
from tests.harness import email

ROOT = Path(__file__).parent.parent


def write_config(tmp_path: Path, db_url: str, extra: str = "") -> Path:
    (tmp_path / "samples").mkdir(exist_ok=True)
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'''
[database]
url = "{db_url}"
[mailbox]
kind = "maildir"
path = "inbox"
seed_dir = "samples"
[outgoing]
kind = "folder"
path = "outbox"
[chat]
kind = "console"
staff_users = ["U0STAFF1"]
ombudsman_users = ["U0OMBUD"]
{extra}
''')
    return cfg


def cli(cfg: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "bot", *args, "--config", str(cfg)],
                          capture_output=True, text=True, cwd=cfg.parent, timeout=120)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


def cases_json(cfg: Path, *flags: str) -> list[dict[str, Any]]:
    return json.loads(cli(cfg, "cases", "--format", "json", *flags).stdout)  # type: ignore[no-any-return]


def test_ingest_list_log_call_close(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    for f in sorted(EXAMPLES.glob("*.eml"))[:3]:
        shutil.copyfile(f, tmp_path / "samples" / f.name)
    out = cli(cfg, "ingest", "--once")
    assert "3 new cases" in out.stderr
    assert "Ring tillbaka" in out.stdout  # the staff prompt, on the console

    cases = cases_json(cfg)
    assert len(cases) == 3
    for c in cases:
        for key in ("ref", "status", "source", "received_at", "complainant", "language",
                    "message_ids", "ack_sent_at", "reminders_sent", "first_contact_at",
                    "escalated_at", "closed_at", "resolution"):
            assert key in c
        assert set(c["complainant"]) >= {"name", "email", "phone"}
        assert c["received_at"][-6] in "+-"  # ISO-8601 with offset
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 3

    ref = cases[0]["ref"]
    cli(cfg, "case", "log-call", ref, "--outcome", "no_answer", "--by", "anna")
    cli(cfg, "case", "log-call", ref, "--outcome", "reached", "--note", "Pratade 10 min.",
        "--remedy", "apology", "--next-step", "Ny tid på torsdag")
    cli(cfg, "case", "close", ref, "--resolution", "dialogue")

    shown = json.loads(cli(cfg, "case", "show", ref, "--format", "json").stdout)
    assert shown["status"] == "closed" and shown["resolution"] == "dialogue"
    assert [a["outcome"] for a in shown["attempts"]] == ["no_answer", "reached"]
    assert shown["first_contact_at"] is not None
    actions = [a["action"] for a in shown["audit"]]
    assert actions[:1] == ["opened"] and "contact_logged" in actions and actions[-1] == "closed"
    assert shown["audit"][-1]["actor"].startswith("cli:")
    table = cli(cfg, "case", "show", ref).stdout
    assert "Pratade 10 min." in table and "closed" in table

    assert ref not in [c["ref"] for c in cases_json(cfg)]
    assert ref in [c["ref"] for c in cases_json(cfg, "--all")]

    report = json.loads(cli(cfg, "report", "--format", "json").stdout)
    assert report["received"] == 3 and report["resolved_through_dialogue"] == pytest.approx(1 / 3)
    assert "metric,value" in cli(cfg, "report", "--format", "csv").stdout


def test_exit_codes(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    assert cli(cfg, "case", "show", "KL-2026-999999", check=False).returncode == 3
    cli(cfg, "ingest", "--once")
    assert cases_json(cfg) == []
    (tmp_path / "inbox" / "new" / "x").write_bytes(email())
    cli(cfg, "ingest", "--once")
    [c] = cases_json(cfg)
    cli(cfg, "case", "close", c["ref"], "--resolution", "withdrawn")
    assert cli(cfg, "case", "close", c["ref"], "--resolution", "dialogue",
               check=False).returncode == 4
    assert cli(cfg, "tick", "--now", "not-a-time", check=False).returncode == 2


def test_check_reports_each_server(tmp_path: Path, db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    out = cli(cfg, "check")
    lines = out.stdout.splitlines()
    assert lines[0].startswith("ok   config")
    assert any(line.startswith("ok   database") for line in lines)
    bad = write_config(tmp_path, db_url, extra="")
    text = bad.read_text().replace('kind = "folder"', 'kind = "smtp"\nhost = "127.0.0.1"\n'
                                   'port = 1\nsecurity = "none"\nusername = ""')
    bad.write_text(text)
    proc = cli(bad, "check", check=False)
    assert proc.returncode == 1
    assert any(line.startswith("FAIL outgoing") for line in proc.stdout.splitlines())


def test_run_picks_up_new_mail_within_seconds_and_stops_on_sigterm(tmp_path: Path,
                                                                   db_url: str) -> None:
    cfg = write_config(tmp_path, db_url)
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run", "--config", str(cfg)],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
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
    cli(cfg, "ingest", "--once")
    [c] = cases_json(cfg)
    ref = c["ref"]
    assert cli(cfg, "case", "confirm", ref, check=False).returncode == 4  # no call yet
    cli(cfg, "case", "log-call", ref, "--outcome", "no_answer")
    cli(cfg, "case", "request-number", ref)
    cli(cfg, "case", "log-call", ref, "--outcome", "reached", "--next-step", "Besök fredag")
    cli(cfg, "case", "confirm", ref)
    cli(cfg, "case", "plan", ref, "--owner", "U0STAFF1", "--steps", "Ny rutin", "--due",
        "2099-01-15")
    cli(cfg, "case", "plan-done", ref, "--note", "Klart")
    from email import message_from_bytes, policy

    subjects = [str(message_from_bytes(f.read_bytes(), policy=policy.default)["Subject"])
                for f in (tmp_path / "outbox").glob("*.eml")]
    assert len(subjects) == 3 and all(ref in s for s in subjects)
    actions = [a["action"] for a in json.loads(
        cli(cfg, "case", "show", ref, "--format", "json").stdout)["audit"]]
    assert {"number_requested", "confirmation_sent", "action_plan_added",
            "action_plan_done"} <= set(actions)


def test_check_reaches_real_imap_and_smtp(tmp_path: Path, db_url: str, dovecot, imap_user,  # type: ignore[no-untyped-def]
                                          smtp_server) -> None:
    extra_env = {"CB_IMAP_PW": imap_user.password}
    cfg = write_config(tmp_path, db_url)
    text = cfg.read_text().replace('[mailbox]\nkind = "maildir"', (
        f'[mailbox]\nkind = "imap"\nhost = "127.0.0.1"\nport = {dovecot.port}\n'
        f'security = "none"\nusername = "{imap_user.name}"\npassword_env = "CB_IMAP_PW"'))
    text = text.replace('[outgoing]\nkind = "folder"', (
        f'[outgoing]\nkind = "smtp"\nhost = "127.0.0.1"\nport = {smtp_server.port}\n'
        'security = "none"\nusername = ""'))
    cfg.write_text(text)
    env = {**os.environ, **extra_env}
    proc = subprocess.run([sys.executable, "-m", "bot", "check", "--config", str(cfg)],
                          capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "ok   mailbox: IMAP 127.0.0.1" in proc.stdout
    assert "ok   outgoing: SMTP 127.0.0.1" in proc.stdout
    smtp_server.stop()
    broken = subprocess.run([sys.executable, "-m", "bot", "check", "--config", str(cfg)],
                                  capture_output=True, text=True, cwd=tmp_path,
                                  env={**env, "CB_IMAP_PW": "wrong"}, timeout=60)
    assert broken.returncode == 1
    assert "FAIL mailbox" in broken.stdout and "FAIL outgoing" in broken.stdout
