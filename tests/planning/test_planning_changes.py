"""Changes that reach the people booked: the dry run, cancelling and moving, tickets, calendars, mail, call list."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from busapp.booking import service as booking_service
from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus, OutgoingMail, Stop, StopStatus, Workshop
from tests.conftest import csrf_token
from tests.mail.test_mail import body_of, deliver, inbox, smtp_server  # noqa: F401  (fixtures)
from tests.planning.test_planning import at, next_weekday

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def coordinator(client, login):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return login("coordinator")


def post(client, path, data):
    return client.post(path, data={"csrf_token": csrf_token(client, "/admin/people"), **data})


def book(workshop, name, contact=None, n=1, locale="en") -> Booking:
    return booking_service.create(workshop.id, party_size=n, name=name, contact=contact, needs_note=None,
                                  idempotency_key=uuid.uuid4().hex, locale=locale).booking


@pytest.fixture
def booked_stop(make_district, make_stop, make_workshop):
    """A published stop with two workshops and four parties: two by email, one by phone, one without contact."""
    day = next_weekday(2)
    stop = make_stop(make_district(name="Moisling"), starts_at=at(day, 10), hours=4, place="Bücherei Moisling")
    first = make_workshop(stop, title="Videoanrufe", capacity=4, starts_at=at(day, 10))
    second = make_workshop(stop, title="Online-Banking", capacity=8, starts_at=at(day, 12))
    parties = {
        "ada": book(first, "Ada", "ada@example.org", n=2),
        "bea": book(second, "Bea", "bea@example.org", locale="de"),
        "carl": book(second, "Carl", "0451 123456"),
        "dora": book(first, "Dora", None, n=3),  # waiting: only 2 seats left
    }
    assert parties["dora"].status == BookingStatus.WAITING
    # The booking confirmations are queued even without a mail server; the tests here count only what a change sends.
    assert db.session.scalar(sa.select(sa.func.count(OutgoingMail.id))) == 2
    db.session.execute(sa.delete(OutgoingMail))
    db.session.commit()
    return stop, first, second, parties


def test_cancelling_a_stop_shows_the_dry_run_first_then_cancels_all_and_mails_once(
        client, coordinator, booked_stop, inbox):
    stop, first, second, parties = booked_stop
    dry = client.get(f"/admin/stops/{stop.id}/cancel").get_data(as_text=True)
    assert "4 parties are booked or waiting" in dry and "7 seats" in dry
    assert "2 get an email." in dry and "1 gave only a phone number" in dry and "1 cannot be told" in dry
    assert db.session.get(Stop, stop.id).status == StopStatus.PUBLISHED  # the dry run wrote nothing
    empty = post(client, f"/admin/stops/{stop.id}/cancel", {"reason": ""})
    assert empty.status_code == 422 and "Please give a reason" in empty.get_data(as_text=True)

    response = post(client, f"/admin/stops/{stop.id}/cancel", {"reason": "Der Bus ist in der Werkstatt."})
    assert response.status_code == 303
    db.session.expire_all()
    stop = db.session.get(Stop, stop.id)
    assert stop.status == StopStatus.CANCELLED and stop.cancel_reason == "Der Bus ist in der Werkstatt."
    assert {b.status for b in db.session.scalars(sa.select(Booking))} == {BookingStatus.CANCELLED}
    assert {w.seats_taken for w in db.session.scalars(sa.select(Workshop))} == {0}

    # Each affected ticket page shows the change and the reason (read in English: a ticket otherwise opens in the
    # language it was booked in, German for Bea).
    for party in parties.values():
        page = client.get(f"/t/{party.manage_token}?lang=en").get_data(as_text=True)
        assert "has been cancelled" in page and "Der Bus ist in der Werkstatt." in page
    # Its calendar entry says so, with a higher SEQUENCE.
    ics = Calendar.from_ical(client.get(f"/s/{stop.id}.ics").data)
    [event] = ics.walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED" and int(event["SEQUENCE"]) >= 1

    # The mails go through the outbox and arrive once, in each person's language.
    assert len(db.session.scalars(sa.select(OutgoingMail)).all()) == 2
    deliver()
    deliver()
    received = sorted(inbox.messages, key=lambda m: str(m["To"]))
    assert [str(m["To"]) for m in received] == ["ada@example.org", "bea@example.org"]
    assert "Der Bus ist in der Werkstatt." in body_of(received[0])
    assert "is cancelled" in body_of(received[0]) and "abgesagt" in body_of(received[1])
    assert parties["ada"].manage_token in body_of(received[0])

    # The call list has the one person who gave only a phone number.
    calls = client.get(f"/admin/stops/{stop.id}/calls").get_data(as_text=True)
    assert "Carl" in calls and "0451 123456" in calls and "Ada" not in calls and "Dora" not in calls
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "call-list")) is not None


def test_cancelling_one_workshop_leaves_the_other(client, coordinator, booked_stop):
    stop, first, second, parties = booked_stop
    assert post(client, f"/admin/workshops/{first.id}/cancel", {"reason": "Die Trainerin ist krank."}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Booking, parties["ada"].id).status == BookingStatus.CANCELLED
    assert db.session.get(Booking, parties["bea"].id).status == BookingStatus.CONFIRMED
    assert db.session.get(Stop, stop.id).status == StopStatus.PUBLISHED
    page = client.get(f"/t/{parties['ada'].manage_token}").get_data(as_text=True)
    assert "Die Trainerin ist krank." in page


def test_moving_a_booked_stop_needs_a_note_shows_the_dry_run_and_keeps_bookings(
        client, coordinator, booked_stop, inbox):
    stop, first, second, parties = booked_stop
    day = stop.starts_at.astimezone(BERLIN).date() + timedelta(days=1)
    form = {"place": str(stop.place_id), "day": day.isoformat(), "start": "11:00", "end": "15:00"}
    dry = post(client, f"/admin/stops/{stop.id}/edit", form)
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "Who this reaches" in html and "their bookings stay" in html
    assert db.session.get(Stop, stop.id).starts_at == stop.starts_at
    missing = post(client, f"/admin/stops/{stop.id}/edit", form | {"confirm": "yes"})
    assert missing.status_code == 422 and "what changed" in missing.get_data(as_text=True)
    done = post(client, f"/admin/stops/{stop.id}/edit", form | {"confirm": "yes", "note": "Ein Tag später, wegen des Markts."})
    assert done.status_code == 303
    db.session.expire_all()
    moved = db.session.get(Stop, stop.id)
    assert moved.starts_at == datetime.combine(day, time(11), tzinfo=BERLIN) and moved.sequence == 1
    assert db.session.get(Booking, parties["ada"].id).status == BookingStatus.CONFIRMED
    page = client.get(f"/t/{parties['ada'].manage_token}").get_data(as_text=True)
    assert "Ein Tag später, wegen des Markts." in page
    deliver()
    assert sorted(str(m["To"]) for m in inbox.messages) == ["ada@example.org", "bea@example.org"]
    assert all("Ein Tag später" in body_of(m) for m in inbox.messages)


def test_a_stop_without_bookings_moves_without_questions(client, coordinator, make_stop):
    stop = make_stop()
    day = next_weekday(4)
    response = post(client, f"/admin/stops/{stop.id}/edit",
                    {"place": str(stop.place_id), "day": day.isoformat(), "start": "10:00", "end": "12:00"})
    assert response.status_code == 303


def test_nothing_is_half_written_when_the_cancel_fails(app, booked_stop, monkeypatch):
    from busapp.planning import changes

    stop, first, second, parties = booked_stop

    def broken(*args, **kwargs):
        raise RuntimeError("the mail row could not be written")

    monkeypatch.setattr(changes, "_tell", broken)
    with pytest.raises(RuntimeError):
        changes.cancel(stop.id, None, "Sturm", None)
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).status == StopStatus.PUBLISHED
    assert BookingStatus.CANCELLED not in {b.status for b in db.session.scalars(sa.select(Booking))}


def test_live_status_set_by_a_coordinator_shows_on_the_public_page(client, coordinator, make_stop, now, app):
    app.config["PAGE_CACHE_SECONDS"] = 0
    stop = make_stop(starts_at=now + timedelta(minutes=30))
    response = post(client, f"/admin/stops/{stop.id}/live", {"status": "late", "minutes": "15", "note": "Stau"})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).sequence == 0  # not a change of the appointment
    page = client.get(f"/s/{stop.id}").get_data(as_text=True)
    assert "About 15 minutes late" in page and "Stau" in page
    # Late without minutes is refused, and nothing changes.
    post(client, f"/admin/stops/{stop.id}/live", {"status": "late", "minutes": ""})
    assert "how many minutes late" in client.get(f"/admin/stops/{stop.id}").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).live_minutes_late == 15


def test_moving_a_booked_workshop_reaches_its_people_like_a_moved_stop(client, coordinator, booked_stop, inbox):
    stop, first, second, parties = booked_stop
    old_start, first_start = second.starts_at, first.starts_at
    before = Calendar.from_ical(client.get(f"/t/{parties['bea'].manage_token}.ics").data)
    [old_event] = before.walk("VEVENT")
    form = {"title": second.title, "topic": second.topic, "language": second.language, "audience": second.audience,
            "start": "12:30", "duration_minutes": str(second.duration_minutes), "capacity": str(second.capacity)}
    dry = post(client, f"/admin/workshops/{second.id}/edit", form)
    html = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "Who this reaches" in html and "their bookings stay" in html
    assert "2 parties are booked or waiting" in html and "1 gets an email." in html
    assert "1 gave only a phone number" in html
    db.session.expire_all()
    assert db.session.get(Workshop, second.id).starts_at == old_start  # the dry run wrote nothing
    assert db.session.scalar(sa.select(sa.func.count(OutgoingMail.id))) == 0
    missing = post(client, f"/admin/workshops/{second.id}/edit", form | {"confirm": "yes"})
    assert missing.status_code == 422 and "what changed" in missing.get_data(as_text=True)
    done = post(client, f"/admin/workshops/{second.id}/edit", form | {"confirm": "yes", "note": "Eine halbe Stunde später."})
    assert done.status_code == 303
    db.session.expire_all()
    moved = db.session.get(Workshop, second.id)
    assert moved.starts_at == old_start + timedelta(minutes=30)
    assert db.session.get(Booking, parties["bea"].id).status == BookingStatus.CONFIRMED
    assert "Eine halbe Stunde später." in client.get(f"/t/{parties['bea'].manage_token}").get_data(as_text=True)
    # The calendar entry of the booked seat has the new time and a higher SEQUENCE.
    [event] = Calendar.from_ical(client.get(f"/t/{parties['bea'].manage_token}.ics").data).walk("VEVENT")
    assert event.decoded("DTSTART") == moved.starts_at
    assert int(event["SEQUENCE"]) > int(old_event["SEQUENCE"])
    # Only the people of this workshop are mailed, through the outbox, in their language; the first is untouched.
    mails = db.session.scalars(sa.select(OutgoingMail)).all()
    assert [m.kind for m in mails] == ["workshop-moved"]
    deliver()
    assert [str(m["To"]) for m in inbox.messages] == ["bea@example.org"]
    assert "Eine halbe Stunde später." in body_of(inbox.messages[0])
    assert db.session.get(Workshop, first.id).starts_at == first_start
    audit = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "workshop-update")).one()
    assert audit.detail["told"] == 2


def test_a_workshop_move_is_all_or_nothing(app, booked_stop, monkeypatch):
    from busapp.planning import changes, service

    stop, first, second, parties = booked_stop
    draft = service.WorkshopDraft(
        title=second.title, topic=second.topic, description="", language=second.language, audience=second.audience,
        starts_at=second.starts_at + timedelta(minutes=30), duration_minutes=second.duration_minutes,
        capacity=second.capacity, accessibility_notes="", parallel=False)

    def broken(*args, **kwargs):
        raise RuntimeError("the mail row could not be written")

    monkeypatch.setattr(changes, "_tell", broken)
    old_start, old_sequence = second.starts_at, stop.sequence
    with pytest.raises(RuntimeError):
        service.save_workshop(stop.id, second.id, draft, None, note="Später")
    db.session.rollback()
    db.session.expire_all()
    assert db.session.get(Workshop, second.id).starts_at == old_start
    assert db.session.get(Stop, stop.id).sequence == old_sequence and db.session.get(Stop, stop.id).change_note == ""


def test_without_a_mail_server_the_cancel_mail_waits_and_every_page_says_so(client, app, coordinator, booked_stop):
    """No MAIL_SERVER: the people who gave an email still count as told by mail, their messages are queued, and the
    mail page says plainly that mail is not set up and that the waiting messages go once it is."""
    app.config["MAIL_SERVER"] = ""
    stop, first, second, parties = booked_stop
    dry = client.get(f"/admin/stops/{stop.id}/cancel").get_data(as_text=True)
    assert "2 get an email." in dry and "1 cannot be told" in dry
    assert "Mail is not set up yet" in dry
    assert post(client, f"/admin/stops/{stop.id}/cancel", {"reason": "Reifenpanne"}).status_code == 303
    changes = db.session.scalars(sa.select(OutgoingMail).where(OutgoingMail.kind.like("%cancel%"))).all()
    assert sorted(m.to_address for m in changes) == ["ada@example.org", "bea@example.org"]
    page = client.get("/admin/mail").get_data(as_text=True)
    assert "Mail is not set up." in page and "sent once the mail server is set up" in page
    assert "Every message has been sent." not in page and "Waiting to be sent: 2" in page
