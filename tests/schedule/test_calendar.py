"""Calendar files and feeds, parsed back with icalendar: UIDs, time zone, status, SEQUENCE, daylight saving."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from busapp.core.extensions import db
from busapp.models import LiveStatus, Place, StopStatus, WorkshopStatus
from busapp.schedule.calendar import ics_for_workshop
from tests.schedule.test_schedule import berlin, next_last_sunday

BERLIN = ZoneInfo("Europe/Berlin")


def parse(response) -> Calendar:
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    return Calendar.from_ical(response.get_data())


def events_by_uid(cal: Calendar) -> dict:
    return {str(e["UID"]): e for e in cal.walk("VEVENT")}


def test_one_stop_as_a_calendar_file(client, make_stop, make_workshop, now):
    day = (now.astimezone(BERLIN) + timedelta(days=4)).date()
    stop = make_stop(starts_at=berlin(day, 10), place="Marli-Forum", address="Elisabeth-Haseloff-Straße 1",
                     lat=53.88, lon=10.712)
    make_workshop(stop, title="Das Smartphone kennenlernen", duration_minutes=90)
    make_workshop(stop, title="Entwurf", status=WorkshopStatus.DRAFT)
    response = client.get(f"/s/{stop.id}.ics")
    assert "attachment" in response.headers["Content-Disposition"]
    cal = parse(response)
    assert str(cal["VERSION"]) == "2.0" and "PRODID" in cal
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == f"stop-{stop.id}@localhost"
    assert event.start == datetime(day.year, day.month, day.day, 10, tzinfo=BERLIN)
    assert event.end == datetime(day.year, day.month, day.day, 13, tzinfo=BERLIN)
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert [str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")] == ["Europe/Berlin"]
    assert "Marli-Forum" in str(event["SUMMARY"])
    assert str(event["LOCATION"]) == "Marli-Forum, Elisabeth-Haseloff-Straße 1"
    assert (event["GEO"].latitude, event["GEO"].longitude) == (53.88, 10.712)
    assert str(event["URL"]) == f"http://localhost/s/{stop.id}"
    description = str(event["DESCRIPTION"])
    assert "Das Smartphone kennenlernen" in description and "10:00–11:30" in description
    assert "Entwurf" not in description
    assert str(event["STATUS"]) == "CONFIRMED"
    assert int(event["SEQUENCE"]) == 0
    assert event["DTSTAMP"].dt.tzinfo is not None
    assert event["LAST-MODIFIED"].dt == stop.updated_at.replace(microsecond=0)


def test_cancelled_stop_is_status_cancelled(client, make_stop):
    stop = make_stop(status=StopStatus.CANCELLED, cancel_reason="Der Bus ist in der Werkstatt.")
    [event] = parse(client.get(f"/s/{stop.id}.ics")).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"
    assert str(event["SUMMARY"]).startswith("Abgesagt: ")
    assert "Der Bus ist in der Werkstatt." in str(event["DESCRIPTION"])


def test_calendar_text_follows_the_language(client, make_stop):
    stop = make_stop(status=StopStatus.CANCELLED)
    [event] = parse(client.get(f"/s/{stop.id}.ics?lang=en")).walk("VEVENT")
    assert str(event["SUMMARY"]).startswith("Cancelled: Digital workshop bus")


def test_sequence_rises_when_a_stop_changes_and_only_then(client, make_stop):
    stop = make_stop()

    def sequence() -> int:
        [event] = parse(client.get(f"/s/{stop.id}.ics")).walk("VEVENT")
        return int(event["SEQUENCE"])

    uid_before = str(parse(client.get(f"/s/{stop.id}.ics")).walk("VEVENT")[0]["UID"])
    assert sequence() == 0

    stop.starts_at += timedelta(hours=1)
    stop.ends_at += timedelta(hours=1)
    db.session.commit()
    assert sequence() == 1

    # The bus team's live status is not a change of the appointment.
    stop.live_status = LiveStatus.HERE
    stop.live_note = "Wir sind da."
    db.session.commit()
    assert sequence() == 1

    stop.status = StopStatus.CANCELLED
    stop.cancel_reason = "Sturm"
    db.session.commit()
    assert sequence() == 2

    # Code that manages SEQUENCE itself is not counted twice.
    stop.place = Place(district=stop.district, name="Neuer Ort")
    stop.sequence = 7
    db.session.commit()
    assert sequence() == 7

    # Moving to another place is a change; so is a change of the place itself (it is in every entry there).
    stop.place = Place(district=stop.district, name="Dritter Ort")
    db.session.commit()
    assert sequence() == 8
    stop.place.address = "Neue Straße 3"
    db.session.commit()
    assert sequence() == 9
    stop.place.finding_note = "Hinter der Bücherei"  # not in the calendar entry
    db.session.commit()
    assert sequence() == 9

    uid_after = str(parse(client.get(f"/s/{stop.id}.ics")).walk("VEVENT")[0]["UID"])
    assert uid_before == uid_after


def test_district_feed_has_its_stops_including_cancelled_but_no_drafts(client, make_stop, make_district, now):
    gertrud = make_district(name="St. Gertrud", slug="st-gertrud", number="07")
    published = make_stop(gertrud)
    cancelled = make_stop(gertrud, status=StopStatus.CANCELLED)
    recent = make_stop(gertrud, starts_at=now - timedelta(days=7))
    draft = make_stop(gertrud, status=StopStatus.DRAFT)
    elsewhere = make_stop()
    response = client.get("/d/st-gertrud.ics")
    assert response.headers["Content-Disposition"].startswith("inline")
    cal = parse(response)
    uids = set(events_by_uid(cal))
    assert uids == {f"stop-{s.id}@localhost" for s in (published, cancelled, recent)}
    assert f"stop-{draft.id}@localhost" not in uids and f"stop-{elsewhere.id}@localhost" not in uids
    assert "St. Gertrud" in str(cal["X-WR-CALNAME"])
    assert "REFRESH-INTERVAL" in cal
    assert str(events_by_uid(cal)[f"stop-{cancelled.id}@localhost"]["STATUS"]) == "CANCELLED"


def test_tour_feed_and_stable_uids_across_files(client, make_stop):
    stops = [make_stop(), make_stop(), make_stop(status=StopStatus.CANCELLED)]
    draft = make_stop(status=StopStatus.DRAFT)
    tour = events_by_uid(parse(client.get("/tour.ics")))
    assert set(tour) == {f"stop-{s.id}@localhost" for s in stops}
    assert f"stop-{draft.id}@localhost" not in tour
    # The same stop has the same UID in its own file, its district's feed and the tour feed, on every download.
    for stop in stops:
        own = events_by_uid(parse(client.get(f"/s/{stop.id}.ics")))
        district = events_by_uid(parse(client.get(f"/d/{stop.district.slug}.ics")))
        assert set(own) <= set(district) <= set(tour)
    assert set(events_by_uid(parse(client.get("/tour.ics")))) == set(tour)


def test_public_base_url_names_uids_and_links(app, client, make_stop):
    app.config["PUBLIC_BASE_URL"] = "https://digitalbus.example.org"
    stop = make_stop()
    [event] = parse(client.get(f"/s/{stop.id}.ics")).walk("VEVENT")
    assert str(event["UID"]) == f"stop-{stop.id}@digitalbus.example.org"
    assert str(event["URL"]) == f"https://digitalbus.example.org/s/{stop.id}"


@pytest.mark.parametrize("month", [3, 10])
def test_daylight_saving_change_keeps_local_time_in_ics(client, make_stop, now, month):
    sunday = next_last_sunday(month, now.date() + timedelta(days=1))
    friday, monday = sunday - timedelta(days=2), sunday + timedelta(days=1)
    before = make_stop(starts_at=berlin(friday, 10))
    after = make_stop(starts_at=berlin(monday, 10))
    body = client.get("/tour.ics").get_data(as_text=True)
    assert f"DTSTART;TZID=Europe/Berlin:{friday:%Y%m%d}T100000" in body
    assert f"DTSTART;TZID=Europe/Berlin:{monday:%Y%m%d}T100000" in body
    events = events_by_uid(Calendar.from_ical(body))
    start_before = events[f"stop-{before.id}@localhost"].start
    start_after = events[f"stop-{after.id}@localhost"].start
    assert (start_before.hour, start_after.hour) == (10, 10)
    utc_hours = {start_before.astimezone(timezone.utc).hour, start_after.astimezone(timezone.utc).hour}
    # Summer time is UTC+2, winter time UTC+1: 08:00 and 09:00 UTC, in whichever order the change goes.
    assert utc_hours == {8, 9}
    # The VTIMEZONE carries the rule, so calendar apps without a time zone database get it right too.
    vtimezone = Calendar.from_ical(body).walk("VTIMEZONE")[0]
    assert {c.name for c in vtimezone.subcomponents} == {"STANDARD", "DAYLIGHT"}
    assert vtimezone.to_tz().utcoffset(datetime(friday.year, friday.month, friday.day, 10)) != \
        vtimezone.to_tz().utcoffset(datetime(monday.year, monday.month, monday.day, 10))


def test_workshop_calendar_for_booking(app, make_stop, make_workshop, now):
    day = (now.astimezone(BERLIN) + timedelta(days=2)).date()
    stop = make_stop(starts_at=berlin(day, 14, 30), place="Stadtteilbibliothek", address="Nordlandring")
    workshop = make_workshop(stop, title="Passwörter und Privatsphäre", duration_minutes=60,
                             starts_at=berlin(day, 15), description="Gute Passwörter.")
    with app.test_request_context("/"):
        cal = Calendar.from_ical(ics_for_workshop(workshop))
    [event] = cal.walk("VEVENT")
    assert str(event["UID"]) == f"workshop-{workshop.id}@localhost"
    assert str(event["SUMMARY"]) == "Passwörter und Privatsphäre"
    assert event.start == datetime(day.year, day.month, day.day, 15, tzinfo=BERLIN)
    assert event.end == datetime(day.year, day.month, day.day, 16, tzinfo=BERLIN)
    assert "Stadtteilbibliothek, Nordlandring" == str(event["LOCATION"])
    assert "Gute Passwörter." in str(event["DESCRIPTION"])
    assert str(event["STATUS"]) == "CONFIRMED"
    assert cal.walk("VTIMEZONE")

    workshop.status = WorkshopStatus.CANCELLED
    db.session.commit()
    with app.test_request_context("/"):
        [event] = Calendar.from_ical(ics_for_workshop(workshop)).walk("VEVENT")
    assert str(event["STATUS"]) == "CANCELLED"


def test_calendar_links_on_pages(client, make_stop):
    stop = make_stop()
    stop_page = client.get(f"/s/{stop.id}").get_data(as_text=True)
    assert f'href="/s/{stop.id}.ics"' in stop_page
    district_page = client.get(f"/d/{stop.district.slug}").get_data(as_text=True)
    assert f'href="webcal://localhost/d/{stop.district.slug}.ics"' in district_page
    english = client.get(f"/d/{stop.district.slug}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f'href="/d/{stop.district.slug}.ics?lang=en"' in english


def test_district_feed_by_number_redirects_and_unknown_is_404(client, make_district):
    make_district(slug="st-gertrud", number="07")
    response = client.get("/d/07.ics")
    assert response.status_code == 301 and response.headers["Location"] == "/d/st-gertrud.ics"
    assert client.get("/d/atlantis.ics").status_code == 404
    assert client.get("/d/%00.ics").status_code == 404
    assert client.get("/s/999999.ics").status_code == 404


def test_empty_tour_is_still_a_valid_calendar(client):
    cal = parse(client.get("/tour.ics"))
    assert cal.walk("VEVENT") == []


def test_feeds_show_cancel_reasons_and_workshop_titles_in_the_visitors_language(client, make_stop, make_workshop):
    from busapp.core.content import set_text

    cancelled = make_stop(status=StopStatus.CANCELLED, cancel_reason="Der Bus ist in der Werkstatt.")
    set_text(cancelled, "en", cancel_reason="The bus is being repaired.")
    open_stop = make_stop(cancelled.district)
    workshop = make_workshop(open_stop, title="Das Smartphone kennenlernen")
    set_text(workshop, "en", title="Getting to know your smartphone")
    set_text(workshop, "tr", title="Akıllı telefonu tanıyalım")
    db.session.commit()
    for path in ("/tour.ics", f"/d/{cancelled.district.slug}.ics", f"/s/{open_stop.id}.ics"):
        german = parse(client.get(path)).walk("VEVENT")
        english = parse(client.get(path + "?lang=en")).walk("VEVENT")
        turkish = parse(client.get(path + "?lang=tr")).walk("VEVENT")
        text = {name: " ".join(str(e["DESCRIPTION"]) for e in events)
                for name, events in (("de", german), ("en", english), ("tr", turkish))}
        assert "Getting to know your smartphone" in text["en"] and "Das Smartphone" not in text["en"]
        assert "Akıllı telefonu tanıyalım" in text["tr"] and "Das Smartphone" not in text["tr"]
        assert "Das Smartphone kennenlernen" in text["de"] and "Getting to know" not in text["de"]
        if path != f"/s/{open_stop.id}.ics":
            assert "The bus is being repaired." in text["en"] and "Werkstatt" not in text["en"]
            assert "Der Bus ist in der Werkstatt." in text["de"] and "repaired" not in text["de"]
            # Turkish has no reason written: German stands in.
            assert "Der Bus ist in der Werkstatt." in text["tr"]
    # The answer's version differs by language, so a cache never hands one language's feed to another.
    assert client.get("/tour.ics").headers["ETag"] != client.get("/tour.ics?lang=en").headers["ETag"]


def test_feed_titles_and_last_lines_are_in_the_feeds_language(client, make_stop, make_workshop):
    """SUMMARY and the "Details and booking" line come from the catalogue of the feed's language."""
    stop = make_stop(place="Marktplatz")
    make_workshop(stop)
    db.session.commit()
    for path in ("/tour.ics", f"/d/{stop.district.slug}.ics", f"/s/{stop.id}.ics"):
        events = {lang: parse(client.get(f"{path}?lang={lang}")).walk("VEVENT")[0] for lang in ("de", "tr", "en")}
        summaries = {lang: str(e["SUMMARY"]) for lang, e in events.items()}
        assert summaries == {"de": "Digitalwerkstatt-Bus: Marktplatz", "tr": "Dijital atölye otobüsü: Marktplatz",
                             "en": "Digital workshop bus: Marktplatz"}, path
        last = {lang: str(e["DESCRIPTION"]).splitlines()[-1] for lang, e in events.items()}
        assert last["de"].startswith("Einzelheiten und Buchung: http"), path
        assert last["tr"].startswith("Ayrıntılar ve rezervasyon: http"), path
        assert last["en"].startswith("Details and booking: http"), path


