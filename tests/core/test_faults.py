"""Honest answers when the database fails: "try again" (503) before a commit, success after it, and a request's end
that cannot fail.

The database goes away for real: on PostgreSQL, a second connection stops new connections to this test's own
database and terminates the app's (only those of current_database()); on SQLite, a second connection holds the
database file locked, exclusively. Both are undone when the `outage` context ends.
"""
from __future__ import annotations

import contextlib
import re
import sqlite3
from datetime import timedelta

import psycopg
import pytest
import sqlalchemy as sa
from flask import request

from busapp.core import faults
from busapp.booking import service as booking_service
from busapp.domain import seats
from busapp.core.extensions import db
from busapp.feedback import rules as feedback_rules
from busapp.models import BookingStatus, Feedback
from tests.conftest import csrf_token
from tests.booking.test_booking import JSON, assert_seats_consistent, book, bookings, form_tokens
from tests.feedback.test_feedback import form_fields


@pytest.fixture
def impatient(app):
    """On SQLite, a locked database is reported after 0.2 s instead of 30 s; rate limits out of the way."""
    app.config["SQLITE_BUSY_TIMEOUT_MS"] = 200
    app.config["RATELIMIT_FEEDBACK"] = "1000/600"
    app.config["RATELIMIT_BOOKING"] = "1000/600"
    return app


def _release_other_engines(engine) -> None:
    """Other apps of this test process on the same SQLite file (a module's shared app, say) let their pooled
    connections go too, so that nothing but the request under test stands in the lock's way."""
    import gc

    import sqlalchemy as sa

    for other in gc.get_objects():
        if isinstance(other, sa.engine.Engine) and other is not engine and other.url.database == engine.url.database:
            other.dispose()


