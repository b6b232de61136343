"""Series stay series: "repeat this stop" keeps the link, and a change or a cancellation reaches this stop, this and
all following, or the whole series, after a dry run, with the notices of a single change."""
from __future__ import annotations

import re
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from busapp.booking import service as booking_service
from busapp.core.extensions import db
from busapp.models import (
    AuditEvent, Booking, BookingStatus, OutgoingMail, Stop, StopSeries, StopStatus, Workshop, WorkshopStatus,
)
from busapp.planning import series, service
from tests.conftest import csrf_token
from tests.planning.test_planning import at, next_weekday

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def coordinator(client, login):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return login("coordinator")


def post(client, path, data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/people"), **data})


def book(workshop, name, contact=None, n=1) -> Booking:
    return booking_service.create(workshop.id, party_size=n, name=name, contact=contact, needs_note=None,
                                  idempotency_key=uuid.uuid4().hex, locale="en").booking


def local(stop: Stop) -> tuple[date, time, time]:
    start, end = stop.starts_at.astimezone(BERLIN), stop.ends_at.astimezone(BERLIN)
    return start.date(), start.time(), end.time()


def shown_key(html: str) -> str:
    match = re.search(r'name="shown"[^>]*value="([^"]*)"', html) or re.search(r'value="([^"]*)"[^>]*name="shown"',
                                                                             html)
    assert match, "the dry run carries no key to confirm it with"
    return match.group(1)


@pytest.fixture
def weekly(client, coordinator, make_district, make_stop, make_workshop):
    """A published stop with two workshops, repeated every week three times through the form: four stops."""
    day = next_weekday(1, weeks_ahead=3)
    first = make_stop(make_district(name="Moisling"), starts_at=at(day, 10), hours=4, place="Bücherei Moisling")
    make_workshop(first, title="Videoanrufe", capacity=6, starts_at=at(day, 10))
    make_workshop(first, title="Online-Banking", capacity=8, starts_at=at(day, 12))
    answer = post(client, f"/admin/stops/{first.id}/repeat", {"rule": "weekly", "count": "3", "confirm": "yes"})
    assert answer.status_code == 303, answer.get_data(as_text=True)
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Stop).order_by(Stop.starts_at)))


def test_repeating_a_stop_keeps_the_link_to_its_series_and_its_workshops(weekly):
    assert len(weekly) == 4
    [series_id] = {s.series_id for s in weekly}
    assert series_id is not None and db.session.get(StopSeries, series_id).rule == "weekly"
    keys = {}
    for stop in weekly:
        for w in stop.workshops:
            keys.setdefault(w.title, set()).add(w.series_key)
    assert keys == {"Videoanrufe": {1}, "Online-Banking": {2}}
    assert series.reach(weekly[1]) == {"one": 1, "following": 3, "all": 4}


def test_a_stop_made_alone_offers_no_series_choice(client, coordinator, make_stop):
    stop = make_stop()
    assert series.reach(stop) == {"one": 1}
    page = client.get(f"/admin/stops/{stop.id}/edit").get_data(as_text=True)
    assert 'name="scope"' not in page


