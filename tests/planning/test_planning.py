"""Coordinators' planning: the rules for stops and workshops, capacity, series, the pages and their menu."""
from __future__ import annotations

import re
import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.booking import service as booking_service
from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, Course, Place, Stop, StopStatus, Workshop, WorkshopStatus
from busapp.planning import service
from tests.conftest import csrf_token

BERLIN = ZoneInfo("Europe/Berlin")


def next_weekday(weekday: int, weeks_ahead: int = 2) -> date:
    """A day of the given weekday a few weeks ahead, that is no public holiday."""
    day = date.today() + timedelta(weeks=weeks_ahead)
    day += timedelta(days=(weekday - day.weekday()) % 7)
    while service._holiday_table("DE", "SH", day.year, "de").get(day):  # Lübeck's, the tests' default profile
        day += timedelta(weeks=1)
    return day


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=BERLIN)


@pytest.fixture
def coordinator(client, login):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"  # the messages checked below are the English ones
    return login("coordinator")


def post(client, path, data, **kw):
    token = csrf_token(client, "/admin/people")
    return client.post(path, data={"csrf_token": token, **data}, **kw)


def stop_form(place, day: date, start="10:00", end="14:00", **extra) -> dict:
    return {"place": str(place.id), "day": day.isoformat(), "start": start, "end": end, **extra}


@pytest.fixture
def library(make_place, make_district):
    """A place to plan stops at."""
    return make_place(make_district(), "Stadtteilbibliothek")


# ---------------------------------------------------------------------------------------------------------------
# Stops

def test_a_new_stop_is_saved_as_a_draft_and_published_with_its_workshops(client, coordinator, library, make_district):
    district = make_district()
    day = next_weekday(1)
    response = post(client, "/admin/stops/new", stop_form(library, day))
    assert response.status_code == 303, response.get_data(as_text=True)
    stop = db.session.scalar(sa.select(Stop))
    assert stop.status == StopStatus.DRAFT and stop.starts_at == at(day, 10)
    response = post(client, f"/admin/stops/{stop.id}/workshops/new",
                    {"title": "Erste Schritte", "topic": "smartphone_basics", "language": "de", "audience": "seniors",
                     "start": "10:30", "duration_minutes": "60", "capacity": "8"})
    assert response.status_code == 303, response.get_data(as_text=True)
    assert post(client, f"/admin/stops/{stop.id}/publish", {}).status_code == 303
    db.session.expire_all()
    assert stop.status == StopStatus.PUBLISHED
    assert [w.status for w in stop.workshops] == [WorkshopStatus.PUBLISHED]
    assert client.get(f"/s/{stop.id}").status_code == 200
    assert "Erste Schritte" in client.get(f"/s/{stop.id}").get_data(as_text=True)
    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"stop-create", "workshop-create", "stop-publish"} <= actions


@pytest.mark.parametrize("start, end, day_offset, field, words", [
    ("14:00", "10:00", 0, "end", "The end must be after the start"),
    ("10:00", "10:00", 0, "end", "The end must be after the start"),
    ("06:00", "23:00", 0, "end", "at most 12 hours"),
    ("10:00", "12:00", -400, "day", "in the past"),
])
def test_bad_stop_times_are_refused_next_to_the_field_with_the_input_kept(client, coordinator, library, make_district,
                                                                          start, end, day_offset, field, words):
    district = make_district()
    day = next_weekday(2) + timedelta(days=day_offset)
    response = post(client, "/admin/stops/new", stop_form(library, day, start, end))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert re.search(rf'id="field-{field}"[^>]*>.*?{words}', html, re.S), html
    assert re.search(rf'<option(?=[^>]*value="{library.id}")(?=[^>]*selected)', html)  # what was typed is kept
    assert f'value="{start}"' in html
    assert db.session.scalar(sa.select(sa.func.count(Stop.id))) == 0


