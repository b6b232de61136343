"""Seat shares for offline walk-ins (the rule at the top of busapp/checkin/service.py): a tablet preparing the day is
put in line and holds no seat while residents can book; when booking closes the tablets in line get shares from the
seats still free, one seat each in turn; an offline walk-in beyond the share is decided at sync (the share, a free
seat, else the waiting list); shares are given up by a tablet online after the start once all it did is stored,
returned at the workshop's end and at sign-out; an offline walk-in never overbooks, also with two tablets at once.

The workshop is tomorrow at 14:00 (so residents can still book it now) and every call says what time it is there.
Booking closes at the start (BOOKING_CLOSES_MINUTES = 0) unless a test says otherwise."""
from __future__ import annotations

import secrets
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.booking import service as booking_service
from busapp.checkin import service
from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, Device, SeatShare, Stop, User, Workshop

BERLIN = ZoneInfo("Europe/Berlin")


def at(day, hour: int, minute: int = 0) -> datetime:
    """A local time on `day`, as UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=BERLIN).astimezone(timezone.utc)


@pytest.fixture
def tomorrow(make_stop, make_workshop, now):
    """A stop tomorrow 10:00-16:00 with a workshop at 14:00 (six seats, one hour), and the times that matter."""
    day = (now.astimezone(BERLIN) + timedelta(days=1)).date()
    stop = make_stop(starts_at=at(day, 10), hours=6)
    workshop = make_workshop(stop=stop, capacity=6, starts_at=at(day, 14), title="Nachmittag")
    return SimpleNamespace(day=day, stop=stop, workshop=workshop, evening_before=at(day - timedelta(days=1), 20),
                           morning=at(day, 8), started=at(day, 14, 10), over=at(day, 15, 30))


def nonce() -> str:
    return secrets.token_urlsafe(12)


def walkin(workshop, seq: int, when: datetime, name: str = "Ali", party_size: int = 1) -> dict:
    return {"kind": "walkin", "workshop_id": workshop.id, "sequence": seq, "nonce": nonce(),
            "acted_at": when.isoformat(), "name": name, "party_size": party_size}


def book(workshop, party_size: int = 1) -> Booking:
    """A resident's booking through the booking service (confirmed when seats are free, else waiting)."""
    return booking_service.create(workshop.id, party_size=party_size, name="Resi", contact=None, needs_note=None,
                                  idempotency_key=secrets.token_hex(16), locale="de").booking


def share_of(day: dict, workshop) -> int:
    return {w["id"]: w["share"] for w in day["workshops"]}[workshop.id]


def taken(workshop_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Workshop, workshop_id).seats_taken


def assert_seats_add_up(workshop_id: int) -> None:
    """seats_taken is exactly the confirmed parties plus the seats shares still hold, within the capacity."""
    db.session.expire_all()
    workshop = db.session.get(Workshop, workshop_id)
    confirmed = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(Booking.party_size), 0)).where(
        Booking.workshop_id == workshop_id, Booking.status == BookingStatus.CONFIRMED))
    held = db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(SeatShare.seats - SeatShare.used), 0)).where(
        SeatShare.workshop_id == workshop_id))
    assert workshop.seats_taken == confirmed + held
    assert 0 <= workshop.seats_taken <= workshop.capacity


@pytest.fixture
def tablets(make_user):
    def make(*names):
        # Set up by a coordinator, so approved at once (the pairing rule).
        return [service.register_device(name, make_user("coordinator"))[0] for name in names]

    return make


# --- in line while residents can book ----------------------------------------------------------------------------

def test_four_tablets_prepared_in_the_morning_hold_no_seat_and_residents_book_every_seat(app, tomorrow, tablets,
                                                                                          make_workshop):
    app.config["TABLETS_PER_BUS"] = 4
    w = tomorrow.workshop
    started = make_workshop(stop=tomorrow.stop, capacity=6, starts_at=at(tomorrow.day, 10, 30), title="Läuft")
    devices = tablets("A", "B", "C", "D")
    # The evening before, the stop is not today: its data would be gone at midnight, so no tablet is in line.
    assert share_of(service.prepare(devices[0], tomorrow.stop, now=tomorrow.evening_before), w) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SeatShare)) == 0
    for device in devices:
        day = service.prepare(device, tomorrow.stop, now=tomorrow.morning)
        entry = {x["id"]: x for x in day["workshops"]}[w.id]
        assert entry["share"] == 0 and entry["share_taken"] is False
        assert entry["share_from"] == w.starts_at.isoformat()  # booking closes at the start
    # Each is in line for the workshop of the afternoon; preparing again changes nothing.
    service.prepare(devices[0], tomorrow.stop, now=at(tomorrow.day, 9))
    lines = db.session.execute(sa.select(SeatShare.seats, SeatShare.taken_at).where(SeatShare.workshop_id == w.id))
    assert lines.all() == [(0, None)] * 4 and taken(w.id) == 0
    # Residents book all six seats: none of them is put on the waiting list for the tablets' sake.
    assert [book(w).status for _ in range(6)] == [BookingStatus.CONFIRMED] * 6
    assert taken(started.id) == 0
    assert_seats_add_up(w.id)


