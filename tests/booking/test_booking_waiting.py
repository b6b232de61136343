"""The waiting list: who moves up when seats become free, and that a larger party is not passed over forever."""
from __future__ import annotations

import itertools
import re
from datetime import timedelta

import sqlalchemy as sa

from busapp.booking import service
from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, WorkshopStatus
from tests.booking.test_booking import assert_seats_consistent, book, token_of

_keys = itertools.count(1)


def party(workshop, size: int, name: str) -> Booking:
    """Book through the service (the form's own path is covered in test_booking.py)."""
    outcome = service.create(workshop.id, party_size=size, name=name, contact=None, needs_note=None,
                             idempotency_key=f"waiting-test-key-{next(_keys):06d}", locale="de")
    assert outcome.created
    return outcome.booking


def states(*bookings: Booking) -> list[str]:
    db.session.expire_all()
    return [db.session.get(Booking, b.id).status.value for b in bookings]


def cancel(booking: Booking) -> list[str]:
    """Cancel and return the names of the parties that moved up."""
    return [b.name for b in service.cancel(db.session.get(Booking, booking.id))]


def test_cancel_promotes_the_first_waiting_party(app, make_workshop):
    workshop = make_workshop(capacity=2)
    a, b = party(workshop, 1, "A"), party(workshop, 1, "B")
    c, d = party(workshop, 1, "C"), party(workshop, 1, "D")
    assert states(a, b, c, d) == ["confirmed", "confirmed", "waiting", "waiting"]
    assert [service.waiting_position(x) for x in (c, d)] == [1, 2]
    assert cancel(a) == ["C"]
    assert states(a, b, c, d) == ["cancelled", "confirmed", "confirmed", "waiting"]
    assert service.waiting_position(db.session.get(Booking, d.id)) == 1
    assert assert_seats_consistent(workshop.id).seats_taken == 2
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "booking-promote"))
    assert event.object_id == str(c.id) and event.user_id is None


def test_first_party_that_fits_moves_up(app, make_workshop):
    workshop = make_workshop(capacity=4)
    a = party(workshop, 1, "A")
    party(workshop, 3, "B")
    big, small = party(workshop, 2, "Big"), party(workshop, 1, "Small")
    assert cancel(a) == ["Small"]  # one seat free: the party of two does not fit, the one behind it does
    assert states(big, small) == ["waiting", "confirmed"]
    db.session.expire_all()
    assert db.session.get(Booking, big.id).passed_over == 1
    assert assert_seats_consistent(workshop.id).seats_taken == 4


def test_freed_seats_go_to_several_parties_in_order(app, make_workshop):
    workshop = make_workshop(capacity=4)
    a = party(workshop, 4, "A")
    w = [party(workshop, 1, n) for n in "BCDEF"]
    assert cancel(a) == ["B", "C", "D", "E"]
    assert states(*w) == ["confirmed"] * 4 + ["waiting"]
    assert assert_seats_consistent(workshop.id).seats_taken == 4


def test_a_party_of_two_is_not_passed_over_forever_by_parties_of_one(app, make_workshop):
    """The rule: a party may be passed over MAX_PASSED_OVER times; then the seats wait for it."""
    assert service.MAX_PASSED_OVER == 2
    workshop = make_workshop(capacity=2)
    seated = [party(workshop, 1, f"S{i}") for i in range(2)]
    pair = party(workshop, 2, "Pair")
    singles = [party(workshop, 1, f"One{i}") for i in range(4)]

    assert cancel(seated[0]) == ["One0"]  # passed over once
    assert cancel(seated[1]) == ["One1"]  # passed over twice: no more
    assert cancel(singles[0]) == []       # one seat free, but it is kept for the pair...
    assert states(singles[2]) == ["waiting"]  # ...even though a single behind it would fit
    assert cancel(singles[1]) == ["Pair"]  # two seats free: the pair moves up
    assert states(pair, singles[2], singles[3]) == ["confirmed", "waiting", "waiting"]
    assert assert_seats_consistent(workshop.id).seats_taken == 2


