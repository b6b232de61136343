"""SQL statements per request on the busiest paths: a booking, its ticket, the public pages, the planning pages.

Each statement is a round trip to PostgreSQL, so these budgets are what the booking throughput rests on; a change
that adds one should be a decision, not an accident.
"""
from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, Stop, utcnow
from busapp.planning import service
from busapp.planning.views import MONTH_STOPS_PER_DAY
from tests.sqlcount import statements


def form_fields(client, workshop_id: int) -> dict:
    html = client.get(f"/workshops/{workshop_id}/book").get_data(as_text=True)
    return {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1),
        "idempotency_key": re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1),
        "name": "Anna", "party_size": "1", "consent": "y",
    }


def first_booking(client, make_workshop) -> None:
    """The first booking of a rate-limit window also clears old windows: get that out of the way."""
    other = make_workshop(title="Erste Buchung").id
    assert client.post(f"/workshops/{other}/book", data=form_fields(client, other)).status_code == 303


def booking_statements(client, workshop_id: int) -> tuple[list[str], Booking]:
    data = form_fields(client, workshop_id)
    with statements() as seen:
        response = client.post(f"/workshops/{workshop_id}/book", data=data)
    assert response.status_code == 303
    booking = db.session.scalar(sa.select(Booking).where(Booking.idempotency_key == data["idempotency_key"]))
    assert response.headers["Location"] == f"/t/{booking.manage_token}"
    return seen, booking


@pytest.mark.parametrize("seats", [8, 0])
def test_a_booking_costs_nine_statements_however_many_booked_before(client, make_workshop, seats):
    """A seat costs at most nine statements (eight on the waiting list), and the same with many parties booked or
    waiting before: nothing is read per existing booking (no N+1). Two of them are the seats-per-address rule: the
    address's seat counter, and the workshop's capacity read together with the seats that address already holds."""
    first_booking(client, make_workshop)
    workshop = make_workshop(capacity=max(seats, 1) + 20)
    workshop.seats_taken = 20 if seats else workshop.capacity
    db.session.commit()
    seen, booking = booking_statements(client, workshop.id)
    assert booking.status == (BookingStatus.CONFIRMED if seats else BookingStatus.WAITING)
    assert len(seen) <= (9 if seats else 8), seen
    for _ in range(5):
        booking_statements(client, workshop.id)
    again, _booking = booking_statements(client, workshop.id)
    assert len(again) == len(seen), (seen, again)


def test_a_replay_is_answered_from_one_lookup(client, make_workshop):
    workshop_id = make_workshop().id
    data = form_fields(client, workshop_id)
    first = client.post(f"/workshops/{workshop_id}/book", data=data)
    with statements() as seen:
        again = client.post(f"/workshops/{workshop_id}/book", data=data)
    assert again.headers["Location"] == first.headers["Location"]
    assert len(seen) == 3, seen  # rate counter, workshop, the key's booking
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1


def test_a_ticket_is_one_statement(client, make_workshop):
    workshop_id = make_workshop().id
    location = client.post(f"/workshops/{workshop_id}/book", data=form_fields(client, workshop_id)).headers["Location"]
    client.get(location)
    with statements() as seen:
        page = client.get(location)
    assert page.status_code == 200 and "<svg" in page.get_data(as_text=True)
    assert len(seen) == 1, seen


def test_public_pages_stay_within_a_few_statements(client, make_workshop, make_stop):
    stops = [make_stop() for _ in range(3)]
    for stop in stops:
        make_workshop(stop=stop)
        make_workshop(stop=stop, title="Videoanrufe")
    budgets = {"/": 4, f"/d/{stops[0].district.slug}": 3, f"/s/{stops[0].id}": 2,
               f"/s/{stops[0].id}?x={uuid.uuid4().hex}": 2}
    db.session.commit()
    for path, budget in budgets.items():
        client.get(path)
        with statements() as seen:
            assert client.get(path).status_code == 200
        assert len(seen) <= budget, (path, seen)


# The coordinators' planning pages: the same statements for a short tour and a long one (no N+1, no unbounded list).
PLANNING_BUDGET = {"week": 2, "month": 2, "reports": 4}


def planning_statements(client) -> dict[str, tuple[int, int]]:
    """Statements and stop lines of the week, the month and the reports, for the signed-in coordinator."""
    counts = {}
    for name, path in (("week", "/admin"), ("month", "/admin/month"), ("reports", "/admin/reports")):
        client.get(path)
        with statements() as seen:
            response = client.get(path)
        assert response.status_code == 200, name
        counts[name] = (len(seen), response.get_data(as_text=True).count('<article class="stop-line'))
    return counts


def test_planning_pages_cost_the_same_statements_at_64_and_at_10000_stops(client, login, large_tour):
    login("coordinator")
    large_tour(64)
    small = planning_statements(client)
    large_tour(10_000)
    large = planning_statements(client)
    assert {k: v[0] for k, v in small.items()} == PLANNING_BUDGET, small
    assert {k: v[0] for k, v in large.items()} == PLANNING_BUDGET, large
    # The long tour has twenty stops a weekday: the week shows every one, the month a few a day and a link on.
    today = service.local_day(utcnow())
    monday = service.week_of(today)
    week = db.session.scalar(sa.select(sa.func.count()).select_from(Stop).where(
        Stop.starts_at >= service.local(monday, time(0)),
        Stop.starts_at < service.local(monday + timedelta(days=7), time(0))))
    assert large["week"][1] == week == 100
    first, last = service.month_bounds(today.year, today.month)
    assert 0 < large["month"][1] <= MONTH_STOPS_PER_DAY * ((last - first).days + 1)


def test_the_staff_landing_page_costs_the_same_statements_for_one_stop_today_and_for_six(client, login, make_stop,
                                                                                        make_workshop):
    """"Today on the bus" lists the day's other stops with their workshops: loaded together, not one by one."""
    login("staff")
    zone = ZoneInfo("Europe/Berlin")
    today = utcnow().astimezone(zone).date()

    def add_stop(hour: int):
        stop = make_stop(starts_at=datetime.combine(today, time(hour), tzinfo=zone), hours=0.5)
        make_workshop(stop=stop, starts_at=stop.starts_at)
        make_workshop(stop=stop, starts_at=stop.starts_at, title="Videoanrufe")

    def landing() -> int:
        client.get("/staff/")
        with statements() as seen:
            html = client.get("/staff/").get_data(as_text=True)
        assert "Videoanrufe" in html
        return len(seen)

    # All the day's stops over, or all to come (early in the morning), so that both counts see the same kind of day.
    hours = range(1, 8) if utcnow().astimezone(zone).hour >= 8 else range(16, 23)
    add_stop(hours[0])
    add_stop(hours[1])
    one_other = landing()
    for hour in hours[2:]:
        add_stop(hour)
    assert landing() == one_other