def test_this_and_following_moves_from_this_date_on_after_a_dry_run_and_tells_the_people_booked(
        client, coordinator, weekly):
    third = weekly[2]
    ada = book(third.workshops[0], "Ada", "ada@example.org", n=2)
    carl = book(third.workshops[1], "Carl", "0451 123456")
    db.session.execute(sa.delete(OutgoingMail))
    db.session.commit()
    before = {s.id: local(s) for s in weekly}
    second = weekly[1]
    day = before[second.id][0]
    form = {"place": str(second.place_id), "day": day.isoformat(), "start": "11:00", "end": "15:00",
            "scope": "following"}

    page = client.get(f"/admin/stops/{second.id}/edit?scope=following").get_data(as_text=True)
    assert "This stop and all following (3 stops)" in page and "The whole series (4 stops from today on)" in page

    dry = post(client, f"/admin/stops/{second.id}/edit", form)
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "3 stops of the series change" in html
    assert "1 party is booked or waiting" not in html and "2 parties are booked or waiting" in html
    assert "1 gets an email." in html and "1 gave only a phone number" in html
    db.session.expire_all()
    assert {s.id: local(s) for s in db.session.scalars(sa.select(Stop))} == before  # the dry run wrote nothing

    key = shown_key(html)
    missing_note = post(client, f"/admin/stops/{second.id}/edit", {**form, "shown": key, "confirm": "yes"})
    assert missing_note.status_code == 422 and "please say what changed" in missing_note.get_data(as_text=True)

    done = post(client, f"/admin/stops/{second.id}/edit",
                {**form, "shown": key, "confirm": "yes", "note": "Wir kommen eine Stunde später."})
    assert done.status_code == 303, done.get_data(as_text=True)
    assert "3 stops are saved." in client.get(done.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    after = {s.id: local(s) for s in db.session.scalars(sa.select(Stop))}
    assert after[weekly[0].id] == before[weekly[0].id]
    for stop in weekly[1:]:
        assert after[stop.id] == (before[stop.id][0], time(11), time(15))
        workshops = db.session.scalars(sa.select(Workshop).where(Workshop.stop_id == stop.id)
                                       .order_by(Workshop.starts_at)).all()
        assert [w.starts_at.astimezone(BERLIN).time() for w in workshops] == [time(11), time(13)]
    # Only the people of the moved stop with an email get one; the ticket of everyone shows the note.
    mails = db.session.scalars(sa.select(OutgoingMail)).all()
    assert [(m.to_address, m.kind) for m in mails] == [("ada@example.org", "stop-moved")]
    for party in (ada, carl):
        assert "Wir kommen eine Stunde später." in client.get(f"/t/{party.manage_token}?lang=en").get_data(as_text=True)
        assert db.session.get(Booking, party.id).status == BookingStatus.CONFIRMED
    updates = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "stop-update")).all()
    assert len(updates) == 3 and {e.detail["series"] for e in updates} == {"following"}


def test_a_changed_dry_run_must_be_shown_again_before_it_is_saved(client, coordinator, weekly):
    second = weekly[1]
    day = local(second)[0]
    form = {"place": str(second.place_id), "day": day.isoformat(), "start": "11:00", "end": "15:00",
            "scope": "all"}
    key = shown_key(post(client, f"/admin/stops/{second.id}/edit", form).get_data(as_text=True))
    # Another end time than the one shown: shown again, nothing saved.
    again = post(client, f"/admin/stops/{second.id}/edit", {**form, "end": "16:00", "shown": key, "confirm": "yes"})
    assert again.status_code == 200 and "4 stops of the series change" in again.get_data(as_text=True)
    db.session.expire_all()
    assert {local(s)[1] for s in db.session.scalars(sa.select(Stop))} == {time(10)}
    done = post(client, f"/admin/stops/{second.id}/edit",
                {**form, "end": "16:00", "shown": shown_key(again.get_data(as_text=True)), "confirm": "yes"})
    assert done.status_code == 303
    db.session.expire_all()
    assert {local(s)[1:] for s in db.session.scalars(sa.select(Stop))} == {(time(11), time(16))}


def test_a_whole_series_moved_by_a_week_may_take_its_own_dates(client, coordinator, weekly):
    """Each stop moves onto the date the next one leaves: that is no clash, the stops move together."""
    first = weekly[0]
    start = local(first)[0]
    day = start + timedelta(days=7)
    moves = series.save_moves(first.id, "all", service.StopDraft(first.place_id, at(day, 10), at(day, 14)),
                              coordinator)
    assert len(moves) == 4
    db.session.expire_all()
    days = sorted(local(s)[0] for s in db.session.scalars(sa.select(Stop)))
    assert days == [start + timedelta(days=7 * i) for i in range(1, 5)]


