"""The call list at 1280 x 800 with the keyboard: a tick is saved as it is made, the keyboard stays on it, the
status line says what was saved, and the tick is still there after a reload (and for another coordinator)."""
from __future__ import annotations

import secrets

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, User, Workshop, WorkshopStatus, utcnow
from busapp.planning import changes
from tests.e2e.helpers import axe_violations, describe, focused, sign_in_as_coordinator

pytestmark = pytest.mark.browser


@pytest.fixture
def cancelled_stop(live_app) -> tuple[int, int]:
    """A coming stop cancelled after Emine booked with a phone number: (stop id, booking id)."""
    with live_app.app_context():
        workshop = db.session.scalars(sa.select(Workshop).where(Workshop.status == WorkshopStatus.PUBLISHED,
                                                                Workshop.starts_at > utcnow())
                                      .order_by(Workshop.starts_at)).first()
        booking = Booking(workshop=workshop, party_size=1, name="Emine", contact="0451 123456",
                          status=BookingStatus.CONFIRMED, code=secrets.token_hex(3).upper(),
                          manage_token=secrets.token_urlsafe(24), idempotency_key=secrets.token_hex(16),
                          confirmed_at=utcnow())
        db.session.add(booking)
        db.session.commit()
        stop_id, booking_id = workshop.stop_id, booking.id
        coordinator = db.session.scalar(sa.select(User).where(User.role == "coordinator"))
        changes.cancel(stop_id, None, "Der Bus ist in der Werkstatt.", coordinator)
    return stop_id, booking_id


def test_ticks_are_saved_as_they_are_made(office, browser, live_server, cancelled_stop):
    stop_id, booking_id = cancelled_stop
    page = office
    sign_in_as_coordinator(page)
    page.goto(f"/admin/stops/{stop_id}/calls")
    called = page.locator(f"#called-{booking_id}")
    called.focus()
    page.keyboard.press("Space")
    expect(page.locator("#calls-status")).to_contain_text("Gespeichert: Emine angerufen")
    expect(called).to_be_checked()
    assert focused(page)["id"] == f"called-{booking_id}"  # the row was swapped, the keyboard stayed
    page.keyboard.press("Tab")
    assert focused(page)["id"] == f"reached-{booking_id}"
    page.keyboard.press("Space")
    expect(page.locator("#calls-status")).to_contain_text("Gespeichert: Emine erreicht")
    version, violations = axe_violations(page)
    assert not violations, describe(f"call list (axe {version})", page.url, violations)

    other = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url, locale="de-DE")
    try:
        second = other.new_page()
        sign_in_as_coordinator(second)
        second.goto(f"/admin/stops/{stop_id}/calls")
        expect(second.locator(f"#called-{booking_id}")).to_be_checked()
        expect(second.locator(f"#reached-{booking_id}")).to_be_checked()
    finally:
        other.close()
