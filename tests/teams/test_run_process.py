"""Outside in: ``complaint-bot run`` with ``[chat] kind = "teams"`` as a real process,
against the fake Bot Connector and Entra token endpoint (tests/support/fake_teams.py)
and the test Bot Framework signing key (tests/support/teams_auth.py).

A complaint mail becomes one card in the triage conversation; an unsigned activity
gets 401; an outsider's signed claim is refused (told, the card unchanged); a staff
member's signed claim updates that card in place.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from bot.clock import FixedClock
from handlers.slack.enums import ActionId
from handlers.slack.labels import say
from tests.harness import email
from tests.support.fake_teams import FakeTeams, card_actions, card_text
from tests.support.net import HOST, free_port
from tests.support.teams_auth import BotFrameworkKeys, activity

TRIAGE = "19:triage0000@thread.tacv2"
STAFF, STAFF_AAD = "29:1staffUserAbc", "6f1c2d3e-0000-4000-8000-00000000a001"
OUTSIDER, OUTSIDER_AAD = "29:1outsiderAbc", "6f1c2d3e-0000-4000-8000-00000000dead"
# The process checks tokens against the real clock, which a test does not read: the
# signed activities are valid from any time up to 2100.
VALID_UNTIL = 4_102_444_800


def wait_until(what: str, done: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not done():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def write_config(
    folder: Path, db_url: str, fake: FakeTeams, keys: BotFrameworkKeys, port: int
) -> Path:
    (folder / "inbox" / "new").mkdir(parents=True)
    (folder / "inbox" / "cur").mkdir()
    (folder / "inbox" / "tmp").mkdir()
    path = folder / "config.toml"
    path.write_text(f"""\
[database]
url = {json.dumps(db_url)}

[mailbox]
kind = "maildir"
path = "inbox"

[outgoing]
kind = "folder"
path = "outbox"

[chat]
kind = "teams"
app_id = {json.dumps(fake.app_id)}
app_password_env = "TEAMS_APP_PASSWORD"
tenant_id = {json.dumps(fake.tenant_id)}
service_url = {json.dumps(fake.service_url)}
login_url = {json.dumps(fake.login_url)}
openid_metadata_url = {json.dumps(keys.metadata_url)}
http_host = "{HOST}"
http_port = {port}
triage_channel = "{TRIAGE}"
staff_users = ["{STAFF_AAD}"]
ombudsman_users = ["29:1ombudUserAbc"]
""")
    return path


def test_run_serves_teams_against_the_fake_connector(
    tmp_path: Path, db_url: str, clock: FixedClock
) -> None:
    keys = BotFrameworkKeys()
    with FakeTeams() as fake:
        fake.add_conversation(TRIAGE, [STAFF, OUTSIDER])
        port = free_port()
        cfg = write_config(tmp_path, db_url, fake, keys, port)
        url = f"http://{HOST}:{port}/api/messages"
        env = {**os.environ, "TEAMS_APP_PASSWORD": fake.app_password}
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "--config", str(cfg)],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        http = httpx.Client(timeout=30)

        def send(act: dict[str, Any], signed: bool = True) -> int:
            headers = (
                keys.sign(act, fake.app_id, clock(), nbf=None, exp=VALID_UNTIL)
                if signed
                else {"Content-Type": "application/json"}
            )
            return http.post(url, json=act, headers=headers).status_code

        def up() -> bool:
            assert proc.poll() is None, "complaint-bot run exited"
            try:
                return http.get(url).status_code == 405
            except httpx.TransportError:
                return False

        try:
            wait_until("the endpoint", up)
            mail = tmp_path / "inbox" / "tmp" / "m1.eml"
            mail.write_bytes(email())
            os.replace(mail, tmp_path / "inbox" / "new" / "m1.eml")
            wait_until("the prompt card", lambda: len(fake.top_level(TRIAGE)) == 1)
            (card,) = fake.top_level(TRIAGE)
            claim = next(a for a in card_actions(card) if a["cb_action"] == ActionId.CLAIM)

            def press(user: str, aad: str) -> dict[str, Any]:
                return activity(
                    conversation=TRIAGE,
                    user=user,
                    aad=aad,
                    value=claim,
                    reply_to=card["id"],
                    service_url=fake.service_url,  # the connector it is configured for
                )

            assert send(press(STAFF, STAFF_AAD), signed=False) == 401
            assert send(press(OUTSIDER, OUTSIDER_AAD)) == 200
            wait_until("the outsider's refusal", lambda: bool(fake.direct_activities(OUTSIDER)))
            assert "edits" not in fake.top_level(TRIAGE)[0]  # nothing changed

            assert send(press(STAFF, STAFF_AAD)) == 200
            wait_until("the card's update", lambda: bool(fake.top_level(TRIAGE)[0].get("edits")))
            (updated,) = fake.top_level(TRIAGE)
            assert updated["id"] == card["id"]
            assert ActionId.CLAIM not in {a["cb_action"] for a in card_actions(updated)}
            assert STAFF_AAD in card_text(updated)  # claimed by the staff member
        finally:
            http.close()
            proc.send_signal(signal.SIGTERM)
            try:
                _out, err = proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise
            keys.close()
    assert proc.returncode == 0, err
    (told,) = fake.direct_activities(OUTSIDER)  # told once why not
    assert card_text(told) == say("sv", "refused")