def test_a_clash_on_one_date_names_that_date_and_saves_nothing(client, coordinator, weekly, make_stop):
    third = weekly[2]
    day = local(third)[0]
    other = make_stop(starts_at=at(day, 15), hours=2, place="Marli-Forum")  # the same (only) bus, in the afternoon
    second = weekly[1]
    form = {"place": str(second.place_id), "day": local(second)[0].isoformat(), "start": "13:00", "end": "17:00",
            "scope": "following"}
    answer = post(client, f"/admin/stops/{second.id}/edit", form)
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert day.strftime("%d.%m.%Y") in html and "Marli-Forum" in html
    # Saving anyway (a forged confirmation) is refused by the service with the same date.
    with pytest.raises(service.Refused) as refused:
        series.save_moves(second.id, "following",
                          service.StopDraft(second.place_id, at(local(second)[0], 13), at(local(second)[0], 17)),
                          None)
    assert day.strftime("%d.%m.%Y") in str(refused.value)
    db.session.expire_all()
    assert {local(s)[1] for s in db.session.scalars(sa.select(Stop).where(Stop.id != other.id))} == {time(10)}


def test_the_series_keeps_wall_clock_time_across_the_change_of_summer_time(app, make_stop, make_workshop):
    """A series across the last Sunday of October: moved to 09:30 it is 09:30 on both sides of the change."""
    today = date.today()
    year = today.year if today < date(today.year, 10, 20) else today.year + 1
    sunday = max(date(year, 10, d) for d in range(25, 32) if date(year, 10, d).weekday() == 6)
    before, after = sunday - timedelta(days=5), sunday + timedelta(days=2)  # Tuesday before, Tuesday after
    first = make_stop(starts_at=at(before, 10), hours=3)
    make_workshop(first, starts_at=at(before, 11))
    service.create_series(first.id, [after], None, rule="weekly")
    service.create_series(first.id, [after + timedelta(days=7)], None, rule="weekly")
    moved = series.save_moves(first.id, "all", service.StopDraft(first.place_id, at(before, 9, 30),
                                                                 at(before, 12, 30)), None)
    assert len(moved) == 3
    db.session.expire_all()
    stops = db.session.scalars(sa.select(Stop).order_by(Stop.starts_at)).all()
    assert [local(s)[1:] for s in stops] == [(time(9, 30), time(12, 30))] * 3
    assert [w.starts_at.astimezone(BERLIN).time() for s in stops for w in s.workshops] == [time(10, 30)] * 3
    assert len({s.series_id for s in stops}) == 1


def test_stops_that_are_over_or_cancelled_stay_as_they_were(app, make_stop, now):
    past = make_stop(starts_at=at(service.local_day(now) - timedelta(days=7), 10), hours=2)
    day = service.local_day(now) + timedelta(days=14)
    service.create_series(past.id, [day, day + timedelta(days=7)], None)  # dates ahead of a stop that is over
    db.session.expire_all()
    ahead = db.session.scalars(sa.select(Stop).where(Stop.id != past.id).order_by(Stop.starts_at)).all()
    assert series.members(ahead[0], "all") == ahead
    assert series.reach(ahead[0]) == {"one": 1, "following": 2, "all": 2}
    from busapp.planning import changes

    changes.cancel(ahead[1].id, None, "Sturm", None)
    db.session.expire_all()
    assert series.reach(ahead[0]) == {"one": 1}


def test_cancelling_this_and_all_following_shows_the_dry_run_then_cancels_and_tells(client, coordinator, weekly):
    second, fourth = weekly[1], weekly[3]
    ada = book(fourth.workshops[0], "Ada", "ada@example.org")
    bea = book(weekly[0].workshops[0], "Bea", "bea@example.org")
    db.session.execute(sa.delete(OutgoingMail))
    db.session.commit()

    page = client.get(f"/admin/stops/{second.id}/cancel?scope=following").get_data(as_text=True)
    assert "1 party is booked or waiting" in page and "1 gets an email." in page
    assert page.count('href="/admin/stops/') >= 3  # the three stops, each with its own line
    # Sent without the dry run's key (the one-stop form of before): shown, not done.
    unseen = post(client, f"/admin/stops/{second.id}/cancel", {"reason": "Der Bus ist kaputt.", "scope": "following"})
    assert unseen.status_code == 200
    db.session.expire_all()
    assert db.session.get(Stop, fourth.id).status == StopStatus.PUBLISHED

    key = shown_key(page)
    empty = post(client, f"/admin/stops/{second.id}/cancel", {"reason": "", "scope": "following", "shown": key})
    assert empty.status_code == 422 and "Please give a reason" in empty.get_data(as_text=True)
    done = post(client, f"/admin/stops/{second.id}/cancel",
                {"reason": "Der Bus ist kaputt.", "scope": "following", "shown": key})
    assert done.status_code == 303
    db.session.expire_all()
    states = [db.session.get(Stop, s.id).status for s in weekly]
    assert states == [StopStatus.PUBLISHED] + [StopStatus.CANCELLED] * 3
    assert db.session.get(Booking, ada.id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, bea.id).status == BookingStatus.CONFIRMED
    assert [(m.to_address, m.kind) for m in db.session.scalars(sa.select(OutgoingMail))] == [
        ("ada@example.org", "stop-cancelled")]
    assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id)).where(AuditEvent.action == "stop-cancel")) == 3
    assert {w.status for s in weekly[1:] for w in db.session.get(Stop, s.id).workshops} == {WorkshopStatus.CANCELLED}


