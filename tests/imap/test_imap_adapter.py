"""The IMAP mailbox adapter against a real Dovecot on 127.0.0.1."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from bot.adapters.imap import ImapMailbox
from bot.clock import FixedClock
from bot.config import ConfigError, MailboxConfig, Secrets, parse_config
from bot.ports import InboundMail
from bot.store import db
from bot.store.models import MailboxState
from tests.support.dovecot import arrival

if TYPE_CHECKING:
    from tests.support.dovecot import Dovecot, ImapUser

pytestmark = pytest.mark.dovecot


MailboxConfigWithCA = MailboxConfig  # ca_file is part of the config tree


def message(n: int, size: int = 0) -> bytes:
    body = f"Hej, detta är klagomål nummer {n}.\r\n".encode()
    if size:
        body += b"x" * size + b"\r\n"
    return (
        f"From: Anna Andersson <anna{n}@example.org>\r\n"
        f"To: synpunkter@example.org\r\n"
        f"Subject: Klagomal {n}\r\n"
        f"Message-ID: <complaint-{n}@example.org>\r\n"
        "MIME-Version: 1.0\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: 8bit\r\n"
        "\r\n"
    ).encode() + body


def message_number(mail: InboundMail) -> int:
    start = mail.raw.index(b"<complaint-") + len(b"<complaint-")
    return int(mail.raw[start : mail.raw.index(b"@", start)])


@pytest.fixture
def open_mailbox(
    dovecot: Dovecot, imap_user: ImapUser, engine: sa.Engine, clock: FixedClock
) -> Iterator[Callable[..., ImapMailbox]]:
    """Makes ImapMailbox instances for this test's user (plain IMAP unless told otherwise)."""
    opened: list[ImapMailbox] = []

    def make(**overrides: Any) -> ImapMailbox:
        fields: dict[str, Any] = {
            "kind": "imap",
            "host": dovecot.host,
            "port": dovecot.port,
            "security": "none",
            "username": imap_user.name,
            "password_env": "IMAP_PASSWORD",
            "batch_size": 7,
            "ca_file": dovecot.ca_file,
        }
        fields.update(overrides)
        cfg = MailboxConfigWithCA(**fields)
        secrets = Secrets(imap_password=SecretStr(imap_user.password))
        mailbox = ImapMailbox(cfg, secrets, engine, clock=clock)
        opened.append(mailbox)
        return mailbox

    yield make
    for mailbox in opened:
        mailbox.close()


def handle_all(mailbox: ImapMailbox, engine: sa.Engine) -> list[InboundMail]:
    """What the pipeline does: record each message in its own transaction, then done()."""
    handled = []
    for mail in mailbox.pending():
        with db.session_scope(engine) as session:
            mailbox.record(session, mail)
        mailbox.done(mail)
        handled.append(mail)
    return handled


def test_backlog_is_yielded_in_order_with_internaldate_as_received_time(
    dovecot: Dovecot, imap_user: ImapUser, open_mailbox: Callable[..., ImapMailbox]
) -> None:
    start = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)
    for n in range(30):
        dovecot.append(imap_user, message(n), internaldate=start + timedelta(minutes=n))

    mails = list(open_mailbox().pending())

    assert [message_number(m) for m in mails] == list(range(30))
    assert [m.received_at for m in mails] == [start + timedelta(minutes=n) for n in range(30)]
    assert all(m.historical for m in mails)
    validity = dovecot.uidvalidity(imap_user)
    assert [m.position for m in mails] == [f"{validity}:{uid}" for uid in range(1, 31)]
    assert {m.mailbox for m in mails} == {
        f"imap://{imap_user.name}@{dovecot.host}:{dovecot.port}/INBOX"
    }