# --- taken when booking closes ----------------------------------------------------------------------------------------

def test_when_booking_closes_the_tablets_in_line_share_the_seats_still_free_one_each_in_turn(app, tomorrow, tablets):
    app.config["BOOKING_CLOSES_MINUTES"] = 60
    w = tomorrow.workshop
    for _ in range(3):
        book(w)  # 3 of 6 booked
    a, b, c = tablets("A", "B", "C")
    for device in (a, b, c):
        service.prepare(device, tomorrow.stop, now=tomorrow.morning)
    assert taken(w.id) == 3
    # 12:59: booking is still open, nothing is held.
    assert sync(a, [], now=at(tomorrow.day, 12, 59))["shares"] == {}
    assert taken(w.id) == 3
    # 13:05, booking closed at 13:00: tablet A is online; every tablet in line gets its share at once.
    assert sync(a, [], now=at(tomorrow.day, 13, 5))["shares"] == {w.id: 1}
    assert [service.shares_left(d) for d in (a, b, c)] == [{w.id: 1}] * 3
    assert taken(w.id) == 6
    assert_seats_add_up(w.id)
    # Taken once: nothing more at the next contact, and preparing again says the share is taken.
    sync(b, [], now=at(tomorrow.day, 13, 10))
    assert taken(w.id) == 6
    entry = {x["id"]: x for x in service.prepare(c, tomorrow.stop, now=at(tomorrow.day, 13, 15))["workshops"]}[w.id]
    assert entry["share"] == 1 and entry["share_taken"] is True
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "checkin-share-take"))
    assert event.detail == {"seats": {str(a.id): 1, str(b.id): 1, str(c.id): 1}}


def test_two_tablets_and_more_free_seats_each_get_the_full_share(tomorrow, tablets):
    w = tomorrow.workshop
    book(w)  # 5 free
    a, b = tablets("A", "B")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    service.prepare(b, tomorrow.stop, now=tomorrow.morning)
    service.hand_out_shares(at(tomorrow.day, 14))
    assert service.shares_left(a) == {w.id: 2} and service.shares_left(b) == {w.id: 2}
    assert taken(w.id) == 5


def test_an_online_walk_in_after_booking_closed_lets_the_tablets_in_line_take_their_shares_first(tomorrow,
                                                                                               tablets):
    w = tomorrow.workshop
    for _ in range(5):
        book(w)  # one seat free
    (a,) = tablets("A")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    door = service.perform(service.Action("walkin", w.id, nonce(), name="Ida", party_size=1), now=tomorrow.started)
    assert door.outcome == service.FULL
    assert service.shares_left(a) == {w.id: 1}
    assert_seats_add_up(w.id)


def test_online_walk_in_takes_a_free_seat_before_the_share(app, tomorrow, tablets):
    app.config["BOOKING_CLOSES_MINUTES"] = 60
    w = tomorrow.workshop
    (a,) = tablets("A")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    online = service.perform(service.Action("walkin", w.id, nonce(), name="Ida", party_size=1), device=a,
                             now=at(tomorrow.day, 13, 30))
    assert online.outcome == service.VALID
    assert service.shares_left(a) == {w.id: 2}  # kept for when the network is gone
    assert_seats_add_up(w.id)


# --- walk-ins seated offline ------------------------------------------------------------------------------------------

