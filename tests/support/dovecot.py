"""A real Dovecot IMAP server for tests, one private instance per test session.

Everything lives in one temporary folder: the configuration, the ``base_dir``
with Dovecot's sockets, a passwd-file of users and their Maildirs. The server
listens on 127.0.0.1 only, on free ports: ``port`` for plain IMAP (which also
offers STARTTLS when ``ssl=True``) and ``ssl_port`` for IMAP over TLS, with a
self-signed certificate made at test time by the ``openssl`` command (its
certificate is ``ca_file``, for the client to trust).

Use the fixtures at the bottom: ``dovecot`` (one server for the session, with
TLS) and ``imap_user`` (a fresh user per test, so tests never see each other's
mail). Modules opt in with ``pytest_plugins = ["tests.support.dovecot"]``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from imapclient import IMAPClient

from tests.support.net import free_port

DOVECOT = shutil.which("dovecot") or "/usr/sbin/dovecot"
DOVEADM = shutil.which("doveadm") or "/usr/bin/doveadm"
INSTALL_SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "install-test-servers"
HOST = "127.0.0.1"


@dataclass(frozen=True)
class ImapUser:
    """A mailbox owner on the test server."""

    name: str
    password: str


def arrival(clock: Callable[[], datetime]) -> datetime:
    """An arrival time for an APPEND (INTERNALDATE) from a test's clock: the clock's
    now, after which a second passes (INTERNALDATE has whole seconds), so mail that
    came before the bot looked is strictly older than the bot's first connection.
    Without an explicit INTERNALDATE Dovecot stamps the real time; tests must not
    depend on that."""
    at = clock()
    advance = getattr(clock, "advance", None)
    if advance is not None:
        advance(seconds=1)
    return at


def ensure_dovecot() -> bool:
    """True when Dovecot is installed, installing it with the project's script if need be."""
    if Path(DOVECOT).exists():
        return True
    if INSTALL_SCRIPT.exists():
        subprocess.run(["bash", str(INSTALL_SCRIPT)], check=False, capture_output=True)
    return Path(DOVECOT).exists()


