"""A stolen tablet can do little: its credential alone downloads no door list and sends only what was signed while
someone was signed in on it; the person comes from that signature, never from the request; day data and actions
only for the stops of the day; acted_at inside that day and not in the future; downloads audited; the online
routes refuse other days' stops and workshops."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from busapp.checkin import service
from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, CheckIn, Device, utcnow
from tests.checkin.test_checkin_service import make_booking, today  # noqa: F401 - fixtures
from tests.checkin.test_checkin_views import HX, form, nonce_from, set_up_tablet, signed


def _tablet(client, login, make_user):
    """Staff sign in and set up the tablet (a coordinator approves it); returns the person, the credential header
    and the day's data."""
    staff = login("staff")
    headers = {"X-Device-Credential": set_up_tablet(client, make_user)}
    day = client.get("/staff/day.json", headers=headers)
    assert day.status_code == 200
    return staff, headers, day.json


def _checkin(workshop, booking, seq, nonce):
    return {"kind": "checkin", "workshop_id": workshop.id, "booking_id": booking.id, "sequence": seq, "nonce": nonce}


def test_the_credential_alone_downloads_nothing_and_sends_only_signed_actions(client, login, today, make_booking,
                                                                             make_user, app):
    _stop, later, _ = today
    erika, hans, aylin = (make_booking(later, name=n) for n in ("Erika", "Hans", "Aylin"))
    staff, headers, day = _tablet(client, login, make_user)
    assert day["signing"]["user_id"] == staff.id
    stolen = app.test_client()  # the tablet with nobody signed in
    refused = stolen.get("/staff/day.json", headers=headers)
    assert refused.status_code == 403 and refused.json["error"] == "signin"
    assert "Erika" not in refused.get_data(as_text=True)
    coordinator = make_user("coordinator")
    unsigned = _checkin(later, erika, 1, "unsigned-1")
    forged = dict(signed(day, _checkin(later, hans, 2, "forged-12")), booking_id=aylin.id)  # changed after signing
    good = signed(day, _checkin(later, hans, 3, "signed-12"))
    result = stolen.post("/staff/sync", json={"items": [unsigned, forged, good], "user_id": coordinator.id},
                         headers=headers).json
    by_nonce = {r["nonce"]: r for r in result["results"]}
    assert by_nonce["unsigned-1"]["outcome"] == "invalid" and by_nonce["unsigned-1"]["reason"] == "unsigned"
    assert by_nonce["forged-12"]["reason"] == "unsigned"
    assert by_nonce["signed-12"]["outcome"] == "valid"
    # The person is the one who signed, not the coordinator the body names.
    record = db.session.scalar(sa.select(CheckIn).where(CheckIn.nonce == "signed-12"))
    assert record.user_id == staff.id
    for booking, arrived in ((erika, 0), (hans, 1), (aylin, 0)):
        db.session.refresh(booking)
        assert booking.arrived == arrived
    # The day's data was downloaded once, by the signed-in person, and that is in the audit log.
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "staff-day-download")).all()
    assert [(e.user_id, e.device) for e in events] == [(staff.id, "Tablet vorne")]


def test_a_signed_in_tablet_cannot_name_another_person_in_the_body(client, login, today, make_booking, make_user):
    _stop, later, _ = today
    erika = make_booking(later, name="Erika")
    staff, headers, _day = _tablet(client, login, make_user)
    coordinator = make_user("coordinator")
    result = client.post("/staff/sync", json={"items": [dict(_checkin(later, erika, 1, "unsigned-2"),
                                                             acted_at=utcnow().isoformat())],
                                              "user_id": coordinator.id}, headers=headers).json
    assert result["results"][0]["outcome"] == "valid"
    assert db.session.scalar(sa.select(CheckIn.user_id).where(CheckIn.nonce == "unsigned-2")) == staff.id


def test_only_the_days_stops_and_times_inside_that_day(client, login, today, make_booking, make_stop, make_workshop,
                                                      now, app, make_user):
    _stop, later, _ = today
    other_stop = make_stop(starts_at=now + timedelta(days=3))
    ahead = make_workshop(stop=other_stop, capacity=8, starts_at=other_stop.starts_at + timedelta(minutes=30))
    erika, hans = make_booking(later, name="Erika"), make_booking(ahead, name="Hans")
    staff, headers, day = _tablet(client, login, make_user)
    # Another day's stop: not downloadable, not even for the signed-in person.
    assert client.get(f"/staff/day.json?stop={other_stop.id}", headers=headers).status_code == 404
    assert other_stop.id not in [s["id"] for s in day["stops"]]
    stolen = app.test_client()
    items = [
        signed(day, _checkin(ahead, hans, 1, "ahead-123")),  # a workshop three days ahead
        signed(day, {"kind": "walkin", "workshop_id": ahead.id, "sequence": 2, "nonce": "walkin-ahead",
                     "name": "Ali", "party_size": 4}),
        signed(day, _checkin(later, erika, 3, "yesterday"), acted_at=now - timedelta(days=1)),
        signed(day, _checkin(later, erika, 4, "tomorrow1"), acted_at=now + timedelta(hours=1)),
    ]
    results = stolen.post("/staff/sync", json={"items": items}, headers=headers).json["results"]
    assert [(r["nonce"], r["outcome"], r["reason"]) for r in results] == [
        ("ahead-123", "invalid", "other_day"), ("walkin-ahead", "invalid", "other_day"),
        ("yesterday", "invalid", "acted_at"), ("tomorrow1", "invalid", "acted_at")]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.walk_in.is_(True))) == 0


def test_online_check_in_walk_in_and_live_status_refuse_other_days(client, login, make_booking, make_stop,
                                                                   make_workshop, now):
    other_stop = make_stop(starts_at=now + timedelta(days=3))
    ahead = make_workshop(stop=other_stop, capacity=8, starts_at=other_stop.starts_at + timedelta(minutes=30))
    hans = make_booking(ahead, name="Hans")
    login("staff")
    html = client.get(f"/staff/workshops/{ahead.id}").get_data(as_text=True)
    tap = form(client, f"/staff/workshops/{ahead.id}/act",
               {"kind": "checkin", "booking_id": hans.id, "nonce": nonce_from(html)}, HX)
    assert tap.status_code == 422 and 'data-outcome="not_today"' in tap.get_data(as_text=True)
    walkin = form(client, f"/staff/workshops/{ahead.id}/walkin",
                  {"name": "Ali", "party_size": "4", "nonce": nonce_from(html)}, HX)
    assert walkin.status_code == 422 and "Ali" in walkin.get_data(as_text=True)
    scan = form(client, f"/staff/workshops/{ahead.id}/scan", {"code": hans.code, "nonce": nonce_from(html)}, HX)
    assert scan.status_code == 422 and 'data-outcome="not_today"' in scan.get_data(as_text=True)
    live = form(client, f"/staff/stops/{other_stop.id}/live", {"status": "cancelled", "reason": "Motorschaden"}, HX)
    assert live.status_code == 422
    db.session.refresh(hans)
    db.session.refresh(ahead)
    db.session.refresh(other_stop)
    assert hans.arrived == 0 and ahead.seats_taken == 1
    assert other_stop.live_status.value == "scheduled" and not other_stop.is_cancelled
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Device)) == 0
