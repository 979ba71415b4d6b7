"""``complaint-bot check``: can the bot reach everything it is configured to use?

Each adapter knows how to reach its own server (``check()``), so this module
only asks them, one line per server, and never raises for an unreachable one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from bot.config import Config, ConfigError, load_secrets


def _one(name: str, where: str, probe: Callable[[], str]) -> tuple[bool, str]:
    try:
        return True, f"{name}: {probe()}"
    except Exception as exc:  # report it, go on with the next server
        return False, f"{name}: {where}: {type(exc).__name__}: {exc}"


def _where(cfg: Config) -> dict[str, str]:
    """What each check tries to reach, named the same way in its FAIL line."""
    mb, out, chat = cfg.mailbox, cfg.outgoing, cfg.chat
    return {
        "mailbox": f"IMAP {mb.host}:{mb.port}" if mb.kind == "imap" else f"maildir {mb.path}",
        "outgoing": f"SMTP {out.host}:{out.port}" if out.kind == "smtp" else f"folder {out.path}",
        "chat": (
            f"Slack {chat.api_base_url}"
            if chat.kind == "slack"
            else f"Teams {chat.service_url} (token from {chat.login_url})"
            if chat.kind == "teams"
            else "console"
        ),
    }


def run_checks(cfg: Config) -> Iterator[tuple[bool, str]]:
    """Yield ``(ok, line)`` per check: secrets, database, mailbox, outgoing mail, chat."""
    try:
        secrets = load_secrets(cfg)
        yield True, "secrets: every *_env variable in use is set"
    except ConfigError as exc:
        yield False, f"secrets: {exc}"
        return

    from bot.store import db
    from bot.wiring import Runtime

    engine = db.make_engine(cfg.database_url)

    def database() -> str:
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        rev = db.current_revision(engine)
        return f"{engine.dialect.name} reachable, schema revision {rev or 'none'}"

    ok, line = _one("database", engine.dialect.name, database)
    yield ok, line
    # The engine is handed over, so building the runtime neither migrates nor connects.
    rt = Runtime(cfg, secrets=secrets, engine=engine)
    where = _where(cfg)
    try:
        yield _one("mailbox", where["mailbox"], lambda: rt.mailbox.check())
        yield _one("outgoing", where["outgoing"], lambda: rt.mailer.check())
        yield _one("chat", where["chat"], lambda: rt.chat.check())
    finally:
        rt.close()
