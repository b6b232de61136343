"""Installable offline app: service worker, manifest, head tags, offline page, kill switch."""
from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image

from busapp import create_app
from busapp.core import townprofile
from busapp.core.i18n import json_text
from busapp.pwa import views as pwa
from busapp.core.assets import static_url
from tests.conftest import _driver


def worker_config(body: str) -> dict:
    match = re.search(r"^const CONFIG = (\{.*\});$", body, re.M)
    assert match, "the worker carries no CONFIG"
    return json.loads(match.group(1))


def fetch_bytes(client, url: str) -> bytes:
    with client.get(url) as response:
        assert response.status_code == 200, url
        return response.get_data()


def image_size(client, url: str) -> tuple[int, int]:
    with Image.open(io.BytesIO(fetch_bytes(client, url))) as image:
        assert image.format == "PNG"
        return image.size


# --- service worker -----------------------------------------------------------------------------------------------

def test_worker_is_served_from_the_root_as_javascript_without_caching(client):
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    # Root scope needs no Service-Worker-Allowed header; the worker must not claim a narrower one.
    assert "Service-Worker-Allowed" not in response.headers
    # What the worker does is tested by running it: tests/js/sw.test.js.


def test_worker_check_costs_a_304_when_nothing_changed(client):
    first = client.get("/sw.js")
    again = client.get("/sw.js", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert again.get_data() == b""


def test_worker_precaches_every_static_file_under_its_versioned_url(app, client):
    config = worker_config(client.get("/sw.js").get_data(as_text=True))
    with app.test_request_context():
        expected = {static_url(f) for f in pwa.precached_files()}
        offline_js = static_url("js/offline.js")
        town_files = townprofile.asset_urls()
    # ... and the town's colours (its profile's), which every page loads.
    assert set(config["precache"]) == expected | set(town_files) and len(town_files) >= 1
    assert offline_js in config["precache"]
    assert all("?v=" in url for url in config["precache"])
    # Install art is left to the browser's installer: no PNG or screenshot on a resident's data plan.
    assert not any(url.split("?")[0].endswith(".png") for url in config["precache"])
    for url in config["precache"]:
        with client.get(url) as response:
            assert response.status_code == 200, url
            assert "immutable" in response.headers["Cache-Control"], url
    for lang, url in config["offline"].items():
        response = client.get(url)
        assert response.status_code == 200
        assert f'lang="{lang.partition("-x-")[0]}"' in response.get_data(as_text=True)
    assert set(config["offline"]) == set(app.config["LANGUAGES"]) >= {"de", "en", "ar", "de-x-ls"}
    assert config["defaultLang"] == "de"
    assert config["outboxScript"] in config["precache"]
    # The staff pages' files go to devices that keep staff pages only (sw.js decides at install).
    with app.test_request_context():
        staff = {static_url(f) for f in pwa.STAFF_FILES}
    assert set(config["staffPrecache"]) == staff and not staff & set(config["precache"])
    for url in config["staffPrecache"]:
        assert client.get(url).status_code == 200, url


def test_worker_version_follows_static_files_and_release_setting(app, tmp_path):
    with app.test_request_context():
        before = pwa.release()
    static = tmp_path / "static"
    shutil.copytree(app.static_folder, static)
    app.static_folder = str(static)
    with app.test_request_context():
        assert pwa.release() == before  # same bytes, same version
        css = static / "css" / "offline.css"
        css.write_text(css.read_text() + "\n/* changed */\n")
        changed = pwa.release()
        assert changed != before
        app.config["SW_RELEASE"] = "2"
        assert pwa.release() not in {before, changed}


def test_worker_version_is_the_cache_name_it_keeps(client):
    config = worker_config(client.get("/sw.js").get_data(as_text=True))
    assert re.fullmatch(r"[0-9a-f]{16}", config["version"])
    assert config["prefix"] == "dwb-" and config["pagesCache"].startswith("dwb-")


@pytest.mark.parametrize("endpoint, args", [
    ("schedule.index", {}),
    ("schedule.district", {"slug": "st-gertrud"}),
    ("schedule.stop", {"stop_id": 12}),
    ("booking.show", {"token": "hGq3w-_Y1pQ9eT0zKx7VbN2mLsR4uA8cDfE6iJ5oWlZ"}),
    ("booking.new", {"workshop_id": 3}),
    ("pwa.offline", {}),
])
def test_public_pages_may_be_kept_offline(app, endpoint, args):
    with app.test_request_context():
        from flask import url_for

        path = url_for(endpoint, **args)
    assert any(re.search(p, path) for p in pwa.OFFLINE_PAGES), path


def test_feedback_forms_may_be_kept_offline():
    """The bus's code and the feedback forms open in the bus without reception (their copies get fresh keys)."""
    for path in ("/f", "/f/1", "/f/w/1"):
        assert any(re.search(p, path) for p in pwa.OFFLINE_PAGES), path
    assert not any(re.search(p, "/f/1/thanks") for p in pwa.OFFLINE_PAGES)


def _sample_path(rule) -> str:
    path = rule.rule
    for arg in rule.arguments:
        path = re.sub(r"<(?:[^:<>]+:)?%s>" % arg, "1", path)
    return path


def test_staff_and_coordinator_pages_are_never_kept(app):
    protected = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "required_roles", None) or rule.endpoint.startswith("auth."):
            protected.append(_sample_path(rule))
    assert "/signin" in protected
    for path in protected:
        assert not any(re.search(p, path) for p in pwa.OFFLINE_PAGES), path
    for path in ("/sw.js", "/manifest.webmanifest", "/healthz", "/f/1/thanks", "/s/1.ics", "/d/innenstadt.ics",
                 "/t/abc/qr.svg", "/t/abc/cancel"):
        assert not any(re.search(p, path) for p in pwa.OFFLINE_PAGES), path


