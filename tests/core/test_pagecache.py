"""The few seconds' page cache: anonymous public pages only, keyed by address, language and htmx headers."""
from __future__ import annotations

import threading

import pytest
from werkzeug.test import EnvironBuilder

from busapp import create_app
from busapp.core import pagecache
from busapp.core.config import ConfigError
from busapp.core.extensions import db
from tests.conftest import _driver

SECONDS = 5


@pytest.fixture
def cached(app, monkeypatch):
    """The app with the cache on and a clock the test moves."""
    app.config["PAGE_CACHE_SECONDS"] = SECONDS
    clock = {"now": 1000.0}
    monkeypatch.setattr(pagecache, "_clock", lambda: clock["now"])
    app.clock = clock
    return app


@pytest.fixture
def visitor(cached):
    """A first-time visitor: sends no cookie, ever."""
    return cached.test_client(use_cookies=False)


def rename(stop, place: str) -> None:
    stop.place.name = place
    db.session.commit()


def body(response) -> str:
    return response.get_data(as_text=True)


def test_a_second_visitor_gets_the_kept_page_until_it_expires(cached, visitor, make_stop):
    stop = make_stop(place="Marktplatz")
    first = visitor.get(f"/s/{stop.id}")
    assert first.status_code == 200 and "Marktplatz" in body(first)
    rename(stop, "Rathausmarkt")
    again = visitor.get(f"/s/{stop.id}")
    assert "Marktplatz" in body(again) and "Rathausmarkt" not in body(again)
    assert again.get_data() == first.get_data()
    # The same headers, but each answer has its own request id (busapp/ops/monitoring.py).
    assert first.headers["X-Request-ID"] != again.headers["X-Request-ID"]
    assert sorted((k, v) for k, v in again.headers.items() if k != "X-Request-ID") == sorted(
        (k, v) for k, v in first.headers.items() if k != "X-Request-ID")
    cached.clock["now"] += SECONDS - 0.1
    assert "Marktplatz" in body(visitor.get(f"/s/{stop.id}"))
    cached.clock["now"] += 0.2
    assert "Rathausmarkt" in body(visitor.get(f"/s/{stop.id}"))


def _held_view(app, monkeypatch, endpoint: str) -> dict:
    """Make `endpoint` wait inside its view until released; counts the renders."""
    view = app.view_functions[endpoint]
    state = {"renders": 0, "entered": threading.Event(), "release": threading.Event()}

    def held(*args, **kwargs):
        state["renders"] += 1
        state["entered"].set()
        assert state["release"].wait(10)
        return view(*args, **kwargs)

    monkeypatch.setitem(app.view_functions, endpoint, held)
    return state


def test_one_request_refills_an_expired_page_while_the_others_get_the_expired_copy(cached, visitor, make_stop,
                                                                                    monkeypatch):
    stop = make_stop(place="Marktplatz")
    path = f"/s/{stop.id}"
    first = visitor.get(path).get_data()
    rename(stop, "Rathausmarkt")
    cached.clock["now"] += SECONDS + 1
    held = _held_view(cached, monkeypatch, "schedule.stop")
    refill: dict = {}

    def first_after_expiry():
        with cached.app_context():
            refill["body"] = body(visitor.get(path))

    worker = threading.Thread(target=first_after_expiry)
    worker.start()
    try:
        assert held["entered"].wait(10)
        # While the page is rendered anew, every other visitor gets the copy that expired, at once.
        for _ in range(3):
            assert visitor.get(path).get_data() == first
        assert held["renders"] == 1
    finally:
        held["release"].set()
        worker.join(10)
    assert "Rathausmarkt" in refill["body"]
    assert "Rathausmarkt" in body(visitor.get(path))
    assert held["renders"] == 1


def test_a_refill_that_fails_or_hangs_hands_the_page_to_the_next_request(cached, visitor, make_stop, monkeypatch):
    stop = make_stop(place="Marktplatz")
    path = f"/s/{stop.id}"
    visitor.get(path)
    rename(stop, "Rathausmarkt")
    cached.clock["now"] += SECONDS + 1
    # A refill that ends in an error keeps nothing and leaves the expired copy to nobody: the next request renders.
    view = cached.view_functions["schedule.stop"]
    monkeypatch.setitem(cached.view_functions, "schedule.stop", lambda **kw: 1 / 0)
    assert visitor.get(path).status_code == 500
    monkeypatch.setitem(cached.view_functions, "schedule.stop", view)
    assert "Rathausmarkt" in body(visitor.get(path))
    # A refill still running after REFILL_SECONDS is given up: the next request renders the page itself.
    rename(stop, "Holstentor")
    cached.clock["now"] += SECONDS + 1
    cache = pagecache.cache_of(cached)
    entry, mark = cache._get(cache._key(EnvironBuilder(path=path).get_environ()))
    assert mark is not None and "Rathausmarkt" in entry.body.decode()  # a refill that never ends
    assert "Rathausmarkt" in body(visitor.get(path))
    cached.clock["now"] += pagecache.REFILL_SECONDS
    assert "Holstentor" in body(visitor.get(path))


