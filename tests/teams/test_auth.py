"""Inbound Teams tokens: only the Bot Framework, for this app, now, for this connector."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import FixedClock
from handlers.teams.auth import BotFrameworkAuth, Unauthorized, verify_claims
from tests.support.teams_auth import FORGER, SERVICE_URL, BotFrameworkKeys, activity

APP_ID = "00000000-0000-0000-0000-0000000000a1"
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)


@pytest.fixture
def keys() -> Iterator[BotFrameworkKeys]:
    k = BotFrameworkKeys()
    yield k
    k.close()


def _auth(keys: BotFrameworkKeys, clock: FixedClock | None = None) -> BotFrameworkAuth:
    return BotFrameworkAuth(
        app_id=APP_ID, openid_metadata_url=keys.metadata_url, clock=clock or FixedClock(NOW)
    )


def _act() -> dict[str, object]:
    return activity(conversation="19:c@thread.tacv2", user="29:u", text="hej")


def test_a_genuine_token_is_accepted_and_keys_are_fetched_once(keys: BotFrameworkKeys) -> None:
    auth, act = _auth(keys), _act()
    for _ in range(3):
        claims = auth.verify(keys.sign(act, APP_ID, NOW)["Authorization"], act)
        assert claims["aud"] == APP_ID
    assert keys.fetches == ["/v1/.well-known/openidconfiguration", "/v1/keys"]


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        (None, "no bearer token"),
        ("", "no bearer token"),
        ("Basic dXNlcjpwYXNz", "no bearer token"),
        ("Bearer not.a.jwt", "malformed token"),
    ],
)
def test_no_or_malformed_token_is_refused(
    keys: BotFrameworkKeys, header: str | None, reason: str
) -> None:
    with pytest.raises(Unauthorized, match=reason):
        _auth(keys).verify(header, _act())


def test_a_token_signed_by_another_key_is_refused(keys: BotFrameworkKeys) -> None:
    act = _act()
    forged = keys.token(APP_ID, SERVICE_URL, NOW, key=FORGER)
    with pytest.raises(Unauthorized, match="signature"):
        _auth(keys).verify(f"Bearer {forged}", act)


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"aud": "someone-else"}, "audience"),
        ({"iss": "https://sts.windows.net/evil/"}, "issuer"),
        ({"serviceurl": "https://evil.example/"}, "service url"),
        ({"exp": int((NOW - timedelta(minutes=6)).timestamp())}, "expired"),
        ({"nbf": int((NOW + timedelta(minutes=6)).timestamp())}, "not yet valid"),
        ({"exp": None}, "no expiry"),
    ],
)
def test_wrong_claims_are_refused(
    keys: BotFrameworkKeys, claims: dict[str, object], reason: str
) -> None:
    act = _act()
    with pytest.raises(Unauthorized, match=reason):
        _auth(keys).verify(keys.sign(act, APP_ID, NOW, **claims)["Authorization"], act)


def test_expiry_is_read_from_the_injected_clock_with_five_minutes_of_skew(
    keys: BotFrameworkKeys,
) -> None:
    clock = FixedClock(NOW)
    auth, act = _auth(keys, clock), _act()
    header = keys.sign(act, APP_ID, NOW)["Authorization"]  # valid until NOW + 1 h
    clock.set(NOW + timedelta(hours=1, minutes=4))
    auth.verify(header, act)
    clock.set(NOW + timedelta(hours=1, minutes=6))
    with pytest.raises(Unauthorized, match="expired"):
        auth.verify(header, act)


def test_a_key_endorsed_for_other_channels_cannot_sign_teams_traffic() -> None:
    keys = BotFrameworkKeys(endorsements=["skype", "webchat"])
    try:
        act = _act()
        with pytest.raises(Unauthorized, match="endorsed"):
            _auth(keys).verify(keys.sign(act, APP_ID, NOW)["Authorization"], act)
    finally:
        keys.close()


def test_unreachable_metadata_refuses_instead_of_failing_open() -> None:
    auth = BotFrameworkAuth(
        app_id=APP_ID,
        openid_metadata_url="http://127.0.0.1:9/v1/.well-known/openidconfiguration",
        clock=FixedClock(NOW),
    )
    keys = BotFrameworkKeys()
    try:
        act = _act()
        with pytest.raises(Unauthorized, match="unknown signing key"):
            auth.verify(keys.sign(act, APP_ID, NOW)["Authorization"], act)
    finally:
        keys.close()


def test_verify_claims_accepts_a_list_audience_and_a_trailing_slash() -> None:
    verify_claims(
        {
            "iss": "https://api.botframework.com",
            "aud": ["x", APP_ID],
            "exp": NOW.timestamp() + 60,
            "serviceurl": SERVICE_URL.rstrip("/"),
        },
        {"serviceUrl": SERVICE_URL},
        app_id=APP_ID,
        now=NOW,
    )
