"""Adapters: the thin modules that talk to IMAP, SMTP, Slack and the file system."""
