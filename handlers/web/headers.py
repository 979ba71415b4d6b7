"""Security headers on every response of the web front."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


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
