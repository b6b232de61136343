"""The database-backed rate limiter: counting, windows, clean-up, keys, the decorator, and exact counts under load."""
from __future__ import annotations

import os
import threading

import pytest
import sqlalchemy as sa

from busapp import create_app
from busapp.core import ratelimit
from busapp.core.config import ConfigError
from busapp.core.extensions import db
from busapp.models import District, RateCounter
from tests.conftest import _driver, csrf_token


def counters() -> dict[str, int]:
    db.session.expire_all()
    return {r.key: r.count for r in db.session.scalars(sa.select(RateCounter))}


@pytest.mark.parametrize("text, parsed", [("10/900", (10, 900)), (" 3 / 60 ", (3, 60)), ("1/86400", (1, 86400))])
def test_parse(text, parsed):
    assert ratelimit.parse(text) == parsed


@pytest.mark.parametrize("text", ["", "10", "ten/900", "10/0", "0/60", "-1/60", "10/86401", "10/9.5", None, "1/2/3"])
def test_parse_refuses(text):
    with pytest.raises(ValueError):
        ratelimit.parse(text)


def test_bad_limit_setting_stops_the_app_at_start():
    with pytest.raises(ConfigError, match="RATELIMIT_BOOKING"):
        create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_BOOKING": "lots"})


def test_bad_limit_from_the_environment_stops_the_app(monkeypatch):
    monkeypatch.setenv("RATELIMIT_SIGNIN", "10 per minute")
    with pytest.raises(ConfigError, match="RATELIMIT_SIGNIN"):
        create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})


def test_counts_up_to_the_limit_per_scope_and_key(app):
    with app.test_request_context():
        assert [ratelimit.hit("s", "k", "3/60") for _ in range(5)] == [True, True, True, False, False]
        assert ratelimit.hit("s", "other", "3/60")
        assert ratelimit.hit("t", "k", "3/60")
    assert sorted(counters().values()) == [1, 1, 5]


def test_keys_are_keyed_hashes(app):
    with app.test_request_context():
        ratelimit.hit("signin-account", "someone@example.org", "3/60")
    [key] = counters()
    assert key.startswith("signin-account:") and "someone" not in key
    other = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "another"})
    with other.test_request_context():
        assert ratelimit._digest("someone@example.org") != key.split(":")[1]


def test_a_new_window_starts_from_zero_and_old_rows_go(app, monkeypatch):
    clock = [1_000_000_020.0]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    with app.test_request_context():
        assert ratelimit.hit("s", "a", "2/60") and ratelimit.hit("s", "a", "2/60")
        assert not ratelimit.hit("s", "a", "2/60")
        ratelimit.hit("s", "stale", "2/60")
        clock[0] += 60
        assert ratelimit.hit("s", "a", "2/60")
        # The old windows are younger than a day: kept for now.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(RateCounter)) == 3
        clock[0] += ratelimit.MAX_WINDOW + 1
        assert ratelimit.hit("s", "b", "2/60")
    assert list(counters().values()) == [1]  # everything older than the longest window is gone


def test_retry_after_counts_to_the_end_of_the_window(app, monkeypatch):
    monkeypatch.setattr(ratelimit.time, "time", lambda: 1_000_000_000.0 + 50)
    with app.test_request_context():
        first = ratelimit.count("s", "k", "1/100")
        second = ratelimit.count("s", "k", "1/100")
    assert first.ok and not second.ok
    assert second.reset_at == 1_000_000_100 and second.retry_after == 50


def test_switched_off_counts_nothing(app):
    app.config["RATELIMIT_ENABLED"] = False
    with app.test_request_context():
        assert all(ratelimit.hit("s", "k", "1/60") for _ in range(5))
        ratelimit.enforce("s", "k", "1/60")
    assert counters() == {}


def test_a_rolled_back_request_keeps_its_count(app):
    """The count is committed on its own connection, so undoing the request's work does not undo it."""
    with app.test_request_context():
        ratelimit.hit("s", "k", "5/60")
        db.session.add(District(number="99", name="Test", slug="test"))
        db.session.flush()
        db.session.rollback()
    assert list(counters().values()) == [1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(District)) == 0


@pytest.mark.parametrize("addr, key", [
    ("192.0.2.7", "192.0.2.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.7", "192.0.2.7"),
    ("not an address", "not an address"),
])
def test_client_key(app, addr, key):
    with app.test_request_context(environ_base={"REMOTE_ADDR": addr}):
        assert ratelimit.client_key() == key


def test_client_key_uses_the_proxy_address_only_when_told(_schema, database_url):
    cfg = {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)}
    for proxies, expected in ((0, "10.0.0.1"), (1, "203.0.113.5")):
        app = create_app({**cfg, "PROXY_COUNT": proxies})
        seen = []
        app.add_url_rule("/who", "who", lambda: seen.append(ratelimit.client_key()) or "ok")
        app.test_client().get("/who", headers={"X-Forwarded-For": "203.0.113.5"},
                              environ_base={"REMOTE_ADDR": "10.0.0.1"})
        with app.app_context():
            db.engine.dispose()
        assert seen == [expected]


@pytest.fixture
def limited(app):
    app.config["RATELIMIT_TEST"] = "2/600"
    app.config["RATELIMIT_TEST_ADDRESS"] = "20/600"

    @ratelimit.limit("test", "RATELIMIT_TEST")
    def view():
        """A limited form."""
        return "ok"

    view.required_roles = ()  # attributes of the view pass through the decorator
    app.add_url_rule("/limited", "limited", view, methods=["GET", "POST"])
    return app