def test_mail_present_at_first_connection_is_historical_and_later_mail_is_not(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    for n in (1, 2):
        dovecot.append(imap_user, message(n), internaldate=arrival(clock))
    mailbox = open_mailbox()
    first = handle_all(mailbox, engine)
    dovecot.append(imap_user, message(3), internaldate=arrival(clock))

    later = handle_all(mailbox, engine)

    assert [(message_number(m), m.historical) for m in first] == [(1, True), (2, True)]
    assert [(message_number(m), m.historical) for m in later] == [(3, False)]


def test_mail_older_than_since_is_historical(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
) -> None:
    handle_all(open_mailbox(since="2024-06-01"), engine)  # first connection: empty mailbox
    dovecot.append(imap_user, message(1), internaldate=datetime(2024, 5, 31, 12, tzinfo=UTC))
    dovecot.append(imap_user, message(2), internaldate=datetime(2024, 6, 1, 12, tzinfo=UTC))

    mails = handle_all(open_mailbox(since="2024-06-01"), engine)

    assert [(message_number(m), m.historical) for m in mails] == [(1, True), (2, False)]


def test_recorded_checkpoint_survives_a_restart_and_unrecorded_mail_comes_again(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    for n in range(1, 4):
        dovecot.append(imap_user, message(n), internaldate=arrival(clock))
    first = open_mailbox()
    mails = list(first.pending())
    with db.session_scope(engine) as session:
        first.record(session, mails[0])
        first.record(session, mails[1])
    first.close()
    dovecot.append(imap_user, message(4), internaldate=arrival(clock))

    after_restart = list(open_mailbox().pending())

    assert [message_number(m) for m in after_restart] == [3, 4]
    with db.session_scope(engine) as session:
        state = session.get(MailboxState, after_restart[0].mailbox)
        assert state is not None and state.last_uid == 2


def test_record_never_moves_the_checkpoint_backwards(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    for n in (1, 2):
        dovecot.append(imap_user, message(n), internaldate=arrival(clock))
    mailbox = open_mailbox()
    mails = list(mailbox.pending())
    with db.session_scope(engine) as session:
        mailbox.record(session, mails[1])
    with db.session_scope(engine) as session:
        mailbox.record(session, mails[0])

    assert list(mailbox.pending()) == []


def test_idle_wakes_wait_soon_after_new_mail_arrives(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    mailbox = open_mailbox()
    assert handle_all(mailbox, engine) == []
    timer = threading.Timer(
        0.5, dovecot.append, args=(imap_user, message(1)), kwargs={"internaldate": arrival(clock)}
    )
    timer.start()
    started = time.monotonic()

    mailbox.wait(20)

    elapsed = time.monotonic() - started
    timer.join()
    assert 0.4 < elapsed < 2.5
    assert [message_number(m) for m in handle_all(mailbox, engine)] == [1]


def test_wait_returns_at_once_for_mail_that_came_before_idle_started(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    mailbox = open_mailbox()
    handle_all(mailbox, engine)
    dovecot.append(imap_user, message(1), internaldate=arrival(clock))
    started = time.monotonic()

    mailbox.wait(20)

    assert time.monotonic() - started < 1.0


def test_wait_without_news_lasts_its_timeout(open_mailbox: Callable[..., ImapMailbox]) -> None:
    mailbox = open_mailbox()
    list(mailbox.pending())
    started = time.monotonic()

    mailbox.wait(1.0)

    assert 0.9 < time.monotonic() - started < 2.0


@pytest.mark.parametrize("crash", [False, True], ids=["graceful-restart", "crash"])
def test_wait_survives_a_server_restart_and_then_reads_mail_that_came_meanwhile(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    crash: bool,
    clock: FixedClock,
) -> None:
    mailbox = open_mailbox()
    dovecot.append(imap_user, message(1), internaldate=arrival(clock))
    assert [message_number(m) for m in handle_all(mailbox, engine)] == [1]
    waiter = threading.Thread(target=mailbox.wait, args=(30,))
    waiter.start()
    time.sleep(0.3)  # let it enter IDLE

    dovecot.stop(crash=crash)
    dovecot.deliver_offline(imap_user, message(2), internaldate=arrival(clock))
    dovecot.start()
    waiter.join(timeout=15)

    assert not waiter.is_alive(), "wait() did not come back after the server did"
    assert [(message_number(m), m.historical) for m in handle_all(mailbox, engine)] == [(2, False)]


def test_pending_yields_nothing_while_the_server_is_down_and_catches_up_later(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    mailbox = open_mailbox()
    handle_all(mailbox, engine)
    dovecot.stop(crash=True)
    try:
        dovecot.deliver_offline(imap_user, message(1), internaldate=arrival(clock))
        assert handle_all(mailbox, engine) == []
    finally:
        dovecot.start()
    mailbox.wait(10)

    assert [message_number(m) for m in handle_all(mailbox, engine)] == [1]


def test_uidvalidity_change_reads_everything_again_with_history_kept(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    long_ago = datetime(2024, 1, 1, tzinfo=UTC)
    dovecot.append(imap_user, message(1), internaldate=long_ago)
    dovecot.append(imap_user, message(2), internaldate=long_ago)
    first = open_mailbox()
    handle_all(first, engine)
    # Later mail; its own date, because INTERNALDATE has whole seconds only.
    dovecot.append(imap_user, message(3), internaldate=clock() + timedelta(minutes=1))
    handle_all(first, engine)
    first.close()
    old, new = dovecot.uidvalidity(imap_user), dovecot.change_uidvalidity(imap_user)
    assert old != new

    again = handle_all(open_mailbox(), engine)

    assert [(message_number(m), m.historical) for m in again] == [(1, True), (2, True), (3, False)]
    assert {m.position.split(":")[0] for m in again} == {str(new)}


def test_nothing_is_ever_deleted_or_marked_seen(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    for n in range(5):
        dovecot.append(imap_user, message(n), internaldate=arrival(clock))

    assert len(handle_all(open_mailbox(), engine)) == 5

    assert dovecot.message_count(imap_user) == 5
    for flags in dovecot.flags(imap_user).values():
        assert not flags & {b"\\Seen", b"\\Deleted"}


def test_processed_folder_receives_handled_mail_unread(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    for n in range(3):
        dovecot.append(imap_user, message(n), internaldate=arrival(clock))
    mailbox = open_mailbox(processed_folder="Behandlat")

    assert len(handle_all(mailbox, engine)) == 3

    assert dovecot.message_count(imap_user, "INBOX") == 0
    assert dovecot.message_count(imap_user, "Behandlat") == 3
    for flags in dovecot.flags(imap_user, "Behandlat").values():
        assert not flags & {b"\\Seen", b"\\Deleted"}
    dovecot.append(imap_user, message(3), internaldate=arrival(clock))
    assert [message_number(m) for m in handle_all(mailbox, engine)] == [3]


def test_message_over_the_size_limit_comes_truncated_with_a_marker(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    clock: FixedClock,
) -> None:
    dovecot.append(imap_user, message(1, size=10_000), internaldate=arrival(clock))
    dovecot.append(imap_user, message(2), internaldate=arrival(clock))

    mails = list(open_mailbox(max_message_bytes=2048).pending())

    assert [message_number(m) for m in mails] == [1, 2]
    big, small = mails
    assert big.raw.startswith(b"X-Complaint-Bot-Truncated: original size ")
    assert b"Subject: Klagomal 1" in big.raw
    assert len(big.raw) <= 2048
    assert small.raw == message(2)


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_login_reads_mail(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    security: str,
    clock: FixedClock,
) -> None:
    dovecot.append(imap_user, message(1), internaldate=arrival(clock))
    port = dovecot.ssl_port if security == "ssl" else dovecot.port

    mails = list(open_mailbox(security=security, port=port).pending())

    assert [message_number(m) for m in mails] == [1]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_tls_refuses_a_certificate_it_cannot_verify(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    security: str,
    clock: FixedClock,
) -> None:
    dovecot.append(imap_user, message(1), internaldate=arrival(clock))
    port = dovecot.ssl_port if security == "ssl" else dovecot.port
    mailbox = open_mailbox(security=security, port=port, ca_file="")

    assert list(mailbox.pending()) == []
    assert mailbox.last_error is not None and "CERTIFICATE_VERIFY_FAILED" in mailbox.last_error


def test_wrong_password_reads_nothing_and_says_why(
    dovecot: Dovecot,
    imap_user: ImapUser,
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    cfg = MailboxConfig(
        kind="imap",
        host=dovecot.host,
        port=dovecot.port,
        security="none",
        username=imap_user.name,
        password_env="IMAP_PASSWORD",
    )
    mailbox = ImapMailbox(cfg, Secrets(imap_password=SecretStr("wrong")), engine, clock=clock)
    dovecot.append(imap_user, message(1), internaldate=arrival(clock))

    assert list(mailbox.pending()) == []
    assert mailbox.last_error is not None and "LoginError" in mailbox.last_error


def test_unencrypted_imap_to_another_host_is_refused_by_the_configuration() -> None:
    raw = {
        "mailbox": {
            "kind": "imap",
            "host": "imap.example.org",
            "port": 143,
            "security": "none",
            "username": "synpunkter@example.org",
            "password_env": "IMAP_PASSWORD",
        }
    }

    with pytest.raises(ConfigError, match=r"\[mailbox\] security: 'none' is only allowed"):
        parse_config(raw)


@pytest.fixture(scope="module")
def old_dovecot() -> Iterator[Dovecot]:
    """A server that offers neither IDLE nor MOVE, like some older or hosted ones."""
    from tests.support.dovecot import Dovecot, ensure_dovecot

    if not ensure_dovecot():
        pytest.skip("Dovecot is not installed and could not be installed")
    # Not under pytest's tmp_path: Dovecot's unprivileged processes cannot enter it.
    root = Path(tempfile.mkdtemp(prefix="dovecot-old-"))
    server = Dovecot(root, extra_config="imap_capability = IMAP4rev1 LITERAL+ UIDPLUS")
    server.start()
    yield server
    server.stop(crash=True)
    shutil.rmtree(root, ignore_errors=True)


def test_without_idle_wait_polls_and_without_move_mail_is_copied_and_marked(
    old_dovecot: Dovecot,
    engine: sa.Engine,
    clock: FixedClock,
) -> None:
    user = old_dovecot.add_user("old@example.org", "secret")
    cfg = MailboxConfig(
        kind="imap",
        host=old_dovecot.host,
        port=old_dovecot.port,
        security="none",
        username=user.name,
        password_env="IMAP_PASSWORD",
        poll_seconds=0.5,
        processed_folder="Behandlat",
    )
    mailbox = ImapMailbox(cfg, Secrets(imap_password=SecretStr(user.password)), engine, clock=clock)
    try:
        handle_all(mailbox, engine)
        started = time.monotonic()
        mailbox.wait(20)
        waited = time.monotonic() - started
        old_dovecot.append(user, message(1), internaldate=arrival(clock))

        handled = handle_all(mailbox, engine)
    finally:
        mailbox.close()

    assert 0.4 < waited < 2.0
    assert [message_number(m) for m in handled] == [1]
    assert old_dovecot.message_count(user, "Behandlat") == 1
    # Still in INBOX (no \Deleted, no EXPUNGE), marked as handled; \Recent depends on the session.
    assert [flags - {b"\\Recent"} for flags in old_dovecot.flags(user, "INBOX").values()] == [
        {b"$ComplaintBotProcessed"}
    ]


def test_bodies_are_fetched_in_batches_bounded_by_bytes_and_large_mail_alone(
    dovecot: Dovecot,
    imap_user: ImapUser,
    open_mailbox: Callable[..., ImapMailbox],
    clock: FixedClock,
) -> None:
    sizes = [0, 0, 0, 60_000, 0, 0, 0, 0, 0, 0]  # body padding of each message
    for n, pad in enumerate(sizes):
        dovecot.append(imap_user, message(n, size=pad), internaldate=arrival(clock))
    mailbox = open_mailbox(batch_size=50)
    mailbox.fetch_batch_bytes = 3 * len(message(0))  # three small messages per FETCH
    fetched: list[list[int]] = []
    pending = mailbox.pending()
    first = next(pending)  # connected now: watch what the real client is asked to fetch
    client = mailbox._client
    assert client is not None
    assert client._imap.debug == 0  # imaplib repr()s no responses
    real_fetch = client.fetch

    def fetch(uids: list[int], items: list[str]) -> Any:
        if "BODY.PEEK[]" in items:
            fetched.append(list(uids))
        return real_fetch(uids, items)

    client.fetch = fetch
    mails = [first, *pending]

    assert [message_number(m) for m in mails] == list(range(10))
    assert [m.raw for m in mails] == [message(n, size=pad) for n, pad in enumerate(sizes)]
    # UIDs 1-3 came before the spy; then 4 (60 kB) alone, the rest in threes.
    assert fetched == [[4], [5, 6, 7], [8, 9, 10]]
