"""Security headers on every response of the web front, and the page for a failure."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable

from starlette.datastructures import MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)


def security_headers(frame_ancestors: Iterable[str]) -> dict[str, str]:
    """The headers: a CSP without inline script or style, no referrer to other sites (a status link
    carries its token in the path), no sniffing, framing only by the configured sites."""
    ancestors = " ".join(["'self'", *frame_ancestors])
    csp = (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        f"base-uri 'none'; frame-ancestors {ancestors}"
    )
    headers = {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
        "Cross-Origin-Resource-Policy": "same-origin",
    }
    if not list(frame_ancestors):
        headers["X-Frame-Options"] = "SAMEORIGIN"  # older browsers; CSP says the same
    return headers


class SecurityHeaders:
    """Pure ASGI middleware adding :func:`security_headers` to every HTTP response."""

    def __init__(self, app: ASGIApp, frame_ancestors: Iterable[str] = ()) -> None:
        self.app = app
        self.headers = security_headers(tuple(frame_ancestors))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_headers)


class ErrorPage:
    """Pure ASGI middleware for what nobody expected: the citizen gets ``page(scope)`` (a
    page in their language, status 500) instead of a bare "Internal Server Error", and the
    log gets the exception's type and where it happened, never its text (that may quote
    what the citizen sent) nor the path (a status path carries its token)."""

    def __init__(self, app: ASGIApp, page: Callable[[Scope], Response]) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking)
        except Exception as exc:
            where = "".join(traceback.format_tb(exc.__traceback__)[-6:])
            log.error(
                "web front: %s on %s /%s…\n%s",
                type(exc).__name__,
                scope.get("method", "?"),
                str(scope.get("path", "")).strip("/").split("/")[0],
                where,
            )
            if not started:
                await self.page(scope)(scope, receive, send)
