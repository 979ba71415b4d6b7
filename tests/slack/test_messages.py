"""The Block Kit builders (pure) and what actually reaches Slack: escaped, within limits,
in the staff language."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from typing import Any

import pytest

from bot.presenters.staff_messages import AttemptView, CaseView
from handlers.slack.blockkit import cut_escaped, esc
from handlers.slack.enums import ActionId
from handlers.slack.labels import LABELS
from handlers.slack.messages import build_blocks, full_text_blocks
from tests.slack.conftest import INTAKE, OMBUD, TRIAGE, SlackWorld, action_ids, block_text

INJECTIONS = (
    "<!channel>",
    "<!here>",
    "<@U123>",
    "<http://evil.example|click>",
    "{{ 7*7 }}",
    "<#C0SECRET>",
    "&lt;!channel&gt;",
)

VIEW = CaseView(
    case_id=1,
    ref="KL-2026-000001",
    status="acknowledged",
    source="email",
    received="tis 24/11 09:00",
    age_hours=3.5,
    name="Anna Andersson",
    phone_national="070-123 45 67",
    phone_e164="+46701234567",
    email_known=True,
    language="sv",
    subject="Hemtjänsten",
    summary="Hemtjänsten kom inte.",
    deadline="ons 25/11 09:00",
    assignee="",
    attempts=(),
    failed_attempts=0,
    escalated=False,
    escalation_reasons=(),
    serious=False,
    ack_sent=True,
    ack_bounced=False,
    closed=False,
    resolution="",
    historical=False,
)


def live_markup(blocks: list[dict[str, Any]]) -> list[str]:
    """Every ``<...>`` Slack would act on in the blocks' mrkdwn texts."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.extend(re.findall(r"<[^<>]*>", node["text"]))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def limits_hold(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    for block in blocks:
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            if "text" in block:
                assert len(block["text"]["text"]) <= 3000
            for field in block.get("fields", []):
                assert len(field["text"]) <= 2000
            assert len(block.get("fields", [])) <= 10
        if block["type"] == "actions":
            for element in block["elements"]:
                if element["type"] == "button":
                    assert len(element["text"]["text"]) <= 75
                    assert len(element["value"]) <= 2000
                for option in element.get("options", []):
                    assert len(option["text"]["text"]) <= 75
                    assert len(option["value"]) <= 150


@pytest.mark.parametrize("kind", ["prompt", "escalation", "reminder", "case_message"])
def test_untrusted_text_stays_inert_in_every_kind(kind: str) -> None:
    evil = " ".join(INJECTIONS)
    view = replace(
        VIEW,
        name=evil,
        subject=evil,
        summary=evil * 40,
        phone_national=evil,
        phone_e164="+46701234567",
        received=evil,
        deadline=evil,
        assignee="slack:<!channel>",
        attempts=(AttemptView(at=evil, by="slack:U0STAFF1", outcome="no_answer"),),
    )

    blocks = build_blocks(kind, view, {"note": evil, "reason": "staff"})

    live = live_markup(blocks)
    # Only what the bot itself made is markup: the dial link and the staff mention.
    assert all(
        m == "<@U0STAFF1>" or m.startswith("<tel:+46701234567|&lt;!channel") for m in live
    ), live
    text = json.dumps(blocks)
    assert "49" not in text  # no template ran over the text
    limits_hold(blocks)


def test_long_texts_are_cut_within_block_kit_limits() -> None:
    view = replace(
        VIEW, name="N" * 5000, subject="S" * 5000, summary="&" * 5000, deadline="D" * 500
    )
    for kind in ("prompt", "escalation", "reminder", "case_message"):
        limits_hold(build_blocks(kind, view, {"note": "x" * 9000}))


def test_cutting_never_leaves_half_an_entity() -> None:
    cut = cut_escaped(esc("<" * 100, 10_000), 10)
    assert cut.endswith("…") and not re.search(r"&[a-z]*…$", cut)
    assert esc("a" * 20, 10) == "a" * 9 + "…"


def test_the_prompt_shows_what_a_caller_needs() -> None:
    blocks = build_blocks("prompt", VIEW, {})
    text = block_text(blocks)

    assert "☎️ Ring tillbaka: KL-2026-000001" in text
    assert "<tel:+46701234567|070-123 45 67> · +46701234567" in text
    assert "Ring före ons 25/11 09:00" in text
    assert "för 3 h sedan" in text and "e-post" in text and "svenska" in text
    assert "☐ Låt personen tala till punkt" in text
    assert action_ids(blocks) == [
        ActionId.CLAIM,
        ActionId.LOG_CALL,
        ActionId.SNOOZE,
        ActionId.ESCALATE,
        ActionId.SHOW_FULL_TEXT,
    ]
    snooze = next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ActionId.SNOOZE
    )
    assert [o["value"] for o in snooze["options"]] == [
        "KL-2026-000001|30",
        "KL-2026-000001|60",
        "KL-2026-000001|120",
    ]


