"""Signed requests for the Bolt app's ``POST /slack/events``, as Slack would send them.

The signature is made with slack_sdk's own ``SignatureVerifier`` so it is the
real algorithm (``v0=`` HMAC-SHA256 over ``v0:{timestamp}:{body}``). Each
request can be made stale or badly signed, and delivered over HTTP or handed
to ``app.dispatch`` as a ``BoltRequest``::

    signer = SlackSigner("test-signing-secret")
    req = signer.block_actions(action_id="claim_case", value="KL-2026-000123")
    response = app.dispatch(req.to_bolt())
    status, body = req.post(f"http://127.0.0.1:{port}/slack/events")
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from slack_bolt.request import BoltRequest
from slack_sdk.signature import SignatureVerifier

TEAM_ID = "T0TEAM"
APP_ID = "A0APP"
STALE_SECONDS = 6 * 60  # Slack (and Bolt) refuse anything older than five minutes


@dataclass(frozen=True)
class SignedRequest:
    """A request body with the headers Slack would send along."""

    body: str
    content_type: str
    timestamp: str
    signature: str

    @property
    def headers(self) -> dict[str, str]:
        return {
            "Content-Type": self.content_type,
            "X-Slack-Request-Timestamp": self.timestamp,
            "X-Slack-Signature": self.signature,
        }

    def to_bolt(self) -> BoltRequest:
        """For ``app.dispatch(...)``: Bolt checks the signature there too."""
        return BoltRequest(body=self.body, headers={k.lower(): v for k, v in self.headers.items()})

    def post(self, url: str, timeout: float = 5.0) -> tuple[int, str]:
        """Send it to ``url`` (e.g. ``http://127.0.0.1:3000/slack/events``); (status, body)."""
        if not url.startswith("http://127.0.0.1") and not url.startswith("http://localhost"):
            raise ValueError("test requests go to loopback only")
        req = urllib.request.Request(  # noqa: S310 - checked above: http to loopback
            url, data=self.body.encode(), headers=self.headers, method="POST"
        )
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310 - loopback
                return int(resp.status), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return int(exc.code), exc.read().decode()

    def post_to_port(self, port: int, path: str = "/slack/events") -> tuple[int, str]:
        return self.post(f"http://127.0.0.1:{port}{path}")


class SlackSigner:
    """Builds signed Slack requests; ``clock`` gives the current Unix time."""

    def __init__(self, signing_secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self.signing_secret = signing_secret
        self._clock = clock
        # Where Bolt's respond() would post; point it at a local fake to record those.
        self.response_url = "http://127.0.0.1:9/response"

    # -- signing --------------------------------------------------------------

    def sign(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
    ) -> SignedRequest:
        ts = str(int(self._clock()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret or self.signing_secret).generate_signature(
            timestamp=ts, body=body
        )
        assert signature is not None
        return SignedRequest(
            body=body, content_type=content_type, timestamp=ts, signature=signature
        )

    def stale(self, request: SignedRequest, age: int = STALE_SECONDS) -> SignedRequest:
        """The same body, correctly signed, but ``age`` seconds old (a replay)."""
        return self.sign(request.body, request.content_type, timestamp=int(self._clock()) - age)

    @staticmethod
    def badly_signed(request: SignedRequest) -> SignedRequest:
        """The same request signed with another secret."""
        forged = SignatureVerifier("not-the-signing-secret").generate_signature(
            timestamp=request.timestamp, body=request.body
        )
        assert forged is not None
        return replace(request, signature=forged)

    @staticmethod
    def tampered(request: SignedRequest, body: str) -> SignedRequest:
        """Another body under the original signature."""
        return replace(request, body=body)

    def json(self, payload: dict[str, Any], **kw: Any) -> SignedRequest:
        return self.sign(json.dumps(payload), "application/json", **kw)

    def form(self, fields: dict[str, str], **kw: Any) -> SignedRequest:
        return self.sign(urlencode(fields), "application/x-www-form-urlencoded", **kw)

    def interactive(self, payload: dict[str, Any], **kw: Any) -> SignedRequest:
        """Interactivity arrives form-encoded, the JSON in one ``payload`` field."""
        return self.form({"payload": json.dumps(payload)}, **kw)

    # -- the kinds of request -------------------------------------------------

    def url_verification(self, challenge: str = "challenge-token") -> SignedRequest:
        return self.json({"type": "url_verification", "token": "legacy", "challenge": challenge})

    def event(
        self, event: dict[str, Any], *, event_id: str = "Ev0001", team_id: str = TEAM_ID, **kw: Any
    ) -> SignedRequest:
        """An Events API ``event_callback`` wrapping ``event`` (a message, reaction_added...)."""
        return self.json(
            {
                "token": "legacy",
                "team_id": team_id,
                "api_app_id": APP_ID,
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(self._clock()),
                "authorizations": [{"team_id": team_id, "user_id": "U0BOT", "is_bot": True}],
            },
            **kw,
        )

    def message_event(
        self,
        channel: str,
        text: str,
        *,
        user: str = "U0CITIZEN",
        ts: str | None = None,
        thread_ts: str | None = None,
        **kw: Any,
    ) -> SignedRequest:
        ts = ts or f"{self._clock():.6f}"
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "im" if channel.startswith("D") else "channel",
        }
        if thread_ts:
            event["thread_ts"] = thread_ts
        return self.event(event, **kw)

    def reaction_added(
        self,
        channel: str,
        item_ts: str,
        reaction: str,
        *,
        user: str = "U0STAFF",
        item_user: str = "U0CITIZEN",
        **kw: Any,
    ) -> SignedRequest:
        return self.event(
            {
                "type": "reaction_added",
                "user": user,
                "reaction": reaction,
                "item_user": item_user,
                "item": {"type": "message", "channel": channel, "ts": item_ts},
                "event_ts": f"{self._clock():.6f}",
            },
            **kw,
        )

    def block_actions(
        self,
        action_id: str,
        value: str = "",
        *,
        block_id: str = "b1",
        user: str = "U0STAFF",
        channel: str = "C0TRIAGE",
        message_ts: str = "1700000000.000100",
        trigger_id: str = "T.trigger",
        action_type: str = "button",
        view: dict[str, Any] | None = None,
        **kw: Any,
    ) -> SignedRequest:
        """A button press (``block_actions``) on a message, or in ``view`` when given."""
        action = {
            "type": action_type,
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "action_ts": f"{self._clock():.6f}",
        }
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "team_id": TEAM_ID},
            "api_app_id": APP_ID,
            "token": "legacy",
            "team": {"id": TEAM_ID},
            "trigger_id": trigger_id,
            "actions": [action],
            "response_url": self.response_url,
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "V0")}
            payload["view"] = view
        else:
            payload["container"] = {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            }
            payload["channel"] = {"id": channel}
            payload["message"] = {"type": "message", "ts": message_ts, "text": ""}
        return self.interactive(payload, **kw)

    def view_submission(
        self,
        callback_id: str,
        values: dict[str, dict[str, Any]],
        *,
        private_metadata: str = "",
        user: str = "U0STAFF",
        view_id: str = "V0000001",
        **kw: Any,
    ) -> SignedRequest:
        """A modal submitted; ``values`` is ``{block_id: {action_id: {...state}}}``."""
        return self.interactive(
            {
                "type": "view_submission",
                "team": {"id": TEAM_ID},
                "user": {"id": user, "team_id": TEAM_ID},
                "api_app_id": APP_ID,
                "token": "legacy",
                "trigger_id": "T.trigger",
                "view": {
                    "id": view_id,
                    "type": "modal",
                    "callback_id": callback_id,
                    "private_metadata": private_metadata,
                    "hash": "h1",
                    "state": {"values": values},
                    "team_id": TEAM_ID,
                },
            },
            **kw,
        )

    def slash_command(
        self,
        command: str,
        text: str = "",
        *,
        user: str = "U0STAFF",
        channel: str = "C0TRIAGE",
        trigger_id: str = "T.trigger",
        **kw: Any,
    ) -> SignedRequest:
        return self.form(
            {
                "token": "legacy",
                "team_id": TEAM_ID,
                "api_app_id": APP_ID,
                "channel_id": channel,
                "user_id": user,
                "command": command,
                "text": text,
                "response_url": self.response_url,
                "trigger_id": trigger_id,
            },
            **kw,
        )