def _make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (the client's CA file)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    key.chmod(0o600)
    return cert, key


class Dovecot:
    """One private Dovecot instance under ``root`` (created if missing)."""

    def __init__(
        self,
        root: Path,
        *,
        ssl: bool = False,
        extra_config: str = "",
        oauth2_introspection_url: str = "",
    ) -> None:
        """``extra_config`` is appended to dovecot.conf, e.g. ``imap_capability = ...``
        to play an older server without IDLE or MOVE. With ``oauth2_introspection_url``
        the server also accepts XOAUTH2 and OAUTHBEARER logins, asking that URL
        (RFC 7662 style POST ``token=...``) whether a token is active and whose it is:
        the answer must be JSON ``{"active": true, "username": "<user>"}``."""
        self.root = root
        self.ssl = ssl
        self._extra_config = extra_config
        self._introspection_url = oauth2_introspection_url
        self.host = HOST
        self.port = free_port()
        self.ssl_port = free_port() if ssl else 0
        self.ca_file = ""
        self._proc: subprocess.Popen[bytes] | None = None
        self._passwd = root / "passwd"  # one passwd-file per user: Dovecot sees new ones at once
        self._config = root / "dovecot.conf"
        self._log = root / "dovecot.log"
        self._setup()

    # -- configuration ---------------------------------------------------------------------

    def _setup(self) -> None:
        # Dovecot's auth process runs as an unprivileged user and must reach the passwd-file.
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        for sub in ("run", "state", "home"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._passwd.mkdir(exist_ok=True)
        if os.geteuid() == 0:
            # Root runs the master; the helper processes use the package's system users, and
            # mail belongs to "nobody" (Dovecot refuses to access mail as root).
            nobody = pwd.getpwnam("nobody")
            internal, login, uid, gid = "dovecot", "dovenull", nobody.pw_uid, nobody.pw_gid
        else:
            me = pwd.getpwuid(os.geteuid())
            internal = login = me.pw_name
            uid, gid = me.pw_uid, me.pw_gid
        self._mail_owner = (uid, gid)
        os.chown(self.root / "home", uid, gid)
        ssl_lines = ["ssl = no"]
        imaps = "  inet_listener imaps {\n    port = 0\n  }"
        if self.ssl:
            cert, key = _make_certificate(self.root)
            self.ca_file = str(cert)
            ssl_lines = [
                "ssl = yes",
                f"ssl_cert = <{cert}",
                f"ssl_key = <{key}",
                "ssl_min_protocol = TLSv1.2",
            ]
            if Path("/usr/share/dovecot/dh.pem").exists():
                ssl_lines.append("ssl_dh = </usr/share/dovecot/dh.pem")
            imaps = (
                "  inet_listener imaps {\n"
                f"    address = {HOST}\n    port = {self.ssl_port}\n    ssl = yes\n  }}"
            )
        mechanisms = "plain login"
        oauth2_passdb = ""
        if self._introspection_url:
            mechanisms += " xoauth2 oauthbearer"
            oauth2_args = self.root / "oauth2.conf.ext"
            oauth2_args.write_text(
                f"introspection_url = {self._introspection_url}\n"
                "introspection_mode = post\n"
                "force_introspection = yes\n"
                "username_attribute = username\n"
                "active_attribute = active\n"
                "active_value = true\n"
            )
            oauth2_passdb = (
                "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n"
                f"  args = {oauth2_args}\n}}"
            )
        config = f"""\
# Written by tests/support/dovecot.py; a private test instance.
base_dir = {self.root}/run
state_dir = {self.root}/state
instance_name = test-dovecot-{self.port}
listen = {HOST}
protocols = imap
log_path = {self._log}
info_log_path = {self._log}
default_internal_user = {internal}
default_login_user = {login}
first_valid_uid = {uid}
last_valid_uid = 0
first_valid_gid = {gid}
disable_plaintext_auth = no
auth_mechanisms = {mechanisms}
mail_location = maildir:~/Maildir
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 2 mins
protocol imap {{
  mail_max_userip_connections = 50
}}
{chr(10).join(ssl_lines)}
{oauth2_passdb}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self._passwd}/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={self.root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {HOST}
    port = {self.port}
  }}
{imaps}
}}
service stats {{
  unix_listener stats-reader {{
    mode = 0666
  }}
  unix_listener stats-writer {{
    mode = 0666
  }}
}}
{self._extra_config}
"""
        self._config.write_text(config)

    # -- life cycle --------------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and return once its IMAP port(s) accept connections."""
        if self._proc is not None:
            return
        self._proc = subprocess.Popen(
            [DOVECOT, "-F", "-c", str(self._config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        for port in [self.port] + ([self.ssl_port] if self.ssl else []):
            while not _accepts(port):
                if self._proc.poll() is not None or time.monotonic() > deadline:
                    log = self.log_tail()
                    self.stop()
                    raise RuntimeError(f"Dovecot did not start:\n{log}")
                time.sleep(0.02)

    def stop(self, *, crash: bool = False) -> None:
        """Stop the server (all its processes); mail and users stay.

        ``crash=True`` kills it at once, as a power cut would: clients see the connection
        drop without a BYE. A graceful stop gives Dovecot two seconds, then does the same.
        """
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            if not crash:
                proc.terminate()
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=2)
            if proc.poll() is None:
                # The master leads its own process group (start_new_session), so this ends
                # exactly the processes this instance started.
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)
        deadline = time.monotonic() + 5
        while _accepts(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)

    def restart(self, *, crash: bool = False) -> None:
        self.stop(crash=crash)
        self.start()

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        """The end of Dovecot's own log, for failure messages."""
        try:
            return "\n".join(self._log.read_text(errors="replace").splitlines()[-lines:])
        except FileNotFoundError:
            return "(no log)"

    # -- users and mail ----------------------------------------------------------------------

    def add_user(self, name: str, password: str) -> ImapUser:
        """Add a user (a passwd-file of its own: Dovecot only re-reads a changed file
        every few seconds, but reads a new one at once)."""
        if not re.fullmatch(r"[\w.+@-]+", name) or ":" in password or "\n" in password:
            raise ValueError("user name must be a plain address; no ':' or newline in passwords")
        (self._passwd / name).write_text(f"{name}:{{PLAIN}}{password}::::::\n")
        return ImapUser(name, password)

    @contextlib.contextmanager
    def client(self, user: ImapUser) -> Iterator[IMAPClient]:
        """A logged-in plain-IMAP connection as ``user``."""
        client = IMAPClient(self.host, self.port, ssl=False, timeout=10)
        try:
            client.login(user.name, user.password)
            yield client
        finally:
            with contextlib.suppress(Exception):
                client.logout()

    def append(
        self,
        user: ImapUser,
        raw: bytes,
        folder: str = "INBOX",
        internaldate: datetime | None = None,
    ) -> int:
        """APPEND ``raw`` to ``folder`` as ``user``; return its UID."""
        with self.client(user) as c:
            if not c.folder_exists(folder):
                c.create_folder(folder)
            reply = c.append(folder, raw, flags=(), msg_time=internaldate)
        match = re.search(rb"APPENDUID \d+ (\d+)", reply)
        if match is None:
            raise RuntimeError(f"server did not report the UID: {reply!r}")
        return int(match.group(1))

    def deliver_offline(
        self, user: ImapUser, raw: bytes, internaldate: datetime | None = None
    ) -> Path:
        """Drop ``raw`` into the user's INBOX Maildir directly (works while the server is down).

        Dovecot takes a Maildir file's INTERNALDATE from its mtime: ``internaldate`` sets it
        (the real time otherwise)."""
        home = self.root / "home" / user.name
        new = home / "Maildir" / "new"
        maildir = home / "Maildir"
        for folder in (home, maildir, maildir / "new", maildir / "cur", maildir / "tmp"):
            folder.mkdir(exist_ok=True)
            os.chown(folder, *self._mail_owner)
        name = f"{time.time_ns()}.test{os.getpid()}.{socket.gethostname()}"
        tmp = home / "Maildir" / "tmp" / name
        tmp.write_bytes(raw)
        os.chown(tmp, *self._mail_owner)
        if internaldate is not None:
            os.utime(tmp, (internaldate.timestamp(), internaldate.timestamp()))
        return Path(shutil.move(str(tmp), new / name))

    def uidvalidity(self, user: ImapUser, folder: str = "INBOX") -> int:
        with self.client(user) as c:
            return int(c.folder_status(folder, ["UIDVALIDITY"])[b"UIDVALIDITY"])

    def message_count(self, user: ImapUser, folder: str = "INBOX") -> int:
        with self.client(user) as c:
            return int(c.folder_status(folder, ["MESSAGES"])[b"MESSAGES"])

    def flags(self, user: ImapUser, folder: str = "INBOX") -> dict[int, set[bytes]]:
        """UID -> system flags and keywords of every message in ``folder``."""
        with self.client(user) as c:
            c.select_folder(folder, readonly=True)
            return {uid: set(f) for uid, f in c.get_flags(c.search("ALL")).items()}

    def change_uidvalidity(self, user: ImapUser, folder: str = "INBOX") -> int:
        """Give ``folder`` a new UIDVALIDITY (as after a server migration); return it.

        The messages keep their UIDs here; a client must still treat every UID as new.
        """
        old = self.uidvalidity(user, folder)
        new = old + 1000
        subprocess.run(
            [
                DOVEADM,
                "-c",
                str(self._config),
                "mailbox",
                "update",
                "-u",
                user.name,
                "--uid-validity",
                str(new),
                folder,
            ],
            check=True,
            capture_output=True,
        )
        return new


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(0.2)
        return s.connect_ex((HOST, port)) == 0


# -- pytest fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One running Dovecot with TLS for the whole session (skipped if it cannot be installed)."""
    if not ensure_dovecot():
        pytest.skip(
            "Dovecot is not installed and scripts/install-test-servers could not install it"
        )
    root = Path(tempfile.mkdtemp(prefix="dovecot-test-"))
    server = Dovecot(root, ssl=True)
    atexit.register(server.stop)
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


_user_counter = iter(range(1, 1_000_000))


@pytest.fixture
def imap_user(dovecot: Dovecot) -> ImapUser:
    """A new user with an empty mailbox, so every test starts from nothing."""
    n = next(_user_counter)
    return dovecot.add_user(f"complaints{n}-{os.getpid()}@example.org", f"secret-{n}")
