"""QR posters: print pages per stop, workshop and for the bus; SVG downloads; codes decode to their URLs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import zxingcpp

from busapp.models import StopStatus
from tests.qrtools import decode, rasterise

ROOT = Path(__file__).resolve().parents[2]


def codes_in(html: str) -> list[str]:
    """The SVG QR codes embedded in a page."""
    return re.findall(r'<svg[^>]*class="qr".*?</svg>', html, flags=re.S)


def decoded(svg: str) -> str:
    texts = decode(svg)
    assert len(texts) == 1, texts
    return texts[0]


@pytest.fixture
def coordinator(login):
    return login("coordinator")


@pytest.fixture
def stop(make_stop, make_workshop):
    stop = make_stop(place="Marli-Forum", address="Marliring 14")
    make_workshop(stop=stop, title="Videoanrufe mit der Familie")
    return stop


def poster_routes(stop) -> list[str]:
    workshop = stop.workshops[0]
    return [
        "/admin/posters", "/admin/posters/bus", f"/admin/posters/stops/{stop.id}",
        f"/admin/posters/workshops/{workshop.id}", "/admin/posters/bus.svg", "/admin/posters/schedule.svg",
        f"/admin/posters/stops/{stop.id}/feedback.svg", f"/admin/posters/stops/{stop.id}/stop.svg",
        f"/admin/posters/workshops/{workshop.id}.svg",
    ]


def test_posters_are_for_coordinators_only(client, login, stop):
    for path in poster_routes(stop):
        response = client.get(path)
        assert response.status_code == 302 and "/signin" in response.headers["Location"], path
    login("staff")
    for path in poster_routes(stop):
        assert client.get(path).status_code == 403, path


def test_every_poster_route_answers_a_coordinator(client, coordinator, stop):
    for path in poster_routes(stop):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["Cache-Control"] == "no-store"


def test_stop_poster_codes_decode_to_the_public_urls(app, client, coordinator, stop):
    app.config["PUBLIC_BASE_URL"] = "https://bus.luebeck.example"
    response = client.get(f"/admin/posters/stops/{stop.id}")
    html = response.get_data(as_text=True)
    codes = codes_in(html)
    assert [decoded(svg) for svg in codes] == [
        f"https://bus.luebeck.example/f/{stop.id}",
        f"https://bus.luebeck.example/s/{stop.id}",
    ]
    # The short address is written under each code for people who cannot scan.
    assert f'<p class="poster__url">bus.luebeck.example/f/{stop.id}</p>' in html
    assert f'<p class="poster__url">bus.luebeck.example/s/{stop.id}</p>' in html
    # Place and times in big type, the workshops listed.
    assert '<h1 class="poster__title">Marli-Forum</h1>' in html
    assert re.search(r'<p class="poster__when">\w+, \d+\. \w+, \d\d:\d\d–\d\d:\d\d</p>',
                     html)
    assert "Marliring 14" in html and "Videoanrufe mit der Familie" in html
    assert "css/print.css" in html


def test_codes_use_the_public_base_url_not_the_request_address(app, client, coordinator, stop):
    app.config["PUBLIC_BASE_URL"] = "http://bus.luebeck.example:8080"
    html = client.get(f"/admin/posters/stops/{stop.id}").get_data(as_text=True)
    assert decoded(codes_in(html)[0]) == f"http://bus.luebeck.example:8080/f/{stop.id}"


def test_decoded_codes_lead_to_working_pages(client, coordinator, make_stop, make_workshop, now):
    from datetime import timedelta

    running = make_stop(starts_at=now - timedelta(hours=1))
    workshop = make_workshop(stop=running, title="Fotos teilen")
    html = client.get(f"/admin/posters/workshops/{workshop.id}").get_data(as_text=True)
    feedback_url, stop_url = [decoded(svg) for svg in codes_in(html)]
    assert feedback_url == f"http://localhost/f/w/{workshop.id}"
    form = client.get(feedback_url.removeprefix("http://localhost"))
    assert form.status_code == 200 and 'data-outbox="feedback"' in form.get_data(as_text=True)
    assert client.get(stop_url.removeprefix("http://localhost")).status_code == 200


def test_bus_poster_carries_the_permanent_code(app, client, coordinator):
    app.config["PUBLIC_BASE_URL"] = "https://bus.luebeck.example"
    html = client.get("/admin/posters/bus").get_data(as_text=True)
    codes = codes_in(html)
    assert decoded(codes[0]) == "https://bus.luebeck.example/f"
    assert decoded(codes[1]) == "https://bus.luebeck.example/"
    assert '<p class="poster__url">bus.luebeck.example/f</p>' in html
    english = client.get("/admin/posters/bus", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "How was your workshop?" in english and "Your opinion counts" in english
    assert "Wie war Ihr Kurs?" in html and "Ihre Meinung zählt" in html


@pytest.mark.parametrize("path,expected", [
    ("/admin/posters/bus.svg", "/f"),
    ("/admin/posters/stops/{stop}/feedback.svg", "/f/{stop}"),
    ("/admin/posters/stops/{stop}/stop.svg", "/s/{stop}"),
    ("/admin/posters/workshops/{workshop}.svg", "/f/w/{workshop}"),
])
def test_svg_download_is_a_printable_file_that_decodes(app, client, coordinator, stop, path, expected):
    app.config["PUBLIC_BASE_URL"] = "https://bus.luebeck.example"
    ids = {"stop": stop.id, "workshop": stop.workshops[0].id}
    response = client.get(path.format(**ids))
    body = response.get_data(as_text=True)
    assert response.mimetype == "image/svg+xml"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=")
    assert body.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    assert 'width="80mm" height="80mm"' in body
    assert 'viewBox="0 0 ' in body and 'shape-rendering="crispEdges"' in body
    results = zxingcpp.read_barcodes(rasterise(body))
    assert [r.text for r in results] == ["https://bus.luebeck.example" + expected.format(**ids)]
    assert results[0].ec_level in ("M", "Q", "H")  # survives scratches and dirt


@pytest.mark.parametrize("asked,size", [("150", "150mm"), ("99999", "500mm"), ("1", "20mm"), ("abc", "80mm")])
def test_svg_print_size_can_be_chosen_within_bounds(client, coordinator, asked, size):
    body = client.get(f"/admin/posters/bus.svg?mm={asked}").get_data(as_text=True)
    assert f'width="{size}" height="{size}"' in body


def test_unknown_stop_or_workshop_poster_is_404(client, coordinator):
    for path in ["/admin/posters/stops/999999", "/admin/posters/workshops/999999", "/admin/posters/stops/999999/stop.svg",
                 "/admin/posters/stops/1/other.svg"]:
        assert client.get(path).status_code == 404, path


def test_poster_list_shows_coming_stops_and_marks_drafts(client, coordinator, make_stop, now):
    from datetime import timedelta

    make_stop(place="Geplanter Halt", status=StopStatus.DRAFT)
    make_stop(place="Abgesagter Halt", status=StopStatus.CANCELLED)
    make_stop(place="Vor langer Zeit", starts_at=now - timedelta(days=60))
    html = client.get("/admin/posters").get_data(as_text=True)
    assert "Geplanter Halt" in html and "Entwurf" in html
    assert "Abgesagter Halt" not in html and "Vor langer Zeit" not in html
    draft_id = re.search(r'/admin/posters/stops/(\d+)"', html).group(1)
    draft_page = client.get(f"/admin/posters/stops/{draft_id}").get_data(as_text=True)
    assert "noch ein Entwurf" in draft_page


def test_print_stylesheet_sets_a4_and_large_codes():
    css = (ROOT / "static/css/print.css").read_text()
    assert "@page { size: A4 portrait;" in css
    assert re.search(r"\.poster__code \.qr \{ inline-size: 80mm; block-size: 80mm;", css)
    assert re.search(r"\.poster__title \{ font-size: 44pt;", css)
    assert not re.search(r"\b(left|right)\s*:", css)  # logical properties only


# ---------------------------------------------------------------------------------------------------------------
# By week and district

def _week_of(day):
    from datetime import timedelta

    return day - timedelta(days=day.weekday())


@pytest.fixture
def weeks(make_district, make_stop):
    """Stops in two districts this week and next week, one cancelled, one a draft."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from busapp.domain import town

    monday = _week_of(town.today())
    at = lambda days, hour: datetime.combine(monday + timedelta(days=days), time(hour), tzinfo=ZoneInfo("Europe/Berlin"))  # noqa: E731
    moisling, buntekuh = make_district(name="Moisling", slug="moisling"), make_district(name="Buntekuh", slug="buntekuh")
    return {
        "monday": monday,
        "a": make_stop(moisling, starts_at=at(1, 10), place="Haus für alle"),
        "b": make_stop(buntekuh, starts_at=at(2, 10), place="Familienzentrum", status=StopStatus.DRAFT),
        "gone": make_stop(buntekuh, starts_at=at(3, 10), place="Markt", status=StopStatus.CANCELLED),
        "next": make_stop(moisling, starts_at=at(8, 10), place="Bücherei"),
    }


