"""A second town in an hour: the whole app runs on the example profile Musterstadt (towns/musterstadt), and no page,
feed, mail, poster or open-data answer holds anything of Lübeck, the town the app was first built for.

The crawl starts at the home page and at the open-data index, follows every link on the same site (each kind of
address a few times), reads every page again in every language, then does the same signed in as a coordinator and as
bus staff, and finally books, cancels and reminds with mail so that every kind of mail is written. Everything it
reads is searched for Lübeck's names in every language the Lübeck profile gives, its state, its publisher and
municipality key, its district and place names, and "Luebeck"."""
from __future__ import annotations

import html
import json
import re
import uuid
from collections import Counter, deque
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
import sqlalchemy as sa

from busapp import create_app
from busapp.core import districtfile, townprofile
from busapp.core.extensions import db
from busapp.dev import demo
from busapp.mail import smtp
from busapp.models import (
    Booking, BookingStatus, OutgoingMail, Role, Stop, StopStatus, User, Workshop, WorkshopStatus, utcnow,
)
from tests.conftest import IsolatedClient, _driver, _empty_tables, csrf_token

# Each kind of address (digits stand for any number) is read this often: enough to see each kind of page with
# different data, without reading all sixty stops of the demo tour in nine languages.
PER_KIND = 3
# Addresses that change something or end the session even as GET, or are not pages.
SKIP = re.compile(r"^/(static/|signout|staff/tablet/forget)|/download$")


def luebeck_words() -> set[str]:
    """Everything that is Lübeck's in its profile: names in every language, state, publisher, key, districts, places."""
    luebeck = townprofile.load("luebeck")
    words = set().union(luebeck.name.all(), luebeck.official_name.all(), luebeck.state.all())
    words |= {luebeck.publisher, luebeck.municipality_key, luebeck.enforcement_name, luebeck.site_name, "Luebeck",
              "luebeck", "Hansestadt", "Hanseatic"}
    words |= {row.name for row in districtfile.read(luebeck.districts_file)}
    places = json.loads(luebeck.demo_file.read_text(encoding="utf-8"))["places"]
    words |= {place["name"] for listed in places.values() for place in listed}
    return {w for w in words if w}


LUEBECK = luebeck_words()
# Lübeck's area code, as a number of its own (not inside a hash or a token).
AREA_CODE = re.compile(r"(?<![\w-])0451(?![\w-])")


def found_in(text: str) -> set[str]:
    """Lübeck's words in a text, as written, in links (percent-encoded), in JSON (\\u escapes) and HTML entities."""
    unescaped = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    readings = "\n".join((text, unquote(text), unescaped, html.unescape(text)))
    hits = {w for w in LUEBECK if w in readings}
    if AREA_CODE.search(readings):
        hits.add("0451")
    return hits


def test_the_search_finds_luebeck_wherever_it_is_written():
    assert "Lübeck" in LUEBECK and "Любек" in LUEBECK and "Schleswig-Holstein" in LUEBECK and "Moisling" in LUEBECK
    assert found_in('{"name": "L\\u00fcbeck"}') == {"Lübeck"}
    assert found_in('<a href="/d/x?q=L%C3%BCbeck">') == {"Lübeck"}
    assert found_in("Ruf an: 0451 123") == {"0451"} and not found_in("v=ab0451cd 10451")
    assert not found_in("Stadt Musterstadt, Brandenburg")


@pytest.fixture(scope="module")
def town_app(_schema, database_url):
    """The app with the example profile and its demo tour, on the test database (SQLite or PostgreSQL)."""
    app = create_app({"APP_ENV": "testing", "TOWN": "musterstadt", "SQLALCHEMY_DATABASE_URI": _driver(database_url),
                      "MAIL_SERVER": "127.0.0.1", "MAIL_FROM": "digitalbus@musterstadt.example"})
    app.test_client_class = IsolatedClient
    with app.app_context():
        _empty_tables()
        demo.load()
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _links(body: str) -> list[str]:
    return [html.unescape(m) for m in re.findall(r'(?:href|src|action)="([^"#]+)', body)]


