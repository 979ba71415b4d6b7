"""The web section: the citizen's complaint form and status page (docs/web.md)."""

from __future__ import annotations

import ipaddress
import re

from pydantic import Field, field_validator

from bot.config.base import Section

# Attachment types the web form can take, each recognised by its first bytes.
ATTACHMENT_TYPES = ("image/jpeg", "image/png", "application/pdf")


class WebConfig(Section):
    """The citizen's complaint form and status page (``complaint-bot run``; docs/web.md)."""

    enabled: bool = False
    host: str = "127.0.0.1"  # behind a reverse proxy; "0.0.0.0" to listen everywhere
    port: int = Field(8080, ge=1, le=65535)
    public_url: str = "https://synpunkter.example.org"  # links in emails and the snippet
    # Signs the form tokens (CSRF, fill time) and derives status links. A name, not the secret.
    secret_env: str = "WEB_FORM_SECRET"  # noqa: S105
    privacy_url: str = ""  # the privacy page the form links; empty: [organisation] privacy_url
    trusted_proxies: tuple[str, ...] = ()  # addresses or networks whose X-Forwarded-For counts
    frame_ancestors: tuple[str, ...] = ()  # origins that may embed the form in an iframe
    min_fill_seconds: float = Field(2.0, ge=0)  # a form sent faster than this is refused
    rate_window_seconds: int = Field(600, ge=1)
    rate_per_address: int = Field(5, ge=1)  # submissions per client address per window
    rate_overall: int = Field(200, ge=1)  # submissions per window, all addresses together
    max_message_chars: int = Field(10_000, ge=100, le=100_000)
    max_attachment_bytes: int = Field(5_000_000, ge=0, le=50_000_000)  # 0: no attachments
    attachment_types: tuple[str, ...] = ("image/jpeg", "image/png", "application/pdf")
    status_days: int = Field(180, ge=1)  # a status link works this long after it was made

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, v: str) -> str:
        if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", v):
            raise ValueError(
                "must be an absolute http(s) URL such as https://synpunkter.example.org"
            )
        return v.rstrip("/")

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for item in v:
            try:
                ipaddress.ip_network(item, strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or network") from None
        return v

    @field_validator("attachment_types")
    @classmethod
    def _known_types(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(v) - set(ATTACHMENT_TYPES))
        if unknown:
            raise ValueError(f"unknown type {unknown[0]!r}; known: {', '.join(ATTACHMENT_TYPES)}")
        return v