def test_garbage_input_is_answered_not_crashed(client, coordinator, make_district):
    district = make_district()
    response = post(client, "/admin/stops/new", {"place": "x", "day": "32.13.2026", "start": "25:99", "end": "nope"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Please choose a place" in html
    for name in ("day", "start", "end"):
        assert re.search(rf'id="field-{name}"[^>]*>.*?error-message', html, re.S), name
    assert db.session.scalar(sa.select(sa.func.count(Stop.id))) == 0


def test_a_stop_may_be_written_with_a_german_date(client, coordinator, library, make_district):
    district = make_district()
    day = next_weekday(3)
    response = post(client, "/admin/stops/new", stop_form(library, day) | {"day": day.strftime("%d.%m.%Y")})
    assert response.status_code == 303


def test_the_bus_cannot_be_at_two_stops_at_once(client, coordinator, library, make_district, make_stop):
    day = next_weekday(1)
    make_stop(starts_at=at(day, 9), hours=3, place="Marktplatz Moisling")
    response = post(client, "/admin/stops/new", stop_form(library, day, "11:30", "15:00"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Marktplatz Moisling" in html and "09:00" in html and "12:00" in html
    # Touching ends are fine: the bus leaves at 12:00 and arrives at 12:00.
    assert post(client, "/admin/stops/new", stop_form(library, day, "12:00", "15:00")).status_code == 303


def test_a_cancelled_stop_does_not_block_its_time(client, coordinator, library, make_district, make_stop):
    day = next_weekday(1)
    make_stop(starts_at=at(day, 9), hours=3, status=StopStatus.CANCELLED)
    assert post(client, "/admin/stops/new", stop_form(library, day, "10:00", "12:00")).status_code == 303


def test_moving_a_stop_moves_its_workshops_keeps_bookings_and_raises_sequence(client, coordinator, library, make_district,
                                                                                make_stop, make_workshop):
    day = next_weekday(4)
    stop = make_stop(library.district, starts_at=at(day, 10), hours=4, place=library)
    workshop = make_workshop(stop, starts_at=at(day, 11))
    booking = booking_service.create(workshop.id, party_size=2, name="Ada", contact=None, needs_note=None,
                                     idempotency_key="k" * 20, locale="de").booking
    later = day + timedelta(days=1)
    response = post(client, f"/admin/stops/{stop.id}/edit",
                    stop_form(library, later, "13:00", "17:00", confirm="yes", note="Einen Tag später."))
    assert response.status_code == 303, response.get_data(as_text=True)
    db.session.expire_all()
    assert stop.starts_at == at(later, 13) and stop.sequence == 1
    assert workshop.starts_at == at(later, 14)
    assert db.session.get(Booking, booking.id).status == BookingStatus.CONFIRMED
    # Shrinking the stop so that the workshop falls out is refused, naming the workshop.
    response = post(client, f"/admin/stops/{stop.id}/edit",
                    stop_form(library, later, "13:00", "14:30", confirm="yes", note="Kürzer."))
    assert response.status_code == 422 and "Smartphone-Grundlagen" in response.get_data(as_text=True)


def test_a_public_holiday_asks_for_confirmation(client, coordinator, library, make_district):
    district = make_district()
    year = date.today().year + 1
    christmas = date(year, 12, 25)
    response = post(client, "/admin/stops/new", stop_form(library, christmas))
    assert response.status_code == 422
    assert "Erster Weihnachtstag" in response.get_data(as_text=True) or "Christmas" in response.get_data(as_text=True)
    assert post(client, "/admin/stops/new", stop_form(library, christmas, holiday_ok="y")).status_code == 303


def test_the_live_check_answers_while_typing_and_saves_nothing(client, coordinator, library, make_district, make_stop):
    day = next_weekday(1)
    make_stop(starts_at=at(day, 9), hours=3, place="Marktplatz Moisling")
    response = post(client, "/admin/stops/check", stop_form(library, day, "11:00", "13:00"),
                    headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Marktplatz Moisling" in html and "<html" not in html
    ok = post(client, "/admin/stops/check", stop_form(library, day, "13:00", "15:00"), headers={"HX-Request": "true"})
    assert "no clash" in ok.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Stop.id))) == 1


def test_unpublishing_is_refused_once_people_booked(client, coordinator, make_workshop):
    workshop = make_workshop()
    booking_service.create(workshop.id, party_size=1, name="Ada", contact=None, needs_note=None,
                           idempotency_key="u" * 20, locale="de")
    assert post(client, f"/admin/stops/{workshop.stop_id}/unpublish", {}).status_code == 303
    assert "Cancel it instead" in client.get(f"/admin/stops/{workshop.stop_id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Stop, workshop.stop_id).status == StopStatus.PUBLISHED


# ---------------------------------------------------------------------------------------------------------------
# Workshops

def workshop_form(**kw) -> dict:
    return {"title": "Videotelefonie", "topic": "video_calls", "language": "de", "audience": "everyone",
            "start": "10:00", "duration_minutes": "60", "capacity": "8", **kw}


@pytest.fixture
def four_hour_stop(make_district, make_stop):
    day = next_weekday(2)
    return make_stop(make_district(), starts_at=at(day, 10), hours=4, status=StopStatus.DRAFT)


def test_workshop_must_lie_within_its_stop(client, coordinator, four_hour_stop):
    response = post(client, f"/admin/stops/{four_hour_stop.id}/workshops/new",
                    workshop_form(start="13:30", duration_minutes="60"))
    assert response.status_code == 422 and "within its stop" in response.get_data(as_text=True)
    response = post(client, f"/admin/stops/{four_hour_stop.id}/workshops/new", workshop_form(start="09:00"))
    assert response.status_code == 422


def test_workshops_do_not_overlap_in_the_bus_unless_parallel(client, coordinator, four_hour_stop):
    path = f"/admin/stops/{four_hour_stop.id}/workshops/new"
    assert post(client, path, workshop_form(title="Erster Kurs", start="10:00")).status_code == 303
    response = post(client, path, workshop_form(title="Zweiter Kurs", start="10:30"))
    assert response.status_code == 422 and "Erster Kurs" in response.get_data(as_text=True)
    assert post(client, path, workshop_form(title="Zweiter Kurs", start="10:30", parallel="y")).status_code == 303
    assert post(client, path, workshop_form(title="Dritter Kurs", start="11:00")).status_code == 303


@pytest.mark.parametrize("capacity", ["0", "10000", "-3", "acht"])
def test_capacity_out_of_range_is_refused(client, coordinator, four_hour_stop, capacity):
    response = post(client, f"/admin/stops/{four_hour_stop.id}/workshops/new", workshop_form(capacity=capacity))
    assert response.status_code == 422
    assert re.search(r'id="field-capacity"[^>]*>.*?error-message', response.get_data(as_text=True), re.S)
    assert db.session.scalar(sa.select(sa.func.count(Workshop.id))) == 0


@pytest.fixture
def published_workshop(make_district, make_stop, make_workshop):
    """A workshop from 10:00 at a published stop 10:00-14:00 some weeks ahead, with the given capacity."""

    def make(capacity: int) -> Workshop:
        day = next_weekday(3)
        stop = make_stop(make_district(), starts_at=at(day, 10), hours=4)
        return make_workshop(stop, capacity=capacity, starts_at=at(day, 10))

    return make


def _book(workshop_id: int, n: int, key: str) -> Booking:
    return booking_service.create(workshop_id, party_size=n, name=f"Gast {key}", contact=None, needs_note=None,
                                  idempotency_key=key.ljust(20, "x"), locale="de").booking


def test_capacity_below_the_seats_taken_is_refused_with_the_count(client, coordinator, published_workshop):
    workshop = published_workshop(8)
    _book(workshop.id, 2, "a")
    _book(workshop.id, 3, "b")
    start = workshop.starts_at.astimezone(BERLIN).strftime("%H:%M")
    response = post(client, f"/admin/workshops/{workshop.id}/edit",
                    workshop_form(title=workshop.title, topic=workshop.topic, start=start, capacity="4"))
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "5 seats are taken (by 2 parties)" in html
    db.session.expire_all()
    assert db.session.get(Workshop, workshop.id).capacity == 8


def test_raising_capacity_moves_waiting_parties_up_at_once(client, coordinator, published_workshop):
    workshop = published_workshop(2)
    _book(workshop.id, 2, "full")
    first = _book(workshop.id, 1, "w1")
    second = _book(workshop.id, 2, "w2")
    assert first.status == BookingStatus.WAITING and second.status == BookingStatus.WAITING
    start = workshop.starts_at.astimezone(BERLIN).strftime("%H:%M")
    response = post(client, f"/admin/workshops/{workshop.id}/edit",
                    workshop_form(title=workshop.title, topic=workshop.topic, start=start, capacity="5"))
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, first.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Booking, second.id).status == BookingStatus.CONFIRMED
    assert db.session.get(Workshop, workshop.id).seats_taken == 5


def test_raising_capacity_twice_at_once_moves_each_party_up_exactly_once(app, published_workshop):
    workshop = published_workshop(2)
    _book(workshop.id, 2, "full")
    waiting = [_book(workshop.id, 1, f"w{i}") for i in range(6)]
    draft = service.WorkshopDraft(title=workshop.title, topic=workshop.topic, starts_at=workshop.starts_at,
                                  duration_minutes=60, capacity=6)
    wid, sid = workshop.id, workshop.stop_id
    errors = []
    barrier = threading.Barrier(4)

    def raise_it(capacity):
        with app.app_context():
            try:
                barrier.wait()
                service.save_workshop(sid, wid, service.WorkshopDraft(**{**draft.__dict__, "capacity": capacity}), None)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=raise_it, args=(c,)) for c in (7, 7, 7, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    db.session.expire_all()
    final = db.session.get(Workshop, wid)
    confirmed = db.session.scalars(sa.select(Booking).where(Booking.workshop_id == wid,
                                                            Booking.status == BookingStatus.CONFIRMED)).all()
    assert final.seats_taken == sum(b.party_size for b in confirmed) <= final.capacity
    promotions = db.session.scalars(sa.select(AuditEvent.object_id).where(AuditEvent.action == "booking-promote")).all()
    assert final.seats_taken == 7
    assert len(promotions) == len(set(promotions)) == 5
    assert {b.id for b in waiting[:final.seats_taken - 2]} == {int(x) for x in promotions}


# ---------------------------------------------------------------------------------------------------------------
# Series

def test_recurrence_rules():
    tuesday = date(2026, 12, 8)  # the 2nd Tuesday of December 2026
    assert service.recurrence(tuesday, "weekly", count=3) == [date(2026, 12, 15), date(2026, 12, 22), date(2026, 12, 29)]
    assert service.recurrence(tuesday, "biweekly", count=2) == [date(2026, 12, 22), date(2027, 1, 5)]
    assert service.recurrence(tuesday, "monthly", count=3) == [date(2027, 1, 12), date(2027, 2, 9), date(2027, 3, 9)]
    assert service.recurrence(tuesday, "weekly", until=date(2026, 12, 29),
                              exceptions={date(2026, 12, 22)}) == [date(2026, 12, 15), date(2026, 12, 29)]
    # A 5th weekday skips the months that have none.
    assert service.recurrence(date(2026, 12, 29), "monthly", count=2) == [date(2027, 3, 30), date(2027, 6, 29)]


def test_repeat_previews_then_writes_all(client, coordinator, make_district, make_stop, make_workshop):
    day = next_weekday(1)
    stop = make_stop(make_district(), starts_at=at(day, 10), hours=3, status=StopStatus.DRAFT)
    make_workshop(stop, status=WorkshopStatus.DRAFT, starts_at=at(day, 10))
    path = f"/admin/stops/{stop.id}/repeat"
    preview = post(client, path, {"rule": "biweekly", "count": "4"})
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "4 new dates" in html and "That makes 5 stops: this one and 4 new ones." in html
    assert db.session.scalar(sa.select(sa.func.count(Stop.id))) == 1
    done = post(client, path, {"rule": "biweekly", "count": "4", "confirm": "yes"})
    assert done.status_code == 303
    stops = db.session.scalars(sa.select(Stop).order_by(Stop.starts_at)).all()
    assert [s.starts_at for s in stops] == [at(day + timedelta(weeks=2 * i), 10) for i in range(5)]
    assert all(len(s.workshops) == 1 and s.workshops[0].seats_taken == 0 for s in stops)


def test_repeat_writes_nothing_when_one_date_clashes(client, coordinator, make_district, make_stop):
    district = make_district()
    day = next_weekday(1)
    stop = make_stop(district, starts_at=at(day, 10), hours=3)
    make_stop(district, starts_at=at(day + timedelta(weeks=3), 12), hours=2, place="Markt")
    path = f"/admin/stops/{stop.id}/repeat"
    preview = post(client, path, {"rule": "weekly", "count": "4"}).get_data(as_text=True)
    assert "not possible" in preview and "Markt" in preview
    response = post(client, path, {"rule": "weekly", "count": "4", "confirm": "yes"})
    assert response.status_code == 422 and "Nothing was saved" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Stop.id))) == 2
    # Leaving the clashing date out makes the series possible.
    exception = (day + timedelta(weeks=3)).strftime("%d.%m.%Y")
    response = post(client, path, {"rule": "weekly", "count": "3", "exceptions": exception, "confirm": "yes"})
    assert response.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(Stop.id))) == 5


