"""Plain SMTP: turn an outbox row into a message and hand it to the configured server.

Settings: MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS (STARTTLS), MAIL_USERNAME, MAIL_PASSWORD, MAIL_FROM.
Only the mail worker talks to the server; requests only write to the outbox.
"""
from __future__ import annotations

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from flask import current_app

from ..models import OutgoingMail, utcnow

TIMEOUT_SECONDS = 10


class PermanentFailure(Exception):
    """The server refused the message for good (a 5xx answer): trying again would not help."""


def enabled() -> bool:
    """True when a mail server is configured."""
    return bool(current_app.config.get("MAIL_SERVER"))


def new_message_id() -> str:
    """A Message-ID on the sender's domain, made once per outbox row."""
    return make_msgid(domain=current_app.config["MAIL_FROM"].rpartition("@")[2] or None)


def build(mail: OutgoingMail) -> EmailMessage:
    """The plain-text message of an outbox row, with its text attachments."""
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = mail.to_address
    msg["Subject"] = mail.subject
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = mail.message_id
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(mail.body)
    for item in mail.attachments or ():
        maintype, _, subtype = item["mimetype"].partition("/")
        content = item["content"]
        if maintype == "text":
            msg.add_attachment(content, subtype=subtype, filename=item["filename"])
        else:
            msg.add_attachment(content.encode(), maintype=maintype, subtype=subtype, filename=item["filename"])
    return msg


def deliver(message: EmailMessage) -> None:
    """Hand one message to the server; raises PermanentFailure on a 5xx refusal, OSError or SMTPException when
    it may work later."""
    cfg = current_app.config
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=TIMEOUT_SECONDS) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        if codes and all(code >= 500 for code in codes):
            raise PermanentFailure(f"recipient refused ({codes[0]})") from exc
        raise
    except smtplib.SMTPResponseException as exc:
        if exc.smtp_code >= 500 and not isinstance(exc, smtplib.SMTPAuthenticationError):
            raise PermanentFailure(f"refused by the server ({exc.smtp_code})") from exc
        raise
