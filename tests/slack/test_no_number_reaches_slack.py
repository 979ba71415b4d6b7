"""End to end: identity numbers in mail (any spelling, the Subject, HTML-only) and in
what staff type never reach Slack or the log; the call-back phone number does."""

from __future__ import annotations

import io
import json
import re
import unicodedata
from pathlib import Path
from typing import Any

from bot.adapters.slack_chat import SlackChat, make_web_client
from handlers.slack.enums import ActionId, BlockId
from tests.harness import Bot, email
from tests.slack.conftest import OMBUD, STAFF, STAFF2, SlackWorld, block_text
from tests.support.log_capture import log_output  # noqa: F401
from tests.support.slack_cases import escalated_case, plan_values, press_on_alert

FIXTURES = Path(__file__).parent.parent / "fixtures" / "eml"
# The digits of every number planted below (the last ten of a Swedish one).
PLANTED = ("3405121234", "3405121235", "8112189876", "02016126007", "42016126009", "8112789873")

SPELLINGS = (
    "Min mamma har pnr-19340512\u20131234.\n"
    "Pappa: 340512\u200b-1235, min bror 811218\u00a09876,\n"
    "> fødselsnr.020161 26007 och d-nr:\n> 420161\n> 26009 och samordningsnr 19811278 \u2014 9873."
)


def digits_of(value: str) -> str:
    return re.sub(r"\D", "", unicodedata.normalize("NFKC", value))


def leaked(calls: list[Any]) -> list[str]:
    """Every planted number found in any string of any request the fake received."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for item in node.values():
                walk(item)
        elif isinstance(node, list):
            for item in node:
                walk(item)
        elif isinstance(node, str):
            found.extend(p for p in PLANTED if p in digits_of(node))

    for call in calls:
        walk(call.params)
    return found


def test_mail_with_identity_numbers_reaches_slack_masked(
    world: SlackWorld,
    tmp_path: Path,
    log_output: io.StringIO,  # noqa: F811
) -> None:
    chat = SlackChat(make_web_client(world.cfg.chat, world.fake.token, max_retries=0))
    bot = Bot(world.cfg, world.engine, world.clock, tmp_path / "mailbot", chat=chat)
    bot.deliver(email(body=SPELLINGS, subject="Gäller 811218\u20119876", msgid="<a@example.se>"))
    bot.deliver((FIXTURES / "identity_numbers_html_only.eml").read_bytes())
    bot.run_once()
    refs = [c["ref"] for c in bot.cases()]
    assert len(refs) == 2
    for ref in refs:  # "show full text" too
        world.press(ActionId.SHOW_FULL_TEXT, ref, user=STAFF)

    calls = world.fake.calls()
    assert world.fake.count("chat.postMessage") >= 2 and world.fake.count("chat.postEphemeral")
    assert leaked(calls) == []
    everything = json.dumps([c.params for c in calls], ensure_ascii=False)
    assert "[ID-nummer]" in everything
    assert "070-123 45 67" in everything  # the number to call is still there
    assert [p for p in PLANTED if p in digits_of(log_output.getvalue())] == []


def test_staff_typed_numbers_reach_the_ombudsman_and_manager_masked(world: SlackWorld) -> None:
    world.post_message("Hemtjänsten kom inte i går. Ring 070-123 45 67.")
    ref = str(world.case()["ref"])
    world.press(ActionId.ESCALATE, ref, user=STAFF2)
    world.submit(
        world.last_view(),
        {
            BlockId.REASON: {
                "input": {
                    "type": "plain_text_input",
                    "value": "Brukaren (pnr 19340512 \u2013 1234) hotad",
                }
            }
        },
        user=STAFF2,
    )

    (dm,) = world.posts(f"D{OMBUD}")
    text = block_text(dm.params["blocks"]) + dm.params.get("text", "")
    assert "Brukaren (pnr [ID-nummer]) hotad" in text
    assert leaked(world.fake.calls()) == []


def test_action_plan_steps_reach_the_manager_masked(world: SlackWorld) -> None:
    _, message = escalated_case(world)
    press_on_alert(world, ActionId.ASK_FOR_ACTION_PLAN, message)
    world.submit(
        world.last_view(), plan_values(steps="Ring anhörig, fnr 020161\u00a026007"), user=OMBUD
    )

    (dm,) = world.posts(f"D{STAFF2}")
    assert "[ID-nummer]" in dm.params["text"]
    assert leaked(world.fake.calls()) == []