def test_a_workshop_changed_for_the_whole_series_changes_on_every_date(client, coordinator, weekly):
    workshop = weekly[1].workshops[0]
    form = {"title": "Videoanrufe mit WhatsApp", "topic": workshop.topic, "language": "de", "audience": "everyone",
            "start": "10:00", "duration_minutes": "60", "capacity": "10", "level": "first_steps",
            "walk_ins": "y", "scope": "all"}
    page = client.get(f"/admin/workshops/{workshop.id}/edit").get_data(as_text=True)
    assert "The same workshop in the whole series (4 workshops from today on)" in page
    dry = post(client, f"/admin/workshops/{workshop.id}/edit", form)
    assert dry.status_code == 200 and "The change reaches 4 dates" in dry.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(Workshop.id)).where(Workshop.capacity == 10)) == 0
    done = post(client, f"/admin/workshops/{workshop.id}/edit",
                {**form, "shown": shown_key(dry.get_data(as_text=True))})
    assert done.status_code == 303, done.get_data(as_text=True)
    db.session.expire_all()
    changed = db.session.scalars(sa.select(Workshop).where(Workshop.series_key == workshop.series_key)).all()
    assert len(changed) == 4 and {(w.title, w.capacity) for w in changed} == {("Videoanrufe mit WhatsApp", 10)}
    others = db.session.scalars(sa.select(Workshop).where(Workshop.series_key != workshop.series_key)).all()
    assert {w.title for w in others} == {"Online-Banking"}


def test_fewer_seats_than_taken_on_one_date_names_it_and_saves_nothing(app, client, coordinator, weekly):
    third = weekly[2].workshops[0]
    book(third, "Ada", "ada@example.org", n=4)
    workshop = weekly[0].workshops[0]
    draft = service.WorkshopDraft(title="Videoanrufe", topic=workshop.topic, starts_at=workshop.starts_at,
                                  duration_minutes=60, capacity=3)
    with app.test_request_context(), force_locale("en"), pytest.raises(service.Refused) as refused:
        series.save_workshops(workshop.id, "all", draft, None)
    day = weekly[2].starts_at.astimezone(BERLIN).strftime("%d.%m.%Y")
    assert day in str(refused.value) and "4 seats are taken" in str(refused.value)
    db.session.expire_all()
    assert {w.capacity for w in db.session.scalars(sa.select(Workshop).where(Workshop.series_key == 1))} == {6}


def test_more_seats_for_the_following_dates_move_waiting_parties_up(app, weekly):
    fourth = weekly[3].workshops[0]
    book(fourth, "Ada", "ada@example.org", n=4)
    waiting = book(fourth, "Bea", "bea@example.org", n=4)
    assert waiting.status == BookingStatus.WAITING
    workshop = weekly[2].workshops[0]
    draft = service.WorkshopDraft(title=workshop.title, topic=workshop.topic, starts_at=workshop.starts_at,
                                  duration_minutes=60, capacity=8)
    saved, promoted = series.save_workshops(workshop.id, "following", draft, None)
    assert len(saved) == 2 and [b.id for b in promoted] == [waiting.id]
    db.session.expire_all()
    assert db.session.get(Booking, waiting.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Workshop, fourth.id).seats_taken == 8
    assert db.session.get(Workshop, weekly[1].workshops[0].id).capacity == 6  # before "this one": unchanged


