"""A message over ``max_message_bytes`` is never fetched whole (bot.adapters.imap_large):
counted by what the real Dovecot sent back, then parsed into a case-worthy message."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from sqlmodel import Session, select

from bot.adapters.imap import ImapMailbox
from bot.clock import FixedClock
from bot.config import MailboxConfig, Secrets
from bot.mail.parse import parse_email
from bot.store.models import Message
from tests.support.dovecot import arrival
from tests.support.imap_bot import imap_bot

if TYPE_CHECKING:
    from tests.support.dovecot import Dovecot, ImapUser

pytestmark = pytest.mark.dovecot

MB = 1024 * 1024


def complaint(n: int, *, text: str = "", attachments: int = 0, size: int = 0) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Anna Andersson <anna@example.org>"
    mail["To"] = "synpunkter@example.org"
    mail["Subject"] = f"Klagomål {n}"
    mail["Message-ID"] = f"<large-{n}@example.org>"
    mail.set_content(text or "Det luktar illa från avloppet vid skolan.\n")
    for k in range(attachments):
        mail.add_attachment(
            os.urandom(size), maintype="image", subtype="jpeg", filename=f"bild {k}.jpg"
        )
    return mail.as_bytes(policy=SMTP)


class FetchLog:
    """What the server sent in answer to each FETCH (a spy on the real client)."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[str], int]] = []

    def wrap(self, mailbox: ImapMailbox) -> None:
        client = mailbox._connection()
        assert client is not None
        real = client.fetch

        def fetch(uids: Any, items: Any, *args: Any, **kwargs: Any) -> Any:
            answer = real(uids, items, *args, **kwargs)
            got = sum(len(v) for d in answer.values() for v in d.values() if isinstance(v, bytes))
            self.calls.append(([str(i) for i in items], got))
            return answer

        client.fetch = fetch

    @property
    def bytes_fetched(self) -> int:
        return sum(got for _, got in self.calls)


@pytest.fixture
def open_mailbox(
    dovecot: Dovecot, imap_user: ImapUser, engine: sa.Engine, clock: FixedClock
) -> Iterator[Callable[..., ImapMailbox]]:
    opened: list[ImapMailbox] = []

    def make(**overrides: Any) -> ImapMailbox:
        fields: dict[str, Any] = {
            "kind": "imap",
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": imap_user.name,
            "password_env": "IMAP_PASSWORD",
            "ca_file": dovecot.ca_file,
            **overrides,
        }
        secrets = Secrets(imap_password=SecretStr(imap_user.password))
        mailbox = ImapMailbox(MailboxConfig(**fields), secrets, engine, clock=clock)
        opened.append(mailbox)
        return mailbox

    yield make
    for mailbox in opened:
        mailbox.close()


def test_a_24_mb_message_is_fetched_as_header_text_and_descriptions(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    clock: FixedClock,
) -> None:
    big = complaint(1, text="Se bifogade bilder av avloppet.\n", attachments=3, size=6 * MB)
    dovecot.append(imap_user, big, internaldate=arrival(clock))
    dovecot.append(imap_user, complaint(2), internaldate=arrival(clock))
    mailbox = open_mailbox(max_message_bytes=10 * MB)
    spy = FetchLog()
    spy.wrap(mailbox)

    large, small = list(mailbox.pending())

    assert len(big) > 24_000_000
    assert spy.bytes_fetched < 20_000  # header, MIME headers, text: not the 24 MB
    assert small.raw == complaint(2)
    parsed = parse_email(large.raw)
    assert parsed.cut_down_from == len(big)
    assert parsed.subject == "Klagomål 1" and parsed.message_id == "large-1@example.org"
    assert parsed.body_text == "Se bifogade bilder av avloppet."
    assert [(a.filename, a.content_type, a.truncated) for a in parsed.attachments] == [
        (f"bild {k}.jpg", "image/jpeg", True) for k in range(3)
    ]
    for attachment in parsed.attachments:  # BODYSTRUCTURE's size, base64 estimated
        assert abs(attachment.size - 6 * MB) < 0.01 * 6 * MB


