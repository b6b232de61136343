"""Booking without an account: the form, the ticket page, exactly-once submissions, bad input, closed workshops,
cancelling, deleting one's own data, and the JSON answers the offline outbox relies on."""
from __future__ import annotations

import re
from datetime import timedelta
from uuid import uuid4
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.core import tickets
from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, StopStatus, Workshop, WorkshopStatus
from tests.qrtools import decode

JSON = {"Accept": "application/json", "X-Outbox": "1"}
EN = {"Accept-Language": "en"}


# Helpers shared with the other booking test files ---------------------------------------------------------------

def form_tokens(client, workshop_id: int, headers: dict | None = None) -> dict:
    """Open the booking form like a browser and read the hidden fields a submission needs.

    A workshop that cannot be booked shows no form; then the session's token (from another form of the site) and
    a fresh key stand in, as a submission queued before the workshop closed would carry them."""
    html = client.get(f"/workshops/{workshop_id}/book", headers=headers or {}).get_data(as_text=True)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html)
    csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
    if not key:
        assert not csrf, "a booking form without its idempotency key"
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/signin").get_data(as_text=True))
    assert csrf, "no form token on the page"
    return {"csrf_token": csrf.group(1), "idempotency_key": key.group(1) if key else str(uuid4())}


def book(client, workshop_id: int, headers: dict | None = None, **fields):
    """Fill in and send the booking form; returns the response (not followed)."""
    data = form_tokens(client, workshop_id, headers)
    data.update({"name": "Anna", "party_size": "1", "consent": "y"})
    data.update({k: v for k, v in fields.items() if v is not None})
    for k in [k for k, v in fields.items() if v is None]:
        data.pop(k, None)
    return client.post(f"/workshops/{workshop_id}/book", data=data, headers=headers or {})


def token_of(response) -> str:
    match = re.fullmatch(r"/t/([A-Za-z0-9_-]+)", response.headers["Location"])
    assert match, response.headers["Location"]
    return match.group(1)


def bookings() -> list[Booking]:
    db.session.expire_all()
    return db.session.scalars(sa.select(Booking).order_by(Booking.id)).all()


def assert_seats_consistent(workshop_id: int) -> Workshop:
    """seats_taken is exactly the confirmed parties' seats, and never more than the capacity."""
    db.session.expire_all()
    workshop = db.session.get(Workshop, workshop_id)
    confirmed = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Booking.party_size), 0))
        .where(Booking.workshop_id == workshop_id, Booking.status == BookingStatus.CONFIRMED)
    )
    assert workshop.seats_taken == confirmed
    assert 0 <= workshop.seats_taken <= workshop.capacity
    return workshop


# The form ---------------------------------------------------------------------------------------------------------

def test_form_in_german_by_default(client, make_workshop):
    workshop = make_workshop()
    response = client.get(f"/workshops/{workshop.id}/book")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'lang="de"' in html
    assert "Platz buchen" in html and "Ihr Name oder ein Spitzname" in html
    assert 'data-outbox="booking"' in html
    assert "Datenschutzhinweis" in html


def test_form_in_english_on_request(client, make_workshop):
    workshop = make_workshop()
    html = client.get(f"/workshops/{workshop.id}/book", headers=EN).get_data(as_text=True)
    assert "Book a seat" in html and "Your name or a nickname" in html
    assert "How many people are coming?" in html and "2 people" in html


def test_each_form_view_gets_its_own_idempotency_key(client, make_workshop):
    workshop = make_workshop()
    first = form_tokens(client, workshop.id)["idempotency_key"]
    second = form_tokens(client, workshop.id)["idempotency_key"]
    assert first != second


def test_unknown_workshop_is_404(client):
    assert client.get("/workshops/999999/book").status_code == 404


def test_privacy_notice(client, app):
    app.config["PURGE_AFTER_DAYS"] = 21
    html = client.get("/booking/privacy", headers=EN).get_data(as_text=True)
    assert "21 days after the workshop" in html
    assert "21 Tage nach dem Kurs" in client.get("/booking/privacy").get_data(as_text=True)


