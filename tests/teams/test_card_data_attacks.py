"""What a card press or a dialog carries, made up by whoever sends it: unknown actions,
another case's reference, a reference that does not exist, markup and identity
numbers in the dialogs' free text."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlmodel import select

from bot.store.db import session_scope
from bot.store.models import CaseOffer, ContactAttempt, Escalation
from handlers.slack.enums import ActionId
from tests.harness import email
from tests.support.fake_teams import card_text, cards
from tests.support.teams_auth import activity
from tests.teams.conftest import OMBUD, OUTSIDER_AAD, STAFF, STAFF_AAD, TRIAGE, TeamsWorld

PNR = "19121212-1212"
NASTY = (
    "<at>Alla</at> <!channel> <https://evil.example/login|Logga in igen> "
    "[klicka](https://evil.example) **fet** <script>alert(1)</script> &amp; "
    f"pnr {PNR} och 121212-1212"
)


def _walk(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v)


def links(activity: dict[str, Any]) -> list[str]:
    """Every URL a card would open."""
    return [
        str(e.get("url"))
        for card in cards(activity)
        for e in _walk(card)
        if e.get("type") == "Action.OpenUrl"
    ]


def everything_sent(world: TeamsWorld) -> str:
    return "\n".join(str(c.body) for c in world.fake.calls())


def submit_data(world: TeamsWorld, action: str) -> dict[str, Any]:
    fetched = world.send(world.invoke("task/fetch", world.button(action))).json()
    form = fetched["task"]["value"]["card"]["content"]
    return dict(next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"])


def test_an_unknown_action_is_told_as_text_not_as_a_link(world: TeamsWorld) -> None:
    world.complaint_by_mail()
    bogus = {"cb_action": "<https://evil.example/x|Klicka här>", "cb_value": "x"}
    assert world.send(world.press_activity(bogus)).status_code == 200
    (dm,) = world.dms(STAFF)
    assert links(dm) == []
    assert "evil.example" in card_text(dm)  # shown as the text it is
    fetched = world.send(world.invoke("task/fetch", bogus)).json()
    assert fetched["task"]["type"] == "message"


def test_a_reference_that_does_not_exist_changes_nothing(world: TeamsWorld) -> None:
    ref = world.complaint_by_mail()
    claim = {**world.button(ActionId.CLAIM), "cb_value": "KL-2099-99999"}
    press = world.press_activity(claim)
    assert world.send(press).status_code == 200
    assert world.send(press).status_code == 200
    assert world.bot.case(ref)["status"] != "claimed"
    assert len(world.dms(STAFF)) == 1  # told once


@pytest.mark.parametrize("value", ["", "x" * 300, "KL-1'; DROP TABLE cases;--", "{}", "\x00"])
def test_garbage_values_are_refused_without_a_crash(world: TeamsWorld, value: str) -> None:
    world.complaint_by_mail()
    claim = {**world.button(ActionId.CLAIM), "cb_value": value}
    assert world.send(world.press_activity(claim)).status_code == 200
    snooze = {"cb_action": ActionId.SNOOZE, "cb_value": value}
    assert world.send(world.press_activity(snooze)).status_code == 200
    for bad in ({"cb_action": ActionId.CLAIM, "cb_value": {"ref": "x"}}, {"cb_action": ["x"]}):
        assert world.send(world.press_activity(bad)).status_code == 200


def test_nul_bytes_in_a_dialog_are_dropped_not_a_crash(world: TeamsWorld) -> None:
    # PostgreSQL refuses NUL in text: the activity is read without them.
    world.complaint_by_mail()
    data = {**submit_data(world, ActionId.LOG_CALL), "call.outcome": "reached\x00"}
    data["call.note"] = "Vi\x00 pratade"
    data["cb_value"] = f"{data['cb_value']}\x00"
    assert world.send(world.invoke("task/submit", data)).status_code == 200
    with session_scope(world.rt.db) as session:
        (attempt,) = session.exec(select(ContactAttempt)).all()
        assert attempt.note == "Vi pratade"


def test_a_press_naming_another_case_acts_on_that_case_only(world: TeamsWorld) -> None:
    # Authorisation is by person, not by card: a staff member may claim any open case,
    # from whichever card; the other card is not touched.
    first = world.complaint_by_mail()
    card = world.prompt()
    claim = world.button(ActionId.CLAIM)
    assert first in claim["cb_value"]
    other = email(frm="Bo Berg <bo@example.se>", body="Skolskjutsen kom inte.", msgid="<m2@x.se>")
    world.bot.deliver(other)
    world.bot.run_once()
    second = str(world.bot.cases()[-1]["ref"])
    assert second != first
    claim["cb_value"] = claim["cb_value"].replace(first, second)
    press = activity(  # pressed "on" the first card
        conversation=TRIAGE, user=STAFF, aad=STAFF_AAD, value=claim, reply_to=card["id"]
    )
    assert world.send(press).status_code == 200
    assert world.bot.case(second)["status"] == "claimed"
    assert world.bot.case(first)["status"] != "claimed"


def test_markup_and_identity_numbers_in_a_logged_call_are_stored_and_shown_inert(
    world: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    ref = world.complaint_by_mail()
    data = {**submit_data(world, ActionId.LOG_CALL), "call.outcome": "reached", "call.note": NASTY}
    with caplog.at_level(logging.DEBUG):
        assert world.send(world.invoke("task/submit", data)).status_code == 200
        world.send(world.press_activity(world.button(ActionId.SHOW_FULL_TEXT)))
    with session_scope(world.rt.db) as session:
        (attempt,) = session.exec(select(ContactAttempt)).all()
        assert "<script>" in (attempt.note or "")  # kept as written, for the record
    sent = everything_sent(world)
    assert "1212-1212" not in sent and "1212-1212" not in caplog.text
    for shown in world.fake.activities(TRIAGE) + world.dms(STAFF):
        assert all("evil.example" not in url for url in links(shown))
    assert world.bot.case(ref)["first_contact_at"] is not None


def test_an_escalation_reason_reaches_the_ombudsman_inert_and_masked(
    world: TeamsWorld, caplog: pytest.LogCaptureFixture
) -> None:
    world.complaint_by_mail()
    fetched = world.send(world.invoke("task/fetch", world.button(ActionId.ESCALATE))).json()
    form = fetched["task"]["value"]["card"]["content"]
    data = dict(next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"])
    inputs = [e["id"] for e in form["body"] if str(e.get("type", "")).startswith("Input.")]
    assert inputs
    data.update({name: NASTY for name in inputs})
    with caplog.at_level(logging.DEBUG):
        assert world.send(world.invoke("task/submit", data)).status_code == 200
    with session_scope(world.rt.db) as session:
        assert len(session.exec(select(Escalation)).all()) == 1
    sent = everything_sent(world)
    assert "1212-1212" not in sent and "1212-1212" not in caplog.text
    assert "Logga in igen" in sent  # the reason was shown...
    assert "mention" not in sent.lower()  # no <at> becomes a Teams mention entity
    for shown in world.fake.activities(TRIAGE) + world.dms(OMBUD):
        assert all("evil.example" not in url for url in links(shown))


def test_a_hand_over_to_someone_not_on_the_staff_list_is_refused(world: TeamsWorld) -> None:
    world.complaint_by_mail()
    world.send(world.press_activity(world.button(ActionId.CLAIM)))
    data = submit_data(world, ActionId.HAND_OVER)
    for target in (OUTSIDER_AAD, "29:1citizenAbc", "<at>x</at>"):
        answer = world.send(world.invoke("task/submit", {**data, "handover.to": target}))
        assert answer.status_code == 200 and answer.json()["task"]["type"] == "message"
    with session_scope(world.rt.db) as session:
        assert session.exec(select(CaseOffer)).all() == []
    assert world.fake.direct_activities(OUTSIDER_AAD) == []
