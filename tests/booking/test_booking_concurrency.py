"""Seats under real concurrency: many people booking, repeating and cancelling at once, through a real HTTP server
(a thread per request, each with its own database connection) on SQLite and on PostgreSQL
(`make test-pg PYTEST_ARGS=tests/booking/test_booking_concurrency.py`)."""
from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from http.cookiejar import CookieJar
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, Request, build_opener

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus
from tests.live import LiveServer
from tests.booking.test_booking import assert_seats_consistent

pytestmark = pytest.mark.slow

PEOPLE = 50
TIMEOUT = 120


class Visitor:
    """One phone: its own cookies (session, CSRF token), opening the form and sending it like a browser."""

    def __init__(self, base: str):
        self.base = base
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()))

    def request(self, path: str, data: dict | None = None, headers: dict | None = None) -> tuple[int, str]:
        body = urlencode(data).encode() if data is not None else None
        req = Request(self.base + path, data=body, headers=headers or {})
        try:
            with self.opener.open(req, timeout=TIMEOUT) as response:
                return response.status, response.read().decode()
        except HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode()

    def open_form(self, workshop_id: int) -> dict:
        status, html = self.request(f"/workshops/{workshop_id}/book")
        assert status == 200, html
        return {
            "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1),
            "idempotency_key": re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html).group(1),
        }

    def send(self, workshop_id: int, fields: dict) -> tuple[int, dict]:
        status, text = self.request(f"/workshops/{workshop_id}/book", fields,
                                    {"Accept": "application/json", "X-Outbox": "1"})
        return status, json.loads(text)


@pytest.fixture
def server(app):
    app.config["RATELIMIT_ENABLED"] = False  # every request comes from 127.0.0.1
    db.session.commit()
    with LiveServer(app) as live:
        yield live


def all_at_once(jobs):
    """Run the callables in threads, released together by a barrier so their requests overlap."""
    barrier = threading.Barrier(len(jobs))

    def run(job):
        barrier.wait(timeout=TIMEOUT)
        return job()

    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        return list(pool.map(run, jobs, timeout=TIMEOUT * 2))


def test_fifty_people_booking_eight_seats_at_once(server, make_workshop):
    workshop = make_workshop(capacity=8)
    visitors = [Visitor(server.url) for _ in range(PEOPLE)]
    forms = [v.open_form(workshop.id) for v in visitors]  # each with its own session, token and key
    sizes = [1 + i % 2 for i in range(PEOPLE)]  # parties of one and two

    def job(i):
        return lambda: visitors[i].send(workshop.id, forms[i] | {
            "name": f"Person {i}", "party_size": str(sizes[i]), "consent": "y"})

    results = all_at_once([job(i) for i in range(PEOPLE)])

    assert [status for status, _ in results] == [201] * PEOPLE, results
    states = [body["state"] for _, body in results]
    assert set(states) <= {"confirmed", "waiting"}
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Booking).where(Booking.workshop_id == workshop.id)).all()
    assert len(rows) == PEOPLE and len({r.code for r in rows}) == PEOPLE
    confirmed = [r for r in rows if r.status == BookingStatus.CONFIRMED]
    waiting = [r for r in rows if r.status == BookingStatus.WAITING]
    assert len(confirmed) + len(waiting) == PEOPLE
    seated = sum(r.party_size for r in confirmed)
    assert assert_seats_consistent(workshop.id).seats_taken == seated <= 8
    assert seated >= 7  # the seats were used: at most one seat stays free when only parties of two remain
    assert states.count("confirmed") == len(confirmed)


def test_one_submission_sent_ten_times_at_once_books_once(server, make_workshop):
    workshop = make_workshop(capacity=8)
    visitor = Visitor(server.url)
    fields = visitor.open_form(workshop.id) | {"name": "Anna", "party_size": "3", "consent": "y"}
    results = all_at_once([lambda: visitor.send(workshop.id, fields) for _ in range(10)])

    statuses = sorted(status for status, _ in results)
    assert statuses == [200] * 9 + [201], results
    assert len({body["code"] for _, body in results}) == 1
    assert len({body["url"] for _, body in results}) == 1
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
    assert assert_seats_consistent(workshop.id).seats_taken == 3


def test_cancellations_at_once_hand_every_seat_on_exactly_once(server, make_workshop):
    workshop = make_workshop(capacity=8)
    visitors = [Visitor(server.url) for _ in range(16)]
    tokens = []
    for i, v in enumerate(visitors):  # 8 seated, 8 waiting
        status, body = v.send(workshop.id, v.open_form(workshop.id) | {
            "name": f"P{i}", "party_size": "1", "consent": "y"})
        assert status == 201
        tokens.append(body["url"])
    assert assert_seats_consistent(workshop.id).seats_taken == 8

    def cancel(i):
        def run():
            status, html = visitors[i].request(tokens[i] + "/cancel")
            csrf = re.search(r'action="[^"]*/cancel">\s*<input type="hidden" name="csrf_token" value="([^"]+)"', html)
            return visitors[i].request(tokens[i] + "/cancel", {"csrf_token": csrf.group(1)})[0]
        return run

    # Everyone seated cancels at once, and the first two on the waiting list leave it at the same moment.
    statuses = all_at_once([cancel(i) for i in range(10)])
    assert statuses == [200] * 10  # 303 followed to the ticket page
    db.session.expire_all()
    rows = db.session.scalars(sa.select(Booking).order_by(Booking.id)).all()
    assert [r.status for r in rows[:10]] == [BookingStatus.CANCELLED] * 10
    assert [r.status for r in rows[10:]] == [BookingStatus.CONFIRMED] * 6
    assert assert_seats_consistent(workshop.id).seats_taken == 6
