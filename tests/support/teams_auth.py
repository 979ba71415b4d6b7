"""The Bot Framework's side of inbound Teams authentication, on 127.0.0.1.

* :class:`BotFrameworkKeys` serves OpenID metadata (``/v1/.well-known/openidconfiguration``)
  whose ``jwks_uri`` points at a JWK set (``/v1/keys``) holding a test RSA key,
  endorsed for ``msteams`` as Microsoft's keys are. Point ``[chat]
  openid_metadata_url`` at ``keys.metadata_url``.
* :meth:`BotFrameworkKeys.sign` makes the ``Authorization`` header Teams sends
  with an activity: an RS256 token from ``https://api.botframework.com`` for the
  app, valid for an hour from ``now``, naming the activity's ``serviceUrl``.
  Keyword arguments override claims (``aud="someone-else"``); ``key=FORGER`` signs
  with a key that is not published (same key id).
* :func:`activity` builds Teams activities the way Teams shapes them.

Requests for the metadata and the keys are counted (``keys.fetches``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from tests.support.net import HOST

KID = "test-key-1"
ISSUER = "https://api.botframework.com"
SERVICE_URL = "https://smba.trafficmanager.net/emea/"
TEAMS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
FORGER = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class BotFrameworkKeys:
    """OpenID metadata and the JWK set over HTTP, and a signer for activities."""

    def __init__(self, endorsements: list[str] | None = None) -> None:
        self.endorsements = ["msteams"] if endorsements is None else endorsements
        self.fetches: list[str] = []
        keys = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                keys.fetches.append(self.path)
                if self.path == "/v1/.well-known/openidconfiguration":
                    body: Any = {
                        "issuer": ISSUER,
                        "jwks_uri": f"{keys.url}/v1/keys",
                        "id_token_signing_alg_values_supported": ["RS256"],
                    }
                elif self.path == "/v1/keys":
                    body = {"keys": [keys.public_jwk()]}
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer((HOST, 0), Handler)
        self.url = f"http://{HOST}:{self.server.server_address[1]}"
        self.metadata_url = f"{self.url}/v1/.well-known/openidconfiguration"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def public_jwk(self) -> dict[str, Any]:
        jwk: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(TEAMS_KEY.public_key()))
        jwk.update({"kid": KID, "use": "sig", "alg": "RS256"})
        if self.endorsements:
            jwk["endorsements"] = self.endorsements
        return jwk

    def token(
        self, app_id: str, service_url: str, now: datetime, *, key: Any = TEAMS_KEY, **claims: Any
    ) -> str:
        body: dict[str, Any] = {
            "iss": ISSUER,
            "aud": app_id,
            "serviceurl": service_url,
            "nbf": int((now - timedelta(minutes=5)).timestamp()),
            "exp": int((now + timedelta(hours=1)).timestamp()),
        }
        body.update(claims)
        body = {k: v for k, v in body.items() if v is not None}
        return jwt.encode(body, key, algorithm="RS256", headers={"kid": KID})

    def sign(
        self, activity: dict[str, Any], app_id: str, now: datetime, **claims: Any
    ) -> dict[str, str]:
        """The headers Teams sends with ``activity``."""
        token = self.token(app_id, str(activity.get("serviceUrl", "")), now, **claims)
        return {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def teams_keys() -> Iterator[BotFrameworkKeys]:
    keys = BotFrameworkKeys()
    yield keys
    keys.close()


_ids = iter(range(1, 10**9))


def activity(
    kind: str = "message",
    *,
    conversation: str,
    user: str,
    aad: str | None = None,
    text: str | None = None,
    value: Any = None,
    name: str | None = None,
    reply_to: str | None = None,
    activity_id: str | None = None,
    timestamp: str = "2026-11-24T08:00:00.000Z",
    service_url: str = SERVICE_URL,
    tenant: str = "tenant-1",
) -> dict[str, Any]:
    """One activity as Teams sends it to the bot (``reply_to``: a reply in that thread)."""
    own_id = activity_id or f"1732435200{next(_ids):06d}"
    # A channel post's conversation names its thread's root (the post itself at top level).
    conv_id = f"{conversation};messageid={reply_to or own_id}"
    sender: dict[str, Any] = {"id": user, "name": "Staff Person"}
    if aad:
        sender["aadObjectId"] = aad
    body: dict[str, Any] = {
        "type": kind,
        "id": own_id,
        "timestamp": timestamp,
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": sender,
        "conversation": {"id": conv_id, "conversationType": "channel", "tenantId": tenant},
        "recipient": {"id": "28:bot-app-id", "name": "complaint-bot"},
        "channelData": {"tenant": {"id": tenant}},
    }
    if text is not None:
        body["text"] = text
    if value is not None:
        body["value"] = value
    if name is not None:
        body["name"] = name
    if reply_to:
        body["replyToId"] = reply_to
    return body