def test_a_prepared_tablet_keeps_exactly_todays_staff_pages(app):
    """Today on the bus, a door list and a scan page, and the paper cards' pages; no other route, staff or public,
    ever goes into that cache."""
    with app.test_request_context():
        from flask import url_for

        kept = {url_for("checkin.index"), url_for("checkin.door", workshop_id=1),
                url_for("checkin.scan", workshop_id=1), url_for("participation.paper_index"),
                url_for("participation.paper", consultation_id=1)}
    for path in kept:
        assert any(re.search(p, path) for p in pwa.STAFF_PAGES), path
    others = {_sample_path(rule) for rule in app.url_map.iter_rules()} - kept
    for path in others | {"/staff/workshops/1/scan/x", "/staff/workshops/1/release"}:
        assert not any(re.search(p, path) for p in pwa.STAFF_PAGES), path
    assert not set(pwa.STAFF_PAGES) & set(pwa.OFFLINE_PAGES)


def test_the_worker_and_the_pages_name_the_same_caches(app, client):
    """The tablet's script finds the staff copies, and the pages find saved tickets, by the names in #pwa-paths;
    the worker makes them by the names in its CONFIG. (What the worker keeps, and when it drops the staff copies,
    is tested by running it: tests/js/sw.test.js.)"""
    config = worker_config(client.get("/sw.js").get_data(as_text=True))
    head = client.get("/").get_data(as_text=True)
    paths = json.loads(re.search(r'id="pwa-paths" content=\'([^\']+)\'', head).group(1))
    assert paths["staffCachePrefix"] == config["staffCachePrefix"]
    assert paths["pagesCache"] == config["pagesCache"]
    assert paths["ticket"] == config["ticketPrefix"]
    assert config["staffCachePrefix"].startswith(config["prefix"]) and config["staffCachePrefix"] != config["pagesCache"]
    # A sign-in or sign-out here drops the staff copies: the worker watches the posts that reach those views.
    adapter = app.url_map.bind("localhost")
    assert sorted(adapter.match(path, method="POST")[0] for path in config["signPaths"]) == ["auth.signin",
                                                                                           "auth.signout"]


def test_worker_waits_only_a_short_time_for_the_network(client):
    """A visitor on a bad connection sees the saved copy after a few seconds, not after the browser's timeout."""
    config = worker_config(client.get("/sw.js").get_data(as_text=True))
    assert 2000 <= config["timeout"] <= 5000


