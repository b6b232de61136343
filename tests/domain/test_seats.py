"""The seat rules every feature shares (busapp/domain/seats.py): seats are taken only while free, given back,
never owed twice, held for tablets and cleared with a cancelled workshop; features call them, never copy them."""
from __future__ import annotations

import sqlalchemy as sa

from busapp.domain import seats
from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, Device, SeatShare, Workshop, utcnow


def _taken(workshop_id: int) -> int:
    db.session.expire_all()
    return db.session.get(Workshop, workshop_id).seats_taken


def test_take_only_free_seats_and_give_them_back(make_workshop):
    wid = make_workshop(capacity=3).id

    def work():
        seats.lock(wid)
        return seats.take(wid, 2), seats.take(wid, 2), seats.take(wid, 1)

    assert seats.transaction(work) == (True, False, True)
    assert _taken(wid) == 3 and seats.free(db.session.get(Workshop, wid)) == 0

    def back():
        seats.lock(wid)
        seats.give_back(wid, 2)

    seats.transaction(back)
    assert _taken(wid) == 1 and seats.free(db.session.get(Workshop, wid)) == 2


def test_owed_seats_are_not_taken_by_a_new_party(make_workshop, now):
    workshop = make_workshop(capacity=3)
    wid = workshop.id
    db.session.add(Booking(workshop_id=wid, party_size=2, name="Lang", status=BookingStatus.WAITING, code="OWED22",
                           manage_token="t-owed", idempotency_key="k-owed", locale="de", created_at=now,
                           passed_over=2))
    db.session.commit()

    def work():
        seats.lock(wid)
        return seats.take(wid, 1, unless_owed=True), seats.take(wid, 2)

    assert seats.transaction(work) == (False, True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workshop).where(seats.owed())) == 1


def test_tablet_share_is_held_once_spent_and_returned(make_workshop, make_user):
    wid = make_workshop(capacity=5).id
    device = Device(name="Tür", token_hash="x" * 64, created_by_id=make_user().id)
    db.session.add(device)
    db.session.commit()
    did = device.id

    def line_up():
        seats.lock(wid)
        return seats.line_up(did, wid), seats.line_up(did, wid)

    assert seats.transaction(line_up) == (True, False)
    assert _taken(wid) == 0 and seats.shares_left(did) == {}  # in line, nothing held

    def hold():
        seats.lock(wid)
        return seats.hand_out(wid, 2, utcnow()), seats.hand_out(wid, 2, utcnow())

    assert seats.transaction(hold) == ({did: 2}, {})  # taken once
    assert _taken(wid) == 2 and seats.shares_left(did) == {wid: 2}

    def spend():
        seats.lock(wid)
        return seats.use_share(did, wid, 1), seats.use_share(did, wid, 2)

    assert seats.transaction(spend) == (True, False)

    def back():
        seats.lock(wid)
        return seats.return_share(did, wid, keep=False)

    assert seats.transaction(back) == 1
    assert _taken(wid) == 1 and seats.share(did, wid) is None


def test_clearing_a_workshop_frees_every_seat_and_forgets_the_tablets_shares(make_workshop, make_user):
    wid = make_workshop(capacity=5).id
    device = Device(name="Tür", token_hash="y" * 64, created_by_id=make_user().id)
    db.session.add(device)
    db.session.commit()
    did = device.id

    def hold():
        seats.lock(wid)
        seats.take(wid, 2)
        seats.line_up(did, wid)
        return seats.hand_out(wid, 2, utcnow())

    seats.transaction(hold)
    assert _taken(wid) == 4

    def clear():
        seats.lock(wid)
        seats.clear(wid)

    seats.transaction(clear)
    assert _taken(wid) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SeatShare)) == 0