def test_a_long_text_message_keeps_the_start_of_its_text(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    clock: FixedClock,
) -> None:
    line = "Det luktar illa från avloppet vid skolan, igen och igen.\n"
    big = complaint(3, text=line * (3 * MB // len(line)))
    dovecot.append(imap_user, big, internaldate=arrival(clock))
    mailbox = open_mailbox(max_message_bytes=1 * MB)
    spy = FetchLog()
    spy.wrap(mailbox)

    (mail,) = list(mailbox.pending())

    assert spy.bytes_fetched < 600_000
    assert len(mail.raw) <= 1 * MB
    parsed = parse_email(mail.raw)
    assert parsed.cut_down_from == len(big)
    assert parsed.body_text.startswith("Det luktar illa")
    assert parsed.body_text.endswith("igen och igen.")  # cut at a line end
    assert parsed.attachments == ()


def test_an_attachment_alone_is_described_and_a_bounce_keeps_the_original_ids(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    clock: FixedClock,
) -> None:
    original = complaint(4, attachments=1, size=2 * MB)
    bounce = EmailMessage()
    bounce["From"] = "MAILER-DAEMON@example.net"
    bounce["To"] = "synpunkter@example.org"
    bounce["Subject"] = "Undelivered Mail Returned to Sender"
    bounce["Message-ID"] = "<bounce-5@example.net>"
    bounce.set_content("The mail could not be delivered.\n")
    bounce.add_attachment(message_from_bytes(original, policy=SMTP))  # message/rfc822
    lone = EmailMessage()
    lone["From"] = "anna@example.org"
    lone["Subject"] = "bild"
    lone["Message-ID"] = "<lone-6@example.org>"
    lone.set_content(os.urandom(2 * MB), maintype="image", subtype="png", filename="a.png")
    dovecot.append(imap_user, bounce.as_bytes(), internaldate=arrival(clock))
    dovecot.append(imap_user, lone.as_bytes(), internaldate=arrival(clock))
    mailbox = open_mailbox(max_message_bytes=1 * MB)

    spy = FetchLog()
    spy.wrap(mailbox)

    returned, alone = (parse_email(m.raw) for m in mailbox.pending())

    assert spy.bytes_fetched < 20_000

    assert returned.body_text == "The mail could not be delivered."
    assert returned.report_original_ids == ("large-4@example.org",)
    assert [a.content_type for a in returned.attachments] == ["message/rfc822"]
    assert alone.subject == "bild" and alone.body_text == ""
    assert [(a.filename, a.truncated) for a in alone.attachments] == [("a.png", True)]
    assert abs(alone.attachments[0].size - 2 * MB) < 0.01 * 2 * MB


def test_a_24_mb_message_becomes_a_case_with_its_attachments_listed(
    tmp_path: Path,
    db_url: str,
    engine: sa.Engine,
    dovecot: Dovecot,
    imap_user: ImapUser,
    clock: FixedClock,
) -> None:
    bot = imap_bot(tmp_path, db_url, engine, dovecot, imap_user, clock, max_message_bytes=10 * MB)
    bot.run_once()  # first connection: what comes next is new mail
    big = complaint(7, text="Se bifogade bilder av avloppet.\n", attachments=3, size=4 * MB)
    dovecot.append(imap_user, big, internaldate=arrival(clock))

    (outcome,) = bot.run_once()

    assert outcome.new_case and not outcome.quarantined
    with Session(engine) as session:
        (row,) = [m for m in session.exec(select(Message)).all() if m.direction == "inbound"]
    assert row.body_text == "Se bifogade bilder av avloppet."
    assert len(row.raw or b"") < 20_000  # the 16 MB stayed in the mailbox
    listed = json.loads(row.attachments or "[]")
    assert [(a["filename"], a["content_type"]) for a in listed] == [
        (f"bild {k}.jpg", "image/jpeg") for k in range(3)
    ]
    assert dovecot.message_count(imap_user) == 1  # nothing deleted
