"""The [web] section: bad values are named, the secret is required when enabled, and
``run`` starts the web front only when it is enabled."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.clock import FixedClock
from bot.config import ConfigError, Secrets, load_secrets
from bot.wiring import Runtime
from handlers.web.server import WebFront
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


def test_the_secret_is_required_only_when_the_web_is_enabled(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEB_FORM_SECRET", raising=False)
    assert load_secrets(make_config(tmp_path, db_url)).web_form_secret is None
    with pytest.raises(ConfigError, match=r"\[web\] secret_env: environment variable"):
        load_secrets(make_config(tmp_path, db_url, web={"enabled": True}))


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
