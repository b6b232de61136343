"""Open data: the JSON API, NGSI-LD, schema.org JSON-LD in stop pages, the DCAT-AP.de catalogue, and the push to a
context broker; that they agree with each other and with the pages, and that no personal data ever leaves."""
from __future__ import annotations

import csv
import io
import json
import re
import secrets
from datetime import datetime, time, timedelta, timezone
from html.parser import HTMLParser
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, StopStatus, Workshop, WorkshopStatus
from busapp.opendata import service
from flask.testing import EnvironBuilder
from werkzeug.test import run_wsgi_app

from tests.sqlcount import statements

BERLIN = ZoneInfo("Europe/Berlin")
SECRETS = []  # filled by the tour fixture: every piece of personal data it wrote


def _book(workshop: Workshop, name: str, contact: str, note: str, party: int = 1,
          status: BookingStatus = BookingStatus.CONFIRMED) -> Booking:
    booking = Booking(workshop_id=workshop.id, party_size=party, name=name, contact=contact, needs_note=note,
                      status=status, code="Q" + secrets.token_hex(4).upper(),
                      manage_token=secrets.token_urlsafe(24), idempotency_key=secrets.token_hex(16))
    db.session.add(booking)
    if status == BookingStatus.CONFIRMED:
        workshop.seats_taken += party
    return booking


@pytest.fixture
def tour(app, make_district, make_place, make_stop, make_workshop, now):
    """A small tour: a scheduled stop (one workshop full), a cancelled one, a moved one, and drafts that stay hidden,
    with bookings full of personal data."""
    district = make_district(name="Moisling", slug="moisling", number="03")
    other = make_district(name="Buntekuh", slug="buntekuh", number="04")
    # Ten in the morning in Lübeck, two days ahead: each stop stays within its own day whatever hour the test runs.
    day = now.astimezone(BERLIN).date() + timedelta(days=2)
    start = datetime.combine(day, time(10), BERLIN).astimezone(timezone.utc)
    scheduled = make_stop(district=district, starts_at=start, place="Moislinger Markt", address="Niendorfer Str. 50",
                          transit_stop="Moislinger Baum", transit_lines="6", hearing_loop=True,
                          live_note="Wir stehen vor der Apotheke.",
                          texts={"en": {"live_note": "We stand in front of the pharmacy.",
                                        "cancel_reason": "Stale reason"}})
    full = make_workshop(stop=scheduled, title="Das Smartphone kennenlernen", capacity=2, topic="smartphone_basics",
                         audience="seniors", language="de", accessibility_notes="Hebebühne am Einstieg",
                         description="Schritt für Schritt.", level="first_steps",
                         bring="Ihr Smartphone und die PIN", walk_ins=False,
                         texts={"en": {"title": "Getting to know the smartphone", "description": "Step by step."},
                                "tr": {"title": "Akıllı telefonu tanıyalım"}})
    open_ = make_workshop(stop=scheduled, title="Akıllı telefon", capacity=8, topic="messengers",
                          audience="newcomers", language="tr", starts_at=start + timedelta(minutes=90),
                          level="some_experience", description="Adım adım.",
                          texts={"de": {"title": "Das Smartphone", "description": "Schritt für Schritt."}})
    make_workshop(stop=scheduled, title="Noch geheim", status=WorkshopStatus.DRAFT)
    make_workshop(stop=scheduled, title="Fotos ordnen", status=WorkshopStatus.CANCELLED, topic="photos",
                  starts_at=start + timedelta(minutes=150), duration_minutes=30)

    cancelled = make_stop(district=other, starts_at=start + timedelta(days=1), place="Bücherei Buntekuh",
                          address="Ziegelstraße 2", status=StopStatus.CANCELLED,
                          cancel_reason="Der Bus ist in der Werkstatt.",
                          texts={"en": {"cancel_reason": "The bus is in the garage.", "live_note": "Stale note"}})
    make_workshop(stop=cancelled, title="Videoanrufe", topic="video_calls", capacity=8)

    moved = make_stop(district=district, starts_at=start + timedelta(days=3), place="Schule Moisling",
                      address="Andersenring 1")
    moved_workshop = make_workshop(stop=moved, title="Sicher online bezahlen", topic="online_banking", capacity=10,
                                   language="en")
    # Moved by a coordinator after it was published: another day and another place.
    moved.starts_at += timedelta(days=1)
    moved.ends_at += timedelta(days=1)
    moved.place = make_place(district, "Gemeindehaus Moisling", address="Oberbüssauer Weg 7", postcode="23560",
                             transit_stop="Moisling Markt", transit_lines="5, 16", step_free=True, toilet=False,
                             finding_note="Hinter der Kirche", lat=53.83, lon=10.62,
                             texts={"en": {"finding_note": "Behind the church"}})
    moved_workshop.starts_at += timedelta(days=1)
    db.session.commit()

    draft = make_stop(district=district, starts_at=start + timedelta(days=5), place="Geheimer Ort",
                      status=StopStatus.DRAFT)
    make_workshop(stop=draft, title="Entwurf")

    people = []
    for workshop, party in ((full, 2), (open_, 1), (moved_workshop, 3)):
        n = secrets.token_hex(3)
        people.append(_book(workshop, f"Erika Mustermann{n}", f"erika{n}@example.org",
                            f"Rollstuhl, bitte Rampe {n}", party))
    people.append(_book(full, "Wartende Person", "+49 451 1234567", f"Hörgerät Nr. {secrets.token_hex(3)}", 1,
                        BookingStatus.WAITING))
    db.session.commit()
    secrets_ = []
    for b in people:
        secrets_ += [b.name, b.contact, b.needs_note, b.code, b.manage_token, b.idempotency_key]
    return {"district": district, "scheduled": scheduled, "cancelled": cancelled, "moved": moved, "draft": draft,
            "full": full, "open": open_, "moved_workshop": moved_workshop, "secrets": secrets_}


def get_json(client, url: str, status: int = 200):
    response = client.get(url)
    assert response.status_code == status, (url, response.get_data(as_text=True))
    return response.get_json(force=True)


def all_pages(client, url: str) -> list[dict]:
    items = []
    while url:
        page = get_json(client, url)
        items += page["items"]
        url = page["links"]["next"]
    return items