def test_the_list_shows_one_week_of_one_district_or_all(client, coordinator, weeks):
    html = client.get("/admin/posters").get_data(as_text=True)
    assert "Haus für alle" in html and "Familienzentrum" in html
    assert "Markt" not in html and "Bücherei" not in html  # cancelled; next week
    nxt = client.get(f"/admin/posters?week={weeks['next'].starts_at.date().isoformat()}")
    assert "Bücherei" in nxt.get_data(as_text=True) and "Haus für alle" not in nxt.get_data(as_text=True)
    only = client.get("/admin/posters?district=moisling").get_data(as_text=True)
    assert "Haus für alle" in only and "Familienzentrum" not in only
    assert 'href="/admin/posters/print?week=' in only and "district=moisling" in only


@pytest.mark.parametrize("query", ["week=banana", "week=9999-12-31", "week=0001-01-01", "district=nowhere",
                                   "district=%00", "week=2026-02-30&district=99"])
def test_odd_selections_show_this_week_of_all_districts(client, coordinator, weeks, query):
    response = client.get(f"/admin/posters?{query}")
    assert response.status_code == 200 and "Haus für alle" in response.get_data(as_text=True)


def test_the_week_prints_at_once_one_sheet_per_stop(app, client, coordinator, weeks):
    app.config["PUBLIC_BASE_URL"] = "https://bus.luebeck.example"
    html = client.get("/admin/posters/print").get_data(as_text=True)
    assert html.count('<article class="poster poster--stop">') == 2
    assert html.index("Haus für alle") < html.index("Familienzentrum")  # in time order
    codes = [decoded(svg) for svg in codes_in(html)]
    assert codes == [f"https://bus.luebeck.example/f/{weeks['a'].id}", f"https://bus.luebeck.example/s/{weeks['a'].id}",
                     f"https://bus.luebeck.example/f/{weeks['b'].id}", f"https://bus.luebeck.example/s/{weeks['b'].id}"]
    assert "noch ein Entwurf" in html  # the draft is named
    assert len(set(re.findall(r'id="([^"]+)"', html))) == len(re.findall(r'id="([^"]+)"', html))  # ids unique
    one = client.get("/admin/posters/print?district=buntekuh").get_data(as_text=True)
    assert one.count('<article class="poster poster--stop">') == 1 and "Familienzentrum" in one


def test_a_long_week_prints_in_parts(client, coordinator, weeks, monkeypatch):
    from busapp.feedback import posters

    monkeypatch.setattr(posters, "POSTERS_PER_PRINT", 1)
    first = client.get("/admin/posters/print").get_data(as_text=True)
    second = client.get("/admin/posters/print?page=2").get_data(as_text=True)
    assert "Haus für alle" in first and "Familienzentrum" not in first and "page=2" in first
    assert "Familienzentrum" in second and "Haus für alle" not in second
    assert client.get("/admin/posters/print?page=99").status_code == 200
