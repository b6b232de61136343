"""Check-in rules (busapp/checkin/service.py): what each code means at the door, check-in exactly once, walk-ins
within capacity (also at once), release at start, tablets and the merge of offline queues."""
from __future__ import annotations

import re
import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from busapp.core import tickets
from busapp.booking.service import new_code
from busapp.checkin import places, service
from busapp.checkin.service import Action
from busapp.core.extensions import db
from busapp.domain import town
from busapp.models import AuditEvent, Booking, BookingStatus, CheckIn, User, Workshop, utcnow
from busapp.schedule.service import LiveStatusRefused, set_live_status


@pytest.fixture
def make_booking(app):
    def make(workshop: Workshop, party_size: int = 1, status: BookingStatus = BookingStatus.CONFIRMED,
             name: str = "Erika Muster", **kw) -> Booking:
        if status == BookingStatus.CONFIRMED:
            workshop.seats_taken += party_size
        booking = Booking(workshop_id=workshop.id, party_size=party_size, name=name, status=status,
                          code=kw.pop("code", new_code()), manage_token=secrets.token_urlsafe(24),
                          idempotency_key=secrets.token_hex(16), **kw)
        db.session.add(booking)
        db.session.commit()
        return booking

    return make


@pytest.fixture
def today(make_stop, make_workshop, now):
    """A stop going on now with two workshops: one starting in an hour (sooner late in the evening, so that it starts
    today in the town, like the day's pages expect), one that started ten minutes ago."""
    stop = make_stop(starts_at=now - timedelta(minutes=30), hours=4)
    tomorrow = town.midnight(town.day_of(now) + timedelta(days=1))
    soon = min(timedelta(hours=1), (tomorrow - now) / 2)
    later = make_workshop(stop=stop, capacity=4, starts_at=now + soon, title="Später")
    running = make_workshop(stop=stop, capacity=4, starts_at=now - timedelta(minutes=10), title="Jetzt")
    return stop, later, running


def nonce() -> str:
    return secrets.token_urlsafe(12)


# --- what a code means ---------------------------------------------------------------------------------------------

def test_valid_ticket_then_the_same_again(today, make_booking, make_user):
    _stop, workshop, _ = today
    booking = make_booking(workshop, party_size=2, needs_note="Rollstuhl")
    assert service.decide(tickets.sign(booking), workshop).outcome == service.VALID
    assert service.decide(booking.code.lower(), workshop).outcome == service.VALID  # typed by hand
    staff = make_user()
    done = service.perform(Action("checkin", workshop.id, nonce(), booking_id=booking.id), user=staff)
    assert done.outcome == service.VALID and done.booking.arrived == 2
    again = service.decide(tickets.sign(booking), workshop)
    assert again.outcome == service.AGAIN
    assert again.booking.checked_in_by == staff and again.booking.checked_in_at is not None


def test_ticket_of_another_workshop_or_stop(today, make_booking, make_workshop, make_stop, now):
    stop, workshop, running = today
    here = make_booking(running)
    assert service.decide(tickets.sign(here), workshop).outcome == service.OTHER_WORKSHOP
    elsewhere = make_workshop(stop=make_stop(place="Bücherei"))
    assert service.decide(tickets.sign(make_booking(elsewhere)), workshop).outcome == service.OTHER_STOP
    yesterday = make_workshop(stop=make_stop(starts_at=now - timedelta(days=1)))
    assert service.decide(tickets.sign(make_booking(yesterday)), workshop).outcome == service.OTHER_STOP


def test_cancelled_and_waiting(today, make_booking):
    _stop, workshop, _ = today
    assert service.decide(tickets.sign(make_booking(workshop, status=BookingStatus.CANCELLED)),
                          workshop).outcome == service.CANCELLED
    waiting = make_booking(workshop, status=BookingStatus.WAITING)
    assert service.decide(tickets.sign(waiting), workshop).outcome == service.WAITING
    result = service.perform(Action("checkin", workshop.id, nonce(), booking_id=waiting.id))
    assert result.outcome == service.WAITING and waiting.arrived == 0


@pytest.mark.parametrize("text", ["", "hello", "DB2.GARBLED", "ZZZZZZ", "x" * 5000, "DB1.K7MQ4P.1.1.\x00"])
def test_unknown_or_garbled(today, text):
    _stop, workshop, _ = today
    assert service.decide(text, workshop).outcome in (service.UNKNOWN, service.FORGED)


