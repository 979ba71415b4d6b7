"""Fixtures for the adapter tests: a real SMTP server, a fake Slack Web API."""

from tests.support.smtp import smtp_server, smtp_server_factory, tls_cert  # noqa: F401
