"""The web front for tests: the real app on uvicorn on a free port, and a small HTTP
client (urllib) that reads the form's hidden fields like a browser would."""

from __future__ import annotations

import html
import re
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlencode

from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import Config, Secrets
from bot.wiring import Runtime
from handlers.web.server import start_web_front
from tests.support.delivery import settle
from tests.support.net import HOST, free_port

SECRET = "test-web-form-secret-0123456789abcdef"


@dataclass
class Reply:
    status: int
    headers: Message
    text: str

    def hidden(self, name: str) -> str:
        """The value of the form's hidden field ``name``."""
        found = re.search(rf'name="{name}" value="([^"]*)"', self.text)
        assert found, f"no field {name} in the page"
        return html.unescape(found.group(1))

    @property
    def ref(self) -> str | None:
        found = re.search(r'id="case-ref">([^<]+)<', self.text)
        return found.group(1) if found else None

    @property
    def status_path(self) -> str | None:
        found = re.search(r'id="status-link" href="([^"]+)"', self.text)
        return html.unescape(found.group(1)) if found else None


class Client:
    def __init__(self, base: str, after: Callable[[], None] | None = None) -> None:
        self.base = base
        self.after = after  # run after every request (the site waits for the outbox)

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        req = urllib.request.Request(  # noqa: S310 - always http://127.0.0.1
            self.base + path, data=body, method=method, headers=dict(headers or {})
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - loopback
                reply = Reply(resp.status, resp.headers, resp.read().decode("utf-8"))
        except urllib.error.HTTPError as err:
            reply = Reply(err.code, err.headers, err.read().decode("utf-8"))
        if self.after is not None:
            self.after()
        return reply

    def get(self, path: str = "/", headers: Mapping[str, str] | None = None) -> Reply:
        return self.request("GET", path, headers=headers)

    def post(
        self,
        fields: Mapping[str, str],
        headers: Mapping[str, str] | None = None,
        files: Mapping[str, tuple[str, str, bytes]] | None = None,
    ) -> Reply:
        """POST ``fields`` to ``/`` (multipart when there are files, else urlencoded)."""
        if files is None:
            body = urlencode(fields).encode("utf-8")
            ctype = "application/x-www-form-urlencoded"
        else:
            body, ctype = multipart(fields, files)
        return self.request("POST", "/", body, {"Content-Type": ctype, **(headers or {})})


def multipart(
    fields: Mapping[str, str], files: Mapping[str, tuple[str, str, bytes]]
) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts: list[bytes] = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
            + value.encode("utf-8")
            + b"\r\n"
        )
    for name, (filename, ctype, data) in files.items():
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="{filename}"\r\nContent-Type: {ctype}\r\n\r\n'
        )
        parts.append(head.encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


@dataclass
class Site:
    rt: Runtime
    client: Client
    clock: FixedClock
    base: str

    def fill(self, lang: str = "sv", wait: float = 3.0, **fields: str) -> Reply:
        """Open the form, wait ``wait`` seconds (on the test clock), send ``fields``."""
        form = self.client.get(f"/?lang={lang}")
        self.clock.advance(seconds=wait)
        return self.client.post({"form_token": form.hidden("form_token"), "lang": lang, **fields})


@contextmanager
def running_site(cfg: Config, clock: FixedClock, **overrides: Any) -> Iterator[Site]:
    """The web front of ``cfg`` (``[web]`` must be enabled) serving on a free port, with
    the outbox's delivery loop running as under ``run``: the client waits for it after
    every request, so a test sees what a complaint sent."""
    rt = Runtime(
        cfg, clock=clock, secrets=Secrets(web_form_secret=SecretStr(SECRET)), overrides=overrides
    )
    port = free_port()
    rt.delivery.idle_seconds = 3600.0  # woken by the front only
    rt.delivery.start()
    front = start_web_front(rt, port=port)
    base = f"http://{HOST}:{port}"
    try:
        yield Site(
            rt=rt, client=Client(base, after=lambda: settle(rt.delivery)), clock=clock, base=base
        )
    finally:
        front.close()
        rt.delivery.stop()
        rt.close()