def _kind(path: str) -> str:
    return re.sub(r"\d+", "N", urlsplit(path).path)


def crawl(client, seeds: list[str], languages: list[str], within: tuple[str, ...] = ("/",)) -> dict[str, set[str]]:
    """Read everything under `within` reachable from the seeds (each kind of address PER_KIND times), then each kind
    once in every language; returns {address: Lübeck's words found there} for every address read."""
    seen: dict[str, set[str]] = {}
    per_kind: Counter = Counter()
    queue = deque(seeds)
    kinds: dict[str, str] = {}
    while queue:
        url = queue.popleft()
        parts = urlsplit(url)
        if (parts.netloc not in ("", "localhost") or url in seen or SKIP.search(parts.path)
                or not parts.path.startswith(within)):
            continue
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        kind = _kind(path)
        if per_kind[kind] >= PER_KIND and url not in seeds:
            continue
        per_kind[kind] += 1
        kinds.setdefault(kind, path)
        response = client.get(path)
        body = response.get_data(as_text=True)
        seen[url] = found_in(body)
        assert response.status_code < 500, (path, response.status_code)
        if response.location:
            queue.append(response.location)
        if response.mimetype == "text/html":
            queue.extend(_links(body))
        elif response.mimetype in ("application/json", "application/ld+json", "application/geo+json"):
            queue.extend(re.findall(r'"(https?://localhost/[^"]+|/api/[^"]+)"', body))
    for kind, path in kinds.items():
        for lang in languages:
            joiner = "&" if "?" in path else "?"
            url = f"{path}{joiner}lang={lang}"
            seen[url] = found_in(client.get(url).get_data(as_text=True))
    return seen


def _sign_in(app, client, role: Role) -> None:
    from werkzeug.security import generate_password_hash

    email = f"{role.value}-{uuid.uuid4().hex[:6]}@musterstadt.example"
    db.session.add(User(email=email, role=role, password_hash=generate_password_hash("a long demo password 1")))
    db.session.commit()
    response = client.post("/signin", data={"email": email, "password": "a long demo password 1",
                                            "csrf_token": csrf_token(client, "/signin")})
    assert response.status_code == 303


def test_no_public_page_feed_or_open_data_answer_names_luebeck(town_app):
    client = town_app.test_client()
    languages = [tag for tag in town_app.config["LANGUAGES"] if tag != "de"]
    district = db.session.scalar(sa.select(Workshop)).stop.district
    seeds = ["/", "/barrierefreiheit", "/mitreden", "/f", "/offline", "/my-bookings", "/api", "/api/v1/",
             "/api/v1/districts", "/api/v1/catalog.jsonld", "/api/v1/openapi.json", "/api/v1/stops.csv", "/tour.ics",
             f"/d/{district.slug}.ics", "/ngsi-ld/v1/entities?type=Event", "/ngsi-ld/v1/entities?type=PointOfInterest",
             "/manifest.webmanifest", "/sw.js", "/town/style.css", "/mitreden/ideen.json", "/mitreden/ideen.csv"]
    seen = crawl(client, seeds, languages)
    assert {url: words for url, words in seen.items() if words} == {}
    # The crawl did read the town's pages, in every language, with the town's own names in them.
    assert len(seen) > 150 and any(f"lang={tag}" in url for url in seen for tag in languages)
    home = client.get("/").get_data(as_text=True)
    assert "Musterstadt" in home and "Altstadt" in home
    catalogue = client.get("/api/v1/catalog.jsonld").get_data(as_text=True)
    assert "12099999" in catalogue and "Stadt Musterstadt" in catalogue


@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.STAFF])
def test_no_staff_or_coordinator_page_or_poster_names_luebeck(town_app, role):
    client = town_app.test_client()
    _sign_in(town_app, client, role)
    seeds = ["/admin", "/admin/places/new", "/admin/districts", "/admin/posters", "/staff/"]
    seen = crawl(client, seeds, ["en"], within=("/admin", "/staff"))  # the public pages: the test above
    assert {url: words for url, words in seen.items() if words} == {}
    if role == Role.COORDINATOR:
        assert any("/poster" in url for url in seen) and any(url.startswith("/admin/places") for url in seen)
    assert any(url.startswith("/staff/") for url in seen)