def test_series_is_all_or_nothing_when_a_clash_appears_after_the_preview(app, make_district, make_stop):
    district = make_district()
    day = next_weekday(1)
    stop = make_stop(district, starts_at=at(day, 10), hours=3)
    dates = service.recurrence(day, "weekly", count=4)
    assert not any(o.conflict for o in service.preview_series(stop, dates))
    make_stop(district, starts_at=at(dates[-1], 9), hours=2, place="Zuletzt geplant")
    with pytest.raises(service.Refused):
        service.create_series(stop.id, dates, None)
    assert db.session.scalar(sa.select(sa.func.count(Stop.id))) == 2


# ---------------------------------------------------------------------------------------------------------------
# Courses, week view, menu, landing

def test_course_catalogue_fills_a_new_workshop(client, coordinator, four_hour_stop):
    response = post(client, "/admin/courses/new", {"title": "WhatsApp für Einsteiger", "topic": "messengers",
                                                   "audience": "seniors", "level": "first_steps", "language": "de",
                                                   "duration_minutes": "90", "capacity": "6",
                                                   "what_to_bring": "Eigenes Handy"})
    assert response.status_code == 303
    course = db.session.scalar(sa.select(Course))
    html = client.get(f"/admin/stops/{four_hour_stop.id}/workshops/new?course={course.id}").get_data(as_text=True)
    assert 'value="WhatsApp für Einsteiger"' in html and 'value="90"' in html and "Eigenes Handy" in html


