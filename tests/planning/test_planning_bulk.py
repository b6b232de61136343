"""Many stops at once (/admin/stops/bulk): a filter by days, district, bus, state and import; publish, back to
draft, delete drafts, and cancel with one reason after a dry run that shows who is affected and how many mails go."""
from __future__ import annotations

import re
import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.booking import service as booking_service
from busapp.core.extensions import db
from busapp.models import (
    AuditEvent, Booking, BookingStatus, Bus, OutgoingMail, Stop, StopStatus, Workshop, WorkshopStatus,
)
from busapp.planning import bulk
from tests.conftest import csrf_token
from tests.planning.test_planning import at, next_weekday

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def coordinator(client, login):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return login("coordinator")


def post(client, data):
    return client.post("/admin/stops/bulk", data={"csrf_token": csrf_token(client, "/admin/people"), **data})


def book(workshop, name, contact=None, n=1) -> Booking:
    return booking_service.create(workshop.id, party_size=n, name=name, contact=contact, needs_note=None,
                                  idempotency_key=uuid.uuid4().hex, locale="en").booking


def listed(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'name="stop" value="(\d+)"', html)]


@pytest.fixture
def tour(make_district, make_place, make_stop, make_workshop):
    """One week: Moisling on Monday (published, two parties booked) and Wednesday (draft), Buntekuh on Tuesday
    (published, nobody booked) and, a week later, Buntekuh again (published, one party by phone)."""
    monday = next_weekday(0, weeks_ahead=3)
    moisling, buntekuh = make_district(name="Moisling"), make_district(name="Buntekuh")
    library = make_place(moisling, "Bücherei Moisling")
    centre = make_place(buntekuh, "Buntekuh-Zentrum")
    stops = {
        "mon": make_stop(place=library, starts_at=at(monday, 10), hours=4),
        "tue": make_stop(place=centre, starts_at=at(monday + timedelta(days=1), 10), hours=4),
        "wed": make_stop(place=library, starts_at=at(monday + timedelta(days=2), 10), hours=4,
                         status=StopStatus.DRAFT),
        "next": make_stop(place=centre, starts_at=at(monday + timedelta(days=8), 10), hours=4),
    }
    workshops = {key: make_workshop(stop, capacity=6, starts_at=stop.starts_at,
                                    status=WorkshopStatus.DRAFT if key == "wed" else WorkshopStatus.PUBLISHED)
                 for key, stop in stops.items()}
    people = {"ada": book(workshops["mon"], "Ada", "ada@example.org", n=2),
              "dora": book(workshops["mon"], "Dora", None),
              "carl": book(workshops["next"], "Carl", "0451 123456")}
    db.session.execute(sa.delete(OutgoingMail))
    db.session.commit()
    return monday, stops, workshops, people


def test_the_filter_finds_a_week_a_district_a_state(client, coordinator, tour):
    monday, stops, _w, _p = tour
    week = client.get(f"/admin/stops/bulk?week={monday.isoformat()}").get_data(as_text=True)
    assert listed(week) == [stops[k].id for k in ("mon", "tue", "wed")]
    assert "3 stops found." in week
    moisling = client.get(f"/admin/stops/bulk?first={monday.isoformat()}&last="
                          f"{(monday + timedelta(days=13)).isoformat()}&district={stops['mon'].district_id}")
    assert listed(moisling.get_data(as_text=True)) == [stops["mon"].id, stops["wed"].id]
    # A district's name typed into the address works as well as its number from the list.
    by_name = client.get(f"/admin/stops/bulk?first={monday.isoformat()}&district=buntekuh").get_data(as_text=True)
    assert listed(by_name) == [stops["tue"].id, stops["next"].id]
    drafts = client.get(f"/admin/stops/bulk?first={monday.isoformat()}&status=draft").get_data(as_text=True)
    assert listed(drafts) == [stops["wed"].id]


def test_an_unknown_district_names_the_closest_ones(client, coordinator, tour):
    answer = client.get("/admin/stops/bulk?district=Mosling")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "There is no district “Mosling”. Did you mean Moisling?" in html
    assert 'name="stop"' not in html  # no list for a filter that cannot be read
    far = client.get("/admin/stops/bulk?district=Xyzzy").get_data(as_text=True)
    assert "There is no district “Xyzzy”. Known districts: Buntekuh, Moisling" in far


