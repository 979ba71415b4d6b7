"""Who may call ``POST /api/messages``: the Bot Framework's signed bearer token.

Every activity Teams sends carries ``Authorization: Bearer <JWT>`` issued by the
Bot Framework. It is accepted only when, as the Bot Connector authentication
rules require:

* the header is a bearer token and the token an RS256 JWT;
* it is signed by a key published at the ``jwks_uri`` of the OpenID metadata
  (``[chat] openid_metadata_url``; keys are cached and fetched again, at most
  every :data:`REFETCH_SECONDS`, when a token names an unknown key);
* the activity's ``channelId`` is ``msteams``, and the key's ``endorsements``
  include it (a key without endorsements is refused, as the Bot Framework SDKs
  refuse it): traffic from another channel of the same bot registration, such as
  Web Chat, where the client chooses ``from.id`` and ``from.aadObjectId`` itself,
  never reaches the handlers;
* its issuer is ``https://api.botframework.com`` and its audience our app id;
* it is within its validity (``nbf``/``exp``, :data:`SKEW_SECONDS` of clock skew
  allowed, read from the injected clock, not the machine's);
* its ``serviceurl`` claim equals the activity's ``serviceUrl``, so a token
  captured for one connector cannot make the bot send to another;
* that ``serviceUrl`` is on the host of the configured ``[chat] service_url``
  (the region in its path may differ). The bot never sends to an activity's
  ``serviceUrl`` (replies go to the configured one), so a changed ``serviceUrl``
  cannot redirect replies or the app's token; this refuses such activities early.

The token does not sign the body: a token captured in transit (TLS broken) could
carry another body for up to its lifetime. Nothing in the body is trusted beyond
what the checks above tie to the token.

Anything else raises :class:`Unauthorized` with a short reason for the log
(never the token or the body). :func:`verify_claims` is the pure part.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt
from jwt.algorithms import RSAAlgorithm

log = logging.getLogger(__name__)

ISSUER = "https://api.botframework.com"
CHANNEL = "msteams"
SKEW_SECONDS = 300  # the Bot Framework allows five minutes of clock skew
REFETCH_SECONDS = 60.0  # an unknown key id fetches the keys again at most this often
KEYS_TTL_SECONDS = 24 * 3600.0  # Microsoft rolls its keys; fetch them daily anyway
HTTP_TIMEOUT = 10.0
MAX_TOKEN = 16 * 1024


class Unauthorized(Exception):
    """The request is not from the Bot Framework for this bot; ``str()`` is the reason."""


@dataclass(frozen=True)
class SigningKey:
    key: Any  # an RSA public key object
    endorsements: tuple[str, ...] | None  # None: the key says nothing about channels


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``, lower case; "" when it is not http(s)."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme.lower() not in ("https", "http") or not parts.hostname:
        return ""
    host = parts.hostname.lower().rstrip(".")
    return f"{parts.scheme.lower()}://{host}" + (f":{port}" if port is not None else "")


def verify_claims(
    claims: Mapping[str, Any],
    activity: Mapping[str, Any],
    *,
    app_id: str,
    now: datetime,
    skew: int = SKEW_SECONDS,
    service_url: str | None = None,
) -> None:
    """Check a signature-verified token's claims against the app and the activity (pure).

    ``service_url``: the configured connector; the activity's ``serviceUrl`` must be on
    its host (None: not checked).
    """
    if claims.get("iss") != ISSUER:
        raise Unauthorized("issuer")
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if not app_id or app_id not in audiences:
        raise Unauthorized("audience")
    stamp = now.timestamp()
    exp, nbf = claims.get("exp"), claims.get("nbf")
    if not isinstance(exp, int | float) or isinstance(exp, bool):
        raise Unauthorized("no expiry")
    if stamp > exp + skew:
        raise Unauthorized("expired")
    if isinstance(nbf, int | float) and not isinstance(nbf, bool) and stamp < nbf - skew:
        raise Unauthorized("not yet valid")
    signed_url = _text(claims.get("serviceurl") or claims.get("serviceUrl"))
    if not signed_url or signed_url.rstrip("/") != _text(activity.get("serviceUrl")).rstrip("/"):
        raise Unauthorized("service url")
    if service_url is not None:
        pinned = origin(service_url)
        if not pinned or pinned != origin(_text(activity.get("serviceUrl"))):
            raise Unauthorized("service url not the configured connector's")


def bearer_token(header: str | None) -> str:
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized("no bearer token")
    if len(token) > MAX_TOKEN:
        raise Unauthorized("token too long")
    return token


class BotFrameworkAuth:
    """Verifies inbound activities' tokens with keys from the OpenID metadata.

    ``fetch_json`` is the one network call (metadata, then the key set); tests
    pass none and the keys come from a local fake over HTTP like in production.
    """

    def __init__(
        self,
        *,
        app_id: str,
        openid_metadata_url: str,
        clock: Callable[[], datetime],
        fetch_json: Callable[[str], Any] | None = None,
        service_url: str | None = None,
    ) -> None:
        self.app_id = app_id
        self.service_url = service_url
        self.metadata_url = openid_metadata_url
        self.clock = clock
        self._fetch = fetch_json or _get_json
        self._keys: dict[str, SigningKey] = {}
        self._fetched_at = float("-inf")
        self._lock = threading.Lock()

    def verify(self, authorization: str | None, activity: Mapping[str, Any]) -> dict[str, Any]:
        """The token's claims if the request is genuine; else :class:`Unauthorized`."""
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise Unauthorized("malformed token") from None
        if header.get("alg") != "RS256":
            raise Unauthorized("algorithm")
        channel = _text(activity.get("channelId"))
        if channel != CHANNEL:
            raise Unauthorized("not a Teams activity")
        key = self._key(_text(header.get("kid")))
        if key.endorsements is None or channel not in key.endorsements:
            raise Unauthorized("key not endorsed for this channel")
        try:
            # Time claims are checked by verify_claims against the injected clock.
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                options={
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.PyJWTError:
            raise Unauthorized("signature") from None
        verify_claims(
            claims, activity, app_id=self.app_id, now=self.clock(), service_url=self.service_url
        )
        return claims

    def _key(self, kid: str) -> SigningKey:
        if not kid:
            raise Unauthorized("no key id")
        with self._lock:
            age = time.monotonic() - self._fetched_at
            if (kid not in self._keys and age > REFETCH_SECONDS) or age > KEYS_TTL_SECONDS:
                self._refresh()
            found = self._keys.get(kid)
        if found is None:
            raise Unauthorized("unknown signing key")
        return found

    def _refresh(self) -> None:
        self._fetched_at = time.monotonic()
        try:
            metadata = self._fetch(self.metadata_url)
            jwks_uri = _text(metadata.get("jwks_uri")) if isinstance(metadata, Mapping) else ""
            if not jwks_uri:
                raise ValueError("OpenID metadata without jwks_uri")
            self._keys = parse_keys(self._fetch(jwks_uri))
        except (httpx.HTTPError, ValueError) as exc:
            # Keep the keys we had; a token signed by a new key waits for the next try.
            log.warning("Teams: cannot fetch the signing keys (%s)", type(exc).__name__)


def parse_keys(jwks: Any) -> dict[str, SigningKey]:
    """The RSA keys of a JWK set by key id, with their endorsements (pure)."""
    keys: dict[str, SigningKey] = {}
    entries = jwks.get("keys") if isinstance(jwks, Mapping) else None
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, Mapping) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        try:
            key = RSAAlgorithm.from_jwk(json.dumps(dict(entry)))
        except (jwt.PyJWTError, ValueError, TypeError):
            continue
        raw = entry.get("endorsements")
        endorsements = tuple(str(e) for e in raw) if isinstance(raw, list) else None
        keys[str(entry["kid"])] = SigningKey(key, endorsements)
    return keys


def _get_json(url: str) -> Any:
    response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
    response.raise_for_status()
    try:
        return response.json()
    except json.JSONDecodeError as exc:
        raise ValueError("not JSON") from exc