def test_week_view_marks_holidays_and_shows_drafts(client, coordinator, make_district, make_stop):
    year = date.today().year + 1
    make_stop(make_district(), starts_at=at(date(year, 12, 23), 10), status=StopStatus.DRAFT, place="Vor Weihnachten")
    html = client.get(f"/admin?week={year}-12-23").get_data(as_text=True)
    assert "Vor Weihnachten" in html and ("Erster Weihnachtstag" in html or "Christmas Day" in html)
    month = client.get(f"/admin/month?month={year}-12").get_data(as_text=True)
    assert "Vor Weihnachten" in month


def test_a_full_day_shows_its_first_stops_in_the_month_and_every_stop_in_its_week(client, coordinator, make_district,
                                                                                  make_stop, make_workshop):
    from busapp.planning.views import MONTH_STOPS_PER_DAY

    day = next_weekday(2, weeks_ahead=6)
    district = make_district()
    # 00:30 in Lübeck is still the evening before in UTC: the stop belongs to this day all the same.
    starts = [at(day, 0, 30)] + [at(day, 8 + i) for i in range(MONTH_STOPS_PER_DAY + 2)]
    stops = [make_stop(district, starts_at=s, hours=0.5, place=f"Halt {i:02d}") for i, s in enumerate(starts)]
    make_stop(district, starts_at=at(day - timedelta(days=1), 23, 0), hours=0.5, place="Am Abend davor")
    make_workshop(stops[0]), make_workshop(stops[0], title="Videoanrufe")

    month = client.get(f"/admin/month?month={day:%Y-%m}").get_data(as_text=True)
    shown = re.findall(r"Halt \d\d", month)
    assert shown == [f"Halt {i:02d}" for i in range(MONTH_STOPS_PER_DAY)]
    assert "2 workshops" in month and "10 stops in this month" in month
    link = f'href="/admin?week={day.isoformat()}#day-{day.isoformat()}">3 more stops: show the whole day'
    assert link in month
    # The week shows every stop of the day, in the day's own box; the evening before stays in its own day.
    week = client.get(f"/admin?week={day.isoformat()}").get_data(as_text=True)
    box = week[week.index(f'id="day-{day.isoformat()}"'):]
    box = box[:box.index("</li>")]
    assert re.findall(r"Halt \d\d", box) == [f"Halt {i:02d}" for i in range(len(stops))]
    assert "Am Abend davor" in week and "Am Abend davor" not in box


