"""Card buttons pressed in Teams, into the real endpoint: signed, authorised, once."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlmodel import col, select

from bot.store.db import session_scope
from bot.store.models import Audit, CaseOffer, ContactAttempt
from handlers.slack.enums import ActionId
from tests.support.fake_teams import card_actions, card_text
from tests.support.teams_auth import FORGER
from tests.teams.conftest import OUTSIDER, OUTSIDER_AAD, STAFF, STAFF2_AAD, STAFF_AAD, TeamsWorld


def audits(world: TeamsWorld, action: str) -> list[Audit]:
    with session_scope(world.rt.db) as session:
        rows = session.exec(select(Audit).where(Audit.action == action).order_by(col(Audit.id)))
        return [Audit.model_validate(r) for r in rows]


def puts(world: TeamsWorld) -> int:
    return len(world.fake.calls("PUT", "/activities/"))


def test_a_staff_members_claim_claims_the_case_and_updates_the_card_in_place(
    world: TeamsWorld,
) -> None:
    ref = world.complaint_by_mail()
    card = world.prompt()
    assert ActionId.CLAIM in {a["cb_action"] for a in card_actions(card)}

    response = world.send(world.press_activity(world.button(ActionId.CLAIM)))

    assert response.status_code == 200
    assert world.bot.case(ref)["status"] == "claimed"
    assert [a.actor for a in audits(world, "claimed")] == [f"teams:{STAFF_AAD}"]
    updated = world.prompt()  # the same card, replaced (PUT), now without "claim"
    assert updated["id"] == card["id"] and puts(world) == 1
    assert ActionId.CLAIM not in {a["cb_action"] for a in card_actions(updated)}


def test_an_outsider_is_refused_audited_and_told_once(world: TeamsWorld) -> None:
    ref = world.complaint_by_mail()
    press = world.press_activity(world.button(ActionId.CLAIM), user=OUTSIDER, aad=OUTSIDER_AAD)

    assert world.send(press).status_code == 200
    assert world.send(press).status_code == 200  # Teams retries the same activity

    assert world.bot.case(ref)["status"] != "claimed"
    refused = audits(world, "refused")
    assert len(refused) == 2  # every attempt is on the trail...
    assert refused[0].actor == f"teams:{OUTSIDER_AAD}"
    assert json.loads(refused[0].detail)["attempted"] == "claim"
    assert len(world.dms(OUTSIDER)) == 1  # ...but the person is told once
    assert puts(world) == 0


def test_unsigned_forged_expired_or_misdirected_activities_get_401_and_change_nothing(
    world: TeamsWorld,
) -> None:
    ref = world.complaint_by_mail()
    press = world.press_activity(world.button(ActionId.CLAIM))
    app_id, now, here = world.fake.app_id, world.clock(), world.fake.service_url
    token = world.keys.token
    refused = [
        {"Content-Type": "application/json"},  # unsigned
        {"Authorization": f"Bearer {token(app_id, here, now, key=FORGER)}"},
        {"Authorization": f"Bearer {token(app_id, here, now - timedelta(hours=2))}"},
        {"Authorization": f"Bearer {token('another-bot', here, now)}"},
        {"Authorization": f"Bearer {token(app_id, 'https://evil.example/', now)}"},
    ]
    for headers in refused:
        assert world.send(press, headers=headers).status_code == 401

    assert world.bot.case(ref)["status"] != "claimed"
    assert audits(world, "refused") == [] and audits(world, "claimed") == []
    assert puts(world) == 0 and world.dms(STAFF) == []


def test_a_snooze_retried_by_teams_acts_once(world: TeamsWorld) -> None:
    world.complaint_by_mail()
    snooze = next(a for a in card_actions(world.prompt()) if a["cb_action"] == ActionId.SNOOZE)
    press = world.press_activity(snooze)
    for _ in range(3):
        assert world.send(press).status_code == 200
    assert len(audits(world, "snoozed")) == 1
    assert len(world.dms(STAFF)) == 1  # "snoozed until ..." once


def test_show_full_text_goes_to_the_presser_only_with_numbers_masked(
    world: TeamsWorld,
) -> None:
    world.complaint_by_mail(body="Min pappa 19121212-1212 fick fel medicin. Ring 070-123 45 67.")
    assert (
        world.send(world.press_activity(world.button(ActionId.SHOW_FULL_TEXT))).status_code == 200
    )
    (dm,) = world.dms(STAFF)
    shown = card_text(dm) + str(dm.get("text", ""))
    assert "fel medicin" in shown and "1212-1212" not in shown
    assert [a.actor for a in audits(world, "full_text_viewed")] == [f"teams:{STAFF_AAD}"]


def test_a_log_call_dialog_is_fetched_and_its_submission_recorded_once(world: TeamsWorld) -> None:
    ref = world.complaint_by_mail()
    log_call = world.button(ActionId.LOG_CALL)
    assert log_call["msteams"] == {"type": "task/fetch"}

    fetched = world.send(world.invoke("task/fetch", log_call))
    assert fetched.status_code == 200
    task = fetched.json()["task"]
    assert task["type"] == "continue"
    form = task["value"]["card"]["content"]
    submit = next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"]
    inputs = {e["id"] for e in form["body"] if str(e.get("type", "")).startswith("Input.")}
    assert {"call.outcome", "call.note"} <= inputs

    data = {**submit, "call.outcome": "reached", "call.note": "Vi pratade en stund."}
    submitted = world.invoke("task/submit", data)
    assert world.send(submitted).status_code == 200
    assert world.send(submitted).status_code == 200  # a retry

    with session_scope(world.rt.db) as session:
        attempts = session.exec(select(ContactAttempt)).all()
        assert [(a.outcome, a.by) for a in attempts] == [("reached", f"teams:{STAFF_AAD}")]
    assert world.bot.case(ref)["first_contact_at"] is not None


def test_a_dialog_without_an_outcome_is_answered_and_records_nothing(world: TeamsWorld) -> None:
    world.complaint_by_mail()
    fetched = world.send(world.invoke("task/fetch", world.button(ActionId.LOG_CALL))).json()
    form = fetched["task"]["value"]["card"]["content"]
    submit = next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"]
    answer = world.send(world.invoke("task/submit", {**submit, "call.note": "x"}))
    assert answer.json()["task"]["type"] == "message"
    with session_scope(world.rt.db) as session:
        assert session.exec(select(ContactAttempt)).all() == []


def test_an_outsider_gets_no_dialog(world: TeamsWorld) -> None:
    world.complaint_by_mail()
    fetched = world.send(
        world.invoke("task/fetch", world.button(ActionId.ESCALATE), user=OUTSIDER, aad=None)
    ).json()
    assert fetched["task"]["type"] == "message"
    assert [a.actor for a in audits(world, "refused")] == [f"teams:{OUTSIDER}"]


def test_hand_over_asks_the_colleague_picked_in_the_dialog(world: TeamsWorld) -> None:
    world.complaint_by_mail()
    world.send(world.press_activity(world.button(ActionId.CLAIM)))
    fetched = world.send(world.invoke("task/fetch", world.button(ActionId.HAND_OVER))).json()
    form = fetched["task"]["value"]["card"]["content"]
    picker = next(e for e in form["body"] if e.get("id") == "handover.to")
    assert picker["choices.data"]["dataset"] == "graph.microsoft.com/users"
    submit = next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"]

    answer = world.send(world.invoke("task/submit", {**submit, "handover.to": STAFF2_AAD}))

    assert answer.json()["task"]["type"] == "message"
    with session_scope(world.rt.db) as session:
        offers = session.exec(select(CaseOffer)).all()
        assert [(o.user, o.kind) for o in offers] == [(STAFF2_AAD, "handover")]
    assert world.fake.direct_activities(STAFF2_AAD)  # the offer, in their 1:1 chat
