"""One client behind one address cannot guess, book or answer without end by changing its cookie, and numbers too
large for the database are refused with a 400, not a 500."""
from __future__ import annotations

import re
import secrets

import pytest

from busapp.core import config
from busapp.checkin import service as checkin_service
from busapp.core.extensions import db
from tests.conftest import csrf_token


@pytest.fixture(autouse=True)
def steady_windows(monkeypatch):
    """The limits count in fixed windows: keep the clock at the start of one, so no test straddles two."""
    import time as real_time

    from busapp.core import ratelimit

    start = int(real_time.time()) // 86400 * 86400 + 60
    monkeypatch.setattr(ratelimit.time, "time", lambda: start + (real_time.monotonic() % 1))


def fresh_device(app):
    """A new browser: its own session and a new device cookie, from the same address as every other."""
    client = app.test_client()
    client.set_cookie("fbdev", secrets.token_urlsafe(24))
    return client


# --- find my booking -------------------------------------------------------------------------------------------

def test_find_has_an_address_ceiling_that_new_cookies_do_not_escape(app):
    statuses = []
    for _ in range(40):
        client = fresh_device(app)
        token = csrf_token(client, "/find")
        statuses.append(client.post("/find", data={"csrf_token": token, "code": "KXXXXXX", "name": "Erika"},
                                    headers={"Accept-Language": "de"}).status_code)
    assert 429 in statuses, statuses
    allowed = int(app.config["RATELIMIT_FIND_ADDRESS"].split("/")[0])
    assert statuses[:allowed] == [404] * allowed and set(statuses[allowed:]) == {429}, statuses
    # Another address is counted on its own.
    other = fresh_device(app)
    token = csrf_token(other, "/find")
    assert other.post("/find", data={"csrf_token": token, "code": "KXXXXXX", "name": "Erika"},
                      environ_base={"REMOTE_ADDR": "192.0.2.77"}).status_code == 404


def test_every_limit_per_device_has_an_address_ceiling():
    per_device = [k for k in config.RATE_LIMIT_KEYS
                  if k in ("RATELIMIT_BOOKING", "RATELIMIT_FEEDBACK", "RATELIMIT_FIND")]
    for key in per_device:
        assert key + "_ADDRESS" in config.RATE_LIMIT_KEYS, key


# --- /staff/sync with numbers beyond 64 bits ------------------------------------------------------------------

@pytest.fixture
def tablet(app, client, login, make_user):
    login("staff")
    token = csrf_token(client, "/staff/tablet")
    html = client.post("/staff/tablet", data={"csrf_token": token, "name": "Tablet"}).get_data(as_text=True)
    credential = re.search(r'data-credential="([^"]+)"', html).group(1)
    checkin_service.approve_device(checkin_service.waiting_device(credential), make_user("coordinator"))
    return app.test_client(), {"X-Device-Credential": credential}


