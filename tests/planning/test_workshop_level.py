"""Level, what to bring and walk-ins: set by coordinators, kept on every way a workshop is made or copied.

Stop pages, booking forms and tickets show a workshop's level, what to bring and whether people may just come by.
Before, no coordinator form set them, so every real workshop said "first steps, no experience needed" and "just come
by": the workshop and course forms set them now; saving, a workshop from a course, a series of stops and the tour
CSV keep them; and the door seats a walk-in only where the workshop welcomes them."""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import sqlalchemy as sa

from busapp.checkin import service as checkin
from busapp.checkin.service import Action
from busapp.core.extensions import db
from busapp.models import Course, Stop, StopStatus, Workshop, WorkshopStatus
from busapp.planning import service, tourcsv
from tests.planning.test_planning import at, coordinator, four_hour_stop, next_weekday, post, workshop_form  # noqa: F401


def _only_workshop() -> Workshop:
    db.session.expire_all()
    return db.session.scalars(sa.select(Workshop)).one()


def test_the_workshop_form_sets_level_bring_and_walk_ins(client, coordinator, four_hour_stop):
    path = f"/admin/stops/{four_hour_stop.id}/workshops/new"
    # A checkbox left unticked is not sent at all: walk_ins off.
    response = post(client, path, workshop_form(level="some_experience", bring="Ihr Handy und das Ladekabel"))
    assert response.status_code == 303
    workshop = _only_workshop()
    assert (workshop.level, workshop.bring, workshop.walk_ins) == ("some_experience", "Ihr Handy und das Ladekabel",
                                                                   False)
    # Saving it again (another title) keeps them: save_workshop copied a fixed list that left them out.
    response = post(client, f"/admin/workshops/{workshop.id}/edit",
                    workshop_form(title="Videoanrufe", level="some_experience", bring="Ihr Handy", walk_ins="y"))
    assert response.status_code == 303
    workshop = _only_workshop()
    assert (workshop.title, workshop.level, workshop.bring, workshop.walk_ins) == (
        "Videoanrufe", "some_experience", "Ihr Handy", True)
    # The edit form shows what is stored.
    html = client.get(f"/admin/workshops/{workshop.id}/edit").get_data(as_text=True)
    assert '<option selected value="some_experience">' in html and 'value="Ihr Handy"' in html


def test_a_workshop_from_a_course_keeps_its_level_bring_and_walk_ins(client, coordinator, four_hour_stop):
    response = post(client, "/admin/courses/new", {
        "title": "Online-Banking", "topic": "online_banking", "audience": "everyone", "level": "some_experience",
        "language": "de", "duration_minutes": "60", "capacity": "6", "what_to_bring": "Zugangsdaten Ihrer Bank",
        "description": "Sicher bezahlen."})
    assert response.status_code == 303
    course = db.session.scalar(sa.select(Course))
    assert course.walk_ins is False  # the box was not ticked
    html = client.get(f"/admin/stops/{four_hour_stop.id}/workshops/new?course={course.id}").get_data(as_text=True)
    assert '<option selected value="some_experience">' in html
    assert 'value="Zugangsdaten Ihrer Bank"' in html
    assert "Please bring" not in html  # "what to bring" is no longer pushed into the description
    walk_ins = re.search(r'<input[^>]*name="walk_ins"[^>]*>', html).group(0)
    assert "checked" not in walk_ins


def test_a_series_of_stops_copies_level_bring_walk_ins_and_translations(app, make_district, make_stop, make_workshop):
    day = next_weekday(1)
    stop = make_stop(make_district(), starts_at=at(day, 10), hours=3, status=StopStatus.DRAFT)
    make_workshop(stop, status=WorkshopStatus.DRAFT, starts_at=at(day, 10), level="some_experience",
                  bring="Ihr Handy", walk_ins=False, texts={"tr": {"title": "Akıllı telefon"}})
    service.create_series(stop.id, service.recurrence(day, "weekly", count=2), None)
    copies = db.session.scalars(sa.select(Workshop).join(Stop).where(Stop.id != stop.id)).all()
    assert len(copies) == 2
    for w in copies:
        assert (w.level, w.bring, w.walk_ins) == ("some_experience", "Ihr Handy", False)
        assert w.texts == {"tr": {"title": "Akıllı telefon"}}


def test_the_tour_csv_carries_level_bring_and_walk_ins_both_ways(app, make_workshop):
    workshop = make_workshop(level="some_experience", bring="Ihr Handy", walk_ins=False)
    with app.test_request_context():
        text = tourcsv.export([workshop.stop])
    row = next(csv.DictReader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    assert "workshop_level" in row, text[:300]
    assert (row["workshop_level"], row["workshop_bring"], row["workshop_walk_ins"]) == (
        "some_experience", "Ihr Handy", "no")
    day = workshop.starts_at.date()
    with app.test_request_context():
        own, texts, _problems = tourcsv.WORKSHOP_TEXTS.read(row, row.get("workshop_language") or "de")
        draft, errors = tourcsv._read_workshop(2, row, day, own, texts)
    assert errors == [] and (draft.level, draft.bring, draft.walk_ins) == ("some_experience", "Ihr Handy", False)
    with app.test_request_context():
        _draft, errors = tourcsv._read_workshop(2, dict(row, workshop_level="expert", workshop_walk_ins="vielleicht"),
                                                day, own, texts)
    assert {e.column for e in errors} == {"workshop_level", "workshop_walk_ins"}


def test_the_door_seats_walk_ins_only_where_the_workshop_welcomes_them(make_stop, make_workshop, make_user, now):
    stop = make_stop(starts_at=now - timedelta(minutes=30), hours=4)
    booked_only = make_workshop(stop=stop, capacity=4, starts_at=now - timedelta(minutes=10), walk_ins=False)
    staff = make_user()
    refused = checkin.perform(Action("walkin", booked_only.id, "nonce-walkin-1", name="Ali", party_size=1),
                              user=staff)
    assert refused.outcome == checkin.CLOSED
    db.session.expire_all()
    assert db.session.get(Workshop, booked_only.id).seats_taken == 0