def test_no_mail_names_luebeck(town_app):
    from busapp.booking import notify, service as booking_service
    from busapp.planning import changes

    # Three workshops that can be booked (the demo tour has cancelled and full ones too, by the day it is made).
    workshops = db.session.scalars(
        sa.select(Workshop).join(Workshop.stop)
        .where(Workshop.starts_at > utcnow() + timedelta(days=2), Stop.status == StopStatus.PUBLISHED,
               Workshop.status == WorkshopStatus.PUBLISHED, Workshop.seats_taken + 1 <= Workshop.capacity)
        .order_by(Workshop.starts_at).limit(3)).all()
    booked = []
    for workshop, locale in zip(workshops, ("de", "en", "ar")):
        with town_app.test_request_context("/"):
            booked.append(booking_service.create(
                workshop.id, party_size=1, name="Sam", contact=f"sam-{locale}@example.org", needs_note=None,
                idempotency_key=uuid.uuid4().hex, locale=locale).booking)
    with town_app.test_request_context("/"):
        notify.reminder(booked[0])
        notify.promotion(booked[1])
        db.session.commit()
    changes.cancel(workshops[2].stop_id, workshops[2].id, "Die Trainerin ist krank.", None)
    mails = db.session.scalars(sa.select(OutgoingMail)).all()
    kinds = {m.kind for m in mails}
    assert len(kinds) >= 4, kinds
    with town_app.test_request_context("/"):
        for mail in mails:
            text = smtp.build(mail).as_string()
            assert not found_in(text) and not found_in(mail.body), (mail.kind, found_in(text) | found_in(mail.body))
    assert any("Musterstadt" in m.body for m in mails)
    # ... nor the tickets the mails link to, in the language each was booked in.
    client = town_app.test_client()
    for booking in booked:
        for path in (f"/t/{booking.manage_token}", f"/t/{booking.manage_token}.ics"):
            response = client.get(path)
            assert response.status_code == 200 and not found_in(response.get_data(as_text=True)), path
    assert db.session.scalar(sa.select(sa.func.count(Booking.id)).where(Booking.status == BookingStatus.CONFIRMED))


def test_the_crawl_would_find_luebeck_in_the_luebeck_app(_schema, database_url):
    """The same search on Lübeck's own app finds Lübeck at once: the crawl above can fail."""
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    app.test_client_class = IsolatedClient
    with app.app_context():
        client = app.test_client()
        assert "Hansestadt Lübeck" in found_in(client.get("/barrierefreiheit").get_data(as_text=True))
        assert "Шлезвиг-Гольштейн" in found_in(client.get("/barrierefreiheit?lang=ru").get_data(as_text=True))
        db.engine.dispose()


def test_no_code_template_script_or_translation_names_luebeck():
    """Lübeck lives in towns/luebeck alone: the code, templates, scripts, styles and catalogues name no town."""
    from babel.messages.pofile import read_po

    root = townprofile.ROOT
    files = [p for folder in ("busapp", "templates", "static/js", "static/css") for p in (root / folder).rglob("*")
             if p.is_file() and p.suffix in (".py", ".html", ".txt", ".js", ".css", ".svg", ".json")]
    assert len(files) > 100
    # The one exception: the profile TOWN defaults to, so that installations from before profiles keep working.
    default = f'DEFAULT_TOWN = "{townprofile.DEFAULT_TOWN}"'
    named = {str(p.relative_to(root)): found_in(p.read_text(encoding="utf-8").replace(default, "")) for p in files}
    assert {path: words for path, words in named.items() if words} == {}
    for path in root.glob("translations/*/LC_MESSAGES/messages.po"):
        with path.open("rb") as fh:
            texts = [" ".join(m.string) if isinstance(m.string, tuple) else m.string for m in read_po(fh) if m.id]
        assert not found_in("\n".join(texts)), path