def test_new_bookings_do_not_take_seats_owed_to_a_waiting_party(client, make_workshop):
    workshop = make_workshop(capacity=3)
    first = party(workshop, 3, "First")
    pair = party(workshop, 2, "Pair")
    # Two new parties of one each take a freed seat directly and pass the pair...
    service.cancel(db.session.get(Booking, first.id))  # the pair moves up (2 of 3 seats), one seat stays free
    assert states(pair) == ["confirmed"]
    trio = party(workshop, 3, "Trio")
    party(workshop, 1, "Walk1")  # takes the last free seat directly; the trio is passed over
    service.cancel(db.session.get(Booking, pair.id))  # two seats free: the trio still does not fit
    party(workshop, 1, "Walk2")  # passes the trio a second time
    db.session.expire_all()
    assert db.session.get(Booking, trio.id).passed_over == 2
    # Now one seat is free, but it is owed to the trio: the form offers the waiting list, and a new party waits.
    assert assert_seats_consistent(workshop.id).seats_free == 1
    html = client.get(f"/workshops/{workshop.id}/book").get_data(as_text=True)
    assert "für Personen reserviert, die schon länger warten" in html
    late = token_of(book(client, workshop.id, name="Late"))
    assert db.session.scalar(sa.select(Booking.status).where(Booking.manage_token == late)) == BookingStatus.WAITING
    assert assert_seats_consistent(workshop.id).seats_free == 1


def test_a_blocking_party_leaving_the_list_lets_the_others_move_up(app, make_workshop):
    workshop = make_workshop(capacity=2)
    seated = [party(workshop, 1, f"S{i}") for i in range(2)]
    pair = party(workshop, 2, "Pair")
    singles = [party(workshop, 1, f"One{i}") for i in range(3)]
    cancel(seated[0])
    cancel(seated[1])
    assert cancel(singles[0]) == []  # the free seat is kept for the pair
    assert cancel(pair) == ["One2"]  # the pair gives up its place: the single behind it moves up
    assert assert_seats_consistent(workshop.id).seats_taken == 2


def test_a_party_too_big_for_the_workshop_never_blocks_the_list(app, make_workshop):
    workshop = make_workshop(capacity=3)
    a = party(workshop, 3, "A")
    # A party of four that joined before the coordinators made the workshop smaller, and has waited long.
    big = Booking(workshop_id=workshop.id, party_size=4, name="Big", status=BookingStatus.WAITING,
                  passed_over=service.MAX_PASSED_OVER, code="BIGBIG", manage_token="big-party-token",
                  idempotency_key="big-party-key-0000000")
    db.session.add(big)
    db.session.commit()
    small = party(workshop, 1, "Small")
    assert cancel(a) == ["Small"]  # the party that can never be seated here is not waited for
    other = party(workshop, 1, "Other")  # and new parties still take free seats directly
    assert states(big, small, other) == ["waiting", "confirmed", "confirmed"]
    assert assert_seats_consistent(workshop.id).seats_taken == 2


def test_no_promotion_when_the_workshop_is_cancelled(app, make_workshop):
    workshop = make_workshop(capacity=1)
    a, b = party(workshop, 1, "A"), party(workshop, 1, "B")
    workshop.status = WorkshopStatus.CANCELLED
    db.session.commit()
    assert cancel(a) == []
    assert states(b) == ["waiting"]
    assert assert_seats_consistent(workshop.id).seats_taken == 0


def test_cancelling_through_the_page_promotes_and_shows_the_new_ticket(client, make_workshop):
    workshop = make_workshop(capacity=2)
    seated = token_of(book(client, workshop.id, party_size="2", name="Erste"))
    waiting = token_of(book(client, workshop.id, party_size="2", name="Zweite"))
    assert "Nummer 1 auf der Warteliste" in client.get(f"/t/{waiting}").get_data(as_text=True)
    html = client.get(f"/t/{seated}/cancel").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    assert client.post(f"/t/{seated}/cancel", data={"csrf_token": csrf}).status_code == 303
    page = client.get(f"/t/{waiting}").get_data(as_text=True)
    assert "Ihr Ticket" in page and "<svg" in page
    assert assert_seats_consistent(workshop.id).seats_taken == 2


def test_no_promotion_after_the_workshop_started(app, make_workshop, now):
    workshop = make_workshop(capacity=1)
    a, b = party(workshop, 1, "A"), party(workshop, 1, "B")
    # A forgotten booking is emptied after the start, when it can no longer be cancelled: nobody moves up then.
    workshop.starts_at = now - timedelta(minutes=5)
    db.session.commit()
    service.forget(db.session.get(Booking, a.id))
    assert states(a, b) == ["confirmed", "waiting"]
    assert db.session.get(Booking, a.id).name is None


def test_more_seats_go_to_the_waiting_list(app, make_workshop):
    workshop = make_workshop(capacity=1)
    party(workshop, 1, "A")
    b, c = party(workshop, 2, "B"), party(workshop, 1, "C")
    workshop.capacity = 3  # a coordinator found more devices
    db.session.commit()
    assert [p.name for p in service.fill_from_waiting_list(workshop.id)] == ["B"]
    assert states(b, c) == ["confirmed", "waiting"]
    assert assert_seats_consistent(workshop.id).seats_taken == 3