def test_offline_walk_ins_use_the_share_then_a_free_seat_then_wait_on_the_waiting_list(tomorrow, tablets):
    w = tomorrow.workshop
    for _ in range(3):
        book(w)  # 3 of 6 booked
    a, b = tablets("A", "B")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    service.prepare(b, tomorrow.stop, now=tomorrow.morning)
    # Offline since the morning, A knew of no share: four walk-ins waited for a seat on it. At 14:10 it is online:
    # the shares are taken first (A 2, B 1 of the 3 free seats), then its queue is decided in order.
    result = sync(a, [walkin(w, 1, at(tomorrow.day, 13, 50), "Ali", 2), walkin(w, 2, at(tomorrow.day, 13, 55), "Bea"),
                      walkin(w, 3, at(tomorrow.day, 14, 2), "Cem")], now=tomorrow.started)
    assert [r["outcome"] for r in result["results"]] == [service.VALID, service.WAITING, service.WAITING]
    assert [r["kind"] for r in result["results"]] == ["walkin"] * 3
    assert service.shares_left(b) == {w.id: 1}  # B's seat stays B's
    waiting = db.session.scalars(sa.select(Booking).where(Booking.walk_in.is_(True), Booking.status ==
                                                          BookingStatus.WAITING).order_by(Booking.created_at)).all()
    assert [(x.name, x.arrived, x.created_at) for x in waiting] == [
        ("Bea", 0, at(tomorrow.day, 13, 55)), ("Cem", 0, at(tomorrow.day, 14, 2))]
    assert_seats_add_up(w.id)
    # B is online after the start and gives its seat up: staff seat Bea, who waited first.
    sync(b, [], give_up=[w.id], sequence=0, now=at(tomorrow.day, 14, 12))
    seated = service.perform(service.Action("seat", w.id, nonce(), booking_id=waiting[0].id), device=a,
                             now=at(tomorrow.day, 14, 13))
    assert seated.outcome == service.VALID and seated.booking.arrived == 1
    assert_seats_add_up(w.id)
    # Sent again, the queue changes nothing.
    again = sync(a, [walkin(w, 3, at(tomorrow.day, 14, 2), "Cem")], now=at(tomorrow.day, 14, 20))
    assert again["results"][0]["outcome"] == service.INVALID  # sequence 3 is taken by another nonce


# --- before the start -------------------------------------------------------------------------------------------------

def test_between_booking_closing_and_the_start_the_share_stays_even_when_the_tablet_is_online(app, tomorrow, tablets):
    app.config["BOOKING_CLOSES_MINUTES"] = 60
    w = tomorrow.workshop
    (a,) = tablets("A")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    result = sync(a, [], give_up=[w.id], sequence=0, now=at(tomorrow.day, 13, 59))
    assert result["given_up"] == {} and result["shares"] == {w.id: 2}
    assert taken(w.id) == 2


def test_seats_given_back_before_the_start_go_to_the_waiting_list(app, tomorrow, tablets):
    app.config["BOOKING_CLOSES_MINUTES"] = 60
    w = tomorrow.workshop
    (a,) = tablets("A")
    residents = [book(w) for _ in range(4)]
    waiting = book(w, party_size=3)  # 2 free, the party of 3 waits
    assert waiting.status == BookingStatus.WAITING
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    service.hand_out_shares(at(tomorrow.day, 13, 5))
    assert taken(w.id) == 6
    booking_service.cancel(residents[0])  # one seat free: not enough for the party of 3
    assert service.return_shares(a) == 2  # sign-out, before the start: now 3 are free
    db.session.refresh(waiting)
    assert waiting.status == BookingStatus.CONFIRMED
    assert_seats_add_up(w.id)
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "checkin-share-return"))
    assert event.device == "A" and event.detail == {"why": "sign-out", "seats": {str(w.id): 2}}


# --- from the start ---------------------------------------------------------------------------------------------------

def test_after_the_start_an_online_tablet_gives_up_what_it_did_not_use(tomorrow, tablets):
    w = tomorrow.workshop
    (a,) = tablets("A")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    # Offline at 14:05 it seated one; online at 14:10 it sends that walk-in and gives the share up in one request.
    result = sync(a, [walkin(w, 1, at(tomorrow.day, 14, 5))], give_up=[w.id], sequence=1,
                  now=tomorrow.started)
    assert result["results"][0]["outcome"] == service.VALID
    assert result["given_up"] == {w.id: 1} and result["shares"] == {w.id: 0}
    assert taken(w.id) == 1
    assert_seats_add_up(w.id)
    # Given up for good: preparing again holds nothing, and giving up again returns nothing.
    assert share_of(service.prepare(a, tomorrow.stop, now=at(tomorrow.day, 14, 20)), w) == 0
    assert sync(a, [], give_up=[w.id], sequence=1, now=at(tomorrow.day, 14, 25))["given_up"] == {w.id: 0}
    assert taken(w.id) == 1


