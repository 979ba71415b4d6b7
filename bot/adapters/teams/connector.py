"""A thin client of the Bot Framework Connector REST API (what Teams bots post through).

Every call carries the app's token (client credentials from ``login_url``, cached
and refreshed before it expires by :class:`bot.adapters.oauth2.ClientCredentialsTokens`).
Everything sent is redacted first (:data:`TEAMS_DATA_KEYS` are ids, not text).

Failures come out as :class:`~bot.errors.DeliveryError`, as from the Slack adapter:

- 401: the token is fetched anew once; still refused -> temporary (the operator
  fixes the app's credentials, then the queued posts go out).
- 429 and 5xx, refused connections: retried ``max_retries`` times (after
  ``Retry-After`` when given), then temporary, with ``retry_after`` for a 429. A
  connection lost after the request went out is not retried here (it may have been
  posted): temporary at once, for the outbox.
- anything else (400 bad card, 403 bot not in the conversation, 404 no such
  conversation or message, 413 too large) -> permanent: this post can never succeed.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from bot.adapters.oauth2 import TokenError
from bot.errors import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from bot.redact import redact_tree

log = logging.getLogger(__name__)

#: The scope of a Bot Framework token (what ``login_url`` is asked for).
BOT_SCOPE = "https://api.botframework.com/.default"
#: Longest wait honoured from a ``Retry-After`` inside one call; longer goes back to
#: the outbox, which waits for it without holding a thread.
MAX_INLINE_WAIT = 10.0

# Keys whose values the connector reads as ids or URLs: digits there are not text
# (a Teams message id such as 1712345678901 has the shape of an identity number).
TEAMS_DATA_KEYS = frozenset(
    {
        "id",
        "replyToId",
        "conversation",
        "bot",
        "from",
        "recipient",
        "members",
        "tenantId",
        "tenant",
        "channelData",
        "serviceUrl",
        "url",
        "contentUrl",
        "$schema",
    }
)


class TokenSource(Protocol):
    """Gives the app's access token; ``invalidate`` forgets a token that was refused."""

    def __call__(self) -> str: ...

    def invalidate(self) -> None: ...


def _retry_after(response: httpx.Response) -> float | None:
    raw = response.headers.get("retry-after")
    try:
        return max(0.0, float(raw)) if raw is not None else None
    except ValueError:
        return None


# What an error code of the connector looks like (``BadArgument``, ``ConversationNotFound``).
# Anything else (a page, an echo of the request with its token) is not repeated in logs.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_.-]{0,63}")


def _error_code(response: httpx.Response) -> str:
    """The connector's ``{"error": {"code": ...}}`` if it is a plain code; else the HTTP
    status only."""
    try:
        data = response.json()
    except ValueError:
        data = None
    error = data.get("error") if isinstance(data, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    if isinstance(code, str) and _CODE.fullmatch(code):
        return f"{code} (HTTP {response.status_code})"
    return f"HTTP {response.status_code}"


def classify_response(response: httpx.Response, what: str) -> DeliveryError:
    """A failed connector answer as a temporary or permanent delivery error."""
    status = response.status_code
    if status == 429:
        return TemporaryDeliveryError(
            f"Teams {what}: rate limited", retry_after=_retry_after(response)
        )
    if status >= 500:
        return TemporaryDeliveryError(f"Teams {what}: {_error_code(response)}")
    if status == 401:
        return TemporaryDeliveryError(
            f"Teams {what}: {_error_code(response)}; check [chat] app_id and the app password"
        )
    return PermanentDeliveryError(f"Teams {what}: {_error_code(response)}")


def path_id(value: str) -> str:
    """A conversation or activity id as one path segment (``19:…@thread.tacv2`` too)."""
    return quote(value, safe="")


class BotConnector:
    """Calls ``service_url`` (e.g. ``https://smba.trafficmanager.net/emea/``)."""

    def __init__(
        self,
        service_url: str,
        tokens: TokenSource,
        *,
        max_retries: int = 2,
        backoff: float = 1.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if not service_url.startswith(("https://", "http://")):
            raise ValueError("service_url must be an http(s) URL")
        self.service_url = service_url.rstrip("/")
        self._tokens = tokens
        self._max_retries = max_retries
        self._backoff = backoff
        self._sleep = sleep
        self._http = httpx.Client(timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def token(self, what: str = "token") -> str:
        """The app's access token; a DeliveryError when the token endpoint refuses or fails."""
        try:
            return self._tokens()
        except TokenError as exc:
            # Wrong credentials or Entra ID unreachable: the operator can fix either,
            # and the queued posts must still go out afterwards.
            raise TemporaryDeliveryError(f"Teams {what}: app token: {exc}") from exc

    def call(
        self, method: str, path: str, body: Mapping[str, Any] | None = None, *, what: str = ""
    ) -> dict[str, Any]:
        """``method`` ``path`` (under the service URL) with ``body`` redacted; the JSON answer."""
        what = what or f"{method} {path.split('?')[0]}"
        payload = redact_tree(dict(body), TEAMS_DATA_KEYS) if body is not None else None
        url = self.service_url + path
        refreshed = False
        attempt = 0
        while True:
            token = self.token(what)
            try:
                response = self._http.request(
                    method,
                    url,
                    json=payload,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
            except httpx.TransportError as exc:
                error: DeliveryError = TemporaryDeliveryError(
                    f"Teams {what}: unreachable ({exc.__class__.__name__})"
                )
                if method != "GET" and not isinstance(
                    exc, httpx.ConnectError | httpx.ConnectTimeout
                ):
                    # The request may have arrived: posting again here could post twice.
                    log.warning("%s", error)
                    raise error from exc
                wait = self._backoff * (2**attempt)
            else:
                if response.is_success:
                    return _json(response)
                if response.status_code == 401 and not refreshed:
                    # Expired or revoked early: fetch a new token once, then try again.
                    self._tokens.invalidate()
                    refreshed = True
                    continue
                error = classify_response(response, what)
                if not isinstance(error, TemporaryDeliveryError) or response.status_code == 401:
                    log.warning("%s", error)
                    raise error
                retry_after = _retry_after(response)
                wait = retry_after if retry_after is not None else self._backoff * (2**attempt)
            if attempt >= self._max_retries or wait > MAX_INLINE_WAIT:
                log.warning("%s", error)
                raise error
            attempt += 1
            self._sleep(wait)


def _json(response: httpx.Response) -> dict[str, Any]:
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"items": data}
