"""``complaint-bot run`` as a real process, against servers the test controls.

IMAP goes to a test Dovecot, SMTP to an aiosmtpd server in the test process,
chat to the fake Slack Web API in the test process (``[chat] kind = "slack"``,
``mode = "http"``), the database to the test's own. The process can be killed
(SIGKILL, as a power cut would), stopped (SIGTERM) and started again.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from imapclient import IMAPClient

from tests.support.dovecot import Dovecot, ImapUser
from tests.support.fake_slack import FakeSlack
from tests.support.smtp import SmtpTestServer, free_port

ROOT = Path(__file__).resolve().parents[2]
TRIAGE = "C0TRIAGE"
REF = re.compile(r"\b[A-Z]{1,6}-\d{4}-\d{6}\b")


def write_config(
    folder: Path,
    *,
    db_url: str,
    imap_host: str,
    imap_port: int,
    imap_user: str,
    smtp_port: int,
    slack_url: str,
    extra: str = "",
    name: str = "config.toml",
) -> Path:
    """A config.toml for a bot on the test servers; returns its path. Each config has its
    own free port for the Slack HTTP endpoint, as instances on separate machines would."""
    path = folder / name
    path.write_text(f"""\
[database]
url = {json.dumps(db_url)}

[mailbox]
kind = "imap"
host = {json.dumps(imap_host)}
port = {imap_port}
security = "none"
username = {json.dumps(imap_user)}
password_env = "IMAP_PASSWORD"
batch_size = 100

[outgoing]
kind = "smtp"
host = "127.0.0.1"
port = {smtp_port}
security = "none"
from_address = "Exempel kommun <synpunkter@example.org>"
timeout_seconds = 5

[chat]
kind = "slack"
mode = "http"
api_base_url = {json.dumps(slack_url)}
http_host = "127.0.0.1"
http_port = {free_port()}
triage_channel = "{TRIAGE}"
staff_users = ["U0STAFF1"]
ombudsman_users = ["U0OMBUD"]

[organisation]
phone = "+46 8 123 456 00"
{extra}
""")
    return path


class BotProcess:
    """One ``python -m bot run`` process; start, kill, stop, start again."""

    def __init__(
        self, config: Path, env: dict[str, str], log: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.config, self.env, self.log, self.args = config, env, log, args
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n=== start {self.starts} ===\n".encode())
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "run", "--config", str(self.config), *self.args],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM and wait; the exit code."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.kill()


def bot_env(user: ImapUser, slack: FakeSlack) -> dict[str, str]:
    return {
        "IMAP_PASSWORD": user.password,
        "SLACK_BOT_TOKEN": slack.token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "PYTHONUNBUFFERED": "1",
    }


def append_many(
    dovecot: Dovecot, user: ImapUser, messages: list[bytes], at_once: bool = False
) -> None:
    """APPEND every message over one connection (fast, like a busy MTA). ``at_once``:
    into another folder first, then moved into the inbox in one command, so that a
    watching bot finds the whole backlog waiting, not a trickle it keeps up with."""
    client = IMAPClient(dovecot.host, dovecot.port, ssl=False, timeout=30)
    try:
        client.login(user.name, user.password)
        folder = "INBOX"
        if at_once:
            folder = f"Staging{os.getpid()}"
            client.create_folder(folder)
        for raw in messages:
            client.append(folder, raw, flags=())
        if at_once:
            client.select_folder(folder)
            client.move(client.search(["ALL"]), "INBOX")
            client.close_folder()
            client.delete_folder(folder)
    finally:
        with contextlib.suppress(Exception):
            client.logout()


def cases_json(config: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    """``complaint-bot cases --all --format json``, as the operator would run it."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "bot",
            "cases",
            "--all",
            "--format",
            "json",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        check=True,
        timeout=120,
    )
    data = json.loads(out.stdout)
    assert isinstance(data, list)
    return data


def acks_by_recipient(smtp: SmtpTestServer) -> Counter[str]:
    """How many acknowledgements each address received (the SMTP server's count)."""
    return Counter(r.lower() for m in smtp.messages for r in m.rcpt_tos)


def prompts_by_ref(slack: FakeSlack) -> Counter[str]:
    """How many call-back prompts were posted to the triage channel per case reference."""
    counts: Counter[str] = Counter()
    for call in slack.calls("chat.postMessage"):
        p = call.params
        if call.status != 200 or not (call.response or {}).get("ok"):
            continue
        if p.get("channel") != TRIAGE or p.get("thread_ts"):
            continue
        found = REF.search(str(p.get("text", "")))
        if found:
            counts[found.group(0)] += 1
    return counts


def wait_until(
    predicate: Any, timeout: float, interval: float = 0.25, what: str = "condition"
) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
