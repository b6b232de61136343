"""Email through the durable outbox, against a real SMTP server (aiosmtpd on a free local port).

Requests only write rows; the worker (`service.send_due`, `flask mail send`) sends them. The server being down
for a while loses nothing, nothing is sent twice (also with two workers at once), and a message given up is shown
to coordinators, who can send it again."""
from __future__ import annotations

import email
import email.policy
import re
import smtplib
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from busapp.booking import service as booking_service
from busapp.core.extensions import db
from busapp.mail import service
from busapp.models import Booking, MailStatus, OutgoingMail, WorkshopStatus, utcnow
from tests.live import free_port
from tests.booking.test_booking import EN, book, bookings, token_of


class Inbox:
    """An aiosmtpd handler that keeps every message it receives; it refuses recipients listed in `refuse`."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.recipients: list[list[str]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 No such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


class Server:
    """A local SMTP server that can be started late, on a port chosen before."""

    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> Inbox:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self.inbox

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_server(app):
    server = Server(free_port())
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port, MAIL_FROM="digitalbus@luebeck.example")
    yield server
    server.stop()


@pytest.fixture
def inbox(smtp_server):
    return smtp_server.start()


def deliver(now=None) -> service.Round:
    """One pass of the mail worker."""
    return service.send_due(now)


def outbox() -> list[OutgoingMail]:
    db.session.expire_all()
    return db.session.scalars(sa.select(OutgoingMail).order_by(OutgoingMail.id)).all()


def body_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def queue(n: int, **kw) -> list[OutgoingMail]:
    mails = [service.enqueue(to=f"person{i}@example.org", subject=f"Nachricht {i}", body=f"Text {i}", **kw)
             for i in range(n)]
    db.session.commit()
    return mails


# What residents get --------------------------------------------------------------------------------------------

def test_confirmation_is_queued_with_the_booking_and_sent_by_the_worker(client, make_workshop, inbox, monkeypatch):
    workshop = make_workshop(title="Videoanrufe mit der Familie")

    def no_smtp_in_requests(*args, **kwargs):
        raise AssertionError("a request must not talk to the mail server")

    monkeypatch.setattr(smtplib, "SMTP", no_smtp_in_requests)
    token = token_of(book(client, workshop.id, name="Anna", contact="anna@example.org", party_size="2"))
    [queued] = outbox()
    assert queued.status == MailStatus.WAITING and queued.booking_id == bookings()[0].id
    assert queued.kind == "booking-confirmation" and inbox.messages == []
    monkeypatch.undo()

    assert deliver().sent == 1
    [message] = inbox.messages
    assert inbox.recipients == [["anna@example.org"]]
    assert message["From"] == "digitalbus@luebeck.example"
    assert message["Subject"] == "Ihr Platz: Videoanrufe mit der Familie"
    assert message["Message-ID"] == queued.message_id
    text = body_of(message)
    # The address was typed by whoever booked and has confirmed nothing: no word the booker typed is in the mail.
    assert "Hallo," in text and "Anna" not in text and "Ihr Platz ist gebucht." in text
    assert f"http://localhost/t/{token}" in text
    assert f"Buchungscode: {bookings()[0].code}" in text and "Personen: 2" in text
    [attachment] = list(message.iter_attachments())
    assert attachment.get_content_type() == "text/calendar"
    assert attachment.get_filename() == "workshop.ics"
    ics = attachment.get_content()
    ics = ics.decode() if isinstance(ics, bytes) else ics
    assert "SUMMARY:Digitalwerkstatt-Bus: Videoanrufe mit der Familie" in ics and "BEGIN:VALARM" in ics
    assert outbox()[0].status == MailStatus.SENT
    assert deliver().handled == 0  # sent once, never again


def test_confirmation_in_the_language_of_the_booking(client, make_workshop, inbox):
    workshop = make_workshop(title="Messenger for newcomers")
    book(client, workshop.id, headers=EN, name="Sam", contact="sam@example.org")
    deliver()
    [message] = inbox.messages
    assert message["Subject"] == "Your seat: Messenger for newcomers"
    assert "Hello," in body_of(message) and "Sam" not in body_of(message)
    assert "your seat is booked." in body_of(message)


def test_waiting_list_mail_and_promotion_notice(client, make_workshop, inbox):
    workshop = make_workshop(capacity=1, title="Fotos ordnen")
    first = token_of(book(client, workshop.id, name="Erste", contact="erste@example.org"))
    second = token_of(book(client, workshop.id, name="Zweite", contact="zweite@example.org"))
    deliver()
    messages = inbox.messages
    assert messages[1]["Subject"] == "Warteliste: Fotos ordnen"
    assert "Nummer 1 auf der Warteliste" in body_of(messages[1])
    assert list(messages[1].iter_attachments()) == []  # a waiting-list place is no appointment yet

    html = client.get(f"/t/{first}/cancel").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post(f"/t/{first}/cancel", data={"csrf_token": csrf})
    assert outbox()[-1].kind == "booking-promotion"  # queued by the cancellation itself
    deliver()
    assert len(messages) == 3
    assert inbox.recipients[2] == ["zweite@example.org"]
    assert messages[2]["Subject"] == "Sie haben einen Platz: Fotos ordnen"
    assert "von der Warteliste nachgerückt" in body_of(messages[2])
    assert f"/t/{second}" in body_of(messages[2])


def test_promotion_notice_in_the_promoted_party_language(client, make_workshop, inbox):
    workshop = make_workshop(capacity=1, title="Online banking")
    seated = token_of(book(client, workshop.id, name="Erste"))
    book(client, workshop.id, headers=EN, name="Sam", contact="sam@example.org")
    booking = db.session.scalar(db.select(Booking).where(Booking.manage_token == seated))
    with client.application.test_request_context():
        promoted = booking_service.cancel(booking)
    assert [p.name for p in promoted] == ["Sam"]
    deliver()
    assert inbox.messages[-1]["Subject"] == "You have a seat: Online banking"


def test_phone_contact_gets_no_mail(client, make_workshop, inbox):
    assert book(client, make_workshop().id, contact="0451 123456").status_code == 303
    assert outbox() == [] and deliver().handled == 0 and inbox.messages == []


def test_without_mail_server_mail_waits_in_the_queue_and_nothing_fails(client, app, make_workshop, monkeypatch):
    app.config["MAIL_SERVER"] = ""

    def refuse(*args, **kwargs):
        raise AssertionError("no SMTP connection may be made without MAIL_SERVER")

    monkeypatch.setattr(smtplib, "SMTP", refuse)
    assert book(client, make_workshop().id, contact="anna@example.org").status_code == 303
    [waiting] = outbox()
    assert len(bookings()) == 1 and waiting.to_address == "anna@example.org"
    assert deliver().handled == 0 and outbox()[0].status == MailStatus.WAITING  # it goes once a server is set up


def test_mail_is_written_in_the_transaction_of_its_cause(client, make_workshop, inbox):
    workshop = make_workshop()
    data_first = book(client, workshop.id, contact="anna@example.org")
    assert data_first.status_code == 303 and len(outbox()) == 1
    # A refused booking writes neither a booking nor a mail.
    closed = make_workshop(status=WorkshopStatus.CANCELLED)
    assert book(client, closed.id, contact="ben@example.org").status_code == 409
    assert len(outbox()) == 1
    # A replay of the same submission is the same booking: no second mail.
    from tests.booking.test_booking import form_tokens

    data = form_tokens(client, workshop.id)
    data.update({"name": "Cem", "party_size": "1", "consent": "y", "contact": "cem@example.org"})
    client.post(f"/workshops/{workshop.id}/book", data=data)
    client.post(f"/workshops/{workshop.id}/book", data=data)
    assert [m.to_address for m in outbox()] == ["anna@example.org", "cem@example.org"]


def test_a_broken_mail_server_never_loses_the_booking(client, app, smtp_server, make_workshop, caplog):
    # smtp_server is configured but not started: nothing listens on its port.
    response = book(client, make_workshop().id, contact="anna@example.org")
    assert response.status_code == 303
    [booking] = bookings()
    assert booking.contact == "anna@example.org"
    assert client.get(response.headers["Location"]).status_code == 200
    assert deliver().waiting == 1
    assert "sending mail" in caplog.text and "127.0.0.1" in caplog.text
    assert "anna@example.org" not in caplog.text  # addresses stay out of the log


def test_forgetting_a_booking_deletes_its_mail(client, make_workshop, inbox):
    token = token_of(book(client, make_workshop().id, contact="anna@example.org"))
    assert len(outbox()) == 1
    html = client.get(f"/t/{token}/forget").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post(f"/t/{token}/forget", data={"csrf_token": csrf})
    assert outbox() == []


# The worker's rules --------------------------------------------------------------------------------------------

def test_server_down_for_a_while_loses_nothing_and_sends_nothing_twice(app, smtp_server):
    queue(3)
    start = utcnow()
    first = deliver(start)
    assert first.waiting == 3 and first.sent == 0
    rows = outbox()
    assert all(m.status == MailStatus.WAITING and m.attempts == 1 and "Connection" in m.last_error for m in rows)
    assert all(m.next_attempt_at >= start + timedelta(seconds=app.config["MAIL_RETRY_SECONDS"]) for m in rows)
    assert deliver(start + timedelta(seconds=1)).handled == 0  # not due yet: the worker waits

    second = deliver(start + timedelta(minutes=1, seconds=5))  # still down: the pause doubles
    assert second.waiting == 3
    assert all(m.attempts == 2 and m.next_attempt_at >= start + timedelta(minutes=3) for m in outbox())

    inbox = smtp_server.start()
    assert deliver(start + timedelta(minutes=4)).sent == 3
    assert deliver(start + timedelta(hours=1)).handled == 0
    assert sorted(m["Subject"] for m in inbox.messages) == ["Nachricht 0", "Nachricht 1", "Nachricht 2"]
    assert all(m.status == MailStatus.SENT and m.sent_at for m in outbox())


def test_two_workers_at_once_never_send_one_message_twice(app, inbox):
    queue(24)
    errors: list[BaseException] = []

    def worker():
        try:
            with app.app_context():
                while service.send_due(limit=3).handled:
                    pass
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 24 and len(set(ids)) == 24
    assert all(m.status == MailStatus.SENT and m.attempts == 1 for m in outbox())


def test_a_claim_holds_until_its_lease_runs_out(app, inbox):
    [mail] = queue(1)
    now = utcnow()
    [(mail_id, token)] = service.claim(now)
    assert service.claim(now + timedelta(seconds=30)) == []  # another worker cannot take it
    # The first worker died; once the lease is over, the message is taken again and sent once.
    later = now + timedelta(seconds=app.config["MAIL_LEASE_SECONDS"] + 1)
    assert deliver(later).sent == 1
    assert service.send_one(mail_id, token) is None  # the dead worker's claim is worth nothing now
    assert len(inbox.messages) == 1


def test_given_up_after_the_last_try_then_sent_again_by_a_coordinator(app, client, login, smtp_server):
    app.config["MAIL_MAX_ATTEMPTS"] = 2
    [mail] = queue(1, kind="booking-confirmation")
    start = utcnow()
    assert deliver(start).waiting == 1
    assert deliver(start + timedelta(hours=1)).dead == 1
    assert outbox()[0].status == MailStatus.DEAD
    assert deliver(start + timedelta(days=1)).handled == 0  # a dead message is not tried again on its own

    login("coordinator")
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "Nachricht 0" in page and "p…@example.org" in page and "person0@example.org" not in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    assert client.post(f"/admin/mail/{mail.id}/retry", data={"csrf_token": csrf}).status_code == 303
    retried = outbox()[0]
    assert retried.status == MailStatus.WAITING and retried.attempts == 0

    inbox = smtp_server.start()
    assert deliver().sent == 1 and len(inbox.messages) == 1
    assert "Nachricht 0" not in client.get("/admin/mail").get_data(as_text=True)


def test_retry_needs_the_form_token_and_a_dead_message(app, client, login, inbox):
    [mail] = queue(1)
    login("coordinator")
    assert client.post(f"/admin/mail/{mail.id}/retry", data={}).status_code in (303, 400)
    assert outbox()[0].attempts == 0 and outbox()[0].status == MailStatus.WAITING
    assert client.post("/admin/mail/999999/retry", data={}).status_code in (400, 404)


def test_a_permanent_refusal_is_given_up_at_once(app, inbox):
    inbox.refuse.add("person0@example.org")
    queue(2)
    result = deliver()
    assert result.dead == 1 and result.sent == 1
    dead = [m for m in outbox() if m.status == MailStatus.DEAD]
    assert [m.to_address for m in dead] == ["person0@example.org"] and "550" in dead[0].last_error


def test_backoff_doubles_up_to_a_limit(app):
    app.config["MAIL_RETRY_SECONDS"] = 60
    assert [service.backoff(n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert service.backoff(30) == service.MAX_BACKOFF


def test_sent_messages_are_deleted_after_some_days(app, inbox):
    queue(1)
    deliver()
    assert service.purge(utcnow() + timedelta(days=app.config["MAIL_KEEP_DAYS"] - 1)) == 0
    assert service.purge(utcnow() + timedelta(days=app.config["MAIL_KEEP_DAYS"] + 1)) == 1
    assert outbox() == []


def test_worker_command_sends_once(app, runner, inbox):
    queue(2)
    result = runner.invoke(args=["mail", "send", "--once"])
    assert result.exit_code == 0, result.output
    assert "sent 2" in result.output and len(inbox.messages) == 2


def test_worker_loop_stops_on_a_signal(app, runner, inbox, monkeypatch):
    """--loop keeps sending until it is told to stop; here the signal comes while it waits."""
    import signal as signal_module

    from busapp.mail import commands

    queue(1)
    handlers = {}
    monkeypatch.setattr(commands.signal, "signal", lambda sig, handler: handlers.setdefault(sig, handler))
    naps = []

    def nap(seconds):
        naps.append(seconds)
        handlers[signal_module.SIGTERM](signal_module.SIGTERM, None)

    monkeypatch.setattr(commands.time, "sleep", nap)
    result = runner.invoke(args=["mail", "send", "--loop"])
    assert result.exit_code == 0, result.output
    assert "sent 1" in result.output and "stopped" in result.output
    assert len(inbox.messages) == 1 and naps
