"""Fixtures for the adapter tests: a real SMTP server, a fake Slack Web API."""

from tests.support.fake_slack import fake_slack  # noqa: F401
from tests.support.smtp import smtp_server, smtp_server_factory, tls_cert  # noqa: F401
