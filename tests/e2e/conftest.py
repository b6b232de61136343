"""Browser tests: Playwright driving Debian's Chromium against the app on a live server with the demo tour.

They run when the chromium binary is present (make test) and always in CI (REQUIRE_BROWSER=1 makes a missing
browser an error instead of a reason to leave them out)."""
from __future__ import annotations

import os
import secrets
import shutil
import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp import create_app
from busapp.dev import demo
from busapp.core import tickets
from busapp.core.config import database_url as _db_url
from busapp.core.extensions import db
from busapp.models import (
    Booking, BookingStatus, District, Place, Role, Stop, StopStatus, User, Workshop, utcnow,
)
from tests.conftest import PASSWORD, _empty_tables
from tests.e2e.helpers import OFFICE
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


class _DemoTemplate:
    """The demo tour seeded once per test process into a SQLite file; each browser test gets a copy of it.

    demo.load() takes seconds (it writes the whole tour and signs the demo accounts' passwords at full cost) and its
    result depends only on the day in Lübeck, so a copy made the same day is the same tour. A new day seeds anew."""

    def __init__(self, folder):
        self.folder = folder
        self.day = None
        self.path = None

    def copy_to(self, target) -> None:
        today = datetime.now(ZoneInfo("Europe/Berlin")).date()
        if self.day != today:
            self.path = self.folder / f"demo-{today.isoformat()}.sqlite3"
            app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _db_url(f"sqlite:///{self.path}")})
            with app.app_context():
                db.create_all()
                demo.load(today=today)
                db.session.remove()
                db.engine.dispose()
            self.day = today
        with sqlite3.connect(self.path) as source, sqlite3.connect(target) as copy:
            source.backup(copy)


@pytest.fixture(scope="session")
def _demo_template(tmp_path_factory):
    return _DemoTemplate(tmp_path_factory.mktemp("demo-template"))


@pytest.fixture
def live_app(tmp_path, _demo_template):
    """The app on its own SQLite file with the demo tour (a copy of the one seeded for this test process), or on the
    PostgreSQL database of TEST_DATABASE_URL with the demo tour seeded for this test."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        path = tmp_path / "e2e.sqlite3"
        _demo_template.copy_to(path)
        url = f"sqlite:///{path}"
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _db_url(url), "RATELIMIT_ENABLED": False})
    if url.startswith("postgres"):
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
def office(browser, live_server):
    """A coordinator's 1280 x 800 desk browser on the live server."""
    ctx = browser.new_context(viewport=OFFICE, base_url=live_server.url, locale="de-DE")
    page = ctx.new_page()
    yield page
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    yield page
    page.close()


@pytest.fixture
def open_stop_id(live_app) -> int:
    """A published demo stop that takes feedback now (started, closed less than two weeks ago)."""
    with live_app.app_context():
        now = utcnow()
        stop_id = db.session.scalar(
            sa.select(Stop.id).where(Stop.status == StopStatus.PUBLISHED, Stop.starts_at <= now,
                                     Stop.ends_at > now - timedelta(days=13))
            .order_by(Stop.starts_at.desc()).limit(1)
        )
    assert stop_id, "the demo tour has no stop that takes feedback"
    return stop_id


@pytest.fixture
def bus(tmp_path):
    """An app with a stop going on now, a workshop in an hour with three bookings, a staff and a coordinator
    account."""
    url = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'checkin.sqlite3'}"
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _db_url(url), "RATELIMIT_ENABLED": False})
    with app.app_context():
        db.create_all()
        _empty_tables()
        now = utcnow().replace(microsecond=0)
        district = District(number="77", name="Innenstadt", slug="innenstadt")
        stop = Stop(district=district, place=Place(district=district, name="Marktplatz", address="Am Markt 1"),
                    starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=4), status=StopStatus.PUBLISHED)
        workshop = Workshop(stop=stop, title="Smartphone-Grundlagen", topic="smartphone_basics",
                            starts_at=now + timedelta(hours=1), capacity=8, seats_taken=4)
        people = {}
        for name, code, size in (("Erika Muster", "ERIKA2", 1), ("Hans Meier", "HANS22", 1),
                                 ("Aylin Kaya", "AYLIN2", 2)):
            people[name] = Booking(workshop=workshop, party_size=size, name=name, status=BookingStatus.CONFIRMED,
                                   code=code, manage_token=secrets.token_urlsafe(24),
                                   idempotency_key=secrets.token_hex(16), confirmed_at=now)
        staff = User(email="staff@example.org", role=Role.STAFF)
        staff.set_password(PASSWORD)
        # Approves the tablets staff set up (tests/e2e/helpers.py, new_tablet).
        coordinator = User(email="koordination@example.org", role=Role.COORDINATOR)
        coordinator.set_password(PASSWORD)
        db.session.add_all([district, stop, workshop, staff, coordinator, *people.values()])
        db.session.commit()
        ids = {"workshop": workshop.id, "stop": stop.id,
               "tokens": {name: tickets.sign(b) for name, b in people.items()},
               "codes": {name: b.code for name, b in people.items()}}
    server = LiveServer(app).start()
    yield app, server, ids
    server.stop()
    with app.app_context():
        db.session.remove()
        _empty_tables()
        db.engine.dispose()