@pytest.mark.parametrize("path", ["/admin?week=0001-01-01", "/admin?week=9999-12-31", "/admin/month?month=0001-01",
                                  "/admin/month?month=9999-12", "/admin/month?month=2026-13", "/admin?week=x"])
def test_week_and_month_at_the_ends_of_the_calendar_show_the_current_ones(client, coordinator, path):
    page = client.get(path)
    assert page.status_code == 200
    assert str(date.today().year) in page.get_data(as_text=True)


def test_coordinator_lands_on_planning_and_sees_one_menu(client, make_user):
    from tests.conftest import PASSWORD

    user = make_user("coordinator")
    token = csrf_token(client, "/signin")
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.headers["Location"].endswith("/admin")
    for path in ("/admin", "/admin/feedback", "/admin/posters"):
        html = client.get(path).get_data(as_text=True)
        nav = html[html.index('<nav class="site-nav'):html.index("</nav>")]
        assert nav.count('href="/admin/feedback"') == 1, path
        assert nav.count('href="/admin/posters"') == 1, path
        assert nav.count('href="/admin"') == 1, path


def test_staff_cannot_reach_planning(client, login):
    login("staff")
    assert client.get("/admin").status_code == 403
    assert client.get("/admin/stops/new").status_code == 403


# ---------------------------------------------------------------------------------------------------------------
# People and audit log