def test_unknown_code_is_unknown_and_garbled_token_is_forged(today):
    _stop, workshop, _ = today
    assert service.decide("ZZZZZZ", workshop).outcome == service.UNKNOWN
    assert service.decide("DB2.GARBLED", workshop).outcome == service.FORGED


def test_forged_tickets(today, make_booking):
    _stop, workshop, _ = today
    booking = make_booking(workshop)
    other = Ed25519PrivateKey.generate()
    forged = tickets.sign_values(booking.code, workshop.id, booking.party_size, key=other)
    assert service.decide(forged, workshop).outcome == service.FORGED
    bigger = tickets.sign(booking).replace(f".{workshop.id}.1.", f".{workshop.id}.4.")
    assert service.decide(bigger, workshop).outcome == service.FORGED


def test_old_hmac_ticket_valid_until_its_workshop_has_passed(today, make_booking, make_workshop, make_stop, now):
    _stop, workshop, _ = today
    booking = make_booking(workshop)
    old = tickets.legacy_token(booking.code, workshop.id, 1)
    assert service.decide(old, workshop).outcome == service.VALID
    past = make_workshop(stop=make_stop(starts_at=now - timedelta(days=1)))
    past_booking = make_booking(past)
    decision = service.decide(tickets.legacy_token(past_booking.code, past.id, 1), workshop)
    assert decision.outcome == service.FORGED and decision.detail == {"legacy": True}
    # ...while a new ticket for the same past workshop says where and when it was.
    assert service.decide(tickets.sign(past_booking), workshop).outcome == service.OTHER_STOP


# --- check-in, count, undo, exactly once ---------------------------------------------------------------------------

def test_partial_arrival_change_and_undo_are_audited(today, make_booking, make_user):
    _stop, workshop, _ = today
    staff = make_user()
    booking = make_booking(workshop, party_size=3)
    assert service.perform(Action("checkin", workshop.id, nonce(), booking_id=booking.id, people=2),
                           user=staff).booking.arrived == 2
    assert service.perform(Action("count", workshop.id, nonce(), booking_id=booking.id, people=3),
                           user=staff).booking.arrived == 3
    assert service.perform(Action("count", workshop.id, nonce(), booking_id=booking.id, people=4),
                           user=staff).outcome == service.INVALID
    undone = service.perform(Action("undo", workshop.id, nonce(), booking_id=booking.id), user=staff)
    assert undone.booking.arrived == 0 and undone.booking.checked_in_at is None
    actions = db.session.scalars(sa.select(AuditEvent.action).where(AuditEvent.user_id == staff.id)).all()
    assert actions.count("checkin-checkin") == 1 and actions.count("checkin-count") == 2
    assert "checkin-undo" in actions


def test_same_nonce_twice_changes_nothing(today, make_booking):
    _stop, workshop, _ = today
    booking = make_booking(workshop)
    key = nonce()
    first = service.perform(Action("checkin", workshop.id, key, booking_id=booking.id))
    second = service.perform(Action("checkin", workshop.id, key, booking_id=booking.id))
    assert first.outcome == second.outcome == service.VALID and second.replay
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 1


def test_booking_of_another_workshop_cannot_be_checked_in_by_id(today, make_booking):
    _stop, workshop, running = today
    booking = make_booking(running)
    assert service.perform(Action("checkin", workshop.id, nonce(), booking_id=booking.id)).outcome == service.UNKNOWN
    assert booking.arrived == 0


# --- walk-ins and release ------------------------------------------------------------------------------------------

def test_walk_ins_fill_free_seats_and_no_more(today, make_user):
    _stop, _, running = today  # started: residents can no longer book, staff can still seat people
    staff = make_user()
    assert service.perform(Action("walkin", running.id, nonce(), name="Ali", party_size=3), user=staff).ok
    full = service.perform(Action("walkin", running.id, nonce(), name="Bea", party_size=2), user=staff)
    assert full.outcome == service.FULL
    assert service.perform(Action("walkin", running.id, nonce(), name="Cem", party_size=1), user=staff).ok
    db.session.refresh(running)
    assert running.seats_taken == running.capacity == 4
    walkins = db.session.scalars(sa.select(Booking).where(Booking.walk_in.is_(True))).all()
    assert sorted(b.name for b in walkins) == ["Ali", "Cem"] and all(b.arrived == b.party_size for b in walkins)


def test_walk_in_needs_a_name(today):
    _stop, _, running = today
    assert service.perform(Action("walkin", running.id, nonce(), name="  ", party_size=1)).outcome == service.INVALID


