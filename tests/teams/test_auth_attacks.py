"""Inbound Teams tokens, tried by someone who is not the Bot Framework.

Each case is a token or an activity an attacker can make: a token with no
signature or signed with the public key as an HMAC secret, the wrong issuer in
its near spellings, no key id or a key not endorsed for Teams, times just out of
range, an activity from another channel of the same bot, and a ``serviceUrl``
that is not the configured connector's.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bot.clock import FixedClock
from handlers.teams.auth import BotFrameworkAuth, Unauthorized, origin
from tests.support.teams_auth import KID, SERVICE_URL, TEAMS_KEY, BotFrameworkKeys, activity

APP_ID = "00000000-0000-0000-0000-0000000000a1"
NOW = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
CONFIGURED = "https://smba.trafficmanager.net/teams/"


@pytest.fixture
def keys() -> Iterator[BotFrameworkKeys]:
    k = BotFrameworkKeys()
    yield k
    k.close()


def _auth(keys: BotFrameworkKeys, service_url: str | None = CONFIGURED) -> BotFrameworkAuth:
    return BotFrameworkAuth(
        app_id=APP_ID,
        openid_metadata_url=keys.metadata_url,
        clock=FixedClock(NOW),
        service_url=service_url,
    )


def _act(**kw: Any) -> dict[str, Any]:
    return activity(conversation="19:c@thread.tacv2", user="29:u", text="hej", **kw)


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(**over: Any) -> dict[str, Any]:
    claims = {
        "iss": "https://api.botframework.com",
        "aud": APP_ID,
        "serviceurl": SERVICE_URL,
        "nbf": int((NOW - timedelta(minutes=5)).timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }
    claims.update(over)
    return claims


def test_the_genuine_token_passes_every_check(keys: BotFrameworkKeys) -> None:
    act = _act()
    assert _auth(keys).verify(keys.sign(act, APP_ID, NOW)["Authorization"], act)["aud"] == APP_ID


def test_alg_none_is_refused(keys: BotFrameworkKeys) -> None:
    token = f"{_b64({'alg': 'none', 'typ': 'JWT', 'kid': KID})}.{_b64(_claims())}."
    with pytest.raises(Unauthorized, match="algorithm"):
        _auth(keys).verify(f"Bearer {token}", _act())


def test_hs256_signed_with_the_public_key_is_refused(keys: BotFrameworkKeys) -> None:
    public_pem = TEAMS_KEY.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = _b64({"alg": "HS256", "typ": "JWT", "kid": KID})
    body = _b64(_claims())
    mac = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    token = f"{header}.{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    with pytest.raises(Unauthorized, match="algorithm"):
        _auth(keys).verify(f"Bearer {token}", _act())


@pytest.mark.parametrize(
    "issuer",
    [
        "https://api.botframework.com/",
        "http://api.botframework.com",
        "https://API.botframework.com",
        "https://api.botframework.com.evil.example",
        "https://sts.windows.net/d6d49420-f39b-4df7-a1dc-d59a935871db/",
    ],
)
def test_issuer_variants_are_refused(keys: BotFrameworkKeys, issuer: str) -> None:
    act = _act()
    with pytest.raises(Unauthorized, match="issuer"):
        _auth(keys).verify(keys.sign(act, APP_ID, NOW, iss=issuer)["Authorization"], act)


def test_a_token_for_another_audience_is_refused(keys: BotFrameworkKeys) -> None:
    act = _act()
    for aud in ("another-bot", ["another-bot"], APP_ID.upper(), f"api://{APP_ID}"):
        with pytest.raises(Unauthorized, match="audience"):
            _auth(keys).verify(keys.sign(act, APP_ID, NOW, aud=aud)["Authorization"], act)


def test_a_token_without_a_key_id_is_refused(keys: BotFrameworkKeys) -> None:
    token = jwt.encode(_claims(), TEAMS_KEY, algorithm="RS256")
    with pytest.raises(Unauthorized, match="no key id"):
        _auth(keys).verify(f"Bearer {token}", _act())


def test_a_key_id_not_in_the_key_set_is_refused(keys: BotFrameworkKeys) -> None:
    token = jwt.encode(_claims(), TEAMS_KEY, algorithm="RS256", headers={"kid": "other"})
    with pytest.raises(Unauthorized, match="unknown signing key"):
        _auth(keys).verify(f"Bearer {token}", _act())


def test_a_key_without_endorsements_cannot_sign_teams_traffic() -> None:
    keys = BotFrameworkKeys(endorsements=[])  # published with no "endorsements" at all
    try:
        act = _act()
        with pytest.raises(Unauthorized, match="endorsed"):
            _auth(keys).verify(keys.sign(act, APP_ID, NOW)["Authorization"], act)
    finally:
        keys.close()


@pytest.mark.parametrize("channel", ["webchat", "directline", "emulator", "", "MSTEAMS"])
def test_an_activity_from_another_channel_is_refused(keys: BotFrameworkKeys, channel: str) -> None:
    # Web Chat and Direct Line clients choose from.id and aadObjectId themselves: an
    # activity from them could claim to be any staff member.
    five = BotFrameworkKeys(endorsements=["msteams", "webchat", "directline", "emulator", ""])
    try:
        act = _act()
        act["channelId"] = channel
        with pytest.raises(Unauthorized, match="not a Teams activity"):
            _auth(five).verify(five.sign(act, APP_ID, NOW)["Authorization"], act)
    finally:
        five.close()


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"nbf": int((NOW + timedelta(minutes=5, seconds=30)).timestamp())}, "not yet valid"),
        ({"exp": int((NOW - timedelta(minutes=6)).timestamp())}, "expired"),
        ({"exp": "9999999999"}, "no expiry"),
        ({"exp": True}, "no expiry"),
    ],
)
def test_times_out_of_range_are_refused(
    keys: BotFrameworkKeys, claims: dict[str, Any], reason: str
) -> None:
    act = _act()
    with pytest.raises(Unauthorized, match=reason):
        _auth(keys).verify(keys.sign(act, APP_ID, NOW, **claims)["Authorization"], act)


def test_a_service_url_changed_after_signing_is_refused(keys: BotFrameworkKeys) -> None:
    act = _act()
    header = keys.sign(act, APP_ID, NOW)["Authorization"]
    act["serviceUrl"] = "https://evil.example/emea/"
    with pytest.raises(Unauthorized, match="service url"):
        _auth(keys).verify(header, act)


@pytest.mark.parametrize(
    "service_url",
    [
        "https://evil.example/teams/",
        "http://smba.trafficmanager.net/teams/",  # not TLS
        "https://smba.trafficmanager.net.evil.example/teams/",
        "https://smba.trafficmanager.net@evil.example/teams/",
        "https://smba.trafficmanager.net:8443/teams/",
        "javascript:alert(1)",
        "",
    ],
)
def test_a_signed_service_url_off_the_configured_host_is_refused(
    keys: BotFrameworkKeys, service_url: str
) -> None:
    # Signed by the test key as if the Bot Framework had: a token for another connector
    # (another channel, another cloud) names it; it is not ours.
    act = _act(service_url=service_url)
    with pytest.raises(Unauthorized, match="service url"):
        _auth(keys).verify(keys.sign(act, APP_ID, NOW)["Authorization"], act)


def test_another_region_of_the_configured_connector_is_accepted(keys: BotFrameworkKeys) -> None:
    for url in (
        SERVICE_URL,
        "https://smba.trafficmanager.net/amer/",
        "https://SMBA.trafficmanager.net./apac",
    ):
        act = _act(service_url=url)
        _auth(keys).verify(keys.sign(act, APP_ID, NOW)["Authorization"], act)


def test_origin_is_scheme_host_and_port() -> None:
    assert origin("https://SMBA.trafficmanager.net/emea/") == "https://smba.trafficmanager.net"
    assert origin("http://127.0.0.1:8080/teams") == "http://127.0.0.1:8080"
    assert origin("https://a.example:99999/") == ""
    assert origin("ftp://a.example/") == origin("nonsense") == ""