def test_the_filter_by_bus_and_import(client, coordinator, tour, make_stop):
    monday, stops, _w, _p = tour
    second = Bus(name="Bus 2")
    db.session.add(second)
    db.session.commit()
    other = make_stop(place=stops["mon"].place, starts_at=stops["mon"].starts_at, hours=2, bus_id=second.id)
    page = client.get(f"/admin/stops/bulk?week={monday.isoformat()}&bus={second.id}").get_data(as_text=True)
    assert listed(page) == [other.id] and "All buses" in page


def test_publishing_the_ticked_stops_publishes_only_drafts_ahead(client, coordinator, tour, make_stop, now):
    monday, stops, workshops, _p = tour
    over = make_stop(starts_at=now - timedelta(days=2), status=StopStatus.DRAFT)
    answer = post(client, {"action": "publish", "stop": [stops["wed"].id, stops["tue"].id, over.id],
                           "back": f"week={monday.isoformat()}"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith(
        f"/admin/stops/bulk?first={monday.isoformat()}&last={(monday + timedelta(days=6)).isoformat()}")
    db.session.expire_all()
    assert db.session.get(Stop, stops["wed"].id).status == StopStatus.PUBLISHED
    assert db.session.get(Workshop, workshops["wed"].id).status == WorkshopStatus.PUBLISHED
    assert db.session.get(Stop, over.id).status == StopStatus.DRAFT
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "1 stop is published." in page and "2 ticked stops were not drafts still ahead" in page


def test_back_to_draft_keeps_booked_stops_published_and_names_them(client, coordinator, tour):
    monday, stops, _w, _p = tour
    answer = post(client, {"action": "unpublish", "stop": [stops["mon"].id, stops["tue"].id]})
    assert answer.status_code == 303
    db.session.expire_all()
    assert db.session.get(Stop, stops["tue"].id).status == StopStatus.DRAFT
    assert db.session.get(Stop, stops["mon"].id).status == StopStatus.PUBLISHED
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert "1 stop is a draft again." in page and "Bücherei Moisling" in page and "stays published" in page


def test_deleting_deletes_drafts_only(client, coordinator, tour):
    monday, stops, _w, _p = tour
    wed, tue = stops["wed"].id, stops["tue"].id
    answer = post(client, {"action": "delete", "stop": [wed, tue]})
    assert answer.status_code == 303
    db.session.expire_all()
    left = set(db.session.scalars(sa.select(Stop.id)))
    assert wed not in left and tue in left


def test_nothing_ticked_or_no_action_is_answered_on_the_list(client, coordinator, tour):
    monday, stops, _w, _p = tour
    back = f"first={monday.isoformat()}&last={(monday + timedelta(days=6)).isoformat()}"
    none = post(client, {"action": "publish", "back": back})
    html = none.get_data(as_text=True)
    assert none.status_code == 422 and "Please tick at least one stop." in html
    assert listed(html) == [stops[k].id for k in ("mon", "tue", "wed")]
    assert 'checked' not in html.split('name="stop"', 1)[1].split(">", 1)[0]  # the ticks as sent: none
    odd = post(client, {"action": "paint", "stop": [stops["mon"].id], "back": back})
    assert odd.status_code == 422 and "Please choose what to do" in odd.get_data(as_text=True)


def test_cancelling_many_shows_the_dry_run_then_cancels_all_and_tells_everyone(client, coordinator, tour):
    monday, stops, workshops, people = tour
    ticked = [stops["mon"].id, stops["tue"].id, stops["next"].id]
    back = f"first={monday.isoformat()}"
    no_reason = post(client, {"action": "cancel", "stop": ticked, "back": back})
    html = no_reason.get_data(as_text=True)
    assert no_reason.status_code == 422 and "Please give a reason" in html
    assert set(listed(html)) == {s.id for s in stops.values()}
    ticks = dict(re.findall(r'name="stop" value="(\d+)"( checked)?', html))
    assert {int(k) for k, v in ticks.items() if v} == set(ticked)  # what was ticked stays ticked

    reason = "Der Bus ist in der Werkstatt."
    dry = post(client, {"action": "cancel", "stop": ticked, "reason": reason, "back": back})
    text = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "Cancel 3 stops?" in text and "Nothing has been cancelled yet." in text
    assert "3 parties are booked or waiting" in text and "(4 seats)" in text
    assert "1 gets an email." in text and "1 gave only a phone number" in text and "1 cannot be told" in text
    assert all(f"/admin/stops/{i}" in text for i in ticked)
    db.session.expire_all()
    assert {db.session.get(Stop, i).status for i in ticked} == {StopStatus.PUBLISHED}

    done = post(client, {"action": "cancel", "stop": ticked + [999999], "reason": reason, "confirm": "yes",
                         "back": back})
    assert done.status_code == 303
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "3 stops are cancelled. 1 party is told by email." in page
    assert "1 ticked stop was cancelled already or is over" in page
    db.session.expire_all()
    assert {db.session.get(Stop, i).status for i in ticked} == {StopStatus.CANCELLED}
    assert db.session.get(Stop, stops["wed"].id).status == StopStatus.DRAFT
    assert {b.status for b in db.session.scalars(sa.select(Booking))} == {BookingStatus.CANCELLED}
    assert {db.session.get(Workshop, workshops[k].id).seats_taken for k in ("mon", "tue", "next")} == {0}
    assert [(m.to_address, m.kind) for m in db.session.scalars(sa.select(OutgoingMail))] == [
        ("ada@example.org", "stop-cancelled")]
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "stop-cancel")).all()
    assert sorted(int(e.object_id) for e in events) == sorted(ticked) and all(e.detail["bulk"] for e in events)
    for party in people.values():
        assert reason in client.get(f"/t/{party.manage_token}?lang=en").get_data(as_text=True)
    assert "Carl" in client.get(f"/admin/stops/{stops['next'].id}/calls").get_data(as_text=True)

    again = post(client, {"action": "cancel", "stop": ticked, "reason": reason, "confirm": "yes", "back": back})
    assert "Nothing was cancelled" in client.get(again.headers["Location"]).get_data(as_text=True)