# --- kill switch ---------------------------------------------------------------------------------------------------

def _app_with(database_url: str, **settings):
    return create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url), **settings})


def test_kill_switch_serves_a_worker_that_removes_itself(_schema, database_url):
    client = _app_with(database_url, SW_KILL_SWITCH=True).test_client()
    response = client.get("/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "no-cache"
    assert "caches" in response.get_data(as_text=True) and "CONFIG" not in response.get_data(as_text=True)
    # What it does (removes this app's caches and itself, keeps the outbox, reloads open pages) is tested by
    # running it: tests/js/sw.test.js.
    page = client.get("/offline").get_data(as_text=True)
    assert '<meta name="pwa-worker" content="off">' in page


def test_kill_switch_is_read_from_the_environment(_schema, database_url, monkeypatch):
    monkeypatch.setenv("SW_KILL_SWITCH", "1")
    assert _app_with(database_url).config["SW_KILL_SWITCH"] is True
    monkeypatch.setenv("SW_KILL_SWITCH", "0")
    assert _app_with(database_url).config["SW_KILL_SWITCH"] is False


def test_release_setting_is_read_from_the_environment(_schema, database_url, monkeypatch):
    monkeypatch.setenv("SW_RELEASE", "2026-11-hotfix")
    assert _app_with(database_url).config["SW_RELEASE"] == "2026-11-hotfix"


def test_worker_is_registered_normally(client):
    assert '<meta name="pwa-worker" content="/sw.js">' in client.get("/").get_data(as_text=True)


# --- manifest ------------------------------------------------------------------------------------------------------

def test_manifest_is_complete(client):
    response = client.get("/manifest.webmanifest")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    data = json.loads(response.get_data(as_text=True))
    for key in ("name", "short_name", "description", "id", "start_url", "scope", "display", "lang",
                "theme_color", "background_color", "icons", "screenshots"):
        assert data.get(key), key
    assert data["id"] == "/" and data["scope"] == "/" and data["start_url"].startswith(data["scope"])
    assert data["display"] in {"standalone", "minimal-ui", "fullscreen"}
    assert len(data["short_name"]) <= 12
    assert data["lang"] == "de"
    assert re.fullmatch(r"#[0-9a-f]{6}", data["theme_color"]) and re.fullmatch(r"#[0-9a-f]{6}", data["background_color"])


def test_manifest_icons_are_real_pngs_of_the_stated_size(client):
    data = client.get("/manifest.webmanifest").get_json(force=True)
    seen = set()
    for icon in data["icons"]:
        if icon["type"] == "image/svg+xml":
            assert fetch_bytes(client, icon["src"]).lstrip().startswith(b"<svg")
            continue
        assert icon["type"] == "image/png"
        width, height = map(int, icon["sizes"].split("x"))
        assert image_size(client, icon["src"]) == (width, height), icon["src"]
        seen.add((width, icon["purpose"]))
    assert {(192, "any"), (512, "any"), (192, "maskable"), (512, "maskable")} <= seen
    # Separate files: a maskable icon has its own full-bleed art, not "any maskable" on one file.
    assert all(" " not in icon["purpose"] for icon in data["icons"])
    sources = [icon["src"].split("?")[0] for icon in data["icons"]]
    assert len(sources) == len(set(sources))


def test_maskable_icons_are_full_bleed_and_opaque(client):
    data = client.get("/manifest.webmanifest").get_json(force=True)
    for icon in data["icons"]:
        if icon["purpose"] != "maskable":
            continue
        with Image.open(io.BytesIO(fetch_bytes(client, icon["src"]))) as image:
            rgba = image.convert("RGBA")
            w, h = rgba.size
            corners = [rgba.getpixel(p) for p in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1))]
        assert all(c[3] == 255 for c in corners)
        assert len(set(corners)) == 1  # one background colour to the edge, for the launcher to cut