def test_decorator_limits_posts_only(limited, client):
    assert getattr(limited.view_functions["limited"], "required_roles", None) == ()
    token = csrf_token(client, "/signin")
    for _ in range(5):
        assert client.get("/limited").status_code == 200
    assert client.post("/limited", data={"csrf_token": token}).status_code == 200
    assert client.post("/limited", data={"csrf_token": token}).status_code == 200
    response = client.post("/limited", data={"csrf_token": token}, headers={"Accept-Language": "de"})
    assert response.status_code == 429
    html = response.get_data(as_text=True)
    assert "Zu viele Versuche" in html and "Traceback" not in html
    assert 0 < int(response.headers["Retry-After"]) <= 600
    json_answer = client.post("/limited", data={"csrf_token": token}, headers={"Accept": "application/json"})
    assert json_answer.status_code == 429 and json_answer.json["error"] == 429
    # Another client is counted on its own.
    other = limited.test_client()
    token = csrf_token(other, "/signin")
    assert other.post("/limited", data={"csrf_token": token},
                      environ_base={"REMOTE_ADDR": "192.0.2.99"}).status_code == 200


# --- many threads, several app instances, one database: the count is exact -------------------------------------

def _hammer(apps, scope: str, threads: int, hits: int, allowed: int) -> list[bool]:
    results: list[bool] = []
    lock = threading.Lock()
    barrier = threading.Barrier(threads)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        app = apps[n % len(apps)]
        try:
            with app.test_request_context():
                barrier.wait()
                mine = [ratelimit.hit(scope, "same key", f"{allowed}/3600") for _ in range(hits)]
                db.session.remove()
            with lock:
                results.extend(mine)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    return results


def _databases(tmp_path, database_url) -> list[tuple[str, str]]:
    dbs = [("sqlite-file", f"sqlite:///{tmp_path / 'limits.sqlite3'}")]
    if database_url.startswith("postgres"):
        dbs.append(("postgresql", database_url))
    elif os.environ.get("TEST_DATABASE_URL"):
        dbs.append(("test-database", database_url))
    return dbs


ON_POSTGRESQL = os.environ.get("TEST_DATABASE_URL", "").startswith("postgres")


@pytest.mark.parametrize("kind", [
    "sqlite-file",
    pytest.param("postgresql", marks=pytest.mark.skipif(
        not ON_POSTGRESQL, reason="runs when TEST_DATABASE_URL points at PostgreSQL (make test-pg, CI)")),
])
def test_concurrent_hits_give_an_exact_count(tmp_path, database_url, _schema, kind):
    urls = dict(_databases(tmp_path, database_url))
    cfg = {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(urls[kind])}
    apps = [create_app(dict(cfg)), create_app(dict(cfg))]  # two engines, like two worker processes
    with apps[0].app_context():
        if kind == "sqlite-file":
            db.create_all()
        db.session.execute(sa.delete(RateCounter))
        db.session.commit()
    threads, hits, allowed = 12, 25, 100
    try:
        results = _hammer(apps, f"load-{kind}", threads, hits, allowed)
        assert len(results) == threads * hits
        assert results.count(True) == allowed
        with apps[0].app_context():
            rows = db.session.scalars(sa.select(RateCounter)).all()
            assert [r.count for r in rows] == [threads * hits]
    finally:
        for app in apps:
            with app.app_context():
                if app is apps[0]:
                    db.session.execute(sa.delete(RateCounter))
                    db.session.commit()
                db.session.remove()
                db.engine.dispose()


@pytest.mark.parametrize("endpoint, setting", [
    ("booking.new", "RATELIMIT_BOOKING"),
    ("feedback.stop", "RATELIMIT_FEEDBACK"),
    ("feedback.workshop", "RATELIMIT_FEEDBACK"),
])
def test_booking_and_feedback_posts_are_limited(app, client, endpoint, setting):
    """The residents' forms carry the limiter: the POST after the allowed ones is a 429."""
    from tests.test_access import build_path, build_world

    app.config[setting] = "2/600"
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint and "POST" in r.methods)
    path = build_path(app, rule, "POST", build_world())
    token = csrf_token(client, "/signin")
    statuses = [client.post(path, data={"csrf_token": token}).status_code for _ in range(3)]
    assert statuses[0] != 429 and statuses[1] != 429 and statuses[2] == 429, statuses


def test_counts_do_not_wait_for_the_disk_and_nothing_else_stops_waiting(app):
    """PostgreSQL: a counter's transaction commits without waiting for the disk (it guards against floods, it is no
    record); the connection goes back to the pool as it was, so a booking's own commit still waits."""
    from sqlalchemy import event

    seen: list[str] = []

    def on_execute(conn, cursor, statement, params, context, executemany):
        seen.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", on_execute)
    try:
        with app.test_request_context():
            assert ratelimit.count("test", "one", "10/60").count == 1
            assert ratelimit.count("test", "one", "10/60").count == 2
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
    relaxed = [s for s in seen if "synchronous_commit" in s]
    if engine.dialect.name != "postgresql":
        assert relaxed == []  # SQLite: one autocommit statement per count
        return
    assert len(relaxed) == 2
    with app.test_request_context(), ratelimit._counting() as conn:  # the counting statement itself turns it off
        conn.execute(ratelimit._count_statement(1, True), {"k0": "test:two", "w0": 0, "amount": 1})
        assert conn.scalar(sa.text("SHOW synchronous_commit")) == "off"
    with engine.connect() as conn:  # every pooled connection is back to the server's setting
        for _ in range(3):
            assert conn.scalar(sa.text("SHOW synchronous_commit")) == "on"
    assert db.session.scalar(sa.text("SHOW synchronous_commit")) == "on"