@pytest.mark.parametrize("body", [
    {"items": [], "user_id": 2**64},
    {"items": [], "user_id": -(2**70)},
    {"items": [], "give_up": [2**64], "sequence": 0},
    {"items": [], "give_up": [1, 10**30], "sequence": 0},
])
def test_sync_refuses_numbers_the_database_cannot_hold(tablet, body):
    client, headers = tablet
    response = client.post("/staff/sync", json=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid" and response.json["message"]


def test_sync_with_huge_numbers_in_items_answers_each_as_invalid(tablet):
    client, headers = tablet
    items = [{"kind": "checkin", "workshop_id": 2**64, "booking_id": 2**65, "sequence": 2**66, "nonce": "abcdefgh1234"}]
    response = client.post("/staff/sync", json={"items": items, "sequence": 2**64}, headers=headers)
    assert response.status_code == 200 and response.json["results"][0]["outcome"] == "invalid"
    db.session.rollback()


# --- seats per address -----------------------------------------------------------------------------------------

def session_at(app, address: str = "198.51.100.7"):
    """A fresh browser session (no cookies) from this address."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def book_from(client, workshop_id: int, party_size: int = 1, **headers):
    from tests.booking.test_booking import form_tokens

    data = form_tokens(client, workshop_id, headers)
    data.update({"name": "Anna", "party_size": str(party_size), "consent": "y"})
    return client.post(f"/workshops/{workshop_id}/book", data=data, headers=headers)


def seats_from(origin_count: bool = False) -> dict[int, int]:
    """Seats held (seated or waiting) per workshop."""
    from busapp.models import Booking, BookingStatus
    import sqlalchemy as sa

    db.session.expire_all()
    rows = db.session.execute(sa.select(Booking.workshop_id, sa.func.sum(Booking.party_size))
                              .where(Booking.status != BookingStatus.CANCELLED).group_by(Booking.workshop_id))
    return {w: int(n) for w, n in rows}


def test_forty_sessions_behind_one_address_cannot_book_out_the_tour(app, make_stop, make_workshop):
    stop = make_stop()
    workshops = [make_workshop(stop=stop, capacity=40, parallel=True) for _ in range(4)]
    statuses = []
    for n in range(40):
        response = book_from(session_at(app), workshops[n % 4].id, party_size=4, **{"Accept-Language": "de"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            html = response.get_data(as_text=True)
            assert "Internetverbindung" in html and 'value="Anna"' in html and response.headers["Retry-After"]
    held = seats_from()
    allowed = int(app.config["RATELIMIT_SEATS_ADDRESS"].split("/")[0])
    assert sum(held.values()) <= allowed, (held, statuses)
    assert statuses.count(303) == allowed // 4 and set(statuses) == {303, 429}, statuses
    # Someone elsewhere still gets a seat.
    assert book_from(session_at(app, "203.0.113.9"), workshops[0].id, party_size=4).status_code == 303


def test_one_address_holds_at_most_its_share_of_a_workshop(app, make_workshop):
    workshop = make_workshop(capacity=12)  # share: 50 % = 6 seats
    statuses = [book_from(session_at(app), workshop.id, party_size=2).status_code for _ in range(6)]
    assert statuses == [303, 303, 303, 409, 409, 409], statuses
    refused = book_from(session_at(app), workshop.id, party_size=1, **{"Accept-Language": "de"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 409 and "höchstens 6 Plätze" in html and 'value="Anna"' in html
    assert seats_from() == {workshop.id: 6}
    # The outbox gets the same answer as JSON.
    client = session_at(app)
    from tests.booking.test_booking import form_tokens
    data = {**form_tokens(client, workshop.id), "name": "Anna", "party_size": "1", "consent": "y"}
    answer = client.post(f"/workshops/{workshop.id}/book", data=data, headers={"Accept": "application/json"})
    assert answer.status_code == 409 and answer.json["state"] == "refused" and "6" in answer.json["message"]


def test_a_household_books_a_full_party_in_several_workshops(app, make_stop, make_workshop):
    stop = make_stop()
    small = [make_workshop(stop=stop, capacity=6, parallel=True) for _ in range(5)]
    client = session_at(app)
    assert [book_from(client, w.id, party_size=4).status_code for w in small] == [303] * 5


def test_ipv6_clients_count_per_64(app, make_workshop):
    workshop = make_workshop(capacity=8)
    assert book_from(session_at(app, "2001:db8:1:2::1"), workshop.id, party_size=4).status_code == 303
    assert book_from(session_at(app, "2001:db8:1:2::abcd"), workshop.id, party_size=1).status_code == 409
    assert book_from(session_at(app, "2001:db8:1:3::1"), workshop.id, party_size=1).status_code == 303


def test_the_bus_network_books_a_whole_class(app, make_workshop):
    from busapp.core.ratelimit import parse_networks

    app.config["TRUSTED_NETWORKS"] = parse_networks("10.8.0.0/24")
    workshop = make_workshop(capacity=40)
    statuses = [book_from(session_at(app, "10.8.0.1"), workshop.id, party_size=2).status_code for _ in range(20)]
    assert statuses == [303] * 20 and seats_from() == {workshop.id: 40}


def test_coordinators_see_a_burst_and_cancel_it_in_one_go(app, make_stop, make_workshop, make_user):
    from busapp.models import AuditEvent, Booking, BookingStatus
    import sqlalchemy as sa
    from tests.conftest import PASSWORD

    stop = make_stop()
    workshops = [make_workshop(stop=stop, capacity=20, parallel=True) for _ in range(3)]
    for n in range(6):
        assert book_from(session_at(app), workshops[n % 3].id, party_size=2).status_code == 303
    # A household elsewhere books twice: no burst.
    for w in workshops[:2]:
        assert book_from(session_at(app, "203.0.113.5"), w.id).status_code == 303
    coordinator = make_user("coordinator")
    client = app.test_client()
    token = csrf_token(client, "/signin")
    client.post("/signin", data={"email": coordinator.email, "password": PASSWORD, "csrf_token": token})
    page = client.get("/admin/bursts", headers={"Accept-Language": "de"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert html.count('name="booking"') == 6 and "12" in html
    ids = re.findall(r'name="booking" value="(\d+)"', html)
    token = csrf_token(client, "/admin/bursts")
    done = client.post("/admin/bursts/cancel", data={"csrf_token": token, "booking": ids[:5]})
    assert done.status_code == 303
    db.session.expire_all()
    states = dict(db.session.execute(sa.select(Booking.id, Booking.status)).all())
    assert sum(1 for s in states.values() if s == BookingStatus.CANCELLED) == 5
    # The seats went back: only the one left standing (2) and the household's (2) are taken.
    assert sum(db.session.get(type(w), w.id).seats_taken for w in workshops) == 4
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "bookings-cancel-burst")) is not None
    # Below the burst size now: the page lists nothing to cancel.
    assert 'name="booking"' not in client.get("/admin/bursts").get_data(as_text=True)
    # A staff member may not see or cancel.
    staff = make_user("staff")
    other = app.test_client()
    token = csrf_token(other, "/signin")
    other.post("/signin", data={"email": staff.email, "password": PASSWORD, "csrf_token": token})
    assert other.get("/admin/bursts").status_code == 403


def test_a_refused_booking_does_not_use_up_the_hours_seats(app, make_stop, make_workshop):
    app.config["RATELIMIT_SEATS_ADDRESS"] = "8/3600"
    stop = make_stop()
    first, second = (make_workshop(stop=stop, capacity=12, parallel=True) for _ in range(2))
    statuses = [book_from(session_at(app), first.id, party_size=2).status_code for _ in range(6)]
    assert statuses == [303, 303, 303, 409, 409, 409], statuses
    # 6 seats booked; the three refused parties' 6 seats were given back to the count.
    assert book_from(session_at(app), second.id, party_size=2).status_code == 303
    assert book_from(session_at(app), second.id, party_size=1).status_code == 429
