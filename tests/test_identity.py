"""Who a message belongs to (PRODUCT.md): a message joins a case only from its
complainant, a phone number never merges people, the number to call is per case,
and one Message-ID from two senders is two messages. Real .eml fixtures through
the whole inbound pipeline, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.engine import Engine

from bot.actions.case_records import case_detail
from bot.actions.cases import get_case
from bot.actions.privacy import Person
from bot.actions.subject_access import subject_access
from bot.clock import FixedClock
from bot.config import Config
from bot.store.db import session_scope
from handlers.inbound.dedupe import storage_key
from handlers.inbound.thread import may_join
from tests.conftest import FIXTURES
from tests.harness import Bot
from tests.records.clirun import run as cli
from tests.support.cli import write_config

EML = FIXTURES / "eml"
ANNA = "anna.andersson@example.se"
ANNA_PHONE = "+46701234567"
EVE_TRACES = (
    "Eve",
    "eve.stranger@example.net",
    "+46735551234",
    "073-555 12 34",
    "Det gäller också mig",
)


def fixture(name: str, **replace: str) -> bytes:
    raw = (EML / name).read_bytes()
    for old, new in replace.items():
        raw = raw.replace(old.encode(), new.encode())
    return raw


@pytest.fixture
def bot(cfg: Config, engine: Engine, clock: FixedClock, tmp_path: Path) -> Bot:
    return Bot(cfg, engine, clock, tmp_path)


def export(bot: Bot, email: str) -> dict[str, Any]:
    with session_scope(bot.engine) as s:
        data = subject_access(s, bot.cfg, Person(email=email), bot.clock())
    data.pop("generated_at")
    return data


def detail(bot: Bot, ref: str) -> dict[str, Any]:
    with session_scope(bot.engine) as s:
        return case_detail(s, bot.cfg, get_case(s, ref))


def annas_case(bot: Bot) -> str:
    bot.deliver(fixture("sv_complaint_phone.eml"))
    [outcome] = bot.run_once()
    assert outcome.new_case and outcome.case
    return outcome.case


def test_a_stranger_writing_the_reference_in_the_subject_gets_a_case_of_their_own(bot: Bot) -> None:
    ref = annas_case(bot)
    before = export(bot, ANNA)
    bot.console.truncate(0)
    bot.console.seek(0)

    bot.deliver(fixture("identity_hijack_reference.eml"))
    [outcome] = bot.run_once()

    assert outcome.new_case and outcome.case != ref
    anna, eve = bot.case(ref), bot.case(outcome.case or "")
    # Anna's case: her number, her message, nothing of Eve's.
    assert anna["complainant"]["phone"] == ANNA_PHONE
    assert anna["message_ids"] == ["CAF1234abcd@mail.example.se", anna["message_ids"][1]]
    assert "20261124094005.eve-1@example.net" not in anna["message_ids"]
    # Eve's case: her address, her number, acknowledged to her.
    assert eve["complainant"]["email"] == "eve.stranger@example.net"
    assert eve["complainant"]["phone"] == "+46735551234"
    assert eve["message_ids"][0] == "20261124094005.eve-1@example.net"
    assert [e["To"].addresses[0].addr_spec for e in bot.sent_emails()] == [
        ANNA,
        "eve.stranger@example.net",
    ]
    # Anna's export is exactly what it was, and has nothing of Eve in it.
    after = export(bot, ANNA)
    assert after == before
    whole = json.dumps(after, ensure_ascii=False)
    for trace in (*EVE_TRACES, outcome.case or "?"):
        assert trace not in whole
    # Staff are told on the new prompt, and both audit trails say so.
    staff = bot.staff_text()
    assert f"Nämner {ref}, från en annan avsändare" in staff
    assert "073-555 12 34" in staff and "070-123 45 67" not in staff
    new_detail, old_detail = detail(bot, outcome.case or ""), detail(bot, ref)
    assert new_detail["mentions"] == [ref]
    assert {"action": "mentions_case", "ref": ref} in [
        {"action": a["action"], "ref": a["detail"].get("ref")} for a in new_detail["audit"]
    ]
    assert {"action": "mentioned_by_case", "ref": outcome.case} in [
        {"action": a["action"], "ref": a["detail"].get("ref")} for a in old_detail["audit"]
    ]
    assert old_detail["mentions"] == []


def test_a_reply_to_our_acknowledgement_from_a_third_address_opens_a_new_case(bot: Bot) -> None:
    ref = annas_case(bot)
    [ack] = bot.sent_emails()

    bot.deliver(
        fixture(
            "identity_reply_to_ack_from_third_address.eml",
            **{"<ACK-MESSAGE-ID>": str(ack["Message-ID"])},
        )
    )
    [outcome] = bot.run_once()

    assert outcome.new_case and outcome.case != ref
    assert bot.case(ref)["complainant"]["phone"] == ANNA_PHONE
    assert len(bot.case(ref)["message_ids"]) == 2  # her complaint and our acknowledgement
    sven = bot.case(outcome.case or "")
    assert sven["complainant"]["email"] == "sven.granne@example.net"
    assert sven["complainant"]["phone"] == "+46762223344"
    assert detail(bot, outcome.case or "")["mentions"] == [ref]
    assert f"Nämner {ref}, från en annan avsändare" in bot.staff_text()
    assert "sven" not in json.dumps(export(bot, ANNA)).lower()


def test_the_complainants_reply_from_her_own_address_joins_her_case(bot: Bot) -> None:
    ref = annas_case(bot)
    [ack] = bot.sent_emails()
    reply = fixture(
        "identity_reply_to_ack_from_third_address.eml",
        **{
            "<ACK-MESSAGE-ID>": str(ack["Message-ID"]),
            "Sven Granne <sven.granne@example.net>": f"Anna <{ANNA.upper()}>",
        },
    )

    bot.deliver(reply)
    [outcome] = bot.run_once()

    assert outcome.case == ref and not outcome.new_case
    assert "sven-reply-1@example.net" in bot.case(ref)["message_ids"]


def test_a_follow_up_from_the_complainant_with_a_new_number_updates_the_case(bot: Bot) -> None:
    ref = annas_case(bot)
    bot.console.truncate(0)
    bot.console.seek(0)

    bot.deliver(fixture("identity_followup_new_number.eml"))
    [outcome] = bot.run_once()

    assert outcome.case == ref and not outcome.new_case
    case = detail(bot, ref)
    assert case["complainant"]["phone"] == "+46739876543"
    assert case["phone_alternatives"] == [ANNA_PHONE]
    assert "phone_changed" in [a["action"] for a in case["audit"]]
    assert all("+4673" not in json.dumps(a["detail"]) for a in case["audit"])  # no numbers
    # The prompt is refreshed: the new number to call, the old one as an alternative.
    staff = bot.staff_text()
    assert "Ring: 073-987 65 43 (+46739876543)" in staff
    assert "Andra nummer: +46701234567" in staff
    # Her export shows the number on her case.
    [exported] = export(bot, ANNA)["cases"]
    assert exported["phone"] == "+46739876543" and exported["previous_phones"] == [ANNA_PHONE]


def test_two_people_with_one_phone_number_are_two_complainants(bot: Bot) -> None:
    bot.deliver(fixture("identity_shared_phone_maria.eml"))
    bot.deliver(fixture("identity_shared_phone_johan.eml"))
    outcomes = bot.run_once()

    assert [o.new_case for o in outcomes] == [True, True]
    maria, johan = (bot.case(o.case or "") for o in outcomes)
    assert maria["complainant"]["email"] == "maria.holm@example.se"
    assert johan["complainant"]["email"] == "johan.holm@example.com"
    assert maria["complainant"]["phone"] == johan["complainant"]["phone"] == "+46812345678"
    # Both acknowledged, each to their own address.
    assert sorted(e["To"].addresses[0].addr_spec for e in bot.sent_emails()) == [
        "johan.holm@example.com",
        "maria.holm@example.se",
    ]
    # Each is found by an export for their own address, and sees only their own case.
    for email, mine, theirs in (
        ("maria.holm@example.se", maria, johan),
        ("johan.holm@example.com", johan, maria),
    ):
        data = export(bot, email)
        assert [c["name"] for c in data["complainant_records"]] == [mine["complainant"]["name"]]
        assert [c["ref"] for c in data["cases"]] == [mine["ref"]]
        assert theirs["complainant"]["name"] not in json.dumps(data, ensure_ascii=False)


def test_a_number_two_people_gave_exports_and_erases_nobody_until_one_is_named(
    bot: Bot, db_url: str, tmp_path: Path
) -> None:
    bot.deliver(fixture("identity_shared_phone_maria.eml"))
    bot.deliver(fixture("identity_shared_phone_johan.eml"))
    maria, johan = (o.case or "" for o in bot.run_once())
    config = write_config(tmp_path, db_url)
    for ref in (maria, johan):  # an erasure waits for a person's cases to be closed
        cli(config, "case", "close", ref, "--resolution", "dialogue")
    out = tmp_path / "exports"

    # By the number alone: refused, naming the two people's cases, never their names.
    refused = cli(config, "export", "--phone", "08-123 456 78", "--out", str(out), check=False)
    assert refused.returncode == 4
    assert maria in refused.stderr and johan in refused.stderr and "--name" in refused.stderr
    assert "Holm" not in refused.stderr + refused.stdout
    assert not out.exists() or not list(out.iterdir())
    erase = cli(config, "purge", "--person", "+46812345678", "--apply", check=False)
    assert erase.returncode == 4 and maria in erase.stderr
    assert bot.case(maria)["complainant"]["name"] == "Maria Holm"  # nothing erased

    # The number and a name: that one person only.
    cli(config, "export", "--phone", "+46812345678", "--name", "maria holm", "--out", str(out))
    [exported] = [json.loads(p.read_text()) for p in out.glob("*.json")]
    assert [c["ref"] for c in exported["cases"]] == [maria]
    assert "Johan" not in json.dumps(exported, ensure_ascii=False)
    cli(config, "purge", "--person", "+46812345678", "--name", "Johan Holm", "--apply")
    assert bot.case(johan)["complainant"]["email"] is None  # erased
    assert bot.case(maria)["complainant"]["email"] == "maria.holm@example.se"  # kept


def test_two_senders_reusing_one_message_id_are_two_messages(bot: Bot) -> None:
    bot.deliver(fixture("identity_same_msgid_karin.eml"))
    bot.deliver(fixture("identity_same_msgid_olof.eml"))
    outcomes = bot.run_once()

    assert [o.new_case for o in outcomes] == [True, True]
    karin, olof = (bot.case(o.case or "") for o in outcomes)
    assert karin["complainant"]["email"] == "karin.lund@example.se"
    assert olof["complainant"]["email"] == "olof.nyberg@example.com"
    # Both list the plain Message-ID, as the interface promises.
    assert karin["message_ids"][0] == olof["message_ids"][0] == "000001@localhost"
    assert len(bot.sent_emails()) == 2


def test_the_same_message_delivered_twice_from_the_same_sender_is_one_message(bot: Bot) -> None:
    bot.deliver(fixture("identity_same_msgid_karin.eml"))
    bot.deliver(fixture("identity_same_msgid_olof.eml"))
    bot.deliver(fixture("identity_same_msgid_karin.eml"))
    bot.deliver(fixture("identity_same_msgid_olof.eml"))
    outcomes = bot.run_once()

    assert [o.new_case for o in outcomes] == [True, True, False, False]
    assert all("duplicate" in (o.discarded or "") for o in outcomes[2:])
    assert len(bot.cases()) == 2 and len(bot.sent_emails()) == 2


def test_a_bounce_of_the_acknowledgement_still_marks_the_case(bot: Bot) -> None:
    ref = annas_case(bot)
    [ack] = bot.sent_emails()
    bounce = (EML / "bounce_dsn.eml").read_bytes()
    original = _original_id(bounce)
    bot.deliver(bounce.replace(original.encode(), str(ack["Message-ID"]).strip("<>").encode()))
    [outcome] = bot.run_once()

    assert outcome.discarded and outcome.case == ref
    assert bot.case(ref)["ack_bounced_at"] is not None


def _original_id(raw: bytes) -> str:
    """The Message-ID of the returned original inside a DSN fixture."""
    from bot.mail.parse import parse_email

    ids = parse_email(raw).report_original_ids
    assert ids, "the fixture returns an original with a Message-ID"
    return ids[0]


def test_the_command_line_shows_the_mention_and_each_cases_own_number(
    bot: Bot, db_url: str, tmp_path: Path
) -> None:
    ref = annas_case(bot)
    bot.deliver(fixture("identity_hijack_reference.eml"))
    [outcome] = bot.run_once()
    config = write_config(tmp_path, db_url)

    listed = {c["ref"]: c for c in json.loads(cli(config, "cases", "--format", "json").stdout)}
    assert listed[ref]["complainant"]["phone"] == ANNA_PHONE
    assert listed[ref]["message_ids"][0] == "CAF1234abcd@mail.example.se"
    assert listed[outcome.case or ""]["complainant"]["phone"] == "+46735551234"
    shown = cli(config, "case", "show", outcome.case or "").stdout
    assert f"mentions:       {ref}, from a different sender" in shown


addresses = st.emails().map(str)
message_ids = st.text(min_size=1, max_size=200).filter(lambda t: t.strip() != "")


@given(message_ids, addresses, addresses)
def test_one_message_id_is_one_message_per_sender(msgid: str, one: str, other: str) -> None:
    assert storage_key(msgid, one) == storage_key(msgid, one.upper())  # addresses ignore case
    assert (storage_key(msgid, one) == storage_key(msgid, other)) == (one.lower() == other.lower())
    assert len(storage_key(msgid * 10, one)) <= 998


@given(addresses, st.lists(addresses, max_size=4))
def test_only_an_address_on_the_case_joins_it(person: str, on_case: list[str]) -> None:
    assert may_join(person, on_case) == (person in on_case)
    assert not may_join(None, on_case)
