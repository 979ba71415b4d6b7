"""The proof tests use the real servers registered in tests/conftest.py:
Dovecot, aiosmtpd and the fake Slack."""
