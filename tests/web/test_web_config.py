"""The [web] section: bad values are named, the secret is required when enabled, and
``run`` starts the web front only when it is enabled."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import ConfigError, Secrets, load_secrets
from bot.wiring import Runtime
from handlers.web.server import WebFront, form_secret
from tests.conftest import make_config


@pytest.mark.parametrize(
    ("web", "message"),
    [
        ({"public_url": "synpunkter.example.org"}, "[web] public_url: must be an absolute"),
        ({"trusted_proxies": ["proxy.local"]}, "[web] trusted_proxies: 'proxy.local' is not"),
        ({"attachment_types": ["text/html"]}, "[web] attachment_types: unknown type"),
        ({"port": 0}, "[web] port:"),
        ({"secret_env": "s3cretValue9"}, "[web] secret_env: must be the name"),
    ],
)
def test_a_bad_web_value_names_the_key(
    tmp_path: Path, db_url: str, web: dict[str, object], message: str
) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
        make_config(tmp_path, db_url, web=web)


def test_without_a_secret_the_form_is_signed_with_a_random_key_of_the_process(
    tmp_path: Path, db_url: str, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEB_FORM_SECRET", raising=False)
    cfg = make_config(tmp_path, db_url, web={"enabled": True})
    assert load_secrets(cfg).web_form_secret is None  # `cases`, `check`... need no secret
    rt = Runtime(cfg, clock=clock, secrets=Secrets())
    first, second = form_secret(rt), form_secret(rt)
    assert len(first) == 32 and first != second  # random, never a fixed fallback
    monkeypatch.setenv("WEB_FORM_SECRET", "a-long-enough-secret")
    rt.secrets = load_secrets(cfg)
    assert form_secret(rt) == b"a-long-enough-secret"
    rt.close()


def test_run_starts_the_web_front_only_when_enabled(
    tmp_path: Path, db_url: str, clock: FixedClock
) -> None:
    rt = Runtime(make_config(tmp_path, db_url), clock=clock, secrets=Secrets())
    assert rt.start_web_front() is None
    rt.close()
    weak = Runtime(
        make_config(tmp_path, db_url, web={"enabled": True}),
        clock=clock,
        secrets=Secrets(web_form_secret=SecretStr("short")),
    )
    with pytest.raises(ConfigError, match="at least 16 characters"):
        WebFront(weak, "127.0.0.1", 1)
    weak.close()
