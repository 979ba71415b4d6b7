"""OAuth2 access tokens by the client-credentials grant (Microsoft 365, Google Workspace).

An instance is the ``token_provider`` for the IMAP (and SMTP) adapters: calling
it returns a valid access token, fetched from the token endpoint when there is
none or the cached one expires within five minutes.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import datetime, timedelta

from pydantic import SecretStr

from bot.errors import BotError

log = logging.getLogger(__name__)

#: Refresh this long before the token expires (less for very short-lived tokens).
REFRESH_MARGIN = timedelta(minutes=5)


class TokenError(BotError):
    """The token endpoint refused us or answered something unusable."""


class ClientCredentialsTokens:
    """Fetches and caches an access token with ``grant_type=client_credentials``."""

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: SecretStr,
        scope: str,
        clock: Callable[[], datetime],
        *,
        timeout: float = 30.0,
    ) -> None:
        scheme = urllib.parse.urlsplit(token_url).scheme
        if scheme not in ("https", "http"):
            raise ValueError(f"token_url must be an http(s) URL, not {scheme or 'nothing'!r}")
        self.token_url = token_url
        self.client_id = client_id
        self._secret = client_secret
        self.scope = scope
        self._clock = clock
        self._timeout = timeout
        self._token: str | None = None
        self._refresh_at: datetime | None = None
        self._lock = threading.Lock()  # IMAP and SMTP may ask from different threads

    def __call__(self) -> str:
        """A valid access token (cached until five minutes before it expires)."""
        with self._lock:
            now = self._clock()
            if self._token is None or self._refresh_at is None or now >= self._refresh_at:
                self._token, lifetime = self._fetch()
                margin = min(REFRESH_MARGIN, lifetime / 2)
                self._refresh_at = now + lifetime - margin
            return self._token

    def invalidate(self) -> None:
        """Forget the cached token (the server refused it): the next call fetches one."""
        with self._lock:
            self._token = None
            self._refresh_at = None

    def _fetch(self) -> tuple[str, timedelta]:
        form = urllib.parse.urlencode(
            {
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self._secret.get_secret_value(),
                "scope": self.scope,
            }
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - scheme checked in __init__
            self.token_url,
            data=form,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                body = response.read()
        except urllib.error.HTTPError as exc:
            # The error body (e.g. AADSTS codes) says what is wrong; it holds no secret.
            detail = exc.read()[:500].decode("utf-8", "replace")
            raise TokenError(f"token endpoint answered HTTP {exc.code}: {detail}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TokenError(f"token endpoint unreachable: {exc}") from exc
        return parse_token_response(body)


def parse_token_response(body: bytes) -> tuple[str, timedelta]:
    """``(access_token, lifetime)`` from a token endpoint's JSON answer (RFC 6749 5.1)."""
    try:
        data = json.loads(body)
        token = data["access_token"]
        lifetime = float(data.get("expires_in", 3600))
    except (ValueError, KeyError, TypeError) as exc:
        raise TokenError("token endpoint answered without a usable access_token") from exc
    if not isinstance(token, str) or not token:
        raise TokenError("token endpoint answered with an empty access_token")
    return token, timedelta(seconds=max(0.0, lifetime))