def test_people_create_disable_and_reset(client, coordinator):
    response = post(client, "/admin/people", {"email": "Neu@Example.org", "role": "staff", "password": "kurz"})
    assert response.status_code == 422
    response = post(client, "/admin/people", {"email": "Neu@Example.org", "role": "staff",
                                              "password": "ein langes passwort"})
    assert response.status_code == 303
    from busapp.models import User

    user = db.session.scalar(sa.select(User).where(User.email == "neu@example.org"))
    assert user.active and user.check_password("ein langes passwort")
    assert post(client, f"/admin/people/{user.id}/active", {}).status_code == 303
    db.session.expire_all()
    assert not db.session.get(User, user.id).active
    assert post(client, f"/admin/people/{user.id}/password", {"password": "noch ein passwort"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(User, user.id).check_password("noch ein passwort")
    # Nobody locks themselves out.
    post(client, f"/admin/people/{coordinator.id}/active", {})
    db.session.expire_all()
    assert db.session.get(User, coordinator.id).active
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "created the account" in log and "from signing in" in log and "a new password" in log


def test_audit_log_filters_and_cannot_be_changed(client, coordinator, make_district, make_stop):
    stop = make_stop(make_district())
    from busapp.models import audit

    audit("stop-update", stop, before={"place": "Alt"}, after={"place": "Neu"})
    audit("stop-update", make_stop(make_district(), starts_at=stop.starts_at + timedelta(days=1)), after={"place": "X"})
    db.session.commit()
    html = client.get(f"/admin/audit?stop={stop.id}").get_data(as_text=True)
    assert "Alt" in html and "&#34;X&#34;" not in html and '"X"' not in html
    assert post(client, "/admin/audit", {}).status_code == 405


def test_booking_export_is_audited(client, coordinator, make_workshop):
    workshop = make_workshop()
    _book(workshop.id, 2, "csv")
    response = client.get(f"/admin/workshops/{workshop.id}/bookings.csv")
    assert response.status_code == 200 and "Gast csv" in response.get_data(as_text=True)
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "bookings-export")) is not None


