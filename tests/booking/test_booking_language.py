"""A language chosen with a link holds for the visit, and a booking keeps the language it was made in.

A phone set to German opens a stop page in Arabic (`?lang=ar`): the booking form, the booking itself and the ticket
stay Arabic, without a cookie. A booking remembers its language: its ticket opens in it on any phone, and its mails,
their ticket link, the reminder and the calendar file are written in it, unless the visitor asks for another
(`?lang=`) or has picked one in the header."""
from __future__ import annotations

import re

import pytest

from busapp.booking import notify
from busapp.core.extensions import db
from busapp.mail import service as mail_service
from busapp.models import Booking, OutgoingMail
from tests.booking.test_booking import bookings, form_tokens

DE = {"Accept-Language": "de-DE,de;q=0.9"}


def _html_lang(page: str) -> str:
    return re.search(r'<html lang="([^"]+)"', page).group(1)


def _book(client, workshop_id: int, query: str = "", **fields):
    data = form_tokens(client, workshop_id, DE)
    data.update({"name": "Salma", "party_size": "1", "consent": "y", **fields})
    return client.post(f"/workshops/{workshop_id}/book{query}", data=data, headers=DE)


@pytest.fixture
def mail_on(app, monkeypatch):
    monkeypatch.setattr(mail_service.smtp, "enabled", lambda: True)


def test_a_link_in_arabic_stays_arabic_to_the_ticket_on_a_german_phone(client, make_workshop):
    workshop = make_workshop(title="Das Smartphone kennenlernen")
    stop_page = client.get(f"/s/{workshop.stop_id}?lang=ar", headers=DE).get_data(as_text=True)
    assert _html_lang(stop_page) == "ar"
    assert f'href="/workshops/{workshop.id}/book?lang=ar"' in stop_page
    # Nothing personal is stored for the choice: the public page stays cacheable.
    assert client.get_cookie("session") is None

    form = client.get(f"/workshops/{workshop.id}/book?lang=ar", headers=DE).get_data(as_text=True)
    assert _html_lang(form) == "ar"
    assert f'action="/workshops/{workshop.id}/book?lang=ar"' in form

    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', form).group(1)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', form).group(1)
    answer = client.post(f"/workshops/{workshop.id}/book?lang=ar", headers=DE, data={
        "idempotency_key": key, "csrf_token": csrf, "name": "Salma", "party_size": "1", "consent": "y"})
    assert answer.status_code == 303
    [booking] = bookings()
    assert booking.locale == "ar"
    assert answer.headers["Location"] == f"/t/{booking.manage_token}?lang=ar"

    # The same phone opens the ticket again later without ?lang=: the booking's language, not the phone's.
    ticket = client.get(f"/t/{booking.manage_token}", headers=DE).get_data(as_text=True)
    assert _html_lang(ticket) == "ar" and "تذكرتك" in ticket
    # Its links keep the language.
    assert f'href="/t/{booking.manage_token}/cancel?lang=ar"' in ticket
    assert f'href="/t/{booking.manage_token}.ics?lang=ar"' in ticket


def test_the_visitor_can_still_read_the_ticket_in_another_language(client, make_workshop):
    workshop = make_workshop()
    token = _book(client, workshop.id, "?lang=ar").headers["Location"].split("?")[0].rsplit("/", 1)[1]
    assert _html_lang(client.get(f"/t/{token}?lang=en", headers=DE).get_data(as_text=True)) == "en"
    # A language picked in the header (remembered in the session) wins over the booking's.
    client.get(f"/t/{token}?lang=tr&remember=1", headers=DE)
    assert _html_lang(client.get(f"/t/{token}", headers=DE).get_data(as_text=True)) == "tr"


def test_without_a_link_language_pages_carry_none(client, make_workshop):
    workshop = make_workshop()
    page = client.get(f"/s/{workshop.stop_id}", headers=DE).get_data(as_text=True)
    assert f'href="/workshops/{workshop.id}/book"' in page and "?lang=" not in page.split("<main")[1]


def test_the_calendar_file_is_in_the_booking_language(client, make_workshop):
    workshop = make_workshop(title="Das Smartphone kennenlernen",
                             texts={"ar": {"title": "التعرف على الهاتف الذكي"}})
    _book(client, workshop.id, "?lang=ar")
    [booking] = bookings()
    ics = client.get(f"/t/{booking.manage_token}.ics", headers=DE).get_data(as_text=True)
    unfolded = ics.replace("\r\n ", "")
    assert "التعرف على الهاتف الذكي" in unfolded
    assert "Buchungscode" not in unfolded and "Booking code" not in unfolded
    assert f"/t/{booking.manage_token}?lang=ar" in unfolded


def test_mails_and_reminder_in_the_booking_language_with_its_ticket_link(app, client, make_workshop, mail_on):
    workshop = make_workshop(title="Das Smartphone kennenlernen", texts={"tr": {"title": "Akıllı telefonu tanıyın"}})
    _book(client, workshop.id, "?lang=tr", contact="salma@example.org")
    [booking] = bookings()
    assert booking.locale == "tr"
    # The reminder is queued by a command, in a request context of its own with no language in it.
    with app.test_request_context(headers=DE):
        booking = db.session.get(Booking, booking.id)
        notify.reminder(booking)
        db.session.commit()
    mails = db.session.scalars(db.select(OutgoingMail).order_by(OutgoingMail.id)).all()
    assert [m.kind for m in mails] == ["booking-confirmation", "booking-reminder"]
    for mail in mails:
        assert "Akıllı telefonu tanıyın" in mail.subject, mail.subject
        assert f"/t/{booking.manage_token}?lang=tr" in mail.body
        assert mail.locale == "tr"
