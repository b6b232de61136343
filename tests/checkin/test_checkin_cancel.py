"""Staff cancel only today's visit, only after a confirmation, and through the coordinators' cancellation: the
bookings are cancelled and told, and the phone-only ones are on the call list."""
from __future__ import annotations

from datetime import timedelta

from busapp.core.extensions import db
from busapp.models import BookingStatus, StopStatus
from busapp.planning import changes
from tests.checkin.test_checkin_service import make_booking, today  # noqa: F401 - fixtures
from tests.checkin.test_checkin_views import HX, form


def test_cancelling_today_asks_first_then_cancels_every_booking_like_a_coordinator(client, login, today,
                                                                                  make_booking):
    stop, later, running = today
    mailed = make_booking(later, name="Erika", contact="erika@example.org")
    phoned = make_booking(running, name="Hans", contact="0451 123456")
    login("staff")
    asked = form(client, f"/staff/stops/{stop.id}/live", {"status": "cancelled", "reason": "Motorschaden"}, HX)
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and 'class="confirm-cancel"' in html and 'name="confirm" value="1"' in html
    db.session.refresh(stop)
    assert stop.status == StopStatus.PUBLISHED  # nothing happened yet
    done = form(client, f"/staff/stops/{stop.id}/live",
                {"status": "cancelled", "reason": "Motorschaden", "confirm": "1"}, HX)
    assert done.status_code == 200 and "confirm-cancel" not in done.get_data(as_text=True)
    for record in (stop, later, running, mailed, phoned):
        db.session.refresh(record)
    assert stop.status == StopStatus.CANCELLED and stop.cancel_reason == "Motorschaden"
    assert mailed.status == BookingStatus.CANCELLED and phoned.status == BookingStatus.CANCELLED
    assert later.seats_taken == 0 and running.seats_taken == 0
    assert phoned in changes.call_list(stop)
    # Once cancelled, the tablet cannot cancel again or set another status.
    again = form(client, f"/staff/stops/{stop.id}/live", {"status": "here"}, HX)
    assert again.status_code == 422


def test_staff_cannot_cancel_a_future_stop(client, login, make_stop, make_workshop, make_booking, now):
    ahead = make_stop(starts_at=now + timedelta(days=2))
    booked = make_booking(make_workshop(stop=ahead), name="Erika")
    login("staff")
    for data in ({"status": "cancelled", "reason": "Motorschaden"},
                 {"status": "cancelled", "reason": "Motorschaden", "confirm": "1"}):
        assert form(client, f"/staff/stops/{ahead.id}/live", data, HX).status_code == 422
    db.session.refresh(ahead)
    db.session.refresh(booked)
    assert ahead.status == StopStatus.PUBLISHED and booked.status == BookingStatus.CONFIRMED
