"""Email against a real SMTP server (aiosmtpd on a free local port): confirmations with the calendar file,
promotion notices, each in the booking's language; and that without a mail server, or with a broken one,
bookings work all the same."""
from __future__ import annotations

import email
import email.policy
import re
import smtplib
import time

import pytest
from aiosmtpd.controller import Controller

from busapp import mail
from busapp.booking import service
from busapp.extensions import db
from busapp.models import Booking
from tests.live import free_port
from tests.test_booking import EN, book, bookings, token_of


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"

    def wait_for(self, count: int, timeout: float = 5.0) -> list:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.messages


@pytest.fixture
def inbox(app):
    handler = Inbox()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_FROM="digitalbus@luebeck.example")
    yield handler
    controller.stop()


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def test_confirmation_with_calendar_file_and_manage_link(client, make_workshop, inbox):
    workshop = make_workshop(title="Videoanrufe mit der Familie")
    token = token_of(book(client, workshop.id, name="Anna", contact="anna@example.org", party_size="2"))
    [message] = inbox.wait_for(1)
    assert inbox.recipients == [["anna@example.org"]]
    assert message["From"] == "digitalbus@luebeck.example"
    assert message["Subject"] == "Ihr Platz: Videoanrufe mit der Familie"
    text = body_of(message)
    assert "Hallo Anna," in text and "Ihr Platz ist gebucht." in text
    assert f"http://localhost/t/{token}" in text
    assert f"Buchungscode: {bookings()[0].code}" in text and "Personen: 2" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "workshop.ics"
    ics = attachment.get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert "SUMMARY:Videoanrufe mit der Familie" in ics


def test_confirmation_in_the_language_of_the_booking(client, make_workshop, inbox):
    workshop = make_workshop(title="Messenger for newcomers")
    book(client, workshop.id, headers=EN, name="Sam", contact="sam@example.org")
    [message] = inbox.wait_for(1)
    assert message["Subject"] == "Your seat: Messenger for newcomers"
    assert "Hello Sam," in body_of(message) and "your seat is booked." in body_of(message)


def test_waiting_list_mail_and_promotion_notice(client, make_workshop, inbox):
    workshop = make_workshop(capacity=1, title="Fotos ordnen")
    first = token_of(book(client, workshop.id, name="Erste", contact="erste@example.org"))
    second = token_of(book(client, workshop.id, name="Zweite", contact="zweite@example.org"))
    messages = inbox.wait_for(2)
    assert messages[1]["Subject"] == "Warteliste: Fotos ordnen"
    assert "Nummer 1 auf der Warteliste" in body_of(messages[1])

    html = client.get(f"/t/{first}/cancel").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post(f"/t/{first}/cancel", data={"csrf_token": csrf})
    messages = inbox.wait_for(3)
    assert len(messages) == 3
    assert inbox.recipients[2] == ["zweite@example.org"]
    assert messages[2]["Subject"] == "Sie haben einen Platz: Fotos ordnen"
    assert "von der Warteliste nachgerückt" in body_of(messages[2])
    assert f"/t/{second}" in body_of(messages[2])


def test_promotion_notice_in_the_promoted_party_language(client, make_workshop, inbox):
    workshop = make_workshop(capacity=1, title="Online banking")
    seated = token_of(book(client, workshop.id, name="Erste"))
    book(client, workshop.id, headers=EN, name="Sam", contact="sam@example.org")
    inbox.wait_for(1)
    booking = db.session.scalar(db.select(Booking).where(Booking.manage_token == seated))
    promoted = service.cancel(booking)
    from busapp.booking import notify

    with client.application.test_request_context():
        assert notify.promotion(promoted[0]) is True
    messages = inbox.wait_for(2)
    assert messages[-1]["Subject"] == "You have a seat: Online banking"


def test_phone_contact_gets_no_mail(client, make_workshop, inbox):
    assert book(client, make_workshop().id, contact="0451 123456").status_code == 303
    time.sleep(0.2)
    assert inbox.messages == []


def test_without_mail_server_nothing_is_sent_and_nothing_fails(client, app, make_workshop, monkeypatch):
    app.config["MAIL_SERVER"] = ""

    def refuse(*args, **kwargs):
        raise AssertionError("no SMTP connection may be made without MAIL_SERVER")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    assert book(client, make_workshop().id, contact="anna@example.org").status_code == 303
    assert len(bookings()) == 1
    with app.test_request_context():
        assert mail.send("anna@example.org", "Betreff", "Text") is False


def test_a_broken_mail_server_never_loses_the_booking(client, app, make_workshop, caplog):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())  # nothing listens there
    response = book(client, make_workshop().id, contact="anna@example.org")
    assert response.status_code == 303
    [booking] = bookings()
    assert booking.contact == "anna@example.org"
    assert client.get(response.headers["Location"]).status_code == 200
    assert "sending mail via 127.0.0.1" in caplog.text
    assert "anna@example.org" not in caplog.text  # addresses stay out of the log


def test_send_plain_message(app, inbox):
    with app.test_request_context():
        assert mail.send("team@example.org", "Grüße aus dem Bus", "Hallo Team,\nbis morgen.",
                         [("notiz.txt", "Ä".encode(), "text/plain")]) is True
    [message] = inbox.wait_for(1)
    assert message["Subject"] == "Grüße aus dem Bus"
    assert body_of(message).replace("\r\n", "\n").strip() == "Hallo Team,\nbis morgen."
    assert message["Auto-Submitted"] == "auto-generated"
