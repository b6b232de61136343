"""Shared fixtures: an app on a throwaway database (SQLite file, or PostgreSQL via TEST_DATABASE_URL), clients,
and factories for the tour's objects."""
from __future__ import annotations

import contextvars
import copy
import itertools
import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import flask
import jinja2
import pytest
import sqlalchemy as sa

from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from busapp import create_app
from busapp.core.extensions import db
from busapp.models import District, Place, Role, Stop, StopStatus, User, Workshop, WorkshopStatus
from tests import suites

ROOT = Path(__file__).resolve().parent.parent
# Production apps in tests need a ticket key from the environment, as a real deployment does; a fixed one for tests.
os.environ.setdefault("TICKET_SIGNING_KEY", "dGVzdHMgb25seSwgbm90IGEgcmVhbCB0aWNrZXQga2U=")


class _CompiledTemplates(jinja2.BytecodeCache):
    """Compiled templates kept in memory for every app of the test run.

    The tests build hundreds of apps, each with its own Jinja environment, which would otherwise parse and compile
    every template again. Jinja checks each entry against the template's source, so a changed template is compiled
    anew; every app is built by create_app with the same Jinja settings, so the code is the same."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


flask.Flask.jinja_options = {**flask.Flask.jinja_options, "bytecode_cache": _CompiledTemplates()}


# --- which tests run where (tests/suites.py says it; README "Which tests run where") ------------------------------

def pytest_addoption(parser) -> None:
    parser.addoption("--suite", choices=suites.SUITES, default="all",
                     help="submission: make test; database: make test-pg; full: make test-full; all: everything "
                          "(see tests/suites.py)")


_LEFT_OUT = "suites/left-out"
_reads_database_env: dict[Path, bool] = {}


def _reaches_database(item) -> bool:
    if suites.DATABASE_FIXTURES & set(getattr(item, "fixturenames", ())):
        return True
    path = Path(str(item.fspath))
    if path not in _reads_database_env:
        _reads_database_env[path] = "TEST_DATABASE_URL" in path.read_text(encoding="utf-8")
    return _reads_database_env[path]


def _left_out_because(suite: str, browser: bool, database: bool, full: bool) -> str | None:
    if suite == "submission" and full:
        return "slow tests of make test-full"
    if suite == "database":
        if browser:
            return "browser tests (run once, on SQLite, by make test)"
        if not database:
            return "tests that reach no database (run by make test)"
        if full:
            return "slow tests of make test-full"
    if suite == "full" and not full:
        return "tests of make test"
    return None


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items) -> None:
    """Marks every test browser (tests/e2e/), database (reaches the test database) and full (tests/suites.py
    FULL_ONLY), and keeps the ones of --suite."""
    suite = config.getoption("suite")
    keep, dropped, reasons = [], [], {}
    for item in items:
        module = Path(str(item.fspath)).resolve().relative_to(ROOT).as_posix()
        browser = module.startswith("tests/e2e/")
        database = _reaches_database(item)
        full = suites.full_only(module)
        for on, mark in ((browser, pytest.mark.browser), (database, pytest.mark.database), (full, pytest.mark.full)):
            if on:
                item.add_marker(mark)
        reason = _left_out_because(suite, browser, database, full)
        if reason:
            dropped.append(item)
            reasons[reason] = reasons.get(reason, 0) + 1
        else:
            keep.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
    if getattr(config, "workerinput", {}).get("workerid", "gw0") == "gw0" and getattr(config, "cache", None):
        config.cache.set(_LEFT_OUT, {"suite": suite, "kept": len(keep), "reasons": reasons})


def pytest_sessionstart(session) -> None:
    if not hasattr(session.config, "workerinput") and getattr(session.config, "cache", None) is not None:
        session.config.cache.set(_LEFT_OUT, None)


def pytest_sessionfinish(session, exitstatus) -> None:
    # make test-full with nothing of it to run (on PostgreSQL: none of it reaches the database) is a success.
    if session.config.getoption("suite") == "full" and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK


def pytest_terminal_summary(terminalreporter, config) -> None:
    if hasattr(config, "workerinput") or config.getoption("suite") == "all" or getattr(config, "cache", None) is None:
        return
    found = config.cache.get(_LEFT_OUT, None)
    if not found:
        return
    terminalreporter.write_sep("-", f"suite {found['suite']}: {found['kept']} tests; left out (see tests/suites.py)")
    for reason, n in sorted(found["reasons"].items()):
        terminalreporter.write_line(f"{n:6d}  {reason}")


def pytest_configure(config) -> None:
    """Under pytest-xdist each worker gets its own PostgreSQL database beside the one TEST_DATABASE_URL names
    (SQLite files are per worker already, in each worker's own temporary folder)."""
    worker = getattr(config, "workerinput", {}).get("workerid")
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not worker or not url.startswith("postgres"):
        return
    own = sa.engine.make_url(url)
    own = own.set(database=f"{own.database}_{worker}")
    with _postgres_admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{own.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{own.database}"')
    os.environ["TEST_DATABASE_URL"] = own.render_as_string(hide_password=False)
    config.stash[_WORKER_DATABASE] = own.database


def pytest_unconfigure(config) -> None:
    name = config.stash.get(_WORKER_DATABASE, None)
    if name:
        with _postgres_admin(os.environ["TEST_DATABASE_URL"]) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_WORKER_DATABASE = pytest.StashKey[str]()


def _postgres_admin(url: str):
    import psycopg

    admin = sa.engine.make_url(url).set(drivername="postgresql", database="postgres")
    return psycopg.connect(admin.render_as_string(hide_password=False), autocommit=True)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    """PostgreSQL when TEST_DATABASE_URL is set (CI), else a SQLite file (threads can share it, unlike :memory:)."""
    url = os.environ.get("TEST_DATABASE_URL")
    if url:
        return url
    return f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite3'}"


@pytest.fixture(scope="session")
def _schema(database_url):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.engine.dispose()
    yield


def _driver(url: str) -> str:
    from busapp.core.config import database_url

    return database_url(url)


def _empty_tables() -> None:
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


class IsolatedClient(FlaskClient):
    """Each request runs in its own app context, as in production, not in the test's.

    Otherwise `g`, the cached locale and the signed-in user would leak from one request to the next. The test's own
    work is committed first so the request sees it, and the test's next query starts a fresh transaction. A streamed
    body is read inside the request's context too (buffered), as a WSGI server reads it before the request ends."""

    def open(self, *args, **kwargs):
        if db.session.registry.has():
            db.session.commit()
        kwargs.setdefault("buffered", True)
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app(_schema, database_url):
    """A fresh app per test; every table is emptied afterwards."""
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    app.test_client_class = IsolatedClient
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


@pytest.fixture(scope="module")
def _module_app(_schema, database_url):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    app.test_client_class = IsolatedClient
    yield app, copy.deepcopy(dict(app.config)), sorted(map(str, app.url_map.iter_rules()))
    with app.app_context():
        db.engine.dispose()


@pytest.fixture
def module_app(_module_app):
    """One app for the tests of a module that only send requests and read the answers (the checks of every route,
    a thousand tests): building an app costs more than such a test. Every table is emptied after each test, as with
    `app`. A test that changes the app's settings or routes fails here; such a test takes `app`."""
    app, settings, rules = _module_app
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
    assert dict(app.config) == settings, "a test changed the settings of the shared app: give it `app`"
    assert sorted(map(str, app.url_map.iter_rules())) == rules, "a test added routes to the shared app: give it `app`"


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


_numbers = itertools.count(1)


@pytest.fixture
def make_district(app):
    def make(name: str | None = None, slug: str | None = None, number: str | None = None) -> District:
        n = next(_numbers)
        district = District(number=number or f"{n:02d}", name=name or f"Bezirk {n}", slug=slug or f"bezirk-{n}")
        db.session.add(district)
        db.session.commit()
        return district

    return make


@pytest.fixture
def make_place(app, make_district):
    def make(district: District | None = None, name: str = "Marktplatz", **kw) -> Place:
        kw.setdefault("address", "Am Markt 1")
        kw.setdefault("lat", 53.86)
        kw.setdefault("lon", 10.68)
        place = Place(district=district or make_district(), name=name, **kw)
        db.session.add(place)
        db.session.commit()
        return place

    return make


PLACE_FIELDS = ("address", "postcode", "lat", "lon", "transit_stop", "transit_lines", "step_free", "seats", "toilet",
                "hearing_loop", "finding_note", "is_example", "source")


@pytest.fixture
def make_stop(app, make_district, make_place, now):
    """make_stop(place="Marli-Forum", address=...) makes a new place for the stop; place=<Place> reuses one."""

    def make(district: District | None = None, starts_at: datetime | None = None, hours: float = 3,
             status: StopStatus = StopStatus.PUBLISHED, place: str | Place = "Marktplatz", **kw) -> Stop:
        starts_at = starts_at or now + timedelta(days=1)
        if isinstance(place, Place):
            district = district or place.district
        else:
            district = district or make_district()
            place = make_place(district, place, **{k: kw.pop(k) for k in PLACE_FIELDS if k in kw})
        stop = Stop(district=district, place=place,
                    starts_at=starts_at, ends_at=starts_at + timedelta(hours=hours), status=status, **kw)
        db.session.add(stop)
        db.session.commit()
        return stop

    return make


@pytest.fixture
def make_workshop(app, make_stop):
    def make(stop: Stop | None = None, capacity: int = 8, title: str = "Smartphone-Grundlagen",
             status: WorkshopStatus = WorkshopStatus.PUBLISHED, **kw) -> Workshop:
        stop = stop or make_stop()
        workshop = Workshop(stop=stop, title=title, topic=kw.pop("topic", "smartphone_basics"),
                            starts_at=kw.pop("starts_at", stop.starts_at), capacity=capacity, status=status, **kw)
        db.session.add(workshop)
        db.session.commit()
        return workshop

    return make


PASSWORD = "correct horse battery"
# Accounts made by make_user get a scrypt hash of PASSWORD with a small work factor. The sign-in checks it as any
# other (the factor is part of the hash), in a millisecond instead of a tenth of a second; tests/accounts/test_auth.py
# checks that User.set_password itself uses scrypt at full cost.
QUICK_HASH_METHOD = "scrypt:1024:8:1"


@pytest.fixture
def make_user(app):
    def make(role: Role | str = Role.STAFF, email: str | None = None, active: bool = True) -> User:
        role = Role(role)
        user = User(email=email or f"{role.value}{next(_numbers)}@example.org", role=role, active=active,
                    password_hash=generate_password_hash(PASSWORD, method=QUICK_HASH_METHOD))
        db.session.add(user)
        db.session.commit()
        return user

    return make


def csrf_token(client, path: str = "/signin") -> str:
    """Fetch a page and read the CSRF token from its forms."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


@pytest.fixture
def login(client, make_user):
    """login("staff") or login("coordinator"): sign in through the real form; returns the user."""

    def do(role: Role | str = Role.STAFF) -> User:
        user = make_user(role)
        token = csrf_token(client, "/signin")
        response = client.post("/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
        assert response.status_code == 303, response.get_data(as_text=True)
        return user

    return do


class _SeededTours:
    """Synthetic tours of demo.load_large, each size seeded once per test process into a SQLite file of its own."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.paths: dict[tuple[int, object], Path] = {}

    def path(self, stops: int) -> Path:
        from zoneinfo import ZoneInfo

        from busapp.dev import demo

        today = datetime.now(ZoneInfo("Europe/Berlin")).date()  # the demo tour's town
        if (stops, today) not in self.paths:
            path = self.folder / f"tour-{stops}-{today.isoformat()}.sqlite3"
            app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(f"sqlite:///{path}")})
            with app.app_context():
                db.create_all()
                demo.load_large(stops, today=today, with_users=False)
                db.session.commit()
                db.session.remove()
                db.engine.dispose()
            self.paths[(stops, today)] = path
        return self.paths[(stops, today)]


