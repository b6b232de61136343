"""The coordinators' search (/admin/search): places, stops and bookings by name, code, date or stop number."""
from __future__ import annotations

import secrets
from datetime import timedelta

import pytest

from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus
from busapp.planning import search, service


def _booking(workshop, name: str | None, code: str, status=BookingStatus.CONFIRMED) -> Booking:
    booking = Booking(workshop=workshop, party_size=2, name=name, contact="0451 1234", status=status, code=code,
                      manage_token=secrets.token_urlsafe(24), idempotency_key=secrets.token_hex(16))
    db.session.add(booking)
    db.session.commit()
    return booking


@pytest.fixture
def tour(app, make_district, make_place, make_stop, make_workshop, now):
    moisling = make_district(name="Moisling")
    buntekuh = make_district(name="Buntekuh")
    library = make_place(moisling, "Stadtteilbibliothek", address="Moislinger Mitte 5", postcode="23560")
    centre = make_place(buntekuh, "Familienzentrum", address="Straßburger Allee 3", postcode="23556")
    past = make_stop(place=library, starts_at=now - timedelta(days=20))
    soon = make_stop(place=library, starts_at=now + timedelta(days=2))
    later = make_stop(place=library, starts_at=now + timedelta(days=30))
    other = make_stop(place=centre, starts_at=now + timedelta(days=3))
    workshop = make_workshop(soon, title="Videoanrufe")
    old_workshop = make_workshop(past, title="Fotos")
    return {
        "library": library, "centre": centre, "past": past, "soon": soon, "later": later, "other": other,
        "mueller": _booking(workshop, "Erika Müller", "K7MQ4P"),
        "oeztuerk": _booking(workshop, "ÖZTÜRK, AYŞE", "H3RT9W", status=BookingStatus.WAITING),
        "purged": _booking(old_workshop, None, "ZZ2345", status=BookingStatus.CANCELLED),
    }


def test_a_place_word_finds_the_place_and_its_stops_coming_ones_first(tour):
    found = search.find("  bibliothek ")
    assert [p.id for p in found.places.rows] == [tour["library"].id]
    assert [s.id for s in found.stops.rows] == [tour["soon"].id, tour["later"].id, tour["past"].id]
    assert found.bookings.total == 0 and found.total == 4


def test_every_word_must_match_and_the_district_counts(tour):
    assert [p.id for p in search.find("moisling bibliothek").places.rows] == [tour["library"].id]
    assert search.find("moisling familienzentrum").total == 0
    assert [p.id for p in search.find("Buntekuh").places.rows] == [tour["centre"].id]


@pytest.mark.parametrize("typed", ["müller", "MUELLER", "Mueller", "erika m"])
def test_a_name_is_found_whatever_its_case_and_umlauts(tour, typed):
    assert [b.id for b in search.find(typed).bookings.rows] == [tour["mueller"].id]


def test_capital_umlauts_match_on_both_databases(tour):
    """SQLite's own lower() leaves Ö and Ü as they are; the search finds them as PostgreSQL does."""
    assert [b.id for b in search.find("öztürk").bookings.rows] == [tour["oeztuerk"].id]
    assert [b.id for b in search.find("Oeztuerk").bookings.rows] == [tour["oeztuerk"].id]


def test_strasse_finds_strasse_with_sharp_s(tour):
    assert [p.id for p in search.find("strassburger").places.rows] == [tour["centre"].id]
    assert [p.id for p in search.find("Straßburger").places.rows] == [tour["centre"].id]


@pytest.mark.parametrize("typed", ["K7MQ4P", "k7m-q4p", "k7m"])
def test_a_booking_code_is_found_from_its_first_letters(tour, typed):
    assert [b.id for b in search.find(typed).bookings.rows] == [tour["mueller"].id]


def test_a_booking_without_personal_data_is_found_by_code_only(tour):
    assert [b.id for b in search.find("zz2345").bookings.rows] == [tour["purged"].id]
    assert search.find("None").bookings.total == 0


def test_a_stop_number_finds_the_stop(tour):
    stop = tour["other"]
    for typed in (f"#{stop.id}", str(stop.id), f"# {stop.id}"):
        assert stop.id in [s.id for s in search.find(typed).stops.rows], typed


def test_a_date_finds_that_days_stops_and_narrows_words(app, tour):
    day = service.local_day(tour["soon"].starts_at)
    for typed in (day.strftime("%d.%m.%Y"), day.isoformat(), day.strftime("%d.%m.%y")):
        found = search.find(typed)
        assert found.day == day and [s.id for s in found.stops.rows] == [tour["soon"].id], typed
        assert found.places.total == 0
    both = search.find(f"bibliothek {day.strftime('%d.%m.%Y')}")
    assert [s.id for s in both.stops.rows] == [tour["soon"].id]
    assert [b.id for b in search.find(f"müller {day.strftime('%d.%m.%Y')}").bookings.rows] == [tour["mueller"].id]
    assert search.find(f"müller {(day + timedelta(days=1)).strftime('%d.%m.%Y')}").bookings.total == 0


def test_a_short_date_means_the_next_such_day():
    today = service.date(2026, 12, 7)
    assert search.parse_day("24.12.", today) == service.date(2026, 12, 24)
    assert search.parse_day("5.1.", today) == service.date(2027, 1, 5)
    assert search.parse_day("31.02.2027", today) is None
    assert search.parse_day("Moisling", today) is None


def test_wildcards_and_control_characters_are_plain_text(tour):
    assert search.find("%").total == 0 and search.find("_").total == 0
    assert search.find("bib\x00liothek").places.total == 1  # the NUL is dropped, as in every form
    assert search.find("").total == 0 and search.find("   ").total == 0


def test_each_group_shows_its_first_results_and_counts_the_rest(app, make_place, make_district):
    district = make_district(name="Kücknitz")
    for n in range(search.GROUP_LIMIT + 3):
        make_place(district, f"Haltepunkt {n:02d}")
    found = search.find("haltepunkt")
    assert len(found.places.rows) == search.GROUP_LIMIT and found.places.total == search.GROUP_LIMIT + 3
    assert found.places.more == 3


def test_the_page_groups_results_and_answers_htmx_with_the_results_alone(client, login, tour):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    page = client.get("/admin/search?q=bibliothek")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'role="search"' in html and 'id="found-places"' in html and 'id="found-stops"' in html
    assert f'href="/admin/places/{tour["library"].id}"' in html and f'href="/admin/stops/{tour["soon"].id}"' in html
    assert "4 results for “bibliothek”." in html
    assert 'id="header-q"' not in html  # the page has its own box, not a second one in the header
    partial = client.get("/admin/search?q=K7MQ4P", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "<html" not in partial and 'id="found-bookings"' in partial
    assert f'#booking-{tour["mueller"].id}' in partial and 'hx-swap-oob="innerHTML"' in partial
    assert "1 result for “K7MQ4P”." in partial
    nothing = client.get("/admin/search?q=xyzzy").get_data(as_text=True)
    assert "Nothing found" in nothing


def test_every_coordinator_page_has_the_search_box(client, login):
    login("coordinator")
    html = client.get("/admin").get_data(as_text=True)
    assert 'action="/admin/search"' in html and 'id="header-q"' in html


def test_staff_have_no_search(client, login):
    login("staff")
    assert client.get("/admin/search?q=x").status_code == 403
    assert 'id="header-q"' not in client.get("/staff").get_data(as_text=True)