# ------------------------------------------------------------------------------------------------------------- rules

def test_only_public_stops_and_workshops_with_their_statuses(client, tour):
    stops = {s["id"]: s for s in all_pages(client, "/api/v1/stops")}
    assert set(stops) == {str(tour[k].id) for k in ("scheduled", "cancelled", "moved")}
    assert stops[str(tour["scheduled"].id)]["status"] == "scheduled"
    cancelled = stops[str(tour["cancelled"].id)]
    assert cancelled["status"] == "cancelled" and cancelled["status_reason"] == "Der Bus ist in der Werkstatt."
    assert cancelled["live_status"] == "cancelled" and cancelled["seats_free"] == 0
    assert all(w["status"] == "cancelled" and not w["bookable"] for w in cancelled["workshops"])
    moved = stops[str(tour["moved"].id)]
    assert moved["status"] == "moved" and moved["place"]["name"] == "Gemeindehaus Moisling"
    assert moved["place"]["bus_lines"] == ["5", "16"] and moved["place"]["step_free"] is True
    assert moved["place"]["toilet"] is False and moved["place"]["seats"] is None
    assert moved["workshops"][0]["status"] == "moved"
    titles = [w["title"] for w in stops[str(tour["scheduled"].id)]["workshops"]]
    assert titles == ["Das Smartphone kennenlernen", "Akıllı telefon", "Fotos ordnen"]
    photos = stops[str(tour["scheduled"].id)]["workshops"][2]
    assert photos["status"] == "cancelled" and photos["seats_free"] == 0 and not photos["bookable"]
    assert stops[str(tour["scheduled"].id)]["seats_free"] == 7
    workshops = all_pages(client, "/api/v1/workshops")
    assert "Noch geheim" not in {w["title"] for w in workshops} and "Entwurf" not in {w["title"] for w in workshops}
    get_json(client, f"/api/v1/stops/{tour['draft'].id}", 404)


def test_level_what_to_bring_and_walk_ins(client, tour):
    full = get_json(client, f"/api/v1/workshops/{tour['full'].id}")
    assert (full["level"], full["what_to_bring"], full["walk_ins"]) == \
        ("first_steps", "Ihr Smartphone und die PIN", False)
    open_ = get_json(client, f"/api/v1/workshops/{tour['open'].id}")
    assert (open_["level"], open_["what_to_bring"], open_["walk_ins"]) == ("some_experience", None, True)
    # The CSV has the same columns, one row per workshop.
    rows = {r["workshop_id"]: r for r in csv.DictReader(io.StringIO(
        client.get("/api/v1/stops.csv").get_data(as_text=True)))}
    assert list(rows[str(tour["full"].id)])[-5:] == ["level", "what_to_bring", "walk_ins", "accessibility", "url"]
    full_row, open_row = rows[str(tour["full"].id)], rows[str(tour["open"].id)]
    assert (full_row["level"], full_row["what_to_bring"], full_row["walk_ins"]) == \
        ("first_steps", "Ihr Smartphone und die PIN", "no")
    assert (open_row["level"], open_row["what_to_bring"], open_row["walk_ins"]) == ("some_experience", "", "yes")
    levels = get_json(client, "/api/v1/openapi.json")["components"]["schemas"]["Workshop"]["properties"]["level"]
    assert set(levels["enum"]) == {"first_steps", "some_experience"}