def test_a_bulk_cancellation_takes_every_seat_lock_before_reading_the_bookings(app, tour, monkeypatch):
    """The dry run is read, then the cancellation locks each workshop before it reads the bookings again: a
    booking made in between is cancelled and told with the others, never left confirmed."""
    import threading

    from busapp.planning import changes

    monday, stops, workshops, _p = tour
    wid = workshops["tue"].id
    outcome = {}

    def resident_books():
        with app.test_request_context():
            try:
                made = booking_service.create(wid, party_size=1, name="Rita", contact="rita@example.org",
                                              needs_note=None, idempotency_key=uuid.uuid4().hex, locale="de")
                outcome["booking"] = made.booking.id
            except booking_service.Refused as exc:
                outcome["refused"] = exc.reason
            finally:
                db.session.remove()

    real = changes.impact_of

    def while_someone_books(*args, **kwargs):
        result = real(*args, **kwargs)
        booker = threading.Thread(target=resident_books)
        booker.start()
        booker.join(timeout=1.5)
        outcome["thread"] = booker
        return result

    monkeypatch.setattr(changes, "impact_of", while_someone_books)
    bulk.cancel([stops["mon"].id, stops["tue"].id], "Sturm", None)
    outcome["thread"].join(timeout=30)
    assert not outcome["thread"].is_alive()
    db.session.expire_all()
    states = db.session.scalars(sa.select(Booking.status).where(Booking.workshop_id == wid)).all()
    assert BookingStatus.CONFIRMED not in states and BookingStatus.WAITING not in states
    assert db.session.get(Workshop, wid).seats_taken == 0
    if "booking" in outcome:
        assert db.session.scalar(sa.select(sa.func.count(OutgoingMail.id)).where(
            OutgoingMail.booking_id == outcome["booking"], OutgoingMail.kind == "stop-cancelled")) == 1
    else:
        assert outcome["refused"] == "cancelled"


def test_the_week_links_to_its_stops_for_acting_on_many(client, coordinator, tour):
    monday, _s, _w, _p = tour
    page = client.get(f"/admin?week={monday.isoformat()}").get_data(as_text=True)
    assert f'/admin/stops/bulk?week={monday.isoformat()}' in page
