"""Who may press, tried from outside the lists: nobody's ids, ids differing only by
case, a staff member's Entra object id beside another person's Teams id, and the
ombudsman's buttons pressed by staff or by someone claiming the ombudsman's id.

Which id wins: ``from.aadObjectId`` when a list holds it, else ``from.id`` when a
list holds that (:func:`handlers.teams.press.teams_user`). Both are set by Teams in
the one activity, under the Bot Framework's token; a client that could set them
itself (Web Chat, Direct Line) is refused before this (``channelId`` must be
``msteams``, see tests/teams/test_auth_attacks.py). Answers go to ``from.id``.
"""

from __future__ import annotations

from sqlmodel import col, select

from bot.store.db import session_scope
from bot.store.models import Audit
from handlers.slack.enums import ActionId
from tests.support.fake_teams import card_actions, card_text
from tests.support.teams_auth import activity
from tests.teams.conftest import (
    OMBUD,
    OMBUD_AAD,
    OUTSIDER,
    OUTSIDER_AAD,
    STAFF,
    STAFF_AAD,
    TeamsWorld,
)


def audits(world: TeamsWorld, action: str | None = None) -> list[Audit]:
    with session_scope(world.rt.db) as session:
        rows = session.exec(select(Audit).order_by(col(Audit.id))).all()
        return [Audit.model_validate(r) for r in rows if action in (None, r.action)]


def _claim_as(world: TeamsWorld, user: str, aad: str | None) -> str:
    ref = world.complaint_by_mail()
    press = world.press_activity(world.button(ActionId.CLAIM), user=user, aad=aad)
    assert world.send(press).status_code == 200
    return str(world.bot.case(ref)["status"])


def test_someone_on_neither_list_is_refused(world: TeamsWorld) -> None:
    assert _claim_as(world, OUTSIDER, None) != "claimed"
    assert [a.actor for a in audits(world, "refused")] == [f"teams:{OUTSIDER}"]


def test_an_empty_sender_is_refused(world: TeamsWorld) -> None:
    assert _claim_as(world, "", None) != "claimed"
    assert audits(world, "claimed") == []


def test_ids_differing_only_by_case_are_other_people(world: TeamsWorld) -> None:
    # Teams user ids are case-sensitive: 29:1OMBUDUSERABC is not the listed 29:1ombudUserAbc.
    ref = world.complaint_by_mail()
    claim = world.button(ActionId.CLAIM)
    for user in (OMBUD.upper(), OMBUD.lower(), OMBUD.swapcase(), f" {OMBUD}", f"{OMBUD}\u200b"):
        assert world.send(world.press_activity(claim, user=user, aad=None)).status_code == 200
    assert world.bot.case(ref)["status"] != "claimed"
    assert len(audits(world, "refused")) == 5 and audits(world, "claimed") == []


def test_a_staff_object_id_wins_over_an_outsiders_teams_id(world: TeamsWorld) -> None:
    assert _claim_as(world, OUTSIDER, STAFF_AAD) == "claimed"
    assert [a.actor for a in audits(world, "claimed")] == [f"teams:{STAFF_AAD}"]


def test_an_outsiders_object_id_beside_a_listed_teams_id_is_that_listed_person(
    world: TeamsWorld,
) -> None:
    # The ombudsman is listed by Teams user id; their object id is not listed.
    assert _claim_as(world, OMBUD, OUTSIDER_AAD) == "claimed"
    assert [a.actor for a in audits(world, "claimed")] == [f"teams:{OMBUD}"]


def _ombudsman_alert(world: TeamsWorld) -> dict[str, object]:
    world.complaint_by_mail()
    fetched = world.send(world.invoke("task/fetch", world.button(ActionId.ESCALATE))).json()
    form = fetched["task"]["value"]["card"]["content"]
    submit = next(e for e in form["actions"] if e["type"] == "Action.Submit")["data"]
    world.send(world.invoke("task/submit", {**submit, "escalate.reason": "Hot om våld"}))
    return next(a for a in world.dms(OMBUD) if card_actions(a))


def test_the_ombudsmans_buttons_refuse_staff_and_case_variants(world: TeamsWorld) -> None:
    alert = _ombudsman_alert(world)
    conversation = world.fake.direct_conversation(OMBUD)
    assert conversation is not None
    for wanted in (ActionId.TAKE_OVER, ActionId.ACKNOWLEDGE_ESCALATION):
        button = next(a for a in card_actions(alert) if a["cb_action"] == wanted)
        for user, aad in ((STAFF, STAFF_AAD), (OMBUD.upper(), None), (OUTSIDER, OMBUD_AAD)):
            press = activity(
                conversation=conversation,
                user=user,
                aad=aad,
                value=button,
                reply_to=str(alert["id"]),
            )
            assert world.send(press).status_code == 200
    pressers = {f"teams:{STAFF_AAD}", f"teams:{OMBUD.upper()}", f"teams:{OMBUD_AAD}"}
    done = [a for a in audits(world) if a.actor in pressers and a.action != "refused"]
    assert [a.action for a in done] == ["escalated"]  # staff's own escalation, nothing else
    refused = audits(world, "refused")
    assert len(refused) == 6
    assert {a.actor for a in refused} == {
        f"teams:{STAFF_AAD}",
        f"teams:{OMBUD.upper()}",
        f"teams:{OMBUD_AAD}",
    }
    assert "Bara klagomålsombudet" in card_text(world.dms(STAFF)[0])
