"""Browser tests: Playwright driving Debian's Chromium against the app on a live server with the demo tour.

They run when the chromium binary is present (make test) and always in CI (REQUIRE_BROWSER=1 makes a missing
browser an error instead of a reason to leave them out)."""
from __future__ import annotations

import os
import shutil

import pytest

from busapp import create_app, demo
from busapp.config import database_url as _db_url
from busapp.extensions import db
from tests.conftest import _empty_tables
from tests.live import LiveServer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-quic", "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
# Generous but bounded waits: on a loaded machine (two test workers and their browsers on two cores, the PostgreSQL
# run) a page can take many seconds; a wait that runs out is a failure, never a reason to skip.
ACTION_TIMEOUT_MS = 30_000
NAVIGATION_TIMEOUT_MS = 60_000
EXPECT_TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config, items):
    if CHROMIUM or os.environ.get("REQUIRE_BROWSER"):
        return
    reason = pytest.mark.skipif(True, reason="chromium is not installed (apt-get install chromium)")
    for item in items:
        if "e2e" in item.nodeid.split("/"):
            item.add_marker(reason)


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    if not CHROMIUM:
        pytest.fail("REQUIRE_BROWSER is set but no chromium binary was found")
    with sync_playwright() as p:
        yield p


class Browser:
    """The session's Chromium (launched once per test process); every context it opens has the waits above."""

    def __init__(self, browser):
        self._browser = browser

    def new_context(self, **options):
        context = self._browser.new_context(**options)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
        return context

    def __getattr__(self, name):
        return getattr(self._browser, name)


@pytest.fixture(scope="session")
def browser(_playwright):
    from playwright.sync_api import expect

    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield Browser(browser)
    browser.close()


@pytest.fixture
def live_app(tmp_path):
    """The app on its own SQLite file (or a PostgreSQL database from TEST_DATABASE_URL) with the demo tour."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'e2e.sqlite3'}"
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _db_url(url), "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()  # a no-op on the shared PostgreSQL test database, whose tables exist already
        _empty_tables()
        demo.load()
    yield app
    with app.app_context():
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app):
    server = LiveServer(live_app).start()
    yield server
    server.stop()


@pytest.fixture
def context(browser, live_server):
    """A fresh phone-sized browser profile (its own service worker, caches and IndexedDB)."""
    ctx = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="de-DE",
                              service_workers="allow")
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    yield page
    page.close()
