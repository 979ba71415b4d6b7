"""``can_acknowledge``: the pure decision, one reason per rule; and template overrides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.domain.acknowledgement import AckHistory, can_acknowledge
from bot.mail.compose import build_citizen_email
from bot.presenters.render import Renderer
from tests.harness import body_text

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OWN = frozenset({"synpunkter@example.org"})


def decide(**kw: object) -> tuple[bool, str]:
    args: dict[str, object] = {
        "mail_kind": "complaint",
        "sender": "anna@example.se",
        "own_addresses": OWN,
        "historical": False,
        "history": AckHistory(),
        "now": NOW,
        "window": timedelta(hours=24),
        "bounce_block": timedelta(days=60),
    }
    args.update(kw)
    return can_acknowledge(**args)  # type: ignore[arg-type]


def test_a_complaint_from_a_person_is_acknowledged() -> None:
    assert decide() == (True, "ok")


@pytest.mark.parametrize(
    "kw,reason",
    [
        ({"historical": True}, "historical"),
        ({"mail_kind": "auto_reply"}, "robot mail"),
        ({"mail_kind": "bounce"}, "robot mail"),
        ({"mail_kind": "list"}, "robot mail"),
        ({"sender": None}, "no valid sender"),
        ({"sender": "x@y\r\nBcc: z@w"}, "no valid sender"),
        ({"sender": "Synpunkter@Example.org"}, "own addresses"),
        ({"sender": "no-reply@bank.se"}, "no-reply"),
        ({"sender": "noreply.alerts@bank.se"}, "no-reply"),
        ({"history": AckHistory(sender_bounced_at=NOW - timedelta(days=59))}, "bounced"),
        ({"history": AckHistory(last_ack_to_sender_at=NOW - timedelta(hours=23))}, "window"),
    ],
)
def test_reasons_not_to_acknowledge(kw: dict[str, object], reason: str) -> None:
    ok, why = decide(**kw)
    assert ok is False and reason in why


def test_blocks_expire() -> None:
    assert decide(history=AckHistory(sender_bounced_at=NOW - timedelta(days=61)))[0]
    assert decide(history=AckHistory(last_ack_to_sender_at=NOW - timedelta(hours=25)))[0]


def test_an_organisation_overrides_one_template_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "email").mkdir()
    (tmp_path / "email" / "ack.sv.subject.j2").write_text("Tack! Ärende {{ ref }}\n")
    renderer = Renderer(tmp_path, "sv")
    msg = build_citizen_email(
        renderer=renderer,
        template="ack",
        lang="sv",
        context={
            "ref": "KL-2026-000001",
            "name": "",
            "phone": "",
            "call_within_days": 1,
            "organisation": "Exempel kommun",
            "org_phone": "",
            "ombudsman_contact": "x",
            "privacy_url": "https://example.org",
        },
        from_address="Exempel kommun <synpunkter@example.org>",
        reply_to="",
        to_address="anna@example.se",
        to_name=None,
        ref="KL-2026-000001",
        message_id="m@example.org",
        now=NOW,
    )
    assert msg["Subject"] == "Tack! Ärende KL-2026-000001"
    assert "KL-2026-000001" in body_text(msg)  # the package's body