def test_the_email_fallback_appears_after_a_failed_call_or_without_a_number() -> None:
    failed = replace(
        VIEW,
        assignee="slack:U0STAFF1",
        failed_attempts=1,
        attempts=(AttemptView(at="tis 24/11 10:00", by="slack:U0STAFF1", outcome="no_answer"),),
    )
    no_phone = replace(VIEW, phone_e164="", phone_national="")
    no_email = replace(no_phone, email_known=False)
    bounced = replace(no_phone, ack_bounced=True)

    assert ActionId.ASK_FOR_NUMBER in action_ids(build_blocks("prompt", failed, {}))
    assert ActionId.ASK_FOR_NUMBER in action_ids(build_blocks("prompt", no_phone, {}))
    assert ActionId.ASK_FOR_NUMBER not in action_ids(build_blocks("prompt", no_email, {}))
    assert ActionId.ASK_FOR_NUMBER not in action_ids(build_blocks("prompt", bounced, {}))
    text = block_text(build_blocks("prompt", failed, {}))
    assert "Tas av <@U0STAFF1>" in text and "Samtalsförsök: 1" in text
    assert "inget svar" in text.lower()
    assert ActionId.CLAIM not in action_ids(build_blocks("prompt", failed, {}))


def test_a_closed_case_has_no_buttons() -> None:
    closed = replace(
        VIEW,
        closed=True,
        status="closed",
        resolution="dialogue",
        assignee="slack:U0STAFF1",
        attempts=(AttemptView(at="tis 24/11 10:00", by="slack:U0STAFF1", outcome="reached"),),
    )
    blocks = build_blocks("prompt", closed, {})
    assert action_ids(blocks) == []
    text = block_text(blocks)
    assert "✅ KL-2026-000001 är avslutat" in text
    assert "Kontakt ✓" in text and "löst genom dialog" in text
    assert "Samtalsmetod" not in text


@pytest.mark.parametrize(
    "lang, claim",
    [("sv", "Jag ringer"), ("nb", "Jeg ringer"), ("nn", "Eg ringjer"), ("en", "I'll call")],
)
def test_staff_language_chooses_the_labels(lang: str, claim: str) -> None:
    blocks = build_blocks("prompt", VIEW, {"lang": lang})
    assert claim in block_text(blocks)


def test_every_language_has_every_label() -> None:
    keys = set(LABELS["sv"])
    for lang, labels in LABELS.items():
        assert set(labels) == keys, lang
        assert len(labels["method_steps"].split("|")) == 7


def test_full_text_is_split_without_breaking_escapes() -> None:
    text = "<!channel> " + "å&<>" * 2000
    blocks = full_text_blocks("sv", "KL-2026-000001", [text])
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= 3000 for s in sections)
    assert "".join(sections) == esc(text, 100_000)
    assert live_markup(blocks) == []


def test_injection_texts_posted_to_slack_are_inert(world: SlackWorld) -> None:
    evil = "Hjälp! <!channel> <@U123> <http://evil.example|click> {{ 7*7 }} Ring 070-123 45 67"
    ts, _ = world.post_message(evil)
    world.post_message("Mer: <!here> <http://evil.example|här>", thread_ts=ts)

    posted = [c.params for c in world.fake.calls("chat.postMessage") if c.status == 200]
    posted += [c.params for c in world.fake.calls("chat.update") if c.status == 200]
    assert posted
    for params in posted:
        live = live_markup(params.get("blocks") or [])
        assert all(m.startswith("<tel:") or m.startswith("<@U0") for m in live), live
        # The fallback text is parsed by Slack too.
        assert "<!" not in params["text"] and "<http" not in params["text"]
        assert "<@U123>" not in params["text"]
        # {{ 7*7 }} was never evaluated (a bare 49; timestamps may contain the digits)
        assert re.search(r"(?<![\d.])49(?![\d.])", json.dumps(params)) is None
    prompt = block_text(world.prompt()["blocks"])
    assert "&lt;!channel&gt;" in prompt and "&lt;http://evil.example|click&gt;" in prompt


def test_escalations_go_to_the_ombudsman_in_a_dm(world: SlackWorld) -> None:
    world.post_message("Jag blev utsatt för hot av en anställd. Ring 070-123 45 67.")

    case = world.case()
    assert case["serious"] and case["escalated_at"] is not None
    (dm,) = world.posts(f"D{OMBUD}")
    text = block_text(dm.params["blocks"])
    assert "klagomålsombudet" in text and "allvarligt" in text
    assert world.posts(TRIAGE) and world.posts(INTAKE)


def test_a_reminder_goes_to_the_prompts_thread_with_buttons(world: SlackWorld) -> None:
    from bot.actions.cases import get_case_by_id
    from bot.actions.trail import enqueue
    from bot.store.db import session_scope
    from bot.store.models import OutboxKind

    world.post_message("Klagomål om hemtjänsten. Ring 070-123 45 67.")
    with session_scope(world.engine) as s:
        case = get_case_by_id(s, 1)
        enqueue(
            s,
            kind=OutboxKind.CHAT,
            dedupe_key="reminder:1:1",
            payload={"op": "reminder", "case_id": 1, "rung": "first"},
            case=case,
            now=world.clock(),
        )
    world.flush()

    prompt = world.prompt()
    (reminder,) = [m for m in world.fake.messages(TRIAGE) if m.get("thread_ts") == prompt["ts"]]
    assert "Påminnelse: KL-2026-000001 väntar på ett samtal" in block_text(reminder["blocks"])
    assert action_ids(reminder["blocks"]) == [ActionId.CLAIM, ActionId.LOG_CALL, ActionId.SNOOZE]