def test_a_workshop_entered_with_turkish_text_shows_it_on_the_turkish_page_and_calendar(client, coordinator, library):
    day = next_weekday(2)
    assert post(client, "/admin/stops/new", stop_form(library, day)).status_code == 303
    stop = db.session.scalar(sa.select(Stop))
    form = client.get(f"/admin/stops/{stop.id}/workshops/new").get_data(as_text=True)
    # One closed <details> per language with a field per text, German (the workshop's own language) not among them.
    assert '<details class="translation"' in form and 'name="text-tr-title"' in form
    assert 'name="text-de-title"' not in form and 'name="text-ar-bring"' in form
    too_long = post(client, f"/admin/stops/{stop.id}/workshops/new",
                    {"title": "Erste Schritte", "topic": "smartphone_basics", "language": "de", "start": "10:30",
                     "duration_minutes": "60", "capacity": "8", "text-tr-title": "x" * 161})
    assert too_long.status_code == 422 and db.session.scalar(sa.select(Workshop)) is None
    assert 'id="text-tr-title-error"' in too_long.get_data(as_text=True)
    response = post(client, f"/admin/stops/{stop.id}/workshops/new",
                    {"title": "Erste Schritte", "topic": "smartphone_basics", "language": "de", "start": "10:30",
                     "duration_minutes": "60", "capacity": "8", "bring": "Ihr Handy",
                     "text-tr-title": "İlk adımlar", "text-tr-description": "Akıllı telefonla ilk adımlar.",
                     "text-tr-bring": "Telefonunuz", "text-uk-title": " ", "text-en-title": "First steps"})
    assert response.status_code == 303, response.get_data(as_text=True)
    workshop = db.session.scalar(sa.select(Workshop))
    assert workshop.texts == {"tr": {"title": "İlk adımlar", "description": "Akıllı telefonla ilk adımlar.",
                                     "bring": "Telefonunuz"}, "en": {"title": "First steps"}}
    edit = client.get(f"/admin/workshops/{workshop.id}/edit").get_data(as_text=True)
    assert 'value="İlk adımlar"' in edit
    assert post(client, f"/admin/stops/{stop.id}/publish", {}).status_code == 303
    turkish = client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)
    assert "İlk adımlar" in turkish and "Telefonunuz" in turkish
    calendar = client.get(f"/s/{stop.id}.ics?lang=tr").get_data(as_text=True)
    assert "İlk adımlar" in calendar and "Erste Schritte" not in calendar
    german = client.get(f"/s/{stop.id}.ics?lang=de").get_data(as_text=True)
    assert "Erste Schritte" in german


