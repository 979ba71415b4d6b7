"""Serving the web front from ``complaint-bot run``: uvicorn in a background thread."""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import TYPE_CHECKING

import uvicorn

from bot.config import ConfigError
from handlers.web.app import make_app

if TYPE_CHECKING:
    from bot.wiring import Runtime

log = logging.getLogger(__name__)


def form_secret(rt: Runtime) -> bytes:
    """The key that signs form tokens: from ``[web] secret_env`` when that variable is set
    (required for several instances behind one address, and so that a form opened before
    a restart can still be sent), else a random key of this process, with a warning."""
    secret = rt.secrets.web_form_secret if rt.secrets is not None else None
    if secret is None:
        log.warning(
            "[web] secret_env: %s is not set; form tokens are signed with a random key of "
            "this process (a form opened before a restart must be sent again, and several "
            "instances need one shared secret)",
            rt.cfg.web.secret_env,
        )
        return secrets.token_bytes(32)
    if len(secret.get_secret_value()) < 16:
        raise ConfigError(
            f"{rt.cfg.source_path}: [web] secret_env: the variable it names must hold "
            "a random secret of at least 16 characters"
        )
    return secret.get_secret_value().encode("utf-8")


class WebFront:
    """The running web front; ``close()`` stops it."""

    def __init__(self, rt: Runtime, host: str, port: int) -> None:
        app = make_app(rt, form_secret(rt))
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_level="warning",
            access_log=False,  # an access log would name citizens' addresses and status tokens
            proxy_headers=False,  # forwarded headers count only from [web] trusted_proxies
            server_header=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="web-front", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started and self.thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self.server.started:
            raise RuntimeError(f"the web front could not listen on {host}:{port}")
        log.info("web front on http://%s:%d/", host, port)

    def close(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def start_web_front(rt: Runtime, port: int | None = None) -> WebFront:
    """Serve the form and status page on ``[web] host``:``[web] port`` (or ``port``)."""
    web = rt.cfg.web
    return WebFront(rt, web.host, web.port if port is None else port)