def test_no_give_up_while_an_action_of_the_tablet_is_missing(tomorrow, tablets):
    w = tomorrow.workshop
    (a,) = tablets("A")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    # Walk-in number 1 has not arrived (a lost request); number 2 has. The seats stay held.
    result = sync(a, [walkin(w, 2, at(tomorrow.day, 14, 5))], give_up=[w.id], sequence=2,
                  now=tomorrow.started)
    assert result["gaps"] == [1] and result["given_up"] == {} and result["shares"] == {w.id: 1}
    assert taken(w.id) == 2
    # It arrives: now everything is stored, and the rest of the share goes back.
    late = sync(a, [walkin(w, 1, at(tomorrow.day, 14, 4), "Bo")], give_up=[w.id], sequence=2,
                now=at(tomorrow.day, 14, 12))
    assert late["results"][0]["outcome"] == service.VALID and late["given_up"] == {w.id: 0}
    assert taken(w.id) == 2 and service.shares_left(a) == {w.id: 0}
    assert_seats_add_up(w.id)


def test_at_the_end_shares_go_back_and_a_late_walk_in_made_before_still_gets_its_seat(tomorrow, tablets):
    w = tomorrow.workshop
    a, b = tablets("A", "B")
    for _ in range(2):
        book(w)
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    service.prepare(b, tomorrow.stop, now=tomorrow.morning)
    service.hand_out_shares(tomorrow.started)
    assert taken(w.id) == 6
    # Tablet B checks in after the end: A's share goes back without A.
    sync(b, [], now=tomorrow.over)
    assert taken(w.id) == 2
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SeatShare)) == 0
    # A comes back online later with two walk-ins it seated at 14:30 and one typed in after the end.
    result = sync(a, [walkin(w, 1, at(tomorrow.day, 14, 30), "Ali", 2),
                      walkin(w, 2, at(tomorrow.day, 15, 20), "Zu spät")], now=at(tomorrow.day, 17))
    assert [r["outcome"] for r in result["results"]] == [service.VALID, service.CLOSED]
    assert taken(w.id) == 4
    assert_seats_add_up(w.id)


# --- two tablets at once ----------------------------------------------------------------------------------------------

def _run_at_once(app, jobs) -> list:
    barrier = threading.Barrier(len(jobs))

    def run(job):
        with app.app_context():
            barrier.wait(timeout=60)
            try:
                return job()
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs, timeout=120))


def test_tablets_preparing_while_residents_book_leave_every_seat_to_residents(app, tomorrow, tablets):
    app.config["TABLETS_PER_BUS"] = 4
    w = tomorrow.workshop
    for _ in range(2):
        book(w)  # 4 seats free
    device_ids = [d.id for d in tablets("A", "B", "C", "D")]
    stop_id, workshop_id, morning = tomorrow.stop.id, w.id, tomorrow.morning

    def prepare(device_id):
        def job():
            device = db.session.get(Device, device_id)
            return share_of(service.prepare(device, db.session.get(Stop, stop_id), now=morning),
                            SimpleNamespace(id=workshop_id))
        return job

    def resident():
        return book(db.session.get(Workshop, workshop_id)).status

    outcomes = _run_at_once(app, [prepare(d) for d in device_ids] + [resident, resident, resident, resident])
    assert outcomes[:4] == [0, 0, 0, 0]
    assert outcomes[4:] == [BookingStatus.CONFIRMED] * 4
    assert taken(workshop_id) == 6
    assert_seats_add_up(workshop_id)


