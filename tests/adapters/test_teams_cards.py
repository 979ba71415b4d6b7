"""Block Kit -> Adaptive Card (pure): the real prompt, escalation, reminder and modals
translate with every text, button and input, and untrusted text stays text."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from bot.adapters.teams.cards import blocks_to_card, modal_title, modal_to_card
from bot.adapters.teams.text import MAX_CARD_BYTES, line_runs, plain_text
from bot.presenters.staff_messages import CaseView
from handlers.slack.enums import ActionId, BlockId, CallbackId
from handlers.slack.messages import build_blocks, full_text_blocks
from handlers.slack.modals import action_plan_modal, escalate_modal, log_call_modal

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

INJECTIONS = (
    "<!channel>",
    "<at>Alla</at>",
    "[klicka här](https://evil.example/login)",
    "**VIKTIGT** ![x](https://evil.example/p.png)",
    "<http://evil.example|click>",
    "&lt;!channel&gt;",
    "{{ 7*7 }}",
)


def walk(value: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(value, dict):
        found.append(value)
        for item in value.values():
            found += walk(item)
    elif isinstance(value, list):
        for item in value:
            found += walk(item)
    return found


def texts(card: dict[str, Any]) -> str:
    return "\n".join(
        "".join(r["text"] for r in e["inlines"])
        for e in walk(card)
        if e.get("type") == "RichTextBlock"
    )


def submits(card: dict[str, Any]) -> list[dict[str, Any]]:
    return [e["data"] for e in walk(card) if e.get("type") == "Action.Submit"]


def test_the_prompt_has_the_number_summary_checklist_and_every_button() -> None:
    card = blocks_to_card(build_blocks("prompt", VIEW, {"lang": "sv"}), "", {ActionId.LOG_CALL})
    text = texts(card)
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.5"
    assert "KL-2026-000001" in text and "Anna Andersson" in text
    assert "Hemtjänsten kom inte." in text
    assert text.count("☐") >= 5  # the call method as a checklist
    [tel] = [e for e in walk(card) if e.get("selectAction")]
    assert tel["text"] == "070-123 45 67"
    assert tel["selectAction"] == {"type": "Action.OpenUrl", "url": "tel:+46701234567"}
    actions = {d["cb_action"] for d in submits(card)}
    assert {ActionId.CLAIM, ActionId.LOG_CALL, ActionId.SNOOZE, ActionId.ESCALATE} <= actions
    assert {ActionId.SHOW_FULL_TEXT} <= actions
    [log_call] = [d for d in submits(card) if d["cb_action"] == ActionId.LOG_CALL]
    assert log_call == {
        "cb_action": ActionId.LOG_CALL,
        "cb_value": "KL-2026-000001",
        "msteams": {"type": "task/fetch"},
    }
    # the snooze menu: one button per option, inside a ShowCard
    [menu] = [e for e in walk(card) if e.get("type") == "Action.ShowCard"]
    snoozes = [d["cb_value"] for d in submits(menu["card"])]
    assert snoozes and all(v.startswith("KL-2026-000001|") for v in snoozes)
    # a claimed case offers hand-over instead of claim
    claimed = blocks_to_card(build_blocks("prompt", replace(VIEW, assignee="teams:29:1x"), {}))
    assert ActionId.CLAIM not in {d["cb_action"] for d in submits(claimed)}


def test_escalation_and_reminder_translate() -> None:
    alert = blocks_to_card(
        build_blocks("escalation", VIEW, {"reason": "deadline", "escalation_id": 7})
    )
    assert "KL-2026-000001" in texts(alert)
    assert {"cb_action": ActionId.TAKE_OVER, "cb_value": "KL-2026-000001|7"} in submits(alert)
    reminder = blocks_to_card(build_blocks("reminder", VIEW, {}))
    assert "KL-2026-000001" in texts(reminder)
    assert ActionId.LOG_CALL in {d["cb_action"] for d in submits(reminder)}


@pytest.mark.parametrize("evil", INJECTIONS)
def test_untrusted_text_stays_text(evil: str) -> None:
    view = replace(VIEW, name=evil, subject=evil, summary=f"Hej {evil} hej")
    card = blocks_to_card(build_blocks("prompt", view, {}))
    # Nothing is markdown-parsed: every text is a TextRun; no TextBlock, no entities.
    assert not [e for e in walk(card) if e.get("type") == "TextBlock"]
    assert "entities" not in json.dumps(card)
    # The only link is the presenter's tel: link; the text arrives exactly as written.
    links = [e["selectAction"]["url"] for e in walk(card) if e.get("selectAction")]
    assert links == ["tel:+46701234567"]
    assert f"Hej {evil} hej" in texts(card)


def test_only_the_presenters_links_become_links() -> None:
    [run] = line_runs("<javascript:alert(1)|x>")
    assert "selectAction" not in run
    [run] = line_runs("<https://example.org/status|status>")
    assert run == {
        "type": "TextRun",
        "text": "status",
        "selectAction": {"type": "Action.OpenUrl", "url": "https://example.org/status"},
    }
    assert [r["text"] for r in line_runs("<@U0STAFF> och <!channel>")] == [
        "@U0STAFF",
        " och ",
        "@channel",
    ]
    assert plain_text("*Nytt* &lt;b&gt; <tel:+46701234567|070-123 45 67>") == (
        "Nytt <b> 070-123 45 67"
    )


def test_code_is_monospace() -> None:
    runs = line_runs("Kör `complaint-bot report --chart r.png` i dag")
    assert [r["text"] for r in runs] == ["Kör ", "complaint-bot report --chart r.png", " i dag"]
    assert runs[1]["fontType"] == "Monospace" and "fontType" not in runs[0]


def test_a_post_without_blocks_shows_its_text() -> None:
    card = blocks_to_card([], "Påminnelse: *KL-2026-000001*\nring idag")
    assert texts(card) == "Påminnelse: KL-2026-000001\nring idag"
    [bold] = [e for e in walk(card) if e.get("weight") == "Bolder"]
    assert bold["text"] == "KL-2026-000001"


def test_a_huge_post_is_cut_to_fit_teams() -> None:
    blocks = full_text_blocks("sv", "KL-2026-000001", ["å" * 60_000])
    card = blocks_to_card(blocks)
    assert len(json.dumps(card, ensure_ascii=False).encode()) <= MAX_CARD_BYTES
    assert "…" in texts(card)


def test_log_call_modal_becomes_a_dialog_with_inputs_named_by_block_id() -> None:
    view = log_call_modal("sv", "KL-2026-000001", "19:triage@thread.tacv2", can_confirm=True)
    card = modal_to_card(view)
    inputs = {e["id"]: e for e in walk(card) if str(e.get("type", "")).startswith("Input.")}
    assert set(inputs) == {
        BlockId.OUTCOME,
        BlockId.NOTE,
        BlockId.REMEDY,
        BlockId.NEXT_STEP,
        BlockId.RESOLUTION,
        BlockId.OPTIONS,
    }
    assert inputs[BlockId.OUTCOME]["type"] == "Input.ChoiceSet"
    assert inputs[BlockId.OUTCOME]["isRequired"] is True
    assert inputs[BlockId.NOTE]["isMultiline"] is True
    assert inputs[BlockId.NOTE]["isRequired"] is False
    assert inputs[BlockId.OPTIONS]["isMultiSelect"] is True
    [submit] = card["actions"]
    assert submit["data"]["cb_action"] == CallbackId.LOG_CALL
    assert json.loads(submit["data"]["cb_value"])["ref"] == "KL-2026-000001"
    assert modal_title(view)


def test_escalate_and_action_plan_dialogs() -> None:
    card = modal_to_card(escalate_modal("sv", "KL-2026-000001", "19:t@thread.tacv2"))
    [reason] = [e for e in walk(card) if e.get("id") == BlockId.REASON]
    assert reason["type"] == "Input.Text" and reason["isRequired"] is True
    plan = modal_to_card(action_plan_modal("sv", "KL-2026-000001", "c", date(2026, 3, 20)))
    [due] = [e for e in walk(plan) if e.get("id") == BlockId.PLAN_DUE]
    assert due == {**due, "type": "Input.Date", "value": "2026-03-20"}
    [owner] = [e for e in walk(plan) if e.get("id") == BlockId.PLAN_OWNER]
    assert owner["choices.data"]["dataset"] == "graph.microsoft.com/users"