# Booking and the ticket page ------------------------------------------------------------------------------------

def test_booking_gives_a_ticket_with_a_signed_qr_code(client, make_workshop):
    workshop = make_workshop(title="Videoanrufe mit der Familie", capacity=8)
    response = book(client, workshop.id, name="Anna K.", party_size="2", contact="anna@example.org",
                    needs_note="Rollstuhl")
    assert response.status_code == 303
    token = token_of(response)
    [booking] = bookings()
    assert booking.status == BookingStatus.CONFIRMED
    assert (booking.name, booking.party_size, booking.contact, booking.needs_note) == (
        "Anna K.", 2, "anna@example.org", "Rollstuhl")
    assert booking.manage_token == token and booking.code not in token
    assert booking.locale == "de"
    assert assert_seats_consistent(workshop.id).seats_taken == 2

    page = client.get(f"/t/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ihr Ticket" in html and "Videoanrufe mit der Familie" in html and "Marktplatz" in html
    assert booking.code[:3] in html and booking.code[3:] in html
    assert "Anna K." in html
    assert f"http://localhost/t/{token}" in html  # the manage link, shown in full to be kept
    assert "Die Adresse dieser Seite aufbewahren" in html
    [svg] = re.findall(r"<svg.*?</svg>", html, re.S)
    [text] = decode(svg)
    assert tickets.verify(text) == tickets.TicketPayload(booking.code, workshop.id, 2)


def test_ticket_pages_are_private_but_cacheable_on_the_device(client, make_workshop):
    token = token_of(book(client, make_workshop().id))
    for path in (f"/t/{token}", f"/t/{token}.ics", f"/t/{token}/qr.svg", f"/t/{token}/cancel", f"/t/{token}/forget"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "private, no-cache", path
        assert "noindex" in response.headers["X-Robots-Tag"], path
        assert response.headers["Referrer-Policy"] == "no-referrer", path


def test_unknown_manage_token_is_404(client):
    assert client.get("/t/not-a-real-token").status_code == 404
    assert client.get("/t/" + "x" * 200).status_code == 404
    assert client.post("/t/not-a-real-token/cancel", data={}).status_code in (400, 404)


def test_calendar_file_of_the_booked_workshop(client, make_workshop):
    workshop = make_workshop(title="Sicher online bezahlen")
    token = token_of(book(client, workshop.id))
    response = client.get(f"/t/{token}.ics")
    body = response.get_data(as_text=True)
    assert response.content_type.startswith("text/calendar")
    assert "attachment" in response.headers["Content-Disposition"]
    assert "BEGIN:VEVENT" in body and "SUMMARY:Digitalwerkstatt-Bus: Sicher online bezahlen" in body
    assert f"UID:booking-{bookings()[0].code}@" in body
    assert "DTSTART;TZID=Europe/Berlin:" + workshop.starts_at.astimezone(ZoneInfo("Europe/Berlin")).strftime(
        "%Y%m%dT%H%M") in body  # the day and time in Lübeck, whatever hour the test runs at


def test_qr_file_only_for_confirmed_seats(client, make_workshop):
    workshop = make_workshop(capacity=1)
    seated = token_of(book(client, workshop.id))
    waiting = token_of(book(client, workshop.id))
    response = client.get(f"/t/{seated}/qr.svg")
    assert response.status_code == 200 and response.content_type.startswith("image/svg+xml")
    assert tickets.verify(decode(response.get_data(as_text=True))[0]) is not None
    assert client.get(f"/t/{waiting}/qr.svg").status_code == 404


def test_english_booking_is_remembered_for_the_ticket_language(client, make_workshop):
    response = book(client, make_workshop().id, headers=EN)
    [booking] = bookings()
    assert booking.locale == "en"
    html = client.get(response.headers["Location"], headers=EN).get_data(as_text=True)
    assert "Your ticket" in html and "Keep this link" in html


# Exactly once ----------------------------------------------------------------------------------------------------

def test_repeated_submission_returns_the_same_booking(client, make_workshop):
    workshop = make_workshop()
    data = form_tokens(client, workshop.id) | {"name": "Anna", "party_size": "2", "consent": "y"}
    first = client.post(f"/workshops/{workshop.id}/book", data=data)
    again = client.post(f"/workshops/{workshop.id}/book", data=data)
    assert first.status_code == again.status_code == 303
    assert first.headers["Location"] == again.headers["Location"]
    assert len(bookings()) == 1
    assert assert_seats_consistent(workshop.id).seats_taken == 2


def test_json_replay_answers_200_with_the_same_body(client, make_workshop):
    workshop = make_workshop()
    data = form_tokens(client, workshop.id) | {"name": "Anna", "party_size": "1", "consent": "y"}
    first = client.post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    replay = client.post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    assert first.status_code == 201 and replay.status_code == 200
    assert first.json == replay.json
    body = first.json
    assert body["ok"] is True and body["state"] == "confirmed"
    assert body["url"].startswith("/t/") and body["code"] == bookings()[0].code
    assert body["code"] in body["message"]
    assert body["errors"] == {} and body["alternatives"] == []
    assert len(bookings()) == 1


def test_replay_hours_later_after_the_workshop_closed_still_returns_the_booking(client, make_workshop, now):
    workshop = make_workshop()
    data = form_tokens(client, workshop.id) | {"name": "Anna", "party_size": "1", "consent": "y"}
    first = client.post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    workshop.status = WorkshopStatus.CANCELLED
    db.session.commit()
    replay = client.post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    assert replay.status_code == 200 and replay.json["code"] == first.json["code"]


def test_a_race_with_one_key_keeps_one_booking_and_its_seats_once(app, make_workshop):
    """The loser of two simultaneous inserts with one key rolls back (seats too) and returns the winner."""
    from busapp.booking import service

    workshop = make_workshop(capacity=8)
    fields = dict(party_size=3, name="Anna", contact=None, needs_note=None, idempotency_key="k" * 32, locale="de",
                  proofs=("the-same-sender",))
    winner = service.create(workshop.id, **fields)
    # Simulate the loser: it did not see the winner's row when it looked, so it tries to insert as well.
    original = service.find_by_key
    calls = []

    def blind_once(key):
        calls.append(key)
        return None if len(calls) == 1 else original(key)

    service.find_by_key = blind_once
    try:
        loser = service.create(workshop.id, **fields)
    finally:
        service.find_by_key = original
    assert winner.created and not loser.created
    assert loser.booking.id == winner.booking.id
    assert len(bookings()) == 1
    assert assert_seats_consistent(workshop.id).seats_taken == 3


# The waiting list through the form --------------------------------------------------------------------------------

def test_full_workshop_puts_the_party_on_the_waiting_list(client, make_workshop):
    workshop = make_workshop(capacity=2)
    make_workshop(title="Noch ein Termin", capacity=5)  # an alternative with free seats
    book(client, workshop.id, party_size="2")
    form = client.get(f"/workshops/{workshop.id}/book").get_data(as_text=True)
    assert "Alle Plätze sind vergeben" in form and "Auf die Warteliste" in form
    assert "Noch ein Termin" in form
    response = book(client, workshop.id, party_size="1", headers=JSON)
    assert response.status_code == 201
    body = response.json
    assert body["state"] == "waiting" and body["ok"] is True
    assert "Nummer 1 auf der Warteliste" in body["message"]
    assert [a["title"] for a in body["alternatives"]] == ["Noch ein Termin"]
    assert body["alternatives"][0]["seats_free"] == 5
    assert body["alternatives"][0]["url"].endswith("/book")
    html = client.get(body["url"]).get_data(as_text=True)
    assert "Sie stehen auf der Warteliste" in html and "Nummer 1" in html
    assert "Warteliste verlassen" in html
    assert "<svg" not in html  # no QR code: a place on the list is not a ticket
    assert assert_seats_consistent(workshop.id).seats_taken == 2


def test_party_larger_than_the_free_seats_waits(client, make_workshop):
    workshop = make_workshop(capacity=3)
    book(client, workshop.id, party_size="2")
    assert "Nur 1 Platz ist frei" in client.get(f"/workshops/{workshop.id}/book").get_data(as_text=True)
    response = book(client, workshop.id, party_size="2")
    assert response.status_code == 303
    assert [b.status for b in bookings()] == [BookingStatus.CONFIRMED, BookingStatus.WAITING]


# Bad input -------------------------------------------------------------------------------------------------------

LONG = "x" * 10_000


@pytest.mark.parametrize("fields, field_id, message", [
    ({"name": ""}, "name", "Bitte geben Sie einen Namen oder Spitznamen ein."),
    ({"name": "   "}, "name", "Bitte geben Sie einen Namen oder Spitznamen ein."),
    ({"name": LONG}, "name", "Bitte höchstens 80 Zeichen."),
    ({"party_size": "0"}, "party_size", "Bitte wählen Sie, wie viele Personen kommen: 1 bis 4."),
    ({"party_size": "9"}, "party_size", "Bitte wählen Sie, wie viele Personen kommen: 1 bis 4."),
    ({"party_size": "zwei"}, "party_size", "Bitte wählen Sie, wie viele Personen kommen: 1 bis 4."),
    ({"party_size": None}, "party_size", "Bitte wählen Sie, wie viele Personen kommen: 1 bis 4."),
    ({"contact": "anna@example"}, "contact", "Diese E-Mail-Adresse ist nicht vollständig."),
    ({"contact": "anna at example dot org"}, "contact", "Bitte geben Sie eine E-Mail-Adresse oder Telefonnummer"),
    ({"contact": "12"}, "contact", "Bitte geben Sie eine E-Mail-Adresse oder Telefonnummer"),
    ({"needs_note": LONG}, "needs_note", "Bitte höchstens 300 Zeichen."),
    ({"consent": None}, "consent", "Bitte stimmen Sie dem Datenschutzhinweis zu"),
])
def test_bad_input_is_answered_next_to_the_field_and_nothing_is_written(client, make_workshop, fields, field_id,
                                                                         message):
    workshop = make_workshop()
    typed = {"name": "Anna Beispiel", "contact": "0451 123456", "needs_note": "Große Schrift, bitte"}
    response = book(client, workshop.id, **(typed | fields))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    error = re.search(rf'<p class="error-message" id="{field_id}-error">(.*?)</p>', html, re.S)
    assert error and message in error.group(1)
    assert 'id="error-summary"' in html
    # What they typed is kept (the over-long text too, so nothing has to be typed again).
    for name, value in (typed | fields).items():
        if name in ("name", "contact") and value and value.strip():
            assert f'value="{value}"' in html, name
    if fields.get("needs_note") == LONG:
        assert LONG in html
    elif "needs_note" not in fields:
        assert "Große Schrift, bitte</textarea>" in html
    assert bookings() == []
    assert assert_seats_consistent(workshop.id).seats_taken == 0


def test_phone_numbers_and_emails_are_accepted(client, make_workshop):
    workshop = make_workshop()
    assert book(client, workshop.id, contact="+49 (0451) 123-456").status_code == 303
    assert book(client, workshop.id, contact=" Anna@Example.org ").status_code == 303
    assert [b.contact for b in bookings()] == ["+49 (0451) 123-456", "Anna@example.org"]


@pytest.mark.parametrize("csrf", [None, "not-a-valid-token"])
def test_missing_or_expired_form_token_keeps_the_entries(client, make_workshop, csrf):
    workshop = make_workshop()
    response = book(client, workshop.id, csrf_token=csrf, name="Anna Beispiel", needs_note="Hörgerät")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Das Formular ist abgelaufen" in html
    assert 'value="Anna Beispiel"' in html and "Hörgerät</textarea>" in html
    assert re.search(r'name="csrf_token"[^>]*value="[^"]+"', html)  # a fresh token, so sending again works
    assert bookings() == []


def test_party_larger_than_the_workshop_is_refused_at_the_field(client, make_workshop):
    workshop = make_workshop(capacity=3)
    response = book(client, workshop.id, party_size="4")
    assert response.status_code == 422
    assert "nur 3 Plätze" in response.get_data(as_text=True)
    assert bookings() == []


def test_invalid_input_as_json(client, make_workshop):
    workshop = make_workshop()
    response = book(client, workshop.id, headers=JSON | EN, name="", party_size="9", contact="x@")
    assert response.status_code == 422
    body = response.json
    assert body["ok"] is False and body["state"] == "invalid"
    assert body["message"] == "Please check your entries."
    assert set(body["errors"]) == {"name", "party_size", "contact"}
    assert body["errors"]["name"] == ["Please enter a name or a nickname."]
    assert body["url"] is None and body["code"] is None
    assert bookings() == []


def test_expired_form_token_as_json(client, make_workshop):
    response = book(client, make_workshop().id, headers=JSON, csrf_token="expired")
    assert response.status_code == 422 and response.json["state"] == "invalid"
    assert response.json["errors"]["csrf_token"] == ["Das Formular ist abgelaufen. Bitte senden Sie es noch einmal."]
    assert bookings() == []


def test_missing_idempotency_key_is_invalid(client, make_workshop):
    workshop = make_workshop()
    response = book(client, workshop.id, headers=JSON, idempotency_key=None)
    assert response.status_code == 422 and "idempotency_key" in response.json["errors"]
    assert bookings() == []


# Workshops that cannot be booked -----------------------------------------------------------------------------------

@pytest.fixture
def closed_workshop(make_workshop, make_stop, now, app):
    """Factory: a workshop that cannot be booked for the given reason."""

    def make(reason: str) -> Workshop:
        if reason == "past":
            return make_workshop(stop=make_stop(starts_at=now - timedelta(hours=1)))
        if reason == "cancelled":
            return make_workshop(status=WorkshopStatus.CANCELLED)
        if reason == "stop_cancelled":
            return make_workshop(stop=make_stop(status=StopStatus.CANCELLED, cancel_reason="Der Bus ist in der Werkstatt."))
        if reason == "draft":
            return make_workshop(status=WorkshopStatus.DRAFT)
        if reason == "closed":
            app.config["BOOKING_CLOSES_MINUTES"] = 60
            return make_workshop(stop=make_stop(starts_at=now + timedelta(minutes=30)))
        raise AssertionError(reason)

    return make


@pytest.mark.parametrize("reason, message", [
    ("past", "Dieser Kurs hat schon begonnen oder ist vorbei."),
    ("cancelled", "Dieser Kurs wurde abgesagt."),
    ("stop_cancelled", "Der Bus kommt nicht zu diesem Halt"),
    ("closed", "Die Buchung für diesen Kurs ist geschlossen."),
])
def test_closed_workshops_say_why(client, closed_workshop, make_workshop, reason, message):
    workshop = closed_workshop(reason)
    make_workshop(title="Ersatztermin")
    page = client.get(f"/workshops/{workshop.id}/book")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and message in html
    assert 'data-outbox="booking"' not in html  # no form to fill in
    assert "Ersatztermin" in html
    if reason == "stop_cancelled":
        assert "Der Bus ist in der Werkstatt." in html

    response = client.post(f"/workshops/{workshop.id}/book", data=form_tokens(client, workshop.id) | {
        "name": "Anna Beispiel", "party_size": "2", "consent": "y"})
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    assert message in html and 'value="Anna Beispiel"' in html  # kept, ready to send to another workshop
    assert "Stattdessen diesen Kurs buchen" in html
    assert bookings() == []


def test_draft_workshop_is_not_shown_and_cannot_be_booked(client, closed_workshop):
    workshop = closed_workshop("draft")
    page = client.get(f"/workshops/{workshop.id}/book")
    assert page.status_code == 404
    assert workshop.title not in page.get_data(as_text=True)
    response = book(client, workshop.id, headers=JSON)
    assert response.status_code == 409 and response.json["state"] == "refused"
    assert bookings() == []


def test_refusal_as_json_offers_alternatives(client, closed_workshop, make_workshop):
    workshop = closed_workshop("cancelled")
    same_topic = make_workshop(title="Gleiches Thema", topic=workshop.topic)
    make_workshop(title="Anderes Thema", topic="photos")
    response = book(client, workshop.id, headers=JSON | EN)
    assert response.status_code == 409
    body = response.json
    assert body == body | {"ok": False, "state": "refused", "url": None, "code": None, "errors": {}}
    assert body["message"] == "This workshop has been cancelled."
    titles = [a["title"] for a in body["alternatives"]]
    assert titles[0] == "Gleiches Thema" and "Anderes Thema" in titles
    first = body["alternatives"][0]
    assert first["url"] == f"/workshops/{same_topic.id}/book"
    assert first["place"] == f"Marktplatz, {same_topic.stop.district.name}"
    assert first["when"] and first["seats_free"] == 8


def test_booking_an_alternative_with_the_kept_entries(client, closed_workshop, make_workshop):
    workshop = closed_workshop("past")
    other = make_workshop(title="Ersatztermin")
    data = form_tokens(client, workshop.id) | {"name": "Anna Beispiel", "party_size": "2", "consent": "y"}
    assert client.post(f"/workshops/{workshop.id}/book", data=data).status_code == 409
    # The alternative's button sends the same entries to the other workshop (formaction).
    response = client.post(f"/workshops/{other.id}/book", data=data)
    assert response.status_code == 303
    [booking] = bookings()
    assert (booking.workshop_id, booking.name, booking.party_size) == (other.id, "Anna Beispiel", 2)


def test_vanished_workshop_as_json_is_404(client, make_workshop):
    workshop = make_workshop()
    data = form_tokens(client, workshop.id) | {"name": "Anna", "party_size": "1", "consent": "y"}
    response = client.post("/workshops/987654/book", data=data, headers=JSON | EN)
    assert response.status_code == 404
    assert response.json["state"] == "refused" and response.json["message"] == "This workshop no longer exists."


def test_booking_closes_at_the_configured_time(client, app, make_workshop, make_stop, now):
    app.config["BOOKING_CLOSES_MINUTES"] = 30
    open_one = make_workshop(stop=make_stop(starts_at=now + timedelta(minutes=45)))
    closed_one = make_workshop(stop=make_stop(starts_at=now + timedelta(minutes=20)))
    assert book(client, open_one.id).status_code == 303
    assert book(client, closed_one.id).status_code == 409


# Cancelling and deleting one's own data ---------------------------------------------------------------------------

def test_cancel_in_one_step_with_confirmation_frees_the_seats(client, make_workshop):
    workshop = make_workshop(capacity=4)
    token = token_of(book(client, workshop.id, party_size="3"))
    assert assert_seats_consistent(workshop.id).seats_taken == 3
    confirm = client.get(f"/t/{token}/cancel")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "Ja, meine Buchung absagen" in html
    assert assert_seats_consistent(workshop.id).seats_taken == 3  # looking at the page changes nothing

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    response = client.post(f"/t/{token}/cancel", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["Location"] == f"/t/{token}"
    [booking] = bookings()
    assert booking.status == BookingStatus.CANCELLED and booking.cancelled_at is not None
    assert assert_seats_consistent(workshop.id).seats_taken == 0
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert "Buchung abgesagt" in page and "<svg" not in page
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "booking-cancel"))
    assert event.user_id is None and event.object_id == str(booking.id)
    # Sending the cancellation again changes nothing.
    assert client.post(f"/t/{token}/cancel", data={"csrf_token": csrf}).status_code == 303
    assert assert_seats_consistent(workshop.id).seats_taken == 0


def test_cancel_needs_the_form_token(client, make_workshop):
    token = token_of(book(client, make_workshop().id))
    assert client.post(f"/t/{token}/cancel", data={}).status_code == 400
    assert bookings()[0].status == BookingStatus.CONFIRMED


def test_no_cancelling_after_the_workshop_started(client, make_workshop):
    workshop = make_workshop()
    token = token_of(book(client, workshop.id))
    workshop.starts_at = workshop.starts_at - timedelta(days=2)
    db.session.commit()
    html = client.get(f"/t/{token}").get_data(as_text=True)
    assert f"/t/{token}/cancel" not in html
    confirm = client.get(f"/t/{token}/cancel").get_data(as_text=True)
    assert f'method="post" action="/t/{token}/cancel"' not in confirm and "schon begonnen" in confirm
    response = client.post(f"/t/{token}/cancel", data={"csrf_token": form_tokens(client, workshop.id)["csrf_token"]})
    assert response.status_code == 409
    assert bookings()[0].status == BookingStatus.CONFIRMED


def test_person_deletes_their_own_data(client, make_workshop):
    workshop = make_workshop()
    token = token_of(book(client, workshop.id, name="Anna Beispiel", contact="anna@example.org",
                          needs_note="Hörgerät", party_size="2"))
    html = client.get(f"/t/{token}/forget").get_data(as_text=True)
    assert "Ihre persönlichen Daten löschen?" in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/t/{token}/forget", data={"csrf_token": csrf}).status_code == 303
    [booking] = bookings()
    assert (booking.name, booking.contact, booking.needs_note) == (None, None, None)
    assert booking.purged_at is not None and booking.status == BookingStatus.CANCELLED
    assert booking.party_size == 2  # the count stays for statistics
    assert assert_seats_consistent(workshop.id).seats_taken == 0
    page = client.get(f"/t/{token}").get_data(as_text=True)
    assert "Anna Beispiel" not in page and "anna@example.org" not in page
    assert "wurden gelöscht" in page
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "booking-forget")) is not None