def test_cancelling_a_workshop_on_all_following_dates_leaves_the_other_workshop(client, coordinator, weekly):
    workshop = weekly[2].workshops[1]
    carl = book(weekly[3].workshops[1], "Carl", "0451 123456")
    page = client.get(f"/admin/workshops/{workshop.id}/cancel?scope=following").get_data(as_text=True)
    assert "1 gave only a phone number" in page
    done = post(client, f"/admin/workshops/{workshop.id}/cancel",
                {"reason": "Die Trainerin ist krank.", "scope": "following", "shown": shown_key(page)})
    assert done.status_code == 303
    db.session.expire_all()
    states = {(w.stop_id, w.title): w.status for w in db.session.scalars(sa.select(Workshop))}
    for i, stop in enumerate(weekly):
        assert states[(stop.id, "Online-Banking")] == (WorkshopStatus.CANCELLED if i >= 2 else WorkshopStatus.PUBLISHED)
        assert states[(stop.id, "Videoanrufe")] == WorkshopStatus.PUBLISHED
        assert db.session.get(Stop, stop.id).status == StopStatus.PUBLISHED
    assert db.session.get(Booking, carl.id).status == BookingStatus.CANCELLED
    calls = client.get(f"/admin/stops/{weekly[3].id}/calls").get_data(as_text=True)
    assert "Carl" in calls


def test_an_imported_line_with_a_repeat_rule_is_a_series_and_goes_with_its_import(app):
    from busapp.models import ImportBatch
    from busapp.planning import batches, tourcsv
    from tests.planning.test_tour_import_schema import schema_file

    day = date.today() + timedelta(days=30)
    reading = tourcsv.write(schema_file(
        f"York,Mobile,D1,Holtby,Church Rise,,,,,,Public,10:00,10:45,FREQ=WEEKLY;COUNT=4,{day},,,",
        f"York,Mobile,D1,Kexby,Old Hall Lane,,,,,,Public,11:00,11:45,,{day},,,"), None)
    assert not reading.errors, reading.problems()[:3]
    weekly = db.session.scalars(sa.select(Stop).where(Stop.batch_line == 2).order_by(Stop.starts_at)).all()
    [single] = db.session.scalars(sa.select(Stop).where(Stop.batch_line == 3)).all()
    assert len(weekly) == 4 and len({s.series_id for s in weekly}) == 1 and single.series_id is None
    assert db.session.get(StopSeries, weekly[0].series_id).rule == "FREQ=WEEKLY;COUNT=4"
    assert series.reach(weekly[1]) == {"one": 1, "following": 3, "all": 4}
    batches.remove(db.session.scalar(sa.select(ImportBatch.id)), None)
    assert db.session.scalar(sa.select(sa.func.count(StopSeries.id))) == 0


def test_a_stop_into_the_night_is_repeated_into_the_night(app, make_stop):
    """22:00 to 00:30 stays 22:00 to 00:30 on every date (the end on the day after), instead of a copy that ends
    before it starts."""
    day = next_weekday(4, weeks_ahead=3)
    late = make_stop(starts_at=at(day, 22), hours=2.5)
    copies = service.create_series(late.id, [day + timedelta(days=7), day + timedelta(days=14)], None, rule="weekly")
    assert [(local(c)[0], local(c)[1:]) for c in copies] == [
        (day + timedelta(days=7), (time(22), time(0, 30))), (day + timedelta(days=14), (time(22), time(0, 30)))]
    assert all(c.ends_at - c.starts_at == timedelta(hours=2.5) for c in copies)
    moved = series.save_moves(late.id, "all", service.StopDraft(late.place_id, at(day, 21), at(day + timedelta(days=1), 0)),
                              None)
    assert len(moved) == 3
    db.session.expire_all()
    assert {local(s)[1:] for s in db.session.scalars(sa.select(Stop))} == {(time(21), time(0))}