@contextlib.contextmanager
def outage(app, writes_only: bool = False):
    """The database is unreachable inside the block (see the module docstring); with `writes_only`, SQLite's is
    only locked for writing, which another connection can take while the app holds connections open."""
    engine = db.engine
    if engine.dialect.name == "postgresql":
        url = engine.url.set(drivername="postgresql")
        # The killer sits in this test's database, so current_database() names it and no other; new connections to
        # it are refused from the server's maintenance database (a database cannot refuse its own session).
        with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as killer, \
                psycopg.connect(url.set(database="postgres").render_as_string(hide_password=False),
                                autocommit=True) as admin:
            name = killer.execute("SELECT current_database()").fetchone()[0]
            admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
            try:
                killer.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE datname = current_database() AND pid <> pg_backend_pid()")
                yield
            finally:
                admin.execute(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    elif writes_only:
        locker = sqlite3.connect(engine.url.database, isolation_level=None, timeout=5)
        try:
            locker.execute("BEGIN IMMEDIATE")
            yield
        finally:
            locker.close()
    else:
        # An exclusive lock can only be had with no other connection open: the request's session and the pool let
        # theirs go first (to the request, as if its connection had dropped).
        db.session.close()
        engine.dispose()
        _release_other_engines(engine)
        locker = sqlite3.connect(engine.url.database, isolation_level=None, timeout=30)
        try:
            locker.execute("PRAGMA locking_mode=EXCLUSIVE")
            locker.execute("BEGIN EXCLUSIVE")
            locker.execute("COMMIT")  # in exclusive locking mode the lock is kept after the commit
            yield
        finally:
            locker.close()


@pytest.fixture
def away(app):
    """away.start() takes the database away (until the test ends); usable from inside a request."""
    stack = contextlib.ExitStack()

    class Away:
        def start(self, writes_only=False):
            stack.enter_context(outage(app, writes_only))

        def stop(self):
            stack.close()

    yield Away()
    stack.close()


# --- 3. before the commit: 503 with Retry-After --------------------------------------------------------------


PAGES = ["/", "/s/{stop}", "/workshops/{workshop}/book", "/f/{stop}", "/f", "/d/{district}"]


@pytest.mark.parametrize("path", PAGES)
def test_pages_answer_503_with_retry_after_while_the_database_is_away(client, impatient, make_workshop, away,
                                                                        path, now):
    """Each page shows the stop (its place, from the database) before the outage, a 503 without it during, and
    the same page again after."""
    workshop = make_workshop()
    path = path.format(stop=workshop.stop_id, workshop=workshop.id, district=workshop.stop.district.slug)
    place = workshop.stop.place.name

    def shown() -> str:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        body = response.get_data(as_text=True)
        assert place in body, path
        return re.sub(r'value="[^"]{16,}"', 'value=""', body)

    before = shown()
    db.session.remove()
    away.start()
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    body = response.get_data(as_text=True)
    assert "Internal" not in body and place not in body
    away.stop()
    after = shown()
    assert _main(after) == _main(before)


def _main(body: str) -> str:
    """The page's main content, without the parts that change from one request to the next (form keys)."""
    match = re.search(r'<main\b.*?</main>', body, re.S)
    assert match, "the page has no <main>"
    return match.group(0)


def test_healthz_says_503_with_retry_after(client, impatient, away):
    assert client.get("/healthz").status_code == 200
    db.session.remove()
    away.start()
    response = client.get("/healthz")
    assert response.status_code == 503 and response.headers["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)


def test_booking_while_the_database_is_away_asks_the_outbox_to_try_again(client, impatient, make_workshop, away):
    wid = make_workshop(capacity=4).id
    data = form_tokens(client, wid) | {"name": "Anna", "party_size": "2", "consent": "y"}
    db.session.remove()
    away.start()
    response = client.post(f"/workshops/{wid}/book", data=data, headers=JSON)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    assert response.json["ok"] is False and response.json["error"] == 503
    away.stop()
    # The outbox's retry with the same key books once.
    again = client.post(f"/workshops/{wid}/book", data=data, headers=JSON)
    assert again.status_code == 201 and again.json["state"] == "confirmed"
    assert len(bookings()) == 1
    assert assert_seats_consistent(wid).seats_taken == 2


def test_losing_the_database_inside_the_booking_transaction_is_503_and_nothing_is_written(
        client, impatient, make_workshop, away, monkeypatch):
    workshop = make_workshop(capacity=4)
    data = form_tokens(client, workshop.id) | {"name": "Anna", "party_size": "1", "consent": "y"}
    if db.engine.dialect.name == "postgresql":
        # The workshop's row is locked and its seats taken; then the connection is terminated.
        real_take = seats.take

        def take_then_lose(*args, **kwargs):
            taken = real_take(*args, **kwargs)
            away.start()
            return taken

        monkeypatch.setattr(seats, "take", take_then_lose)
    else:
        # SQLite: another connection holds the write lock; the request can still read, but not write.
        away.start(writes_only=True)
    response = client.post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    assert response.status_code == 503 and response.headers["Retry-After"]
    away.stop()
    monkeypatch.undo()
    assert bookings() == []
    assert assert_seats_consistent(workshop.id).seats_taken == 0


def test_feedback_while_the_database_is_away_is_503_json(client, impatient, make_stop, now, away):
    stop_id = make_stop(starts_at=now - timedelta(hours=1)).id
    data = form_fields(client.get(f"/f/{stop_id}").get_data(as_text=True)) | {"rating": "4"}
    db.session.remove()
    away.start()
    response = client.post(f"/f/{stop_id}", data=data, headers=JSON)
    assert response.status_code == 503 and response.json["ok"] is False
    assert response.headers["Retry-After"] == str(faults.RETRY_AFTER_SECONDS)
    away.stop()
    assert client.post(f"/f/{stop_id}", data=data, headers=JSON).status_code == 201
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 1


# --- 1. after the commit: a success, with less detail if need be ---------------------------------------------


def _lose_database_after(monkeypatch, away, module, name, writes_only=False):
    """From the named function on (called after the commit), the database is away."""
    real = getattr(module, name)

    def lose_then_call(*args, **kwargs):
        away.start(writes_only)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, lose_then_call)


def test_waiting_list_answer_after_the_commit_survives_a_lost_database(client, impatient, make_workshop, away,
                                                                        monkeypatch):
    full = make_workshop(capacity=1)
    make_workshop(capacity=5, title="Noch frei")  # an alternative that would be offered
    assert book(client, full.id, JSON).status_code == 201
    _lose_database_after(monkeypatch, away, booking_service, "waiting_position")

    response = book(client, full.id, JSON)
    assert response.status_code == 201
    body = response.json
    assert body["ok"] is True and body["state"] == "waiting" and body["url"].startswith("/t/") and body["code"]
    assert body["alternatives"] == []  # left out: the database went away while they were looked up
    assert "waiting list" in body["message"] or "Warteliste" in body["message"]
    away.stop()
    monkeypatch.undo()
    assert [b.status for b in bookings()] == [BookingStatus.CONFIRMED, BookingStatus.WAITING]


def test_alternatives_failing_after_the_commit_leave_them_out(client, impatient, make_workshop, away, monkeypatch):
    full = make_workshop(capacity=1)
    assert book(client, full.id, JSON).status_code == 201
    data = form_tokens(client, full.id) | {"name": "Ben", "party_size": "1", "consent": "y"}
    _lose_database_after(monkeypatch, away, booking_service, "alternatives")
    response = client.post(f"/workshops/{full.id}/book", data=data, headers=JSON)
    assert response.status_code == 201 and response.json["state"] == "waiting"
    assert response.json["alternatives"] == []
    # The number came before the database went away, so it is there.
    assert re.search(r"\b1\b", response.json["message"])
    away.stop()
    assert len(bookings()) == 2


def _lose_database_once_returned(monkeypatch, away, module, name):
    """Once the named function has committed and returned, the database is away."""
    real = getattr(module, name)

    def call_then_lose(*args, **kwargs):
        result = real(*args, **kwargs)
        away.start()
        return result

    monkeypatch.setattr(module, name, call_then_lose)


def test_booking_with_mail_answers_success_when_the_database_goes_after_the_commit(client, impatient, make_workshop,
                                                                                  away, monkeypatch):
    from busapp.booking import service

    workshop = make_workshop(capacity=3)
    _lose_database_once_returned(monkeypatch, away, service, "create")
    response = book(client, workshop.id, JSON, contact="anna@example.org")
    assert response.status_code == 201 and response.json["state"] == "confirmed"
    away.stop()
    assert [b.status for b in bookings()] == [BookingStatus.CONFIRMED]


def test_cancelling_then_losing_the_database_still_redirects_to_the_ticket(client, impatient, make_workshop, away,
                                                                          monkeypatch):
    from busapp.booking import service

    workshop = make_workshop(capacity=1)
    first = book(client, workshop.id)
    token = first.headers["Location"].rsplit("/", 1)[1]
    book(client, workshop.id)  # waits, and is moved up when the first cancels
    _lose_database_once_returned(monkeypatch, away, service, "cancel")
    response = client.post(f"/t/{token}/cancel", data={"csrf_token": csrf_token(client, f"/t/{token}/cancel")})
    assert response.status_code == 303 and response.headers["Location"] == f"/t/{token}"
    away.stop()
    statuses = [b.status for b in bookings()]
    assert statuses == [BookingStatus.CANCELLED, BookingStatus.CONFIRMED]


def test_feedback_thanks_fragment_after_the_commit_survives_a_lost_database(client, impatient, make_stop, now,
                                                                           away, monkeypatch):
    stop_id = make_stop(starts_at=now - timedelta(hours=1)).id
    data = form_fields(client.get(f"/f/{stop_id}").get_data(as_text=True)) | {"rating": "5"}
    # workshops_for is called before the commit too: the database goes away on its second call, after the commit.
    calls = []
    original = feedback_rules.workshops_for

    def second_call_loses(stop_):
        calls.append(stop_)
        if len(calls) == 2:
            away.start()
        return original(stop_)

    monkeypatch.setattr(feedback_rules, "workshops_for", second_call_loses)
    response = client.post(f"/f/{stop_id}", data=data, headers={"HX-Request": "true"})
    assert response.status_code == 201
    assert response.headers["HX-Redirect"] == f"/f/{stop_id}/thanks"
    away.stop()
    assert db.session.scalar(sa.select(sa.func.count(Feedback.id))) == 1


# --- 2. ending a request never fails it ----------------------------------------------------------------------


def test_a_failing_rollback_at_the_end_of_a_request_is_swallowed(app, client, impatient, make_workshop, away):
    """The page read from the database, so its transaction is open when the request ends; then its connection is
    terminated (PostgreSQL) or closed under it (SQLite), and the teardown's rollback fails."""
    workshop = make_workshop()
    path = f"/s/{workshop.stop_id}"

    fired = []

    @app.after_request
    def lose_the_connection(response):
        if request.path == path and not fired:
            fired.append(True)
            assert db.session().in_transaction()
            if db.engine.dialect.name == "postgresql":
                away.start()
            else:
                db.session.connection().connection.dbapi_connection.close()
        return response

    response = client.get(path)
    assert response.status_code == 200
    away.stop()
    # The next request gets a working connection.
    assert client.get(path).status_code == 200
    assert client.get("/healthz").status_code == 200


def test_without_the_guard_the_failing_rollback_would_escape(app, client, make_workshop, monkeypatch):
    """The test above can fail: Flask-SQLAlchemy's own teardown lets the error out of the request."""
    from busapp.core.extensions import Database

    workshop = make_workshop()
    path = f"/s/{workshop.stop_id}"
    plain = [(lambda exc: db.session.remove()) if getattr(f, "__func__", None) is Database._teardown_session else f
             for f in app.teardown_appcontext_funcs]
    assert plain != app.teardown_appcontext_funcs
    monkeypatch.setattr(app, "teardown_appcontext_funcs", plain)

    @app.after_request
    def close_under_the_session(response):
        db.session.connection().connection.dbapi_connection.close()
        return response

    with pytest.raises(sa.exc.SQLAlchemyError):
        client.get(path)
    monkeypatch.undo()
    db.session.registry.clear()


# --- unit: which errors mean "try again" -----------------------------------------------------------------------


def test_only_outages_count_as_unavailable():
    assert faults.unavailable(sa.exc.OperationalError("SELECT 1", {}, Exception("database is locked")))
    assert faults.unavailable(sa.exc.TimeoutError("pool"))
    assert not faults.unavailable(sa.exc.IntegrityError("INSERT", {}, Exception("unique")))
    assert not faults.unavailable(ValueError("x"))
