"""A coordinator cancelling a workshop while a resident books it: the booking either comes first, and is then
cancelled and told with the others, or comes after and is refused. Never a confirmed booking in a cancelled
workshop, never seats left taken, also with a tablet's seats held (run on PostgreSQL as well:
`tests/pg_run.py ... -- tests/planning/test_planning_cancel_race.py`)."""
from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import sqlalchemy as sa

from busapp.booking import service as booking_service
from busapp.checkin import service as checkin_service, tablets
from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, Device, OutgoingMail, Workshop, WorkshopStatus
from busapp.planning import changes


def test_a_booking_racing_a_cancellation_never_stays_confirmed(app, make_workshop, monkeypatch):
    workshop = make_workshop(capacity=6)
    wid, sid = workshop.id, workshop.stop_id
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_FROM="digitalbus@luebeck.example")  # queued, never sent
    outcome = {}

    def resident_books():
        with app.test_request_context():  # a request of its own, as the booking form is
            try:
                made = booking_service.create(wid, party_size=2, name="Rita", contact="rita@example.org",
                                              needs_note=None, idempotency_key=uuid.uuid4().hex, locale="de")
                outcome["booking"] = made.booking.id
            except booking_service.Refused as exc:
                outcome["refused"] = exc.reason
            finally:
                db.session.remove()

    real_impact = changes.impact_of  # where a cancellation reads the bookings, after taking the seat locks

    def impact_while_someone_books(*args, **kwargs):
        # The coordinator's dry run has been read; now a resident books. Where the workshop is locked, the
        # booking waits for the cancellation; give it a moment, then go on either way.
        result = real_impact(*args, **kwargs)
        booker = threading.Thread(target=resident_books)
        booker.start()
        booker.join(timeout=1.5)
        outcome["thread"] = booker
        return result

    monkeypatch.setattr(changes, "impact_of", impact_while_someone_books)
    changes.cancel(sid, wid, "Die Trainerin ist krank.", None)
    outcome["thread"].join(timeout=30)
    assert not outcome["thread"].is_alive()

    db.session.expire_all()
    assert db.session.get(Workshop, wid).status == WorkshopStatus.CANCELLED
    states = db.session.scalars(sa.select(Booking.status).where(Booking.workshop_id == wid)).all()
    assert BookingStatus.CONFIRMED not in states and BookingStatus.WAITING not in states
    assert db.session.get(Workshop, wid).seats_taken == 0
    if "booking" in outcome:  # it came first: it is cancelled with the others and its person is told
        assert db.session.scalar(sa.select(sa.func.count()).select_from(OutgoingMail)
                                 .where(OutgoingMail.booking_id == outcome["booking"],
                                        OutgoingMail.kind == "workshop-cancelled")) == 1
    else:
        assert outcome["refused"] == "cancelled"


def test_a_cancelled_workshop_with_a_tablets_seats_held_does_not_break_the_next_prepare(
        app, make_workshop, make_user, now):
    workshop = make_workshop(capacity=6, starts_at=now + timedelta(minutes=30), duration_minutes=60)
    wid, sid = workshop.id, workshop.stop_id
    device, _credential = checkin_service.register_device("Tür", make_user("coordinator"))
    tablets._line_up(device, workshop)
    assert tablets.hand_out_shares(workshop.starts_at)[wid] == {device.id: 2}
    changes.cancel(sid, wid, "Sturm", None)

    # The workshop is over: shares still held go back at the next prepare of any tablet.
    assert checkin_service.return_ended_shares(now + timedelta(hours=3)) == 0
    db.session.expire_all()
    assert db.session.get(Workshop, wid).seats_taken == 0
    assert db.session.get(Device, device.id).revoked_at is None
