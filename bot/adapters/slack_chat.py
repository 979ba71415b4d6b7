"""Posts staff prompts to Slack (the :class:`bot.ports.Chat` behind ``kind = "slack"``).

The Web API client retries rate limits, 5xx and dropped connections itself
(a few times, see :func:`make_web_client`); what still fails comes out as a
:class:`~bot.errors.DeliveryError`: temporary when waiting may help (rate
limited, Slack down, the token being fixed), permanent when this post can
never succeed (no such channel, bot not in it, blocks Slack refuses).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from http.client import HTTPException
from typing import Any, TypeVar

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.handler import default_interval_calculator
from slack_sdk.http_retry.interval_calculator import RetryIntervalCalculator
from slack_sdk.web import SlackResponse

from bot.config import ChatConfig
from bot.errors import DeliveryError, PermanentDeliveryError, TemporaryDeliveryError
from bot.ports import ChatPost, ChatRef
from bot.redact import redact_tree

log = logging.getLogger(__name__)

T = TypeVar("T")

# Slack's own "try again later" answers.
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "timeout",
    }
)
# The app's token or scopes are wrong: nothing about this post, and the
# operator can fix it, after which the queued posts should still go out.
SETUP_ERRORS = frozenset(
    {
        "not_authed",
        "invalid_auth",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "no_permission",
        "missing_scope",
        "not_allowed_token_type",
        "ekm_access_denied",
        "team_access_not_granted",
        "org_login_required",
    }
)


def _retry_after(headers: dict[str, Any] | None) -> float | None:
    for name, value in (headers or {}).items():
        if name.lower() == "retry-after":
            raw = value[0] if isinstance(value, list | tuple) else value
            try:
                return float(raw)
            except (TypeError, ValueError):
                return None
    return None


def classify_slack_error(exc: Exception, method: str) -> DeliveryError:
    """Turn what slack_sdk raised for ``method`` into a permanent or temporary error."""
    if isinstance(exc, SlackApiError):
        status = int(getattr(exc.response, "status_code", 200) or 200)
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        error = str(data.get("error", "")) or f"HTTP {status}"
        if status == 429 or error in ("ratelimited", "rate_limited"):
            return TemporaryDeliveryError(
                f"Slack {method}: rate limited", retry_after=_retry_after(exc.response.headers)
            )
        if status >= 500 or error in TRANSIENT_ERRORS:
            return TemporaryDeliveryError(f"Slack {method}: {error} (HTTP {status})")
        if error in SETUP_ERRORS:
            return TemporaryDeliveryError(f"Slack {method}: {error}; check the bot token/scopes")
        return PermanentDeliveryError(f"Slack {method}: {error}")
    if isinstance(exc, OSError | HTTPException):
        # URLError, refused/reset connections and timeouts are all OSErrors.
        return TemporaryDeliveryError(f"Slack {method}: unreachable ({exc.__class__.__name__})")
    if isinstance(exc, SlackClientError):
        return PermanentDeliveryError(f"Slack {method}: {exc.__class__.__name__}: {exc}")
    raise exc


class SlackChat:
    """A :class:`bot.ports.Chat` over the Slack Web API."""

    def __init__(self, client: WebClient) -> None:
        self._client = client

    def check(self) -> str:
        """``auth.test`` against the configured API; raises a DeliveryError on failure."""
        try:
            who = self._client.auth_test()
        except Exception as exc:
            raise classify_slack_error(exc, "auth.test") from exc
        return f"Slack {self._client.base_url} as {who.get('user_id')}"

    def post(self, channel: str, post: ChatPost, thread_ts: str | None = None) -> ChatRef:
        """Post to ``channel`` (in the thread ``thread_ts`` when given); where it landed."""
        response = self._call(
            "chat.postMessage",
            lambda: self._client.chat_postMessage(
                channel=channel,
                text=post.text,
                blocks=post.blocks or None,
                thread_ts=thread_ts,
                # Citizens' links must not be fetched by Slack's unfurler.
                unfurl_links=False,
                unfurl_media=False,
            ),
        )
        return ChatRef(channel=str(response["channel"]), ts=str(response["ts"]))

    def update(self, ref: ChatRef, post: ChatPost) -> None:
        """Replace the message at ``ref``; empty ``blocks`` clear the old ones."""
        self._call(
            "chat.update",
            lambda: self._client.chat_update(
                channel=ref.channel,
                ts=ref.ts,
                text=post.text,
                blocks=post.blocks,
            ),
        )

    def direct(self, user: str, post: ChatPost) -> ChatRef:
        """Send ``post`` to ``user`` in a direct message."""
        opened = self._call(
            "conversations.open", lambda: self._client.conversations_open(users=user)
        )
        return self.post(str(opened["channel"]["id"]), post)

    def upload(self, user: str, filename: str, data: bytes, title: str) -> str:
        """Share ``data`` as a file in ``user``'s direct message (files_upload_v2)."""
        opened = self._call(
            "conversations.open", lambda: self._client.conversations_open(users=user)
        )
        channel = str(opened["channel"]["id"])
        self._call(
            "files.upload",
            lambda: self._client.files_upload_v2(
                channel=channel, content=data, filename=filename, title=title
            ),
        )
        return f"uploaded {filename} to {channel}"

    def find(self, channel: str, text: str, since: datetime) -> ChatRef | None:
        """The newest top-level message this bot posted in ``channel`` since ``since``
        whose text contains ``text``; None if there is none.

        For the outbox after a crash: a post that may have gone out is looked up
        before it is posted again.
        """
        oldest = f"{since.timestamp():.6f}"
        cursor: str | None = None
        while True:
            page = self._call(
                "conversations.history",
                lambda c=cursor: (  # type: ignore[misc]
                    self._client.conversations_history(
                        channel=channel, oldest=oldest, limit=200, cursor=c
                    )
                ),
            )
            for message in page.get("messages") or []:
                if message.get("bot_id") and text in str(message.get("text", "")):
                    return ChatRef(channel=channel, ts=str(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor:
                return None

    def _call(self, method: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except Exception as exc:
            error = classify_slack_error(exc, method)
            log.warning("%s", error)
            raise error from exc


# Keys whose values Slack reads as ids, timestamps or URLs: digits there are not text
# (a message ts such as 1712345678.123456 looks like a personnummer to the matcher).
SLACK_DATA_KEYS = frozenset(
    {
        "channel",
        "channel_id",
        "ts",
        "thread_ts",
        "message_ts",
        "user",
        "users",
        "user_id",
        "trigger_id",
        "view_id",
        "external_id",
        "hash",
        "action_id",
        "block_id",
        "callback_id",
        "private_metadata",
        "url",
        "image_url",
        "response_url",
        "team_id",
        "token",
        "cursor",
        "oldest",
        "latest",
        "limit",
        "challenge",
        "id",
        "file_id",
        "upload_url",
    }
)


class RedactingWebClient(WebClient):
    """A WebClient that masks identity numbers in everything it sends to Slack.

    The last line of defence: every Web API call (messages, updates, ephemerals,
    modals, the home tab, file titles) goes through :meth:`api_call`, whatever
    built the text (citizen mail, staff typing, templates). Block Kit structures
    are walked; ids and timestamps (:data:`SLACK_DATA_KEYS`) are left alone.
    """

    def api_call(
        self,
        api_method: str,
        *,
        http_verb: str = "POST",
        files: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        headers: dict[str, Any] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> SlackResponse:
        return super().api_call(
            api_method,
            http_verb=http_verb,
            files=files,
            headers=headers,
            auth=auth,
            data=redact_tree(data, SLACK_DATA_KEYS) if isinstance(data, dict) else data,
            params=redact_tree(params, SLACK_DATA_KEYS) if params else params,
            json=redact_tree(json, SLACK_DATA_KEYS) if json else json,
        )


def redacting(client: WebClient) -> RedactingWebClient:
    """``client`` itself if it already redacts, else a redacting client with its settings.

    Bolt builds a plain WebClient for every request; the app swaps it for this.
    """
    if isinstance(client, RedactingWebClient):
        return client
    return RedactingWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        headers=dict(client.headers),
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers or []),
    )


def make_web_client(
    cfg: ChatConfig,
    token: str,
    *,
    max_retries: int = 2,
    interval_calculator: RetryIntervalCalculator = default_interval_calculator,
    timeout: int = 30,
) -> WebClient:
    """A (redacting) WebClient for ``cfg.api_base_url`` that retries 429 (after ``Retry-After``),
    500/503 and dropped connections up to ``max_retries`` times each.

    ``interval_calculator`` spaces the 5xx and connection retries (tests pass a tiny one).
    """
    return RedactingWebClient(
        token=token,
        base_url=cfg.api_base_url,
        timeout=timeout,
        retry_handlers=[
            RateLimitErrorRetryHandler(max_retry_count=max_retries),
            ServerErrorRetryHandler(
                max_retry_count=max_retries, interval_calculator=interval_calculator
            ),
            ConnectionErrorRetryHandler(
                max_retry_count=max_retries, interval_calculator=interval_calculator
            ),
        ],
    )
