"""Optional email through plain SMTP: off unless MAIL_SERVER is set, and never the reason a request fails.

Settings: MAIL_SERVER, MAIL_PORT, MAIL_USE_TLS (STARTTLS), MAIL_USERNAME, MAIL_PASSWORD, MAIL_FROM.
"""
from __future__ import annotations

import smtplib
from collections.abc import Iterable
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from flask import current_app

TIMEOUT_SECONDS = 10


def enabled() -> bool:
    """True when a mail server is configured."""
    return bool(current_app.config.get("MAIL_SERVER"))


def build(to: str, subject: str, body: str,
          attachments: Iterable[tuple[str, bytes, str]] = ()) -> EmailMessage:
    """A plain-text message; attachments are (filename, bytes, "maintype/subtype")."""
    cfg = current_app.config
    msg = EmailMessage()
    msg["From"] = cfg["MAIL_FROM"]
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain=cfg["MAIL_FROM"].rpartition("@")[2] or None)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(body)
    for filename, content, mimetype in attachments:
        maintype, _, subtype = mimetype.partition("/")
        msg.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    return msg


def send(to: str, subject: str, body: str, attachments: Iterable[tuple[str, bytes, str]] = ()) -> bool:
    """Send one message; False when mail is off or the server fails (the failure is logged, not raised)."""
    if not enabled():
        return False
    cfg = current_app.config
    msg = build(to, subject, body, attachments)
    try:
        with smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=TIMEOUT_SECONDS) as smtp:
            if cfg.get("MAIL_USE_TLS"):
                smtp.starttls()
            if cfg.get("MAIL_USERNAME"):
                smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"])
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError):
        # Log the server and subject, never the address: the log outlives the purge of personal data.
        current_app.logger.exception("sending mail via %s:%s failed (subject %r)",
                                     cfg["MAIL_SERVER"], cfg["MAIL_PORT"], subject)
        return False
    return True
