"""``complaint-bot check``: can the bot reach everything it is configured to use?"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Iterator
from pathlib import Path

from bot.config import Config, ConfigError, load_secrets


def _writable(path: Path) -> bool:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        return False
    return os.access(path, os.W_OK)


def run_checks(cfg: Config) -> Iterator[tuple[bool, str]]:
    """Yield ``(ok, line)`` per check. Never raises for an unreachable server."""
    try:
        secrets = load_secrets(cfg)
        yield True, "secrets: every *_env variable in use is set"
    except ConfigError as exc:
        yield False, f"secrets: {exc}"
        return

    from bot import db

    try:
        engine = db.make_engine(cfg.database_url)
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        rev = db.current_revision(engine)
        yield True, f"database: {engine.dialect.name} reachable, schema revision {rev or 'none'}"
        engine.dispose()
    except Exception as exc:
        yield False, f"database: {type(exc).__name__}: {exc}"

    mb = cfg.mailbox
    if mb.kind == "maildir":
        p = cfg.resolve_path(mb.path)
        yield _writable(p), f"mailbox: maildir {p}"
    else:
        try:
            import imapclient

            ctx = ssl.create_default_context()
            client = imapclient.IMAPClient(mb.host, port=mb.port, ssl=mb.security == "ssl",
                                           ssl_context=ctx, timeout=10)
            if mb.security == "starttls":
                client.starttls(ctx)
            if mb.oauth2 is None and secrets.imap_password is not None:
                client.login(mb.username, secrets.imap_password.get_secret_value())
                client.select_folder(mb.folder, readonly=True)
            client.logout()
            yield True, f"mailbox: IMAP {mb.host}:{mb.port} ({mb.security}) folder {mb.folder}"
        except Exception as exc:
            yield False, f"mailbox: IMAP {mb.host}:{mb.port}: {type(exc).__name__}: {exc}"

    out = cfg.outgoing
    if out.kind == "folder":
        p = cfg.resolve_path(out.path)
        yield _writable(p), f"outgoing: folder {p}"
    else:
        try:
            ctx = ssl.create_default_context()
            smtp: smtplib.SMTP
            if out.security == "ssl":
                smtp = smtplib.SMTP_SSL(out.host, out.port, timeout=10, context=ctx)
            else:
                smtp = smtplib.SMTP(out.host, out.port, timeout=10)
                if out.security == "starttls":
                    smtp.starttls(context=ctx)
            if out.username and secrets.smtp_password is not None:
                smtp.login(out.username, secrets.smtp_password.get_secret_value())
            smtp.noop()
            smtp.quit()
            yield True, f"outgoing: SMTP {out.host}:{out.port} ({out.security})"
        except Exception as exc:
            yield False, f"outgoing: SMTP {out.host}:{out.port}: {type(exc).__name__}: {exc}"

    chat = cfg.chat
    if chat.kind == "console":
        yield True, "chat: console"
    else:
        try:
            from slack_sdk import WebClient

            assert secrets.slack_bot_token is not None
            client = WebClient(token=secrets.slack_bot_token.get_secret_value(),
                               base_url=chat.api_base_url, timeout=10)
            who = client.auth_test()
            yield True, f"chat: Slack {chat.api_base_url} as {who.get('user_id')}"
        except Exception as exc:
            yield False, f"chat: Slack {chat.api_base_url}: {type(exc).__name__}: {exc}"