def test_two_tablets_syncing_when_booking_closed_while_the_door_seats_walk_ins_take_their_shares_first(app, tomorrow, tablets):
    w = tomorrow.workshop
    for _ in range(3):
        book(w)  # 3 seats free
    a, b = tablets("A", "B")
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    service.prepare(b, tomorrow.stop, now=tomorrow.morning)
    workshop_id, a_id, b_id, started = w.id, a.id, b.id, tomorrow.started
    stub = SimpleNamespace(id=workshop_id)

    def tablet(device_id, name):
        def job():
            device = db.session.get(Device, device_id)
            return sync(device, [walkin(stub, 1, at(tomorrow.day, 14, 1), name)], now=started)
        return job

    def door(i):
        def job():
            return service.perform(service.Action("walkin", workshop_id, nonce(), name=f"Tür {i}", party_size=1),
                                   now=started).outcome
        return job

    results = _run_at_once(app, [tablet(a_id, "Ali"), tablet(b_id, "Bea"), door(1), door(2)])
    # Whoever comes first, the shares are taken first (A 2, B 1 of the 3 free seats), exactly once: each tablet
    # seats its walk-in with its share, the door finds no free seat, and A's second seat stays held for it.
    assert [r["results"][0]["outcome"] for r in results[:2]] == [service.VALID, service.VALID]
    assert results[2:] == [service.FULL, service.FULL]
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "checkin-share-take")) == 1
    assert service.shares_left(db.session.get(Device, a_id)) == {workshop_id: 1}
    assert service.shares_left(db.session.get(Device, b_id)) == {workshop_id: 0}
    assert taken(workshop_id) == 6
    assert_seats_add_up(workshop_id)


def test_two_tablets_give_up_and_walk_in_at_once_after_the_start(app, tomorrow, tablets):
    w = tomorrow.workshop
    a, b = tablets("A", "B")
    for _ in range(2):
        book(w)
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    service.prepare(b, tomorrow.stop, now=tomorrow.morning)
    service.hand_out_shares(tomorrow.started)
    assert taken(w.id) == 6
    workshop_id, a_id, b_id = w.id, a.id, b.id
    started = tomorrow.started
    seated_at = at(tomorrow.day, 14, 5)
    stub = SimpleNamespace(id=workshop_id)

    def tablet_a():
        # A seated one offline, then is online and gives the rest of its share up.
        device = db.session.get(Device, a_id)
        return sync(device, [walkin(stub, 1, seated_at, "Ali")], give_up=[workshop_id], sequence=1,
                    now=started)

    def tablet_b():
        # B sends two walk-ins it seated offline with its share, and gives up too.
        device = db.session.get(Device, b_id)
        return sync(device, [walkin(stub, 1, seated_at, "Bea"), walkin(stub, 2, seated_at, "Cem")],
                    give_up=[workshop_id], sequence=2, now=started)

    def door(i):
        # Meanwhile people come to the door of an online tablet without any share.
        def job():
            return service.perform(service.Action("walkin", workshop_id, nonce(), name=f"Tür {i}", party_size=1),
                                   now=started).outcome
        return job

    result_a, result_b, *door_outcomes = _run_at_once(app, [tablet_a, tablet_b, door(1), door(2)])
    # Everything seated offline with a share got its seat.
    assert [r["outcome"] for r in result_a["results"]] == [service.VALID]
    assert [r["outcome"] for r in result_b["results"]] == [service.VALID, service.VALID]
    assert result_a["given_up"] == {workshop_id: 1} and result_b["given_up"] == {workshop_id: 0}
    # The door got the one seat A gave back (now, or after it, if the door came first), and never more.
    door_outcomes += [door(3)(), door(4)()]
    assert door_outcomes.count(service.VALID) == 1
    assert taken(workshop_id) == 6
    assert_seats_add_up(workshop_id)
    assert db.session.scalar(sa.select(sa.func.sum(SeatShare.seats - SeatShare.used))) == 0


def test_two_tablets_signing_out_at_once_hand_every_seat_on_once(app, tomorrow, tablets):
    app.config["BOOKING_CLOSES_MINUTES"] = 60
    w = tomorrow.workshop
    a, b = tablets("A", "B")
    residents = [book(w) for _ in range(3)]
    waiting = book(w, party_size=4)  # 3 free, the party of 4 waits
    service.prepare(a, tomorrow.stop, now=tomorrow.morning)
    service.prepare(b, tomorrow.stop, now=tomorrow.morning)
    service.hand_out_shares(at(tomorrow.day, 13, 5))  # A 2, B 1
    assert taken(w.id) == 6
    booking_service.cancel(residents[0])
    workshop_id = w.id

    def sign_out(device_id):
        def job():
            return service.return_shares(db.session.get(Device, device_id))
        return job

    returned = _run_at_once(app, [sign_out(a.id), sign_out(b.id), sign_out(a.id)])
    assert sum(returned) == 3  # each seat went back once, though A signed out twice at once
    db.session.expire_all()
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CONFIRMED
    assert_seats_add_up(workshop_id)


def sync(device, items, **kw):
    """The tablet's sync with the person who registered it signed in (queued actions name nobody themselves)."""
    return service.sync(device, items, user=db.session.get(User, device.created_by_id), **kw)