def test_each_address_and_query_is_kept_apart(cached, visitor, make_stop):
    stop = make_stop(place="Marktplatz")
    visitor.get("/")
    rename(stop, "Rathausmarkt")
    assert "Marktplatz" in body(visitor.get("/"))
    assert "Rathausmarkt" in body(visitor.get(f"/?district={stop.district.slug}"))
    assert "Rathausmarkt" in body(visitor.get(f"/s/{stop.id}"))


def test_languages_are_kept_apart(cached, visitor, make_stop):
    stop = make_stop()
    german = body(visitor.get(f"/s/{stop.id}"))
    english = body(visitor.get(f"/s/{stop.id}", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert 'lang="de"' in german and 'lang="en"' in english
    # Another way of asking for the same language shares the kept English page; ?lang= beats the header.
    rename(stop, "Rathausmarkt")
    assert body(visitor.get(f"/s/{stop.id}", headers={"Accept-Language": "en"})) == english
    assert body(visitor.get(f"/s/{stop.id}", headers={"Accept-Language": "de"})) == german
    assert 'lang="en"' in body(visitor.get(f"/s/{stop.id}?lang=en", headers={"Accept-Language": "de"}))
    assert 'lang="de"' in body(visitor.get(f"/s/{stop.id}?lang=de", headers={"Accept-Language": "en"}))


def test_htmx_fragment_and_page_are_kept_apart(cached, visitor, make_stop):
    stop = make_stop()
    page = body(visitor.get("/"))
    fragment = body(visitor.get("/", headers={"HX-Request": "true"}))
    assert page.startswith("<!doctype html>") and fragment.lstrip().startswith('<section id="stops"')
    assert body(visitor.get("/")) == page
    assert body(visitor.get("/", headers={"HX-Request": "true"})) == fragment
    boosted = body(visitor.get("/", headers={"HX-Request": "true", "HX-Boosted": "true"}))
    restore = body(visitor.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}))
    assert boosted.startswith("<!doctype html>") and restore.startswith("<!doctype html>")
    live = body(visitor.get(f"/s/{stop.id}", headers={"HX-Request": "true"}))
    assert live.lstrip().startswith('<section id="live"')
    assert body(visitor.get(f"/s/{stop.id}")).startswith("<!doctype html>")


def test_kept_pages_say_so_to_shared_caches(cached, visitor, make_stop):
    stop = make_stop()
    response = visitor.get(f"/s/{stop.id}")
    assert response.headers["Cache-Control"] == f"public, max-age=0, s-maxage={SECONDS}"
    vary = {v.strip() for v in response.headers["Vary"].split(",")}
    assert {"Cookie", "Accept-Language", "HX-Request", "HX-Boosted", "HX-History-Restore-Request"} <= vary
    # Views that say how they may be cached keep their word.
    assert visitor.get("/manifest.webmanifest").headers["Cache-Control"] == "no-cache"
    assert visitor.get("/tour.ics").headers["Cache-Control"] == "public, max-age=300"


def test_a_visitor_with_a_session_always_gets_a_fresh_page(cached, make_stop, make_workshop):
    stop = make_stop(place="Marktplatz")
    cached.test_client(use_cookies=False).get(f"/s/{stop.id}")
    browser = cached.test_client()
    browser.get(f"/workshops/{make_workshop().id}/book")  # the form's token puts a session cookie in the browser
    rename(stop, "Rathausmarkt")
    page = browser.get(f"/s/{stop.id}")
    assert "Rathausmarkt" in body(page)
    assert "public" not in page.headers.get("Cache-Control", "")
    # ... and what was made for it is not handed to anyone else.
    rename(stop, "Holstentor")
    assert "Marktplatz" in body(cached.test_client(use_cookies=False).get(f"/s/{stop.id}"))


def test_choosing_a_language_is_never_kept(cached, visitor, make_stop):
    stop = make_stop()
    switched = visitor.get(f"/s/{stop.id}?lang=en&remember=1")
    assert switched.status_code == 303 and switched.headers.getlist("Set-Cookie")
    assert len(pagecache.cache_of(cached)) == 0