def test_manifest_screenshots_match_their_stated_size(client):
    data = client.get("/manifest.webmanifest").get_json(force=True)
    factors = {}
    for shot in data["screenshots"]:
        width, height = map(int, shot["sizes"].split("x"))
        assert image_size(client, shot["src"]) == (width, height), shot["src"]
        assert shot["label"]
        factors[shot["form_factor"]] = (width, height)
    assert set(factors) == {"narrow", "wide"}
    assert factors["narrow"][0] < factors["narrow"][1] and factors["wide"][0] > factors["wide"][1]
    # Chromium shows screenshots only with an aspect ratio up to 2.3 and sides of 320 to 3840 px.
    for width, height in factors.values():
        assert max(width, height) / min(width, height) <= 2.3
        assert 320 <= min(width, height) and max(width, height) <= 3840


def test_manifest_speaks_the_visitors_language(client):
    de = client.get("/manifest.webmanifest").get_json(force=True)
    en = client.get("/manifest.webmanifest", headers={"Accept-Language": "en"}).get_json(force=True)
    assert en["lang"] == "en" and de["lang"] == "de"
    assert en["description"] != de["description"]
    assert en["short_name"] != de["short_name"]
    assert en["id"] == de["id"]  # one app, whatever the language


# --- head tags and page strings ------------------------------------------------------------------------------------

def test_every_page_links_manifest_icons_and_scripts(client):
    html = client.get("/").get_data(as_text=True)
    head = html.split("</head>")[0]
    assert '<link rel="manifest" href="/manifest.webmanifest">' in head
    assert '<meta name="theme-color" content="#0b4f6c">' in head
    touch = re.search(r'<link rel="apple-touch-icon" sizes="180x180" href="([^"]+)">', head)
    assert touch, "no apple-touch-icon"
    assert image_size(client, touch.group(1)) == (180, 180)
    with Image.open(io.BytesIO(fetch_bytes(client, touch.group(1)))) as image:
        # iOS paints transparency black: colours only (a palette of them keeps the file small), no alpha.
        assert image.mode in ("RGB", "P") and "transparency" not in image.info
    for script in ("js/outbox.js", "js/offline.js"):
        assert re.search(r'<script src="/static/%s\?v=[0-9a-f]+" defer></script>' % re.escape(script), head)
    # No inline script at all (the CSP forbids inline code); the sentences travel in a <meta> element.
    assert re.findall(r"<script(?![^>]*\bsrc=)([^>]*)>", html) == []


def _strings(html: str) -> dict:
    match = re.search(r"<meta name=\"pwa-strings\" id=\"pwa-strings\" content='([^']*)'>", html)
    assert match
    return json.loads(match.group(1))


def test_offline_strings_come_in_the_visitors_language(client):
    de = _strings(client.get("/").get_data(as_text=True))
    en = _strings(client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True))
    assert en["saved"] == "Saved on your phone – it will be sent when you have internet again."
    assert de["saved"] != en["saved"] and "Telefon" in de["saved"]
    assert set(de) == set(en)
    for strings in (de, en):
        assert "{n}" in strings["waiting"]["one"] and "{n}" in strings["waiting"]["other"]
        assert "{time}" in strings["saved_at"]
        assert "{reason}" in strings["store_failed"]


def test_strings_cannot_break_out_of_their_attribute(app, client, monkeypatch):
    hostile = "'><script>alert(1)</script>\"&amp;"
    monkeypatch.setattr(pwa, "strings", lambda: {"x": hostile})
    app.jinja_env.globals["pwa_strings_text"] = lambda: json_text(pwa.strings())
    html = client.get("/").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    assert _strings(html) == {"x": hostile}


# --- offline page --------------------------------------------------------------------------------------------------

def test_offline_page(client):
    response = client.get("/offline")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "<h1>Sie haben gerade kein Internet</h1>" in html
    assert f'data-cache="{pwa.PAGES_CACHE}"' in html
    assert 'href="/"' in html
    english = client.get("/offline?lang=en").get_data(as_text=True)
    assert "<h1>No internet right now</h1>" in english


def test_static_files_list_covers_icons(app):
    with app.test_request_context():
        files = set(pwa.precached_files())
    assert "icons/bus.svg" in files and "js/outbox.js" in files and "css/offline.css" in files
    root = Path(app.static_folder)
    for name, size, _purpose in pwa.ICONS:
        assert (root / name).is_file()
