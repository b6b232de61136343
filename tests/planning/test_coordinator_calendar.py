"""A coordinator's calendar: the whole tour through a secret address a calendar app subscribes to, revocable."""
from __future__ import annotations

import re
import secrets
from datetime import timedelta

import sqlalchemy as sa
from icalendar import Calendar

from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, CalendarLink, StopStatus, User
from tests.conftest import csrf_token


def _address(client) -> str:
    """Make the address on the page, as a coordinator does, and read it back from the page."""
    token = csrf_token(client, "/admin/calendar")
    assert client.post("/admin/calendar/renew", data={"csrf_token": token}).status_code == 303
    page = client.get("/admin/calendar").get_data(as_text=True)
    found = re.search(r'id="calendar-address" value="([^"]+)"', page)
    assert found, page
    assert 'href="webcal://' in page
    return "/" + found[1].split("/", 3)[3]


def test_the_feed_holds_the_whole_tour_without_personal_data(app, client, login, make_stop, make_workshop, now):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    published = make_stop(place="Haus für alle", starts_at=now + timedelta(days=2))
    draft = make_stop(place="Bücherei", starts_at=now + timedelta(days=3), status=StopStatus.DRAFT)
    cancelled = make_stop(place="Marktplatz", starts_at=now + timedelta(days=4), status=StopStatus.CANCELLED,
                          cancel_reason="Der Bus ist in der Werkstatt.")
    workshop = make_workshop(published, title="Videoanrufe", capacity=8)
    db.session.add(Booking(workshop=workshop, party_size=3, name="Emine Geheim", contact="0451 999888",
                           status=BookingStatus.CONFIRMED, code="K7MQ4P", manage_token=secrets.token_urlsafe(24),
                           idempotency_key=secrets.token_hex(16)))
    workshop.seats_taken = 3
    db.session.commit()
    path = _address(client)
    anonymous = app.test_client()
    answer = anonymous.get(path)
    assert answer.status_code == 200 and answer.mimetype == "text/calendar"
    assert "private" in answer.headers["Cache-Control"] and answer.headers["Referrer-Policy"] == "no-referrer"
    body = answer.get_data(as_text=True)
    assert "Emine" not in body and "0451" not in body and "K7MQ4P" not in body
    events = {str(e["UID"]): e for e in Calendar.from_ical(answer.data).walk("VEVENT")}
    by_stop = {int(uid.split("-")[2].split("@")[0]): e for uid, e in events.items()}
    assert str(by_stop[published.id]["STATUS"]) == "CONFIRMED"
    assert str(by_stop[draft.id]["STATUS"]) == "TENTATIVE" and str(by_stop[draft.id]["SUMMARY"]).startswith("Entwurf:")
    assert str(by_stop[cancelled.id]["STATUS"]) == "CANCELLED"
    assert "Der Bus ist in der Werkstatt." in str(by_stop[cancelled.id]["DESCRIPTION"])
    assert "Videoanrufe: 3 von 8 Plätzen gebucht" in str(by_stop[published.id]["DESCRIPTION"])
    assert str(by_stop[published.id]["URL"]).endswith(f"/admin/stops/{published.id}")
    # A calendar app polling an unchanged tour gets a 304.
    again = anonymous.get(path, headers={"If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and "private" in again.headers["Cache-Control"]
    assert db.session.scalar(sa.select(CalendarLink.last_used_at)) is not None


def test_a_new_address_ends_the_old_one_and_a_deleted_one_ends_all(app, client, login):
    login("coordinator")
    first = _address(client)
    second = _address(client)
    anonymous = app.test_client()
    assert first != second
    assert anonymous.get(first).status_code == 404
    assert anonymous.get(second).status_code == 200
    token = csrf_token(client, "/admin/calendar")
    assert client.post("/admin/calendar/revoke", data={"csrf_token": token}).status_code == 303
    assert anonymous.get(second).status_code == 404
    assert "Make my calendar address" in client.get("/admin/calendar", headers={"Accept-Language": "en"}) \
        .get_data(as_text=True)
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"calendar-link-renew", "calendar-link-revoke"} <= actions


def test_the_address_works_only_while_its_owner_is_an_active_coordinator(app, client, login):
    user = login("coordinator")
    path = _address(client)
    anonymous = app.test_client()
    row = db.session.get(User, user.id)
    row.active = False
    db.session.commit()
    assert anonymous.get(path).status_code == 404
    row.active, row.role = True, "staff"
    db.session.commit()
    assert anonymous.get(path).status_code == 404
    row.role = "coordinator"
    db.session.commit()
    assert anonymous.get(path).status_code == 200


def test_guessed_addresses_open_nothing(app):
    anonymous = app.test_client()
    for token in ("x", "a" * 43, "../../etc/passwd", "%00" * 30):
        assert anonymous.get(f"/plan/{token}.ics").status_code == 404


def test_the_feed_speaks_the_language_the_address_was_made_in(app, client, login, make_stop, now):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    make_stop(place="Bücherei", starts_at=now + timedelta(days=3), status=StopStatus.DRAFT)
    path = _address(client)
    body = app.test_client().get(path, headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "SUMMARY:Draft: Bücherei" in body and "Entwurf" not in body


def test_staff_have_no_calendar_address(client, login):
    login("staff")
    assert client.get("/admin/calendar").status_code == 403
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CalendarLink)) == 0