def test_a_page_that_touches_the_session_or_sets_a_cookie_is_not_kept(cached, visitor, make_stop, monkeypatch):
    from flask import session

    stop = make_stop(place="Marktplatz")
    view = cached.view_functions["schedule.stop"]

    def stores_something(**kwargs):
        session["seen"] = True
        return view(**kwargs)

    monkeypatch.setitem(cached.view_functions, "schedule.stop", stores_something)
    first = visitor.get(f"/s/{stop.id}")
    assert first.headers.getlist("Set-Cookie") and "public" not in first.headers.get("Cache-Control", "")
    rename(stop, "Rathausmarkt")
    assert "Rathausmarkt" in body(visitor.get(f"/s/{stop.id}"))
    assert len(pagecache.cache_of(cached)) == 0


def test_forms_tickets_and_errors_are_never_kept(cached, visitor, make_workshop):
    workshop = make_workshop()
    form = visitor.get(f"/workshops/{workshop.id}/book")
    assert "csrf_token" in body(form) and form.headers.getlist("Set-Cookie")
    assert visitor.get("/s/999999").status_code == 404
    assert visitor.get("/signin").status_code == 200
    assert len(pagecache.cache_of(cached)) == 0


def test_signed_in_staff_never_get_or_leave_a_kept_page(cached, client, login, make_stop):
    stop = make_stop(place="Marktplatz")
    cached.test_client(use_cookies=False).get(f"/s/{stop.id}")
    login("coordinator")
    rename(stop, "Rathausmarkt")
    staff_page = body(client.get(f"/s/{stop.id}"))
    assert "Rathausmarkt" in staff_page and "Abmelden" in staff_page
    cached.clock["now"] += SECONDS + 1
    anonymous = body(cached.test_client(use_cookies=False).get(f"/s/{stop.id}"))
    assert "Rathausmarkt" in anonymous and "Abmelden" not in anonymous


def test_zero_switches_the_cache_off(cached, visitor, make_stop):
    cached.config["PAGE_CACHE_SECONDS"] = 0
    stop = make_stop(place="Marktplatz")
    first = visitor.get(f"/s/{stop.id}")
    rename(stop, "Rathausmarkt")
    assert "Rathausmarkt" in body(visitor.get(f"/s/{stop.id}"))
    assert "Cache-Control" not in first.headers
    assert len(pagecache.cache_of(cached)) == 0


def test_least_recently_used_pages_go_first(cached, visitor, make_stop, monkeypatch):
    stops = [make_stop(place=f"Platz {i}") for i in range(3)]
    size = len(visitor.get(f"/s/{stops[0].id}").get_data())
    monkeypatch.setattr(pagecache, "MAX_BYTES", int(size * 2.5))
    visitor.get(f"/s/{stops[1].id}")
    visitor.get(f"/s/{stops[0].id}")  # used again: now the most recent
    visitor.get(f"/s/{stops[2].id}")  # pushes out the least recently used, stops[1]
    cache = pagecache.cache_of(cached)
    assert len(cache) == 2 and cache._bytes <= pagecache.MAX_BYTES
    for stop in stops:
        rename(stop, f"Neu {stop.id}")
    assert "Platz 0" in body(visitor.get(f"/s/{stops[0].id}"))
    assert "Platz 2" in body(visitor.get(f"/s/{stops[2].id}"))
    assert f"Neu {stops[1].id}" in body(visitor.get(f"/s/{stops[1].id}"))


def test_production_keeps_pages_five_seconds_and_refuses_a_negative_setting(monkeypatch, database_url):
    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost")
    app = create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    assert app.config["PAGE_CACHE_SECONDS"] == 5
    monkeypatch.setenv("PAGE_CACHE_SECONDS", "-1")
    with pytest.raises(ConfigError, match="PAGE_CACHE_SECONDS"):
        create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("path", ["/tour.ics", "/s/{stop}.ics"])
def test_a_kept_feed_still_answers_a_conditional_request_with_304(cached, visitor, make_stop, path):
    """Within the cache's window as after it: the kept answer's ETag, weak or strong, and Last-Modified decide."""
    from tests.sqlcount import statements

    stop = make_stop(place="Marktplatz")
    url = path.format(stop=stop.id)
    first = visitor.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag.startswith('W/"')
    with statements() as seen:
        for headers in ({"If-None-Match": etag}, {"If-None-Match": etag[2:]}, {"If-None-Match": f'"x", {etag}'},
                        {"If-Modified-Since": modified}):
            response = visitor.get(url, headers=headers)
            assert response.status_code == 304, headers
            assert response.get_data() == b"" and response.headers["ETag"] == etag
            assert response.headers["Cache-Control"] == first.headers["Cache-Control"]
    assert seen == []  # answered from the kept copy
    assert visitor.get(url, headers={"If-None-Match": '"other"'}).status_code == 200
    assert visitor.get(url, headers={"If-None-Match": '"other"', "If-Modified-Since": modified}).status_code == 200
    cached.clock["now"] += SECONDS + 1
    assert visitor.get(url, headers={"If-None-Match": etag}).status_code == 304
