"""A bad configuration stops start-up with one clear line naming file, key and problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, load_config, load_secrets, parse_config
from tests.support.cli import run

ROOT = Path(__file__).parent.parent
TEAMS_ID = "6f1c2d3e-0000-4000-8000-00000000a001"  # an Entra object id
TEAMS_CHAT = {"kind": "teams", "app_id": "8b5f3c2e-0000-4000-8000-00000000b07a"}


def test_example_config_is_valid_and_is_the_embedded_default() -> None:
    cfg = load_config(ROOT / "config.example.toml")
    assert (cfg.mailbox.kind, cfg.outgoing.kind, cfg.chat.kind) == ("maildir", "folder", "console")
    assert cfg.database.url.startswith("sqlite")
    assert load_secrets(cfg).slack_bot_token is None  # needs no secrets at all


def test_example_documents_every_key() -> None:
    """Every key the code knows appears in config.example.toml."""
    import tomllib

    from bot.config import Config

    text = (ROOT / "config.example.toml").read_text()
    documented = tomllib.loads(text)

    def keys(model: type, prefix: str = "") -> list[str]:
        out = []
        for name, field in model.model_fields.items():  # type: ignore[attr-defined]
            if name in ("source_path", "base_dir"):
                continue
            ann = field.annotation
            sub = next(
                (
                    a
                    for a in getattr(ann, "__args__", (ann,))
                    if isinstance(a, type) and hasattr(a, "model_fields")
                ),
                None,
            )
            if sub is not None:
                out += keys(sub, f"{prefix}{name}.")
            else:
                out.append(f"{prefix}{name}")
        return out

    missing = []
    for key in keys(Config):
        node: object = documented
        parts = key.split(".")
        for part in parts:
            if isinstance(node, dict) and part in node:
                node = node[part]
            else:
                node = None
                break
        if node is None and f"# {parts[-1]} =" not in text and f"{parts[-1]} =" not in text:
            missing.append(key)
    assert missing == []


@pytest.mark.parametrize(
    "raw,expected",
    [
        ({"mailbox": {"kindd": "imap"}}, "[mailbox] kindd: unknown key"),
        ({"mailbox": {"port": "nine"}}, "[mailbox] port:"),
        ({"mailbox": {"kind": "pop3"}}, "[mailbox] kind:"),
        ({"policy": {"timezone": "Mars/Olympus"}}, "[policy] timezone:"),
        (
            {
                "mailbox": {
                    "kind": "imap",
                    "host": "imap.example.org",
                    "username": "u",
                    "password_env": "X",
                    "security": "none",
                }
            },
            "[mailbox] security:",
        ),
        ({"chat": {"staff_users": ["not a slack id"]}}, "[chat] staff_users[0]:"),
        ({"unknown_section": {}}, "unknown_section: unknown key"),
        (
            {"chat": {"kind": "slack"}, "roster": {"users": ["U0A", TEAMS_ID]}},
            "[roster] users[1]: not a Slack id",
        ),
        ({"roster": {"managers": ["29:1abc"]}}, "[roster] managers[0]: not a Slack id"),
        ({"roster": {"working_days": {"29:1abc": [1]}}}, "[roster] working_days.29:1abc: not"),
        ({"roster": {"debrief_with": "<!channel>"}}, "[roster] debrief_with: must be a chat"),
        ({"chat": TEAMS_CHAT, "roster": {"usergroup": "S0X"}}, "[roster] usergroup: a Slack"),
        ({"chat": TEAMS_CHAT, "roster": {"users": ["<!here>"]}}, "[roster] users[0]:"),
    ],
)
def test_bad_values_name_the_key(raw: dict[str, object], expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse_config(raw, source="cfg.toml")
    assert str(err.value).startswith("cfg.toml: ")
    assert expected in str(err.value)


def test_the_roster_takes_teams_ids_when_the_chat_is_teams() -> None:
    roster = {
        "users": [TEAMS_ID, "29:1staffUserAbc"],
        "working_days": {TEAMS_ID: [1, 2, 3]},
        "managers": ["29:1managerAbc"],
        "debrief_with": TEAMS_ID,
    }
    cfg = parse_config({"chat": {**TEAMS_CHAT, "staff_users": [TEAMS_ID]}, "roster": roster})
    assert cfg.roster.users == (TEAMS_ID, "29:1staffUserAbc")
    assert cfg.roster.working_days[TEAMS_ID] == (1, 2, 3)
    assert (cfg.roster.managers, cfg.roster.debrief_with) == (("29:1managerAbc",), TEAMS_ID)


def test_missing_secret_env_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CB_TEST_NO_SUCH_SECRET", raising=False)
    cfg = parse_config(
        {"chat": {"kind": "slack", "mode": "http", "bot_token_env": "CB_TEST_NO_SUCH_SECRET"}},
        source="c.toml",
    )
    with pytest.raises(
        ConfigError,
        match=r"\[chat\] bot_token_env: environment variable "
        r"CB_TEST_NO_SUCH_SECRET is not set",
    ):
        load_secrets(cfg)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("chat", "bot_token_env", "xoxb-1234567890-0987654321-AbCdEfGhIjKlMnOpQrStUvWx"),
        ("chat", "signing_secret_env", "8f14e45fceea167a5a36dedd4bea2543"),
        ("chat", "app_token_env", "xapp_1_A0APP_1234567890_abcdef"),
        ("mailbox", "password_env", "Sommar2026!"),
        ("outgoing", "password_env", "hunter2 with spaces"),
        ("chat", "bot_token_env", "kP9xTq2LmZ7vRb4N"),
    ],
)
def test_a_secret_in_an_env_key_is_refused_without_being_shown(
    section: str, key: str, value: str
) -> None:
    raw = {section: {key: value}}
    with pytest.raises(ConfigError) as err:
        parse_config(raw, source="c.toml")
    message = str(err.value)
    assert f"[{section}] {key}:" in message and "not shown" in message
    assert value not in message and value[:6] not in message
    assert err.value.__cause__ is None and err.value.__suppress_context__


def test_ordinary_env_names_are_accepted() -> None:
    cfg = parse_config(
        {
            "chat": {
                "bot_token_env": "SLACK_BOT_TOKEN_2",
                "signing_secret_env": "slack_signing_secret",
            }
        }
    )
    assert cfg.chat.bot_token_env == "SLACK_BOT_TOKEN_2"


@pytest.mark.parametrize(
    "content,needle",
    [
        ('[mailbox]\nkind = "maildir"\nfoo = 1\n', "[mailbox] foo: unknown key"),
        ('[mailbox]\nport = "x"\n', "[mailbox] port"),
        (
            '[chat]\nkind = "slack"\nbot_token_env = "CB_TEST_UNSET_TOKEN"\nmode = "http"\n'
            'signing_secret_env = "CB_TEST_UNSET_TOKEN"\n',
            "CB_TEST_UNSET_TOKEN is not set",
        ),
        ("this is [not toml", "not valid TOML"),
    ],
)
def test_cli_reports_config_errors_without_traceback(
    tmp_path: Path, content: str, needle: str
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(
        f'[database]\nurl = "sqlite:///{tmp_path}/x.db"\n' + content
        if "not toml" not in content
        else content
    )
    # In-process: an exception that escaped the command would fail this test itself.
    proc = run(path, "cases", env={"CB_TEST_UNSET_TOKEN": None}, check=False)
    assert proc.returncode == 2
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr
    assert str(path) in proc.stderr
