"""The public schedule: home with district filter, district pages, stop pages, their htmx fragments and 404s."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.dev import demo
from busapp.core.extensions import db
from busapp.models import LiveStatus, Stop, StopStatus, WorkshopStatus
from tests.sqlcount import statements as count_queries

BERLIN = ZoneInfo("Europe/Berlin")
HX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
EN = {"Accept-Language": "en"}


def html(response) -> str:
    return response.get_data(as_text=True)


def berlin(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=BERLIN)


def stop_ids_in(page: str) -> list[int]:
    """Ids of the stops listed as cards, in page order."""
    return [int(i) for i in re.findall(r'id="stop-(\d+)-title"', page)]


# --- Home ------------------------------------------------------------------------------------------------------------

def test_home_lists_the_ten_districts_and_the_next_stops(client):
    demo.load(with_users=False)
    page = html(client.get("/"))
    for name in ("Innenstadt", "St. Jürgen", "Moisling", "Buntekuh", "St. Lorenz Süd", "St. Lorenz Nord",
                 "St. Gertrud", "Schlutup", "Kücknitz", "Travemünde"):
        assert f"<span>{name}</span>" in page
    assert 'href="/d/st-gertrud"' in page
    assert len(stop_ids_in(page)) >= 12  # two weeks of the demo tour, two stops a weekday


def test_home_shows_two_weeks_a_district_shows_all_its_dates(client, make_stop, make_district, now):
    district = make_district(slug="moisling")
    soon = make_stop(district, starts_at=now + timedelta(days=13))
    later = make_stop(district, starts_at=now + timedelta(days=15))
    assert stop_ids_in(html(client.get("/"))) == [soon.id]
    assert "Die nächsten 14 Tage" in html(client.get("/"))
    assert stop_ids_in(html(client.get("/?district=moisling"))) == [soon.id, later.id]
    assert stop_ids_in(html(client.get("/d/moisling"))) == [soon.id, later.id]
    # The banner looks beyond the two weeks when nothing comes sooner.
    db.session.delete(soon)
    db.session.commit()
    page = html(client.get("/"))
    assert stop_ids_in(page) == [] and f'href="/s/{later.id}"' in page


def test_home_groups_upcoming_stops_by_day_soonest_first(client, make_stop, make_district, now):
    district = make_district(name="Moisling")
    tomorrow = (now.astimezone(BERLIN) + timedelta(days=1)).date()
    later = make_stop(district, starts_at=berlin(tomorrow + timedelta(days=2), 10), place="Haus für alle")
    second = make_stop(district, starts_at=berlin(tomorrow, 14, 30), place="Bibliothek")
    first = make_stop(district, starts_at=berlin(tomorrow, 10), place="Marktplatz")
    page = html(client.get("/"))
    assert stop_ids_in(page) == [first.id, second.id, later.id]
    headings = re.findall(r'<h3 class="day-heading">([^<]+)</h3>', page)
    assert len(headings) == 2
    assert headings[0].startswith("Morgen, ")
    assert "10:00" in page and "14:30" in page


def test_home_shows_cancelled_with_reason_but_not_drafts_or_past_stops(client, make_stop, now):
    cancelled = make_stop(status=StopStatus.CANCELLED, cancel_reason="Der Bus ist in der Werkstatt.")
    draft = make_stop(status=StopStatus.DRAFT)
    past = make_stop(starts_at=now - timedelta(days=2))
    published = make_stop()
    page = html(client.get("/"))
    ids = stop_ids_in(page)
    assert cancelled.id in ids and published.id in ids
    assert draft.id not in ids and past.id not in ids
    assert "Der Bus ist in der Werkstatt." in page
    assert "Abgesagt" in page


def test_banner_shows_where_the_bus_is_now_with_its_live_status(client, make_stop, now):
    make_stop(starts_at=now + timedelta(hours=5), place="Später")
    # Started an hour ago, or sooner just after midnight in Lübeck: the stop is today's at any hour the test runs.
    midnight = datetime.combine(now.astimezone(BERLIN).date(), datetime.min.time(), tzinfo=BERLIN)
    current = make_stop(starts_at=now - min(timedelta(hours=1), (now - midnight) / 2), place="Marli-Forum",
                        live_status=LiveStatus.HERE,
                        live_note="Wir stehen vor dem Eingang.")
    page = html(client.get("/"))
    banner = page[page.index('class="now-next'):page.index("</section>", page.index('class="now-next'))]
    assert "Der Bus jetzt" in banner
    assert f'href="/s/{current.id}">Marli-Forum</a>' in banner
    assert "Jetzt hier" in banner and "Wir stehen vor dem Eingang." in banner
    assert "Heute" in banner


def test_banner_skips_a_stop_the_bus_has_left_and_cancelled_stops(client, make_stop, now):
    make_stop(starts_at=now - timedelta(hours=1), place="Schon weg", live_status=LiveStatus.LEFT)
    make_stop(starts_at=now + timedelta(hours=2), place="Fällt aus", status=StopStatus.CANCELLED)
    make_stop(starts_at=now + timedelta(hours=4), place="Kolberger Platz", live_status=LiveStatus.LATE)
    page = html(client.get("/"))
    banner = page[page.index('class="now-next'):page.index("</section>", page.index('class="now-next'))]
    assert "Nächster Halt" in banner and "Kolberger Platz" in banner and "Verspätet" in banner
    assert "Schon weg" not in banner and "Fällt aus" not in banner


def test_banner_without_any_stop(client):
    assert "Gerade sind keine Halte geplant" in html(client.get("/"))


def test_home_fragment_boosted_and_vary(client, make_stop):
    stop = make_stop()
    full = client.get("/")
    fragment = client.get("/", headers=HX)
    boosted = client.get("/", headers=BOOSTED)
    for response in (full, fragment, boosted):
        assert response.status_code == 200
        assert "HX-Request" in response.headers.get("Vary", "")
    assert html(full).startswith("<!doctype html>")
    assert html(boosted).startswith("<!doctype html>")
    part = html(fragment).strip()
    assert part.startswith('<section id="stops"') and part.endswith("</section>")
    assert "<html" not in part and 'class="district-filter"' not in part
    assert stop.id in stop_ids_in(part)


def test_history_restore_gets_the_full_page(client):
    response = client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert html(response).startswith("<!doctype html>")


def test_filter_form_works_without_and_with_htmx(client):
    page = html(client.get("/"))
    form = re.search(r'<form class="district-filter"[^>]*>', page).group(0)
    assert 'method="get"' in form and 'action="/"' in form
    assert 'hx-get="/"' in form and 'hx-target="#stops"' in form and 'hx-push-url="true"' in form
    assert 'name="district"' in page


def test_district_filter_shows_only_that_district(client, make_stop, make_district):
    moisling = make_district(name="Moisling", slug="moisling")
    other = make_district(name="Buntekuh", slug="buntekuh")
    mine = make_stop(moisling)
    theirs = make_stop(other)
    for headers in ({}, HX):
        page = html(client.get("/?district=moisling", headers=headers))
        assert stop_ids_in(page) == [mine.id]
        assert theirs.id not in stop_ids_in(page)
        assert "Moisling" in page
    assert '<option value="moisling" selected>' in html(client.get("/?district=moisling"))
    assert set(stop_ids_in(html(client.get("/?district=all")))) == {mine.id, theirs.id}


@pytest.mark.parametrize("query", [
    "district=%00", "district=" + "x" * 5000, "district=moisling&district=buntekuh&district=%00",
    "district=%FF%FE", "district=<script>", "district=../../etc", "district[]=moisling", "district=1%27%20OR%201=1",
])
def test_malformed_filter_never_fails(client, make_stop, make_district, query):
    stop = make_stop(make_district(slug="moisling"))  # shown whether the filter falls back to all or to the first value
    for headers in ({}, HX):
        response = client.get(f"/?{query}", headers=headers)
        assert response.status_code == 200
        assert stop.id in stop_ids_in(html(response))
        assert "<script>" not in html(response)


def test_unknown_filter_shows_all_with_a_gentle_note(client, make_stop):
    stop = make_stop()
    page = html(client.get("/?district=atlantis"))
    assert "Diesen Stadtteil kennen wir nicht" in page
    assert stop.id in stop_ids_in(page)
    assert "Diesen Stadtteil kennen wir nicht" not in html(client.get("/"))


def test_home_in_english(client, make_stop, now):
    tomorrow = (now.astimezone(BERLIN) + timedelta(days=1)).date()
    make_stop(starts_at=berlin(tomorrow, 10))
    page = html(client.get("/", headers=EN))
    assert "Upcoming stops" in page and "Tomorrow, " in page
    assert "10:00" in page and not re.search(r"\d[\s\u202f]?[AP]M\b", page)  # the 24-hour clock, also in English


# --- District page ---------------------------------------------------------------------------------------------------

def test_district_page_lists_its_upcoming_stops(client, make_stop, make_district, now):
    gertrud = make_district(name="St. Gertrud", slug="st-gertrud", number="07")
    mine = make_stop(gertrud, place="Marli-Forum")
    make_stop(gertrud, starts_at=now - timedelta(days=3), place="Vorbei")
    make_stop(gertrud, status=StopStatus.DRAFT, place="Entwurf")
    elsewhere = make_stop(place="Woanders")
    response = client.get("/d/st-gertrud")
    assert response.status_code == 200
    page = html(response)
    assert "<h1>St. Gertrud</h1>" in page and "Stadtteil 07" in page
    assert stop_ids_in(page) == [mine.id]
    assert elsewhere.id not in stop_ids_in(page)
    assert 'href="/d/st-gertrud.ics"' in page and "webcal://" in page


def test_district_fragment_boosted_and_vary(client, make_stop):
    stop = make_stop()
    path = f"/d/{stop.district.slug}"
    fragment = client.get(path, headers=HX)
    assert html(fragment).strip().startswith('<section id="stops"') and "<html" not in html(fragment)
    assert stop.id in stop_ids_in(html(fragment))
    assert html(client.get(path, headers=BOOSTED)).startswith("<!doctype html>")
    assert "HX-Request" in fragment.headers["Vary"]


@pytest.mark.parametrize("key", ["07", "7", "St-Gertrud", "ST-GERTRUD"])
def test_district_number_and_other_spellings_redirect_permanently(client, make_district, key):
    make_district(name="St. Gertrud", slug="st-gertrud", number="07")
    response = client.get(f"/d/{key}")
    assert response.status_code == 301
    assert response.headers["Location"] == "/d/st-gertrud"


def test_district_redirect_keeps_only_the_language(client, make_district):
    make_district(slug="st-gertrud", number="07")
    response = client.get("/d/07?lang=en&slug=x&_external=1")
    assert response.status_code == 301
    assert response.headers["Location"] == "/d/st-gertrud?lang=en"


@pytest.mark.parametrize("path", ["/d/atlantis", "/d/%00", "/d/" + "a" * 500, "/d/99", "/d/a.b", "/d/%C3%BC"])
def test_unknown_district_is_a_friendly_404_in_german(client, make_district, path):
    make_district(name="Moisling", slug="moisling")
    response = client.get(path)
    assert response.status_code == 404
    page = html(response)
    assert 'lang="de"' in page and "Diesen Stadtteil kennen wir nicht" in page
    assert 'href="/d/moisling"' in page  # the way on: the list of districts


def test_unknown_district_404_in_english(client):
    response = client.get("/d/atlantis", headers=EN)
    assert response.status_code == 404
    assert 'lang="en"' in html(response) and "We do not know this district" in html(response)


# --- Stop page -------------------------------------------------------------------------------------------------------

def test_stop_page_shows_place_time_workshops_and_links(client, make_stop, make_workshop, now):
    day = (now.astimezone(BERLIN) + timedelta(days=3)).date()
    stop = make_stop(starts_at=berlin(day, 10), place="Marli-Forum", address="Elisabeth-Haseloff-Straße 1",
                     lat=53.88, lon=10.712)
    open_one = make_workshop(stop, title="Mit den Enkeln sprechen", topic="video_calls", audience="seniors",
                             language="tr", duration_minutes=90, capacity=8, seats_taken=5,
                             accessibility_notes="Stufenloser Einstieg")
    full = make_workshop(stop, title="Sicher online bezahlen", capacity=6, seats_taken=6,
                         starts_at=stop.starts_at + timedelta(hours=1))
    make_workshop(stop, title="Noch in Planung", status=WorkshopStatus.DRAFT)
    response = client.get(f"/s/{stop.id}")
    assert response.status_code == 200
    page = html(response)
    assert "<h1>Marli-Forum</h1>" in page and "Elisabeth-Haseloff-Straße 1" in page
    assert f", {day.day}. " in page and str(day.year) in page and "10:00" in page and "13:00" in page
    assert "Mit den Enkeln sprechen" in page and "Videoanrufe mit der Familie" in page  # title and topic
    assert "Seniorinnen und Senioren" in page
    assert "Türkisch" in page and "90 Minuten" in page and "Stufenloser Einstieg" in page
    assert "3 von 8 Plätzen frei" in page
    assert "Ausgebucht – Warteliste offen" in page
    assert f'href="/workshops/{open_one.id}/book">Platz buchen' in page
    assert f'href="/workshops/{full.id}/book">Auf die Warteliste' in page
    assert "Noch in Planung" not in page
    assert 'href="geo:53.880000,10.712000?q=53.880000,10.712000(Marli-Forum)"' in page
    assert f'href="/s/{stop.id}.ics"' in page
    assert f'href="/d/{stop.district.slug}"' in page


def test_stop_page_in_english(client, make_workshop):
    workshop = make_workshop(capacity=8, seats_taken=5, language="de", topic="passwords")
    page = html(client.get(f"/s/{workshop.stop_id}", headers=EN))
    assert "3 of 8 seats free" in page and "Book a seat" in page
    assert "Passwords and privacy" in page and "German" in page


def test_cancelled_stop_is_marked_with_reason_and_takes_no_bookings(client, make_workshop, make_stop):
    stop = make_stop(status=StopStatus.CANCELLED, cancel_reason="Der Bus ist in der Werkstatt.")
    workshop = make_workshop(stop)
    page = html(client.get(f"/s/{stop.id}"))
    assert "Abgesagt" in page and "Der Bus ist in der Werkstatt." in page
    assert f"/workshops/{workshop.id}/book" not in page
    assert "/f/" not in page


def test_past_stop_url_keeps_working_and_says_the_visit_is_over(client, make_workshop, make_stop, now):
    stop = make_stop(starts_at=now - timedelta(days=5))
    workshop = make_workshop(stop)
    response = client.get(f"/s/{stop.id}")
    assert response.status_code == 200
    page = html(response)
    assert "Dieser Besuch ist vorbei" in page
    assert f"/workshops/{workshop.id}/book" not in page
    assert f'href="/f/{stop.id}"' in page  # feedback after the visit
    assert 'hx-trigger="every 60s"' not in page


def test_cancelled_workshop_is_marked_and_not_bookable(client, make_workshop):
    workshop = make_workshop(status=WorkshopStatus.CANCELLED, title="Fotos ordnen")
    page = html(client.get(f"/s/{workshop.stop_id}"))
    assert "Fotos ordnen" in page and "workshop--cancelled" in page
    assert f"/workshops/{workshop.id}/book" not in page


def test_workshop_that_has_started_takes_no_more_bookings(client, make_stop, make_workshop, now):
    stop = make_stop(starts_at=now - timedelta(hours=1))
    started = make_workshop(stop, starts_at=now - timedelta(minutes=30))
    later = make_workshop(stop, starts_at=now + timedelta(minutes=30))
    page = html(client.get(f"/s/{stop.id}"))
    assert f"/workshops/{started.id}/book" not in page
    assert f"/workshops/{later.id}/book" in page


def test_feedback_link_only_once_the_visit_has_begun(client, make_stop, now):
    future = make_stop(starts_at=now + timedelta(days=2))
    running = make_stop(starts_at=now - timedelta(hours=1))
    assert f"/f/{future.id}" not in html(client.get(f"/s/{future.id}"))
    assert f'href="/f/{running.id}"' in html(client.get(f"/s/{running.id}"))


def test_no_map_link_without_coordinates(client, make_stop):
    stop = make_stop(lat=None, lon=None)
    page = html(client.get(f"/s/{stop.id}"))
    assert "geo:" not in page and "openstreetmap" not in page


def test_stop_page_shows_the_place_record(client, make_place, make_stop):
    place = make_place(name="Stadtteilbibliothek Moisling", address="Moislinger Mitte 5", postcode="23560",
                       lat=53.8405, lon=10.6385, transit_stop="Moislinger Mitte", transit_lines="6, 16",
                       step_free=True, seats=False, toilet=None, hearing_loop=True,
                       finding_note="Entrance at the back of the library")
    stop = make_stop(place=place)
    page = html(client.get(f"/s/{stop.id}", headers=EN))
    assert "Moislinger Mitte 5" in page and "23560 Lübeck" in page
    assert "Entrance at the back of the library" in page
    assert "Bus stop: Moislinger Mitte" in page and "Lines: 6, 16" in page
    facts = re.sub(r"\s+", " ", page)
    assert "Without steps: yes" in facts and "Seats to wait on: no" in facts
    assert "Toilet: not known" in facts and "Hearing loop (for hearing aids): yes" in facts
    assert 'href="geo:53.840500,10.638500?q=53.840500,10.638500(Stadtteilbibliothek%20Moisling)"' in page
    assert ('href="https://www.openstreetmap.org/?mlat=53.840500&amp;mlon=10.638500'
            '#map=18/53.840500/10.638500"') in page
    # A plain link: nothing from the map's host is loaded into the page.
    assert not re.search(r'(src|srcset)="https?://', page)
    assert "Example address" not in page


def test_a_place_is_typed_once_and_every_stop_there_shows_it(client, make_place, make_stop, now):
    place = make_place(name="Marli-Forum", address="Elisabeth-Haseloff-Straße 1")
    first = make_stop(place=place)
    second = make_stop(place=place, starts_at=now + timedelta(days=8))
    assert first.place is second.place and first.district == place.district
    place.finding_note = "Der Bus steht auf dem Parkplatz vor dem Forum."
    db.session.commit()
    for stop in (first, second):
        assert "Der Bus steht auf dem Parkplatz vor dem Forum." in html(client.get(f"/s/{stop.id}"))


def test_demo_places_say_they_are_examples(app, client):
    demo.load()
    stops = db.session.scalars(sa.select(Stop).where(Stop.status == StopStatus.PUBLISHED).limit(40)).all()
    places = {stop.place for stop in stops}
    assert len(places) > 5 and all(place.is_example for place in places)
    for stop in stops[:3]:
        page = html(client.get(f"/s/{stop.id}", headers=EN))
        assert "Example address" in page
        assert stop.place.transit_stop and "Bus stop:" in page


def test_live_status_fragment_polls_on_the_day(client, make_stop, now):
    stop = make_stop(starts_at=now - timedelta(minutes=30), live_status=LiveStatus.LATE,
                     live_note="Stau auf der B75, etwa 20 Minuten später.", live_updated_at=now)
    full = html(client.get(f"/s/{stop.id}"))
    assert '<section id="live"' in full and "Stau auf der B75" in full
    response = client.get(f"/s/{stop.id}", headers=HX)
    fragment = html(response).strip()
    assert fragment.startswith('<section id="live"') and fragment.endswith("</section>")
    assert "<html" not in fragment and "<h1>" not in fragment
    assert "Verspätet" in fragment and "Stau auf der B75" in fragment and "Aktualisiert um" in fragment
    assert f'hx-get="/s/{stop.id}"' in fragment and 'hx-trigger="every 60s"' in fragment
    assert 'hx-target="this"' in fragment
    assert "HX-Request" in response.headers["Vary"]
    assert html(client.get(f"/s/{stop.id}", headers=BOOSTED)).startswith("<!doctype html>")


def test_live_status_does_not_poll_before_the_day(client, make_stop, now):
    stop = make_stop(starts_at=now + timedelta(days=3))
    fragment = html(client.get(f"/s/{stop.id}", headers=HX))
    assert 'id="live"' in fragment and "hx-trigger" not in fragment


@pytest.mark.parametrize("status,expected", [
    (LiveStatus.ON_THE_WAY, "Unterwegs"), (LiveStatus.HERE, "Jetzt hier"), (LiveStatus.LATE, "Verspätet"),
    (LiveStatus.LEFT, "Der Bus ist abgefahren"),
])
def test_live_status_labels(client, make_stop, now, status, expected):
    stop = make_stop(starts_at=now - timedelta(minutes=10), live_status=status)
    assert expected in html(client.get(f"/s/{stop.id}", headers=HX))


def test_draft_stop_is_not_public(client, make_stop):
    stop = make_stop(status=StopStatus.DRAFT)
    response = client.get(f"/s/{stop.id}")
    assert response.status_code == 404
    assert "Diesen Halt finden wir nicht" in html(response)
    assert client.get(f"/s/{stop.id}.ics").status_code == 404


@pytest.mark.parametrize("path", ["/s/999999", "/s/0", "/s/99999999999999999999", "/s/abc", "/s/%00"])
def test_unknown_stop_is_a_404_never_a_500(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert 'lang="de"' in html(response)


def test_unknown_stop_404_in_english(client):
    response = client.get("/s/424242", headers=EN)
    assert response.status_code == 404
    assert "We cannot find this stop" in html(response)


# --- Time zone and daylight saving -----------------------------------------------------------------------------------

def next_last_sunday(month: int, after: date) -> date:
    """The last Sunday of `month` (when the clocks change in the EU) in the first year where it lies after `after`."""
    year = after.year
    while True:
        last = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
        sunday = last - timedelta(days=(last.weekday() - 6) % 7)
        if sunday - timedelta(days=2) > after:
            return sunday
        year += 1


@pytest.mark.parametrize("month", [3, 10])
def test_wall_clock_time_stays_across_the_daylight_saving_change(client, make_stop, now, month):
    sunday = next_last_sunday(month, now.date() + timedelta(days=1))
    friday, monday = sunday - timedelta(days=2), sunday + timedelta(days=1)
    before = make_stop(starts_at=berlin(friday, 10), place="Freitagsmarkt")
    after = make_stop(before.district, starts_at=berlin(monday, 10), place="Montagsmarkt")
    # The same local time is a different UTC time on either side of the change.
    assert before.starts_at.astimezone(timezone.utc).hour != after.starts_at.astimezone(timezone.utc).hour
    for stop, weekday in ((before, "Freitag"), (after, "Montag")):
        page = html(client.get(f"/s/{stop.id}"))
        assert "10:00–13:00" in re.sub(r"<[^>]+>", "", page)
        assert weekday in page
    listing = html(client.get(f"/d/{before.district.slug}"))
    assert stop_ids_in(listing) == [before.id, after.id]
    assert re.sub(r"<[^>]+>", "", listing[listing.index('id="stops"'):]).count("10:00–13:00") == 2


# --- Query discipline ------------------------------------------------------------------------------------------------

def test_public_pages_need_few_queries_however_big_the_tour(app, client, make_district, make_stop, make_workshop, now,
                                                             login):
    app.config["SCHEDULE_PAGE_SIZE"] = 30  # all of them on one page
    districts = [make_district() for _ in range(3)]
    stops = []
    for i in range(30):
        stop = make_stop(districts[i % 3], starts_at=now + timedelta(hours=6 + 8 * i), place=f"Ort {i}",
                         status=StopStatus.CANCELLED if i % 7 == 0 else StopStatus.PUBLISHED)
        for k in range(3):
            make_workshop(stop, title=f"Workshop {i}.{k}", starts_at=stop.starts_at + timedelta(minutes=60 * k))
        stops.append(stop)
    paths = ["/", f"/?district={districts[1].slug}", f"/d/{districts[0].slug}", f"/s/{stops[4].id}",
             f"/s/{stops[4].id}.ics", f"/d/{districts[2].slug}.ics", "/tour.ics"]
    for path in paths:
        for headers in ({}, HX):
            with count_queries() as statements:
                response = client.get(path, headers=headers)
            assert response.status_code == 200, path
            assert len(statements) <= 5, (path, statements)
    # Signed-in staff cost one more query (their account), still within the budget.
    login("staff")
    for path in paths[:4]:
        with count_queries() as statements:
            assert client.get(path).status_code == 200
        assert len(statements) <= 5, (path, statements)
    # The pages really did show everything they loaded.
    assert len(stop_ids_in(html(client.get("/")))) == 30
    assert html(client.get("/tour.ics")).count("BEGIN:VEVENT") == 30


def test_workshop_titles_carry_their_language(client, make_workshop):
    """A title in another language is read with that language's pronunciation (WCAG 3.1.2)."""
    workshop = make_workshop(title="Akıllı telefon: ilk adımlar", language="tr")
    page = client.get(f"/s/{workshop.stop_id}").get_data(as_text=True)
    assert 'lang="tr" dir="ltr">Akıllı telefon: ilk adımlar</h3>' in page


def test_district_filter_swaps_the_list_only_when_asked(client, make_stop):
    """Arrow keys in the district menu must not replace the list under a screen reader (WCAG 3.2.2)."""
    make_stop()
    page = client.get("/").get_data(as_text=True)
    assert 'hx-trigger="submit"' in page and "change" not in page.split('class="district-filter"')[1].split(">")[0]
