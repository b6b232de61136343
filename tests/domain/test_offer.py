"""One rule, told the same everywhere: for every state of a workshop, the stop page, the booking form, the JSON
answer and the booking itself agree on whether it can be booked, how many seats a party gets and whether the
party waits (booking.service.offer)."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.booking import service
from busapp.core.extensions import db
from busapp.models import MAX_PASSED_OVER, Booking, BookingStatus, StopStatus, WorkshopStatus
from tests.booking.test_booking import JSON, form_tokens

EN = {"Accept-Language": "en"}


def waiting_party(workshop, size: int, passed_over: int = 0) -> None:
    db.session.add(Booking(workshop_id=workshop.id, party_size=size, name="Wartend", status=BookingStatus.WAITING,
                           passed_over=passed_over, code=secrets.token_hex(3).upper(),
                           manage_token=secrets.token_urlsafe(16), idempotency_key=secrets.token_hex(16)))
    db.session.commit()


# state -> (how to make it, expected outcome for a party of one, for a party of two)
STATES = {
    "open": (dict(capacity=8), "confirmed", "confirmed"),
    "one_seat_left": (dict(capacity=8, seats_taken=7), "confirmed", "waiting"),
    "full": (dict(capacity=8, seats_taken=8), "waiting", "waiting"),
    # One seat is free, but a party of two has been passed over twice: the seat is kept for it.
    "seats_owed": (dict(capacity=4, seats_taken=3, owed=True), "waiting", "waiting"),
    "workshop_draft": (dict(status=WorkshopStatus.DRAFT), "refused", "refused"),
    "workshop_cancelled": (dict(status=WorkshopStatus.CANCELLED), "refused", "refused"),
    "stop_cancelled": (dict(stop_status=StopStatus.CANCELLED), "refused", "refused"),
    "stop_draft": (dict(stop_status=StopStatus.DRAFT), "refused", "refused"),
    "started": (dict(started=True), "refused", "refused"),
    "booking_closed": (dict(closes_minutes=120), "refused", "refused"),
}


@pytest.fixture
def workshop_in(app, make_stop, make_workshop, now):
    def make(state: str):
        spec = dict(STATES[state][0])
        if spec.pop("started", False):
            stop = make_stop(starts_at=now - timedelta(minutes=30))
        else:
            stop = make_stop(starts_at=now + timedelta(hours=1), status=spec.pop("stop_status", StopStatus.PUBLISHED))
        if "closes_minutes" in spec:
            app.config["BOOKING_CLOSES_MINUTES"] = spec.pop("closes_minutes")
        owed = spec.pop("owed", False)
        workshop = make_workshop(stop, **spec)
        if owed:
            waiting_party(workshop, 2, passed_over=MAX_PASSED_OVER)
        return workshop

    return make


def stop_page_says(client, workshop) -> str:
    """"confirmed", "waiting" or "refused": what the stop page's button for this workshop offers."""
    response = client.get(f"/s/{workshop.stop_id}", headers=EN)
    if response.status_code == 404:
        return "refused"
    link = re.search(rf'href="/workshops/{workshop.id}/book">([^<]+)<', response.get_data(as_text=True))
    if link is None:
        return "refused"
    return {"Book a seat": "confirmed", "Join the waiting list": "waiting"}[link.group(1)]


def form_says(client, workshop, party_size: int) -> str:
    """What the booking form tells a party of this size it will get."""
    page = client.get(f"/workshops/{workshop.id}/book", headers=EN).get_data(as_text=True)
    if 'class="booking-form"' not in page:
        return "refused"
    button = re.search(r'<p class="form-submit"><button type="submit" class="button">([^<]+)<', page).group(1)
    if button == "Join the waiting list":
        return "waiting"
    assert button == "Book now", button
    only = re.search(r"Only (\d+) seats? (?:is|are) free", page)
    return "waiting" if only and party_size > int(only.group(1)) else "confirmed"


def book(client, workshop, party_size: int, as_json: bool) -> str:
    data = form_tokens(client, workshop.id)
    data.update({"name": "Anna", "party_size": str(party_size), "consent": "y"})
    headers = dict(EN, **(JSON if as_json else {}))
    response = client.post(f"/workshops/{workshop.id}/book", data=data, headers=headers)
    if as_json:
        return response.get_json()["state"]
    if response.status_code != 303:
        assert response.status_code in (404, 409), response.status_code
        return "refused"
    db.session.expire_all()
    status = db.session.scalar(sa.select(Booking.status).where(Booking.idempotency_key == data["idempotency_key"]))
    return status.value


@pytest.mark.parametrize("as_json", [False, True], ids=["html", "json"])
@pytest.mark.parametrize("party_size", [1, 2])
@pytest.mark.parametrize("state", list(STATES))
def test_every_place_tells_the_same_and_the_booking_does_it(client, workshop_in, state, party_size, as_json):
    workshop = workshop_in(state)
    expected = STATES[state][1 if party_size == 1 else 2]
    db.session.expire_all()
    assert service.offer(db.session.get(type(workshop), workshop.id)).outcome(party_size) == expected
    shown = stop_page_says(client, workshop)
    # The stop page offers the workshop as a whole: "Book a seat" while any seat can be had at once.
    assert shown == STATES[state][1], (state, "stop page")
    assert form_says(client, workshop, party_size) == expected, (state, "form")
    assert book(client, workshop, party_size, as_json) == expected, (state, "booking")


def test_free_seats_on_the_home_card_follow_the_rule(client, make_stop, make_workshop, now):
    stop = make_stop(starts_at=now + timedelta(hours=2))
    owed = make_workshop(stop, capacity=4, seats_taken=3)
    waiting_party(owed, 2, passed_over=MAX_PASSED_OVER)
    make_workshop(stop, capacity=5, seats_taken=3, title="Fotos")
    page = client.get("/", headers=EN).get_data(as_text=True)
    # 1 free seat is owed to the waiting party, so only the 2 of the other workshop count.
    assert "2 seats free" in re.sub(r"\s+", " ", page)
    stop_page = client.get(f"/s/{stop.id}", headers=EN).get_data(as_text=True)
    assert "Seats are kept for people on the waiting list" in stop_page