def test_a_place_takes_coordinates_with_a_decimal_comma(client, coordinator, make_district):
    """Coordinators type "53,8655" as readily as "53.8655"; both are kept as the same number."""
    district = make_district()
    response = post(client, "/admin/places/new", {"district_id": str(district.id), "name": "Marktplatz Kücknitz",
                                                  "lat": "53,9165", "lon": "10.8172"})
    assert response.status_code == 303, response.get_data(as_text=True)
    place = db.session.scalar(sa.select(Place).where(Place.name == "Marktplatz Kücknitz"))
    assert place.lat == pytest.approx(53.9165) and place.lon == pytest.approx(10.8172)
    wrong = post(client, "/admin/places/new", {"district_id": str(district.id), "name": "Irgendwo", "lat": "53,9,1"})
    assert wrong.status_code == 422 and 'value="53,9,1"' in wrong.get_data(as_text=True)


def test_the_catalogue_is_called_kursvorlagen_in_german(client, login):
    """In German the reusable course descriptions are "Kursvorlagen", in the menu and on the page itself."""
    login("coordinator")
    page = client.get("/admin/courses", headers={"Accept-Language": "de"}).get_data(as_text=True)
    assert "<h1>Kursvorlagen</h1>" in page and "Kurskatalog" not in page
    assert re.search(r'href="/admin/courses"[^>]*>\s*Kursvorlagen\s*<', page)


def test_coordinators_see_which_texts_are_missing_in_which_language(client, coordinator, make_workshop):
    done = make_workshop(title="Alles übersetzt", bring="Handy")
    done.texts = {tag: {"title": "x", "bring": "y"} for tag in ("en", "tr", "uk", "ar", "pl", "ru", "fa", "de-x-ls")}
    gap = make_workshop(title="Videoanrufe", bring="Handy",
                        texts={tag: {"title": "x", "bring": "y"} for tag in ("en", "uk", "ar", "pl", "ru", "fa")})
    gap.texts = {**gap.texts, "tr": {"title": "Görüntülü görüşmeler"}}
    db.session.commit()
    assert [(w.title, g) for w, g in service.missing_texts()] == \
        [("Videoanrufe", {"tr": ["bring"], "de-x-ls": ["title", "bring"]})]
    page = client.get("/admin/translations").get_data(as_text=True)
    assert "Videoanrufe" in page and "Alles übersetzt" not in page
    assert re.search(r'<span lang="tr">Türkçe</span></dt>\s*<dd>What to bring</dd>', page)
    assert 'href="/admin/translations"' in page  # in the coordinators' menu


def test_how_to_find_the_bus_is_given_per_language_in_the_place_form(client, coordinator, make_district, make_stop):
    district = make_district()
    form = client.get("/admin/places/new").get_data(as_text=True)
    assert 'name="text-tr-finding_note"' in form and 'name="text-de-finding_note"' not in form
    too_long = post(client, "/admin/places/new", {"district_id": str(district.id), "name": "Markt",
                                                  "text-tr-finding_note": "x" * 301})
    assert too_long.status_code == 422 and db.session.scalar(sa.select(Place)) is None
    assert 'id="text-tr-finding_note-error"' in too_long.get_data(as_text=True)
    response = post(client, "/admin/places/new", {"district_id": str(district.id), "name": "Markt",
                                                  "finding_note": "Eingang hinten", "text-tr-finding_note": "Arka giriş"})
    assert response.status_code == 303, response.get_data(as_text=True)
    place = db.session.scalar(sa.select(Place))
    assert place.texts == {"tr": {"finding_note": "Arka giriş"}}
    stop = make_stop(district, place=place)
    assert "Arka giriş" in client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)
    assert "Eingang hinten" in client.get(f"/s/{stop.id}?lang=pl").get_data(as_text=True)