def test_walk_ins_at_once_never_exceed_capacity(app, today):
    _stop, _, running = today
    workshop_id = running.id
    barrier = threading.Barrier(12)

    def job(i):
        with app.app_context():
            barrier.wait(timeout=60)
            try:
                return service.perform(Action("walkin", workshop_id, nonce(), name=f"P{i}", party_size=1)).outcome
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=12) as pool:
        outcomes = list(pool.map(job, range(12), timeout=120))
    assert outcomes.count(service.VALID) == 4 and outcomes.count(service.FULL) == 8
    db.session.expire_all()
    assert db.session.get(Workshop, workshop_id).seats_taken == 4
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(
        Booking.workshop_id == workshop_id, Booking.status == BookingStatus.CONFIRMED)) == 4


def test_release_at_start_frees_seats_of_no_shows(today, make_booking, make_user, now):
    _stop, later, running = today
    staff = make_user()
    with pytest.raises(service.Refused):
        service.release(later, user=staff)
    came = make_booking(running, party_size=2)
    absent = make_booking(running, party_size=2)
    waiting = make_booking(running, party_size=2, status=BookingStatus.WAITING)
    service.perform(Action("checkin", running.id, nonce(), booking_id=came.id), user=staff)
    assert service.release(running, user=staff) == 2
    db.session.refresh(absent)
    assert absent.status == BookingStatus.CANCELLED
    seated = service.perform(Action("seat", running.id, nonce(), booking_id=waiting.id), user=staff)
    assert seated.outcome == service.VALID and seated.booking.status == BookingStatus.CONFIRMED
    db.session.refresh(running)
    assert running.seats_taken == 4
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "checkin-release"))
    assert event.user_id == staff.id and event.detail["seats"] == 2


# --- tablets and the offline queue ---------------------------------------------------------------------------------

def item(kind, workshop, seq, booking=None, **kw):
    data = {"kind": kind, "workshop_id": workshop.id, "sequence": seq, "nonce": kw.pop("nonce", nonce()),
            "acted_at": utcnow().isoformat()}
    if booking is not None:
        data["booking_id"] = booking.id
    data.update(kw)
    return data


def test_a_tablet_works_once_approved_and_no_longer_once_revoked(app, make_user):
    coordinator = make_user("coordinator")
    device, credential = service.register_device("Tablet vorne", make_user())
    # Asked for by staff, it waits: its credential opens nothing, and the service gives it nothing.
    assert device.is_waiting and service.device_for(credential) is None
    assert service.waiting_device(credential) == device
    with pytest.raises(service.Refused):
        service.prepare(device, None)
    with pytest.raises(service.Refused):
        service.sync(device, [])
    service.approve_device(device, coordinator)
    assert service.device_for(credential) == device and service.waiting_device(credential) is None
    assert service.device_for("not-the-credential") is None
    service.revoke_device(device, coordinator)
    assert service.device_for(credential) is None and service.waiting_device(credential) is None


def test_two_offline_tablets_check_in_the_same_ticket_stored_once_with_conflict(today, make_booking, make_user):
    _stop, workshop, _ = today
    booking = make_booking(workshop, party_size=2)
    a, _ = service.register_device("A", make_user("coordinator"))
    b, _ = service.register_device("B", make_user("coordinator"))
    first = sync(a, [item("checkin", workshop, 1, booking)])
    second = sync(b, [item("checkin", workshop, 1, booking)])
    assert first["results"][0]["outcome"] == service.VALID and not first["results"][0]["conflict"]
    assert second["results"][0]["outcome"] == service.AGAIN and second["results"][0]["conflict"]
    db.session.refresh(booking)
    assert booking.arrived == 2 and booking.checked_in_device == "A"
    assert service.counts([workshop])[workshop.id].checked_in == 2
    assert [c.device.name for c in service.conflicts(workshop.stop)] == ["B"]


def test_queue_replayed_twice_and_sequence_gaps(today, make_booking, make_user):
    _stop, workshop, _ = today
    bookings = [make_booking(workshop) for _ in range(3)]
    device, _ = service.register_device("A", make_user("coordinator"))
    queue = [item("checkin", workshop, seq, b) for seq, b in zip((1, 2, 4), bookings)]
    first = sync(device, queue)
    assert [r["outcome"] for r in first["results"]] == [service.VALID] * 3
    assert first["gaps"] == [3] and first["last_sequence"] == 4
    again = sync(device, list(reversed(queue)))
    assert all(r["replay"] and r["outcome"] == service.VALID for r in again["results"])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn)) == 3
    # A different action reusing a sequence number is refused, not stored.
    reused = sync(device, [item("undo", workshop, 2, bookings[1])])
    assert reused["results"][0]["outcome"] == service.INVALID
    db.session.refresh(bookings[1])
    assert bookings[1].arrived == 1