def test_a_cancelled_ticket_file_names_its_organizer(app, make_workshop):
    """RFC 5546 3.2.5: METHOD:CANCEL carries ORGANIZER, or calendar apps may not take the cancellation."""
    import secrets

    from busapp.models import Booking, BookingStatus
    from busapp.schedule.calendar import ics_for_booking

    workshop = make_workshop()
    booking = Booking(workshop_id=workshop.id, party_size=1, name="Erika", status=BookingStatus.CONFIRMED,
                      code="Q" + secrets.token_hex(4).upper(), manage_token=secrets.token_urlsafe(24),
                      idempotency_key=secrets.token_hex(16))
    db.session.add(booking)
    db.session.commit()
    with app.test_request_context():
        booked = Calendar.from_ical(ics_for_booking(booking))
    assert str(booked["METHOD"]) == "PUBLISH"
    booking.status = BookingStatus.CANCELLED
    booking.cancelled_at = datetime.now(timezone.utc)
    db.session.commit()
    with app.test_request_context():
        cancelled = Calendar.from_ical(ics_for_booking(booking))
    [event] = cancelled.walk("VEVENT")
    assert str(cancelled["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    organizer = event["ORGANIZER"]
    assert str(organizer) == "mailto:" + app.config["MAIL_FROM"].rpartition("<")[2].rstrip(">")
    assert organizer.params["CN"] == app.config["SITE_NAME"]
