"""May we acknowledge this message? A pure decision, with the reason.

Modelled on GNU Mailman's ``can_acknowledge``: robots never get an answer, and
no person gets more than one acknowledgement per window, so two auto-responders
can never ping-pong through us.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.config import Config
from bot.mail.compose import bare_address, valid_address


@dataclass(frozen=True)
class AckHistory:
    """What the database knows about earlier mail to this sender."""

    last_ack_to_sender_at: datetime | None = None
    sender_bounced_at: datetime | None = None


def untagged(addr: str) -> str:
    """``synpunkter+ack@example.org`` -> ``synpunkter@example.org`` (lower case)."""
    local, at, domain = addr.lower().partition("@")
    return f"{local.split('+', 1)[0]}{at}{domain}"


def own_addresses_of(cfg: Config) -> frozenset[str]:
    """Every address that is ours: the configured ones, From, Reply-To, the mailbox."""
    addrs = {a.lower() for a in cfg.organisation.own_addresses}
    addrs.add(bare_address(cfg.outgoing.from_address).lower())
    if cfg.outgoing.reply_to:
        addrs.add(bare_address(cfg.outgoing.reply_to).lower())
    if cfg.mailbox.username and "@" in cfg.mailbox.username:
        addrs.add(cfg.mailbox.username.lower())
    return frozenset(addrs)


def can_acknowledge(
    *,
    mail_kind: str,
    sender: str | None,
    own_addresses: frozenset[str],
    historical: bool,
    history: AckHistory,
    now: datetime,
    window: timedelta,
    bounce_block: timedelta,
) -> tuple[bool, str]:
    """Return ``(True, "ok")`` or ``(False, why)``."""
    if historical:
        return False, "historical mail (was in the mailbox before the bot)"
    if mail_kind != "complaint":
        return False, f"robot mail ({mail_kind})"
    addr = valid_address(sender)
    if addr is None:
        return False, "no valid sender address"
    if addr.lower() in own_addresses or untagged(addr) in own_addresses:
        return False, "sender is one of our own addresses"
    local = addr.split("@", 1)[0].lower().replace("_", "-").replace(".", "-")
    if local in {
        "noreply",
        "no-reply",
        "donotreply",
        "do-not-reply",
        "mailer-daemon",
        "postmaster",
        "bounce",
        "bounces",
    } or local.startswith(("noreply", "no-reply")):
        return False, "no-reply sender"
    if history.sender_bounced_at is not None and now - history.sender_bounced_at < bounce_block:
        return False, "mail to this sender bounced recently"
    if history.last_ack_to_sender_at is not None and now - history.last_ack_to_sender_at < window:
        return False, "sender already acknowledged within the window"
    return True, "ok"