def test_leaving_the_waiting_list(client, make_workshop):
    workshop = make_workshop(capacity=1)
    book(client, workshop.id)
    token = token_of(book(client, workshop.id, name="Ben"))
    html = client.get(f"/t/{token}/cancel").get_data(as_text=True)
    assert "Warteliste verlassen?" in html
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    client.post(f"/t/{token}/cancel", data={"csrf_token": csrf})
    assert [b.status for b in bookings()] == [BookingStatus.CONFIRMED, BookingStatus.CANCELLED]
    assert assert_seats_consistent(workshop.id).seats_taken == 1


# Rate limit ------------------------------------------------------------------------------------------------------

def test_booking_posts_are_rate_limited(client, app, make_workshop):
    app.config["RATELIMIT_BOOKING"] = "2/600"
    workshop = make_workshop()
    assert book(client, workshop.id).status_code == 303
    assert book(client, workshop.id).status_code == 303
    response = book(client, workshop.id)
    assert response.status_code == 429
    assert "Zu viele Versuche" in response.get_data(as_text=True)
    assert book(client, workshop.id, headers=JSON).status_code == 429
    assert client.get(f"/workshops/{workshop.id}/book").status_code == 200  # reading the form is not limited
    assert len(bookings()) == 2


def test_control_characters_in_text_are_dropped_not_stored(client, make_workshop):
    """PostgreSQL cannot store NUL in text; a NUL typed into a field must not turn into a 500."""
    from tests.conftest import csrf_token

    workshop = make_workshop()
    page = client.get(f"/workshops/{workshop.id}/book").get_data(as_text=True)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="idempotency_key"', page)
    response = client.post(f"/workshops/{workshop.id}/book", data={
        "csrf_token": csrf_token(client, f"/workshops/{workshop.id}/book"), "idempotency_key": key.group(1),
        "name": "Ay\x00se\x07", "party_size": "1", "needs_note": "Roll\x00stuhl", "consent": "y",
    })
    assert response.status_code == 303
    booking = db.session.scalar(sa.select(Booking))
    assert (booking.name, booking.needs_note) == ("Ayse", "Rollstuhl")
