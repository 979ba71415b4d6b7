"""Pure email handling: parse, classify, extract. No I/O, no database.

mail = parse_email(raw)                      # never raises except Unprocessable
kind = classify(mail, own_addresses)         # may we acknowledge it, and why not
phones = find_phone_numbers(mail.summary_text, "SE", own_numbers)
language = detect_language(mail.summary_text)
name = guess_name(mail)
"""

from bot.mail.addresses import is_no_reply_address
from bot.mail.classify import BOT_HEADER, Classification, MailKind, classify
from bot.mail.extract import detect_language, find_phone_numbers, format_phone_national, guess_name
from bot.mail.parse import Attachment, ParsedEmail, parse_email

__all__ = [
    "BOT_HEADER",
    "Attachment",
    "Classification",
    "MailKind",
    "ParsedEmail",
    "classify",
    "detect_language",
    "find_phone_numbers",
    "format_phone_national",
    "guess_name",
    "is_no_reply_address",
    "parse_email",
]
