"""Fixtures for the proof tests: real Dovecot, aiosmtpd and the fake Slack."""

from tests.support.dovecot import dovecot, imap_user  # noqa: F401
from tests.support.fake_slack import fake_slack  # noqa: F401
from tests.support.smtp import smtp_server, smtp_server_factory  # noqa: F401
