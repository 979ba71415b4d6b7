"""Pure email handling: parsing, classification and extraction. No I/O here."""

from bot.mail.parse import Attachment, ParsedEmail, parse_email

__all__ = ["Attachment", "ParsedEmail", "parse_email"]