@pytest.fixture(scope="session")
def _seeded_tours(tmp_path_factory) -> _SeededTours:
    return _SeededTours(tmp_path_factory.mktemp("tours"))


@pytest.fixture
def large_tour(app, _seeded_tours):
    """large_tour(10_000) replaces the tour in the test's database with demo.load_large's synthetic tour of that size.

    On SQLite each size is seeded once per test process and its rows copied in (the test suite asks for the same
    10,000-stop tour in several modules); on PostgreSQL it is seeded for the test."""
    from busapp.dev import demo

    def load(stops: int) -> None:
        if db.engine.dialect.name != "sqlite":
            demo.load_large(stops, with_users=False)
            db.session.commit()
            return
        path = _seeded_tours.path(stops)
        demo.clear()
        db.session.commit()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ATTACH DATABASE ? AS tour", (str(path),))
            conn.commit()
            try:
                # What the seeding wrote where this database has nothing (the tour, after demo.clear()); a table the
                # test has written to already (accounts, their audit entries) keeps the test's rows only.
                for table in db.metadata.sorted_tables:
                    name = table.name
                    if (conn.exec_driver_sql(f'SELECT 1 FROM tour."{name}" LIMIT 1').first()
                            and not conn.exec_driver_sql(f'SELECT 1 FROM main."{name}" LIMIT 1').first()):
                        conn.exec_driver_sql(f'INSERT INTO main."{name}" SELECT * FROM tour."{name}"')
                conn.commit()
            finally:
                conn.rollback()
                conn.exec_driver_sql("DETACH DATABASE tour")
                conn.commit()
        db.session.expire_all()

    return load