@pytest.mark.parametrize("bad", [None, 1, "x", {}, {"kind": "checkin"}, {"kind": "drop", "workshop_id": 1},
                                 {"kind": "checkin", "workshop_id": 1, "sequence": 1, "nonce": "short"},
                                 {"kind": "checkin", "workshop_id": "1", "sequence": 1, "nonce": "n" * 20},
                                 {"kind": "walkin", "workshop_id": 1, "sequence": 1, "nonce": "n" * 20,
                                  "party_size": 9}])
def test_malformed_queue_items_are_answered_invalid(app, make_user, bad):
    device, _ = service.register_device("A", make_user("coordinator"))
    result = sync(device, [bad])
    assert result["results"][0]["outcome"] == service.INVALID


def test_day_data_expires_at_midnight_and_has_public_keys_only(today, make_user, app):
    stop, _, _ = today
    device, _ = service.register_device("A", make_user("coordinator"))
    day = service.prepare(device, stop)
    assert day["keys"] == tickets.public_keys_for_devices()
    assert app.config["TICKET_SIGNING_KEY"] not in str(day)
    assert day["expires_at"].endswith(("+00:00",))


# --- live status ---------------------------------------------------------------------------------------------------

def test_live_status_rules(today, make_user, make_stop):
    stop, _, _ = today
    staff = make_user()
    set_live_status(stop, "late", minutes_late=15, reason="Stau", user=staff, device="A")
    assert stop.live_status.value == "late" and stop.live_minutes_late == 15 and stop.live_note == "Stau"
    with pytest.raises(LiveStatusRefused):
        set_live_status(stop, "late", minutes_late=0, user=staff)
    with pytest.raises(LiveStatusRefused):
        set_live_status(stop, "cancelled", reason="  ", user=staff)
    with pytest.raises(LiveStatusRefused):
        set_live_status(stop, "teleported", user=staff)
    sequence = stop.sequence
    set_live_status(stop, "cancelled", reason="Motorschaden", user=staff)
    assert stop.status.value == "cancelled" and stop.cancel_reason == "Motorschaden" and stop.sequence == sequence + 1
    with pytest.raises(LiveStatusRefused):
        set_live_status(stop, "here", user=staff)
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "stop-live-status")).all()
    assert len(events) == 2 and events[0].device == "A" and events[0].detail["after"]["minutes_late"] == 15


def sync(device, items, **kw):
    """The tablet's sync with the person who registered it signed in (queued actions name nobody themselves)."""
    return service.sync(device, items, user=db.session.get(User, device.created_by_id), **kw)


def test_a_conflict_stays_on_the_day_list_and_the_door_list_until_seen(client, login, today, make_booking,
                                                                       make_user, make_stop, make_workshop, now):
    from tests.checkin.test_checkin_views import form

    _stop, workshop, _ = today
    # Another stop of the same day: its conflicts are on today's page too.
    berlin_day_start = places._day_bounds(service.local_day(now))[0]
    other = make_workshop(stop=make_stop(starts_at=berlin_day_start + timedelta(minutes=1), hours=0.5, place="Schule"),
                          title="Am Morgen")
    booking = make_booking(workshop, name="Erika")
    early = make_booking(other, name="Otto")
    a, _ = service.register_device("A", make_user("coordinator"))
    b, _ = service.register_device("B", make_user("coordinator"))
    for device in (a, b):
        sync(device, [item("checkin", workshop, 1, booking), item("checkin", other, 2, early)])
    login("staff")
    day_page = client.get("/staff/").get_data(as_text=True)
    assert "Erika" in day_page and "Otto" in day_page and "Am Morgen" in day_page
    door = client.get(f"/staff/workshops/{workshop.id}").get_data(as_text=True)
    assert door.count("data-conflict") == 1
    block = door[door.index("data-conflict"):door.index("</form>", door.index("data-conflict"))]
    assert re.search(r"[„“]A[“”].*[„“]B[“”]", block, re.S), block
    record = service.conflicts(workshop=workshop)[0]
    done = form(client, f"/staff/conflicts/{record.id}/seen", {"back": "door"})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/staff/workshops/{workshop.id}")
    assert "data-conflict" not in client.get(f"/staff/workshops/{workshop.id}").get_data(as_text=True)
    day_page = client.get("/staff/").get_data(as_text=True)
    assert "Otto" in day_page and "Erika" not in day_page