def test_texts_in_other_languages(client, tour):
    """Every language a text is written in, beside the text in the object's own language; the answer is the same
    whatever language the client asks for."""
    full = get_json(client, f"/api/v1/workshops/{tour['full'].id}")
    assert full["language"] == "de" and full["title"] == "Das Smartphone kennenlernen"
    assert full["translations"] == {"en": {"title": "Getting to know the smartphone", "description": "Step by step."},
                                    "tr": {"title": "Akıllı telefonu tanıyalım"}}
    open_ = get_json(client, f"/api/v1/workshops/{tour['open'].id}")
    assert open_["language"] == "tr" and open_["title"] == "Akıllı telefon"
    assert open_["translations"] == {"de": {"title": "Das Smartphone", "description": "Schritt für Schritt."}}
    stops = {s["id"]: s for s in all_pages(client, "/api/v1/stops")}
    scheduled, cancelled, moved = (stops[str(tour[k].id)] for k in ("scheduled", "cancelled", "moved"))
    assert scheduled["language"] == scheduled["place"]["language"] == "de"
    # a reason only while cancelled, a live note only while not: the same for every language
    assert scheduled["translations"] == {"en": {"live_note": "We stand in front of the pharmacy."}}
    assert cancelled["translations"] == {"en": {"status_reason": "The bus is in the garage."}}
    assert moved["place"]["translations"] == {"en": {"note": "Behind the church"}}
    assert moved["place"]["note"] == "Hinter der Kirche" and moved["translations"] == {}
    places = {p["id"]: p for p in get_json(client, "/api/v1/places")["items"]}
    assert places[moved["place"]["id"]] == moved["place"]
    for lang in ("en", "tr", "ar"):
        again = client.get(f"/api/v1/workshops/{tour['full'].id}", headers={"Accept-Language": lang})
        assert again.get_json() == full
    problem = get_json(client, f"/api/v1/workshops/{tour['full'].id}?lang=en", 400)
    assert problem["parameter"] == "lang"
    doc = get_json(client, "/api/v1/openapi.json")
    translations = doc["components"]["schemas"]["Workshop"]["properties"]["translations"]
    assert set(translations["additionalProperties"]["properties"]) == {"title", "description", "accessibility"}
    assert "translations" in doc["info"]["description"]
    assert "translations" in client.get("/api", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_structured_data_keep_the_workshops_own_language(client, tour):
    """A page in English shows the English title (marked lang="en"); its schema.org event still names the workshop in
    the language it is held in, so inLanguage stays true of both the event and its name."""
    html = client.get(f"/s/{tour['scheduled'].id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert '<h3 id="workshop-%d-title" lang="en"' % tour["full"].id in html
    page = StopPage()
    page.feed(html)
    events = {e["identifier"]: e for e in json.loads("".join(page.jsonld))}
    full, open_ = events[str(tour["full"].id)], events[str(tour["open"].id)]
    assert (full["name"], full["inLanguage"]) == ("Das Smartphone kennenlernen", "de")
    assert (open_["name"], open_["description"], open_["inLanguage"]) == ("Akıllı telefon", "Adım adım.", "tr")


def test_publishing_a_draft_is_not_a_move_but_changing_a_published_stop_is(app, make_stop, make_place):
    stop = make_stop(status=StopStatus.DRAFT)
    stop.status = StopStatus.PUBLISHED
    stop.starts_at += timedelta(hours=1)
    stop.ends_at += timedelta(hours=1)
    db.session.commit()
    assert stop.moved_at is None and service.stop_status(stop) == "scheduled"
    stop.live_note = "Wir stehen heute hinter der Bücherei"
    db.session.commit()
    assert stop.moved_at is None
    stop.place = make_place(stop.district, "Anderswo")
    db.session.commit()
    assert stop.moved_at is not None and service.stop_status(stop) == "moved"


def test_filters(client, tour):
    def ids(url):
        return [s["id"] for s in all_pages(client, url)]

    s, c, m = (str(tour[k].id) for k in ("scheduled", "cancelled", "moved"))
    assert ids("/api/v1/stops?district=moisling") == [s, m]
    assert ids("/api/v1/stops?topic=online_banking") == [m]
    assert ids("/api/v1/stops?language=tr") == [s]
    day = tour["cancelled"].starts_at.astimezone(BERLIN).date().isoformat()
    assert ids(f"/api/v1/stops?from={day}&to={day}") == [c]
    assert ids("/api/v1/stops?free_seats=true") == [s, m]
    free = {w["title"] for w in all_pages(client, "/api/v1/workshops?free_seats=true")}
    assert free == {"Akıllı telefon", "Sicher online bezahlen"}
    when = tour["moved"].starts_at.astimezone(BERLIN).isoformat()
    assert ids(f"/api/v1/stops?from={when.replace('+', '%2B')}") == [m]


def test_cursor_pages_through_everything_once_and_refuses_tampering(client, tour):
    first = get_json(client, "/api/v1/stops?limit=1")
    assert client.get("/api/v1/stops?limit=1").headers["Link"] == f'<{first["links"]["next"]}>; rel="next"'
    assert "Link" not in client.get("/api/v1/stops?limit=5").headers
    ids = [s["id"] for s in all_pages(client, "/api/v1/stops?limit=1")]
    assert ids == [s["id"] for s in all_pages(client, "/api/v1/stops")] and len(ids) == 3
    cursor = re.search(r"cursor=([^&]+)", first["links"]["next"]).group(1)
    payload, _, signature = cursor.rpartition(".")  # a compressed payload starts with a dot itself
    tampered = payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1] + "." + signature
    for url in (f"/api/v1/stops?limit=1&cursor={tampered}", f"/api/v1/stops?limit=2&cursor={cursor}",
                f"/api/v1/stops?limit=1&district=moisling&cursor={cursor}", "/api/v1/stops?cursor=x.y"):
        problem = get_json(client, url, 400)
        assert problem["parameter"] == "cursor" and problem["status"] == 400


@pytest.mark.parametrize("query, parameter", [
    ("colour=red", "colour"),
    ("from=2026-06-02&to=2026-06-01", "from"),
    ("from=2026-06-01&to=2026-06-01T00:00:00%2B02:00", "from"),
    ("from=yesterday", "from"),
    ("to=2026-13-01", "to"),
    ("limit=100000", "limit"),
    ("limit=0", "limit"),
    ("limit=-1", "limit"),
    ("limit=ten", "limit"),
    ("free_seats=yes", "free_seats"),
    ("district=atlantis", "district"),
    ("district=%00", "district"),
    ("topic=%3Cscript%3E", "topic"),
    ("language=" + "x" * 200, "language"),
    ("limit=1&limit=2", "limit"),
    ("cursor=" + "a" * 2000, "cursor"),
])
def test_bad_input_is_a_clear_json_400(client, tour, query, parameter):
    for path in ("/api/v1/stops", "/api/v1/workshops", "/api/v1/stops.csv"):
        response = client.get(f"{path}?{query}")
        assert response.status_code == 400, (path, query)
        assert response.mimetype == "application/problem+json"
        body = response.get_json(force=True)
        assert body["parameter"] == parameter and body["detail"] and body["title"]
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_unknown_addresses_and_methods_answer_json(client, tour):
    for url, status in (("/api/v1/nothing", 404), ("/api/v1/stops/abc", 404), ("/api/v1/stops/99999999999", 404),
                        ("/api/v1/stops/1?x=1", 400)):
        response = client.get(url)
        assert response.status_code == status and response.mimetype == "application/problem+json", url
    response = client.post("/api/v1/stops")
    assert response.status_code == 405 and response.mimetype == "application/problem+json"
    assert "GET" in response.headers["Allow"]
    for url, status in (("/ngsi-ld/v1/entities", 400), ("/ngsi-ld/v1/entities?type=Car", 400),
                        ("/ngsi-ld/v1/entities?type=Event&limit=5000", 400),
                        ("/ngsi-ld/v1/entities/urn:ngsi-ld:Event:digitalbus:workshop-99999", 404),
                        ("/ngsi-ld/v1/entities/nonsense", 400)):
        response = client.get(url)
        assert response.status_code == status, url
        assert response.get_json(force=True)["type"].startswith("https://uri.etsi.org/ngsi-ld/errors/")


def test_lists_start_today_and_reach_back_only_when_asked(client, tour, make_stop, now):
    past = make_stop(district=tour["district"], starts_at=now - timedelta(days=40), place="Früher")
    db.session.commit()
    current = [str(tour[k].id) for k in ("scheduled", "cancelled", "moved")]
    assert [s["id"] for s in all_pages(client, "/api/v1/stops?limit=1")] == current
    assert all(w["stop"] in current for w in all_pages(client, "/api/v1/workshops?limit=2"))
    assert [s["id"] for s in all_pages(client, "/api/v1/stops?from=2000-01-01&limit=2")] == [str(past.id), *current]
    # Bounds at the ends of the calendar are answered like any other, not with a server error.
    for query in ("from=0001-01-01", "to=9999-12-31", "from=0001-01-01T00:00:00-23:59", "to=9999-12-31T23:59:59Z",
                  "from=0001-01-01&to=9999-12-31"):
        for path in ("/api/v1/stops", "/api/v1/workshops", "/api/v1/stops.csv"):
            assert client.get(f"{path}?{query}").status_code == 200, (path, query)
    # `to` alone: everything before it.
    before = (now - timedelta(days=10)).astimezone(BERLIN).date().isoformat()
    assert [s["id"] for s in all_pages(client, f"/api/v1/stops?to={before}")] == [str(past.id)]


def test_the_download_is_the_whole_current_tour_in_one_file(app, client, tour, make_stop, make_workshop, now):
    """The CSV named in the catalogue holds every stop from today on, however many, as the API counts them."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    for i in range(230):  # more than a download batch and more than the API's largest page
        stop = make_stop(district=tour["district"], starts_at=start + timedelta(hours=5 * i), place=f"Ort {i % 7}")
        if i % 3 == 0:
            make_workshop(stop=stop, title=f"Kurs {i}", starts_at=stop.starts_at)
    make_stop(district=tour["district"], starts_at=now - timedelta(days=3), place="Vorbei")
    db.session.commit()

    api_stops = all_pages(client, f"/api/v1/stops?limit={service.MAX_LIMIT}")
    api_workshops = all_pages(client, f"/api/v1/workshops?limit={service.MAX_LIMIT}")
    response = client.get("/api/v1/stops.csv")
    assert response.status_code == 200
    assert "Link" not in response.headers
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(api_stops) == 233
    assert [r["stop_id"] for r in rows if r["workshop_id"] in ("", rows[0]["workshop_id"])][:1] == [api_stops[0]["id"]]
    assert list(dict.fromkeys(r["stop_id"] for r in rows)) == [s["id"] for s in api_stops]
    assert sorted(r["workshop_id"] for r in rows if r["workshop_id"]) == sorted(w["id"] for w in api_workshops)
    assert len(rows) == sum(max(len(s["workshops"]), 1) for s in api_stops)
    # The same filters as the API, without pages; the catalogue points here.
    moisling = list(csv.DictReader(io.StringIO(client.get("/api/v1/stops.csv?district=moisling").get_data(as_text=True))))
    assert {r["district"] for r in moisling} == {"moisling"}
    catalogue = client.get("/api/v1/catalog.jsonld").get_json()
    downloads = {d["dcat:downloadURL"]["@id"] for d in catalogue["@graph"] if "dcat:downloadURL" in d}
    assert "http://localhost/api/v1/stops.csv" in downloads


def test_the_download_is_streamed_and_answers_conditional_requests(app, client, tour, make_stop, make_workshop, now):
    """Written piece by piece (the WSGI body is an iterator of several pieces), with a weak validator that a
    conditional request gets its 304 from, and that changes when a seat is taken."""
    start = now.replace(minute=0, second=0, microsecond=0) + timedelta(days=10)
    for i in range(300):
        stop = make_stop(district=tour["district"], starts_at=start + timedelta(hours=5 * i), place=f"Ort {i % 7}")
        make_workshop(stop=stop, title=f"Kurs {i}", starts_at=stop.starts_at, description="x" * 100)
    db.session.commit()
    first = client.get("/api/v1/stops.csv")
    etag = first.headers["ETag"]
    assert etag.startswith('W/"') and first.headers["Last-Modified"]
    assert client.get("/api/v1/stops.csv", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/api/v1/stops.csv", headers={"If-None-Match": etag[2:]}).status_code == 304
    assert client.get("/api/v1/stops.csv?district=moisling", headers={"If-None-Match": etag}).status_code == 200
    tour["open"].seats_taken += 1
    db.session.commit()
    assert client.get("/api/v1/stops.csv", headers={"If-None-Match": etag}).status_code == 200

    app_iter, status, _headers = run_wsgi_app(app, EnvironBuilder(app, path="/api/v1/stops.csv").get_environ())
    try:
        assert status.startswith("200")
        pieces = list(app_iter)
    finally:
        app_iter.close()
    assert len(pieces) > 1
    assert b"".join(pieces) == client.get("/api/v1/stops.csv").get_data()


# ------------------------------------------------------------------------------------------------- HTTP behaviour

def test_cors_only_on_the_api(client, tour):
    for url in ("/api/v1/stops", "/api/v1/openapi.json", "/ngsi-ld/v1/entities?type=Event", "/api/v1/nothing"):
        response = client.get(url, headers={"Origin": "https://map.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin", url
        assert "ETag" in response.headers["Access-Control-Expose-Headers"]
    preflight = client.options("/api/v1/stops", headers={
        "Origin": "https://map.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "if-none-match"})
    assert preflight.status_code == 200
    assert "If-None-Match" in preflight.headers["Access-Control-Allow-Headers"]
    assert "POST" not in preflight.headers["Access-Control-Allow-Methods"]
    for url in ("/", f"/s/{tour['scheduled'].id}", "/api", "/signin"):
        response = client.get(url, headers={"Origin": "https://map.example"})
        assert "Access-Control-Allow-Origin" not in response.headers, url
        assert response.headers["Cross-Origin-Resource-Policy"] == "same-origin", url


def test_calendar_feeds_named_in_the_catalogue_are_open_to_scripts_on_other_sites(client, tour):
    district = tour["district"].slug
    for url in ("/tour.ics", f"/d/{district}.ics", f"/s/{tour['scheduled'].id}.ics"):
        response = client.get(url, headers={"Origin": "https://events.example"})
        assert response.status_code == 200, url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
        assert "ETag" in response.headers["Access-Control-Expose-Headers"], url
        assert response.headers["Cross-Origin-Resource-Policy"] == "cross-origin", url


def test_preflight_lets_ngsi_ld_clients_send_link_and_tenant(client, tour):
    for url in ("/ngsi-ld/v1/entities?type=Event", "/api/v1/stops"):
        preflight = client.options(url, headers={
            "Origin": "https://broker-ui.example", "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "link, ngsild-tenant"})
        allowed = {h.strip().lower() for h in preflight.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"link", "ngsild-tenant", "if-none-match"} <= allowed, url


def test_api_answers_do_not_vary_on_cookies(client, tour):
    client.get(f"/workshops/{tour['open'].id}/book")  # a form: the client now has a session cookie
    assert any(c.key == "session" or "session" in c.key for c in client._cookies.values())
    for url in ("/api/v1/", "/api/v1/stops", "/api/v1/stops.csv", "/api/v1/nothing", "/api/v1/stops?limit=0",
                "/ngsi-ld/v1/entities?type=Event", "/ngsi-ld/v1/entities/urn:ngsi-ld:Event:digitalbus:tour"):
        response = client.get(url)
        assert "cookie" not in response.headers.get("Vary", "").lower(), url
        assert "Set-Cookie" not in response.headers, url


def test_problem_titles_are_the_status_phrase_and_details_name_their_language(client, tour):
    for url, status, phrase in (("/api/v1/stops?limit=0", 400, "Bad Request"), ("/api/v1/stops/999999", 404,
                                "Not Found"), ("/api/v1/nothing", 404, "Not Found"),
                                ("/ngsi-ld/v1/entities?type=Car", 400, "Bad Request"),
                                ("/ngsi-ld/v1/entities/urn:ngsi-ld:Event:digitalbus:workshop-999999", 404,
                                 "Not Found")):
        german = client.get(url, headers={"Accept-Language": "de"})
        english = client.get(url, headers={"Accept-Language": "en"})
        assert german.status_code == english.status_code == status, url
        assert german.get_json(force=True)["title"] == english.get_json(force=True)["title"] == phrase, url
        assert (german.headers["Content-Language"], english.headers["Content-Language"]) == ("de", "en"), url
        assert german.get_json(force=True)["detail"] != english.get_json(force=True)["detail"], url


def test_api_index_links_every_part_of_the_api(client, tour):
    response = client.get("/api/v1/")
    assert response.status_code == 200 and response.headers["ETag"]
    index = response.get_json()
    assert len(index["links"]) >= 10
    for name, url in index["links"].items():
        assert client.get(urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query else "")
                          ).status_code == 200, name


def test_etag_and_last_modified(client, tour):
    first = client.get("/api/v1/stops")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/api/v1/stops", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/api/v1/stops", headers={"If-Modified-Since": modified}).status_code == 304
    # RFC 9110 13.1.2: If-None-Match compares weakly; a proxy that compresses answers marks their tags weak.
    assert client.get("/api/v1/stops", headers={"If-None-Match": "W/" + etag}).status_code == 304
    assert client.get("/api/v1/stops", headers={"If-None-Match": f'"other", W/{etag}'}).status_code == 304
    for url in ("/ngsi-ld/v1/entities?type=Event", "/ngsi-ld/v1/entities/urn:ngsi-ld:Event:digitalbus:tour",
                "/api/v1/", "/api/v1/places"):
        tag = client.get(url).headers["ETag"]
        assert client.get(url, headers={"If-None-Match": "W/" + tag}).status_code == 304, url
    tour["open"].seats_taken += 1
    db.session.commit()
    changed = client.get("/api/v1/stops", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag
    assert client.get("/api/v1/stops", headers={"If-Modified-Since": modified}).status_code == 200


def test_a_conditional_request_within_the_fresh_window_costs_no_query(app, client, tour):
    app.config["OPENDATA_FRESH_SECONDS"] = 60
    etag = client.get("/api/v1/stops?district=moisling").headers["ETag"]
    with statements() as seen:
        response = client.get("/api/v1/stops?district=moisling", headers={"If-None-Match": etag})
    assert response.status_code == 304 and seen == []
    assert response.headers["ETag"] == etag and response.headers["Access-Control-Allow-Origin"] == "*"
    with statements() as seen:  # another address, or no validator: answered in full
        assert client.get("/api/v1/stops?district=buntekuh", headers={"If-None-Match": etag}).status_code == 200
    assert seen


def _stop_item(client, stop_id: int, url: str = "/api/v1/stops") -> dict:
    return next(s for s in get_json(client, url)["items"] if s["id"] == str(stop_id))


def _workshop_item(client, stop_id: int, workshop_id: int) -> dict:
    return next(w for w in _stop_item(client, stop_id)["workshops"] if w["id"] == str(workshop_id))


def test_a_list_page_is_made_again_when_its_rows_change(app, client, tour):
    from busapp.booking import service as booking

    scheduled, open_ = tour["scheduled"], tour["open"]
    first = client.get("/api/v1/stops")
    # The same rows and the same clock: the same bytes, made once, at the cost of one light statement.
    with statements() as seen:
        again = client.get("/api/v1/stops")
    assert again.get_data() == first.get_data() and again.headers["ETag"] == first.headers["ETag"]
    assert len(seen) == 1
    free = _workshop_item(client, scheduled.id, open_.id)["seats_free"]
    # A booking through the booking rules (seats taken by a conditional UPDATE, nothing else of the row written).
    made = booking.create(open_.id, party_size=2, name="Ada", contact=None, needs_note=None,
                          idempotency_key=secrets.token_hex(16), locale="de").booking
    assert made.status == BookingStatus.CONFIRMED
    assert _workshop_item(client, scheduled.id, open_.id)["seats_free"] == free - 2
    booking.cancel(db.session.get(Booking, made.id))
    assert _workshop_item(client, scheduled.id, open_.id)["seats_free"] == free
    # Staff set the live status; a coordinator deletes a workshop or cancels a stop.
    scheduled.live_status = "here"
    db.session.commit()
    assert _stop_item(client, scheduled.id)["live_status"] == "here"
    photos = db.session.scalar(sa.select(Workshop).where(Workshop.title == "Fotos ordnen"))
    assert str(photos.id) in {w["id"] for w in _stop_item(client, scheduled.id)["workshops"]}
    db.session.delete(photos)
    db.session.commit()
    assert str(photos.id) not in {w["id"] for w in _stop_item(client, scheduled.id)["workshops"]}
    scheduled.status = StopStatus.CANCELLED
    db.session.commit()
    assert _stop_item(client, scheduled.id)["status"] == "cancelled"
    # Each address keeps its own page.
    assert {s["district"] for s in get_json(client, "/api/v1/stops?district=buntekuh")["items"]} == {"buntekuh"}


def test_a_list_page_is_made_again_when_the_clock_passes_one_of_its_times(app, client, tour, monkeypatch):
    from busapp.opendata import views

    scheduled, open_ = tour["scheduled"], tour["open"]
    item = _workshop_item(client, scheduled.id, open_.id)
    assert item["bookable"] and item["booking_url"]
    closes = open_.starts_at - timedelta(minutes=app.config["BOOKING_CLOSES_MINUTES"])
    monkeypatch.setattr(views, "utcnow", lambda: closes - timedelta(seconds=1))
    assert _workshop_item(client, scheduled.id, open_.id)["bookable"]
    monkeypatch.setattr(views, "utcnow", lambda: closes)
    item = _workshop_item(client, scheduled.id, open_.id)
    assert not item["bookable"] and item["booking_url"] is None
    monkeypatch.setattr(views, "utcnow", lambda: scheduled.starts_at)
    assert _stop_item(client, scheduled.id)["live_status"] == "due"
    monkeypatch.setattr(views, "utcnow", lambda: open_.ends_at)
    assert _workshop_item(client, scheduled.id, open_.id)["seats_free"] == 0


# ----------------------------------------------------------------------------------------------------- privacy

def every_api_answer(client, tour) -> list[tuple[str, str]]:
    """Every address of the API with its answer: lists walked page by page, every item, every entity."""
    answers = []

    def fetch(url):
        response = client.get(url)
        assert response.status_code == 200, url
        answers.append((url, response.get_data(as_text=True)))
        return response

    for base in ("/api/v1/stops?limit=1", "/api/v1/workshops?limit=1"):
        url = base
        while url:
            url = fetch(url).get_json()["links"]["next"]
    for url in ("/api/v1/places", "/api/v1/districts", "/api/v1/catalog.jsonld", "/api/v1/openapi.json",
                "/api/v1/stops.csv", "/ngsi-ld/v1/entities?type=PointOfInterest&limit=1000",
                "/ngsi-ld/v1/entities?type=Event&limit=1000", "/api", "/tour.ics"):
        fetch(url)
    for stop in all_pages(client, "/api/v1/stops"):
        fetch(f"/api/v1/stops/{stop['id']}")
        fetch(urlsplit(stop["url"]).path)
        for w in stop["workshops"]:
            fetch(f"/api/v1/workshops/{w['id']}")
    for kind in ("PointOfInterest", "Event"):
        for entity in get_json(client, f"/ngsi-ld/v1/entities?type={kind}&limit=1000"):
            fetch(f"/ngsi-ld/v1/entities/{entity['id']}")
    return answers


def test_no_personal_data_in_any_answer(client, tour):
    answers = every_api_answer(client, tour)
    assert len(answers) > 20
    for url, text in answers:
        folded = text.casefold()
        for secret in tour["secrets"]:
            assert secret.casefold() not in folded, f"{secret!r} leaked in {url}"
        assert "mustermann" not in folded and "@example.org" not in folded, url


# ---------------------------------------------------------------------------------------------- formats agree

class StopPage(HTMLParser):
    """What a stop page says: its JSON-LD, headings, and the text of each workshop article."""

    def __init__(self):
        super().__init__()
        self.jsonld, self.h1, self.articles, self.text = [], "", {}, []
        self._in, self._article = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "script" and a.get("type") == "application/ld+json":
            self._in = "jsonld"
        elif tag == "h1":
            self._in = "h1"
        elif tag == "article" and (a.get("aria-labelledby") or "").startswith("workshop-"):
            self._article = a["aria-labelledby"].split("-")[1]
            self.articles[self._article] = ""

    def handle_endtag(self, tag):
        if tag in ("script", "h1"):
            self._in = None
        if tag == "article":
            self._article = None

    def handle_data(self, data):
        if self._in == "jsonld":
            self.jsonld.append(data)
        elif self._in == "h1":
            self.h1 += data
        if self._article:
            self.articles[self._article] += data
        self.text.append(data)


def stop_events(client, stop) -> list[dict]:
    page = StopPage()
    page.feed(client.get(f"/s/{stop.id}").get_data(as_text=True))
    return json.loads("".join(page.jsonld))


def test_schema_org_says_rescheduled_with_the_first_time_and_offers_nothing_that_is_over(
        client, tour, make_stop, make_workshop, now):
    # Another time: rescheduled, with the time first announced (the workshop moved a day with its stop).
    [moved] = stop_events(client, tour["moved"])
    first = tour["moved_workshop"].starts_at - timedelta(days=1)
    assert moved["eventStatus"] == "https://schema.org/EventRescheduled"
    assert datetime.fromisoformat(moved["previousStartDate"]) == first
    assert datetime.fromisoformat(moved["startDate"]) == tour["moved_workshop"].starts_at
    api = get_json(client, f"/api/v1/workshops/{tour['moved_workshop'].id}")
    assert datetime.fromisoformat(api["previous_starts_at"]) == first and api["status"] == "moved"
    # Only another place: still scheduled (a new date is what EventRescheduled means), at the new place.
    relocated = make_stop(district=tour["district"], starts_at=now + timedelta(days=20), place="Alter Ort")
    make_workshop(stop=relocated, title="Umgezogen")
    relocated.place = tour["moved"].place
    db.session.commit()
    [event] = stop_events(client, relocated)
    assert event["eventStatus"] == "https://schema.org/EventScheduled" and "previousStartDate" not in event
    assert event["location"]["name"] == "Gemeindehaus Moisling"
    # Cancelled and past workshops are not sold out: their offer names no availability, only when it ended.
    events = {e["name"]: e for e in stop_events(client, tour["scheduled"])}
    assert events["Das Smartphone kennenlernen"]["offers"]["availability"] == "https://schema.org/SoldOut"
    assert events["Akıllı telefon"]["offers"]["availability"] == "https://schema.org/InStock"
    assert "availability" not in events["Fotos ordnen"]["offers"]
    assert events["Fotos ordnen"]["offers"]["availabilityEnds"] == events["Fotos ordnen"]["startDate"]
    [cancelled] = stop_events(client, tour["cancelled"])
    assert cancelled["eventStatus"] == "https://schema.org/EventCancelled" and "availability" not in cancelled["offers"]
    past = make_stop(district=tour["district"], starts_at=now - timedelta(hours=5), hours=2, place="Gestern")
    make_workshop(stop=past, title="Vorbei", starts_at=past.starts_at, capacity=4)
    [over] = stop_events(client, past)
    assert "availability" not in over["offers"] and over["offers"]["availabilityEnds"] == over["startDate"]
    # Addresses: the region always, and nothing that is not known given as null.
    address = events["Akıllı telefon"]["location"]["address"]
    assert address["addressRegion"] == "Schleswig-Holstein" and address["streetAddress"] == "Niendorfer Str. 50"
    bare = make_stop(district=tour["district"], starts_at=now + timedelta(days=30), place="Ohne Anschrift", address="")
    [event] = stop_events(client, bare)
    assert None not in event["location"]["address"].values() and "streetAddress" not in event["location"]["address"]


def test_every_demo_place_has_a_street_address(app):
    from busapp.dev import demo
    from busapp.models import Place

    demo.load(with_users=False)
    places = db.session.scalars(sa.select(Place)).all()
    assert len(places) >= 18 and all(p.address for p in places), [p.name for p in places if not p.address]


LEVEL_WORDS = {"first_steps": "First steps", "some_experience": "Some experience"}
# What the tour fixture holds, worked out by hand from its bookings and statuses (not from the code): each public
# workshop's status and free seats (capacity less the confirmed parties; none in a cancelled workshop or stop).
TOUR_WORKSHOPS = {
    "Das Smartphone kennenlernen": ("scheduled", 0),  # 2 seats, a party of 2 (and one waiting)
    "Akıllı telefon": ("scheduled", 7),  # 8 seats, a party of 1
    "Fotos ordnen": ("cancelled", 0),
    "Videoanrufe": ("cancelled", 0),  # its stop is cancelled
    "Sicher online bezahlen": ("moved", 7),  # 10 seats, a party of 3
}
# schema.org's own names for these (https://schema.org/EventStatusType).
SCHEMA_ORG_STATUS = {
    "scheduled": "https://schema.org/EventScheduled",
    "moved": "https://schema.org/EventRescheduled",
    "cancelled": "https://schema.org/EventCancelled",
}


def in_english(item: dict, field: str) -> str:
    """What a page in English shows of a written text, from the API's answer: English, else German, else the
    object's own text."""
    for tag in ("en", "de"):
        if tag == item["language"] and item[field]:
            return item[field]
        if item["translations"].get(tag, {}).get(field):
            return item["translations"][tag][field]
    return item[field]


def _norm(text: str) -> str:
    return " ".join(text.split())


def test_api_jsonld_ngsild_and_html_agree(client, tour):
    entities = {e["id"]: e for kind in ("PointOfInterest", "Event")
                for e in get_json(client, f"/ngsi-ld/v1/entities?type={kind}&limit=1000")}
    stops = all_pages(client, "/api/v1/stops")
    assert {s["status"] for s in stops} == {"scheduled", "cancelled", "moved"}
    expected = dict(TOUR_WORKSHOPS)
    for stop in stops:
        html = client.get(urlsplit(stop["url"]).path, headers={"Accept-Language": "en"}).get_data(as_text=True)
        page = StopPage()
        page.feed(html)
        events = {e["identifier"]: e for e in json.loads("".join(page.jsonld))}
        text = _norm(" ".join(page.text))
        place = stop["place"]
        # HTML: place, address, status and reason
        assert _norm(page.h1) == place["name"] and place["street"] in text
        for key in ("postcode", "nearest_bus_stop"):
            assert place[key] is None or place[key] in text, key
        # the page is in English: written texts in English where they exist, else in their own language
        assert place["note"] is None or in_english(place, "note") in text
        assert stop["status_reason"] is None or in_english(stop, "status_reason") in text
        # (a live note shows on the page on the day of the visit only)
        assert all(line in text for line in place["bus_lines"])
        if stop["status"] == "cancelled":
            assert "Cancelled" in text
        assert ("new time or place" in text) == (stop["status"] == "moved")
        assert get_json(client, f"/api/v1/stops/{stop['id']}") == stop
        poi = entities[service.ngsi_id("PointOfInterest", place["id"])]
        assert poi["name"]["value"] == place["name"]
        assert poi["address"]["value"]["streetAddress"] == place["street"]
        assert poi["location"]["value"]["coordinates"] == [place["lon"], place["lat"]]
        assert set(events) == {w["id"] for w in stop["workshops"]}
        for w in stop["workshops"]:
            event, entity = events[w["id"]], entities[service.ngsi_id("Event", f"workshop-{w['id']}")]
            assert get_json(client, f"/api/v1/workshops/{w['id']}") == w
            article = _norm(page.articles[w["id"]])
            # the same title, times, capacity, free seats, language and status everywhere
            assert event["name"] == entity["name"]["value"] == w["title"]
            assert event["startDate"] == entity["startDate"]["value"]["@value"] == w["starts_at"]
            assert event["endDate"] == entity["endDate"]["value"]["@value"] == w["ends_at"]
            start = datetime.fromisoformat(w["starts_at"]).astimezone(BERLIN)
            assert start.strftime("%H:%M").lstrip("0") in article or start.strftime("%-I:%M") in article
            assert event["maximumAttendeeCapacity"] == entity["maximumAttendeeCapacity"]["value"] == w["capacity"]
            assert event["remainingAttendeeCapacity"] == entity["remainingAttendeeCapacity"]["value"] \
                == w["seats_free"]
            assert event["inLanguage"] == w["language"] and entity["language"]["value"] == [w["language"]]
            status, free = expected.pop(w["title"])
            assert w["status"] == status and w["seats_free"] == free, w["title"]
            assert event["eventStatus"] == SCHEMA_ORG_STATUS[status]
            assert entity["eventStatus"]["value"] == [service.SDM_EVENT_STATUS[w["status"]]]
            assert entity["refPointOfInterest"]["object"] == [poi["id"]]
            assert entity["superEvent"]["object"] == service.ngsi_id("Event", "tour")
            assert event["location"]["name"] == place["name"]
            assert event["location"]["geo"] == {"@type": "GeoCoordinates", "latitude": place["lat"],
                                                "longitude": place["lon"]}
            assert event["offers"]["price"] == 0 and event["eventAttendanceMode"].endswith("Offline" +
                                                                                          "EventAttendanceMode")
            if w["status"] == "cancelled":
                assert stop["status"] == "cancelled" or "Cancelled" in article
            elif w["seats_free"]:
                assert f"{free} of {w['capacity']} seats free" in article
            else:
                assert "Fully booked – waiting list open" in article
            if w["accessibility"]:
                assert w["accessibility"] in article
            # level, what to bring and walk-ins: API, NGSI-LD, schema.org (level only: it has no fitting property
            # for the other two) and the page say the same
            assert w["level"] in LEVEL_WORDS and LEVEL_WORDS[w["level"]] in article
            assert entity["level"]["value"] == event["educationalLevel"] == w["level"]
            assert event["@type"] == "EducationEvent"
            assert entity.get("whatToBring", {}).get("value") == w["what_to_bring"]
            assert w["what_to_bring"] is None or w["what_to_bring"] in article
            assert entity["walkIns"]["value"] is w["walk_ins"]
            assert ("just come by" in article) is w["walk_ins"] and ("Only with a booking" in article) is not \
                w["walk_ins"]
            # texts in other languages: the page in English shows the English text where there is one, the
            # structured data keep the workshop's own text and language, and NGSI-LD carries every language
            assert in_english(w, "title") in article and in_english(w, "description") in article
            assert event["description"] == w["description"]
            titles = entity["nameByLanguage"]["languageMap"]
            assert entity["nameByLanguage"]["type"] == "LanguageProperty"
            assert titles == {w["language"]: w["title"], **{tag: t["title"] for tag, t in w["translations"].items()
                                                              if "title" in t}}
    assert expected == {}, "every public workshop of the tour was checked"


def test_jsonld_cannot_break_out_of_its_script_element(client, make_workshop):
    workshop = make_workshop(title="</script><script>alert(1)</script>", description="a & b < c")
    html = client.get(f"/s/{workshop.stop_id}").get_data(as_text=True)
    block = re.search(r'<script type="application/ld\+json">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and json.loads(block)[0]["name"] == workshop.title


# ------------------------------------------------------------------------------------------------------ catalogue

def test_dcat_catalogue_describes_every_format_with_its_licence(app, client, tour):
    catalog = get_json(client, "/api/v1/catalog.jsonld")
    graph = {node["@type"]: node for node in catalog["@graph"] if node["@type"] != "dcat:Distribution"}
    dataset = graph["dcat:Dataset"]
    distributions = [n for n in catalog["@graph"] if n["@type"] == "dcat:Distribution"]
    assert {d["dct:title"] for d in distributions} == {"JSON", "CSV", "iCalendar", "NGSI-LD"}
    assert all(d["dct:license"]["@id"] == "http://dcat-ap.de/def/licenses/dl-zero-de/2.0" for d in distributions)
    for d in distributions:
        url = urlsplit(d["dcat:accessURL"]["@id"])
        assert client.get(url.path + ("?" + url.query if url.query else "")).status_code == 200, url
    assert dataset["dcatde:politicalGeocodingURI"]["@id"].endswith("/01003000")
    for key in ("dct:title", "dct:description", "dct:publisher", "dcat:keyword", "dcat:theme", "dcat:contactPoint",
                "dct:temporal", "dct:spatial"):
        assert dataset[key], key
    assert graph["dcat:DataService"]["dcat:endpointDescription"]["@id"].endswith("/api/v1/openapi.json")
    # The languages of the texts: every language offered, Leichte Sprache counted as German.
    codes = [lang["@id"].rsplit("/", 1)[1] for lang in dataset["dct:language"]]
    assert codes == ["DEU", "ENG", "TUR", "UKR", "ARA", "POL", "RUS", "FAS"]
    app.config["LANGUAGES"] = {"de": "Deutsch", "it": "Italiano", "de-x-ls": "Leichte Sprache"}
    codes = [lang["@id"].rsplit("/", 1)[1] for lang in get_json(client, "/api/v1/catalog.jsonld")["@graph"][1]
             ["dct:language"]]
    assert codes == ["DEU", "ITA"]
    app.config["OPENDATA_LICENSE"] = "http://dcat-ap.de/def/licenses/cc-by/4.0"
    again = get_json(client, "/api/v1/catalog.jsonld")
    assert "http://dcat-ap.de/def/licenses/cc-by/4.0" in json.dumps(again)


def test_openapi_documents_every_api_route(app, client):
    doc = get_json(client, "/api/v1/openapi.json")
    documented = set(doc["paths"])
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith(("opendata.", "ngsild.")) and rule.rule != "/api":
            path = re.sub(r"<(?:[a-z]+:)?item_id>", "{id}", rule.rule)
            path = re.sub(r"<(?:[a-z]+:)?entity_id>", "{entityId}", path)
            assert path in documented, rule.rule
    assert client.get("/api").status_code == 200


def test_pages_made_once_are_bounded_by_count_and_bytes(app, monkeypatch):
    from busapp.opendata import answers

    made = answers.MadeAnswers()
    monkeypatch.setattr(answers.MadeAnswers, "MAX_BYTES", 2500)
    now = datetime(2026, 12, 1, 10, 0)
    for i in range(4):
        made.put(f"/api/v1/stops?limit={i}", answers.Made((i,), now + timedelta(hours=1), b"x" * 1000, str(i), None))
    assert made._bytes <= 2500 and len(made._made) == 2
    assert made.get("/api/v1/stops?limit=0", (0,), now) is None  # the least recently used went first
    assert made.get("/api/v1/stops?limit=3", (3,), now).etag == "3"
    assert made.get("/api/v1/stops?limit=3", (4,), now) is None  # other rows: made anew
    assert made.get("/api/v1/stops?limit=3", (3,), now + timedelta(hours=1)) is None  # its time has come
