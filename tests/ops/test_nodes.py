"""Several nodes on one PostgreSQL (README, "Scaling out"): two machines' worth of processes, each an app node
(gunicorn, started as deploy/systemd/digitalbus.service starts it) and a mail worker, under booking load; in the
middle one whole node (its gunicorn master, workers and mail worker) is killed with SIGKILL. Visitors act like the
outbox and like nginx with two upstreams: an answer settles a submission, no answer or a 5xx sends it again, with
the same idempotency key, to the next node. Their session, opened on one node, is used on the other.

Afterwards: every submission settled; each booked one is one booking, found under its key, and no booking exists
that nobody submitted; no workshop holds more than its seats, and its count is its confirmed parties' seats; every
booking's confirmation was queued once and reached the SMTP server under one Message-ID (a message a killed worker
had handed over but not yet marked is sent again by the other after its lease, with the same Message-ID, so the
receiving server knows it). Then both nodes' purge and reminder jobs run at the same moment: each reminder is
queued once.

PostgreSQL only (tests/pg_run.py runs it): several machines share a database server, never a SQLite file.
"""
from __future__ import annotations

import base64
import http.client
import os
import random
import re
import secrets
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import pytest
import sqlalchemy as sa

from busapp import create_app
from busapp.dev import demo
from busapp.domain import town
from busapp.core.extensions import db
from busapp.models import Booking, BookingStatus, MailStatus, OutgoingMail, Stop, Workshop, WorkshopStatus, utcnow
from tests.conftest import ROOT, _postgres_admin

URL = os.environ.get("TEST_DATABASE_URL", "")
pytestmark = pytest.mark.skipif(not URL.startswith("postgres"),
                                reason="several nodes share a PostgreSQL server; tests/pg_run.py runs this")
BIN = ROOT / ".venv" / "bin"
CLIENTS = 8
LOAD_SECONDS = 6.0
KILL_AFTER = 2.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster_db():
    url = sa.engine.make_url(URL)
    target = url.set(database=f"{url.database}_nodes")
    with _postgres_admin(URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.database}"')
    try:
        yield target.render_as_string(hide_password=False)
    finally:
        with _postgres_admin(URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    received: list = []

    class Handler:
        async def handle_DATA(self, _server, _session, envelope):  # noqa: N802 - aiosmtpd's name
            received.append(envelope)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port, received
    controller.stop()


def seeded(url: str) -> tuple[list[int], list[int]]:
    """The demo tour, with three soon workshops of six seats (queues form) and one tomorrow with bookings to remind."""
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _psycopg(url)})
    with app.app_context():
        db.create_all()
        demo.load(with_users=False)
        now = utcnow()
        soon = db.session.scalars(sa.select(Workshop).join(Stop).where(
            Workshop.status == WorkshopStatus.PUBLISHED, Workshop.starts_at > now + timedelta(days=2))
            .order_by(Workshop.starts_at).limit(3)).all()
        for workshop in soon:
            workshop.capacity = 6
        # "Tomorrow" in the city's time, as the reminder counts it.
        zone = town.zone()
        start = datetime.combine((now.astimezone(zone) + timedelta(days=1)).date(), datetime.min.time(), tzinfo=zone)
        tomorrow = db.session.scalars(sa.select(Workshop).join(Stop).where(
            Workshop.status == WorkshopStatus.PUBLISHED, Workshop.starts_at >= start,
            Workshop.starts_at < start + timedelta(days=1))).all()
        assert soon and tomorrow, "the demo tour has no workshops in the next days"
        db.session.commit()
        ids = [w.id for w in soon], [w.id for w in tomorrow]
        db.session.remove()
        db.engine.dispose()
    return ids


def _psycopg(url: str) -> str:
    from busapp.core.config import database_url

    return database_url(url)


class Node:
    """One machine: gunicorn with two workers and a mail worker, in a process group of their own."""

    def __init__(self, name: str, env: dict, tmp: Path):
        self.name, self.port = name, free_port()
        runtime = tmp / name
        runtime.mkdir()
        self.env = dict(env, GUNICORN_BIND=f"127.0.0.1:{self.port}", WEB_CONCURRENCY="2", GUNICORN_THREADS="2",
                        XDG_RUNTIME_DIR=str(runtime))
        self.log = (runtime / "log").open("w")
        self.alive = True
        self.app = subprocess.Popen([str(BIN / "gunicorn"), "app:app"], cwd=ROOT, env=self.env, stdout=self.log,
                                    stderr=subprocess.STDOUT, start_new_session=True)
        self.worker = subprocess.Popen([str(BIN / "flask"), "--app", "app", "mail", "send", "--loop"], cwd=ROOT,
                                       env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                       start_new_session=True)

    def ready(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/healthz", headers={"Host": "127.0.0.1"})
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    def kill(self) -> None:
        self.alive = False
        for proc in (self.app, self.worker):
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        self.log.close()

    def stop(self) -> None:
        for proc in (self.app, self.worker):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in (self.app, self.worker):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.log.close()


class Visitor(threading.Thread):
    """Opens a booking form on one node, then books again and again, each submission until it is settled."""

    def __init__(self, n: int, nodes: list[Node], forms: list[int], stop: threading.Event, out: list):
        super().__init__(daemon=True)
        self.n, self.nodes, self.forms, self.stop_event, self.out = n, nodes, forms, stop, out
        self.turn = n
        self.cookie = self.token = ""

    def request(self, method: str, path: str, body: str = "", headers: dict | None = None):
        self.turn += 1
        node = self.nodes[self.turn % len(self.nodes)]  # round robin, as nginx's upstream
        conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=15)
        try:
            sent = {"Host": "127.0.0.1", **({"Cookie": self.cookie} if self.cookie else {}), **(headers or {})}
            conn.request(method, path, body=body, headers=sent)
            response = conn.getresponse()
            return response.status, response.read().decode("utf-8", "replace"), response.getheader("Set-Cookie")
        finally:
            conn.close()

    def run(self) -> None:
        while not self.cookie:
            try:
                status, html, cookie = self.request("GET", f"/workshops/{self.forms[0]}/book")
            except OSError:
                continue
            token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
            if status == 200 and token and cookie:
                self.cookie, self.token = cookie.split(";", 1)[0], token.group(1)
        number = 0
        while not self.stop_event.is_set():
            number += 1
            self.out.append(self.submit(random.choice(self.forms), f"v{self.n}-{number}@example.org"))

    def submit(self, workshop: int, contact: str) -> dict:
        key = str(uuid.uuid4())
        body = urlencode({"csrf_token": self.token, "idempotency_key": key, "name": "Last", "contact": contact,
                          "party_size": random.choice("1112"), "consent": "y"})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                   "X-Outbox": "1"}
        statuses = []
        for _ in range(40):
            try:
                status, text, _ = self.request("POST", f"/workshops/{workshop}/book", body, headers)
            except (OSError, http.client.HTTPException):
                status, text = 0, ""
            statuses.append(status)
            if status and status < 500 and status != 429:
                code = re.search(r'"code":\s*"([A-Z0-9]+)"', text)
                return {"key": key, "contact": contact, "status": status, "code": code and code.group(1),
                        "tries": statuses}
            time.sleep(0.1)
        return {"key": key, "contact": contact, "status": 0, "code": None, "tries": statuses}


def test_two_nodes_lose_double_and_overbook_nothing_when_one_is_killed(cluster_db, smtp, tmp_path):
    smtp_port, received = smtp
    soon, tomorrow = seeded(cluster_db)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("APP_", "MAIL_", "DATABASE_", "TEST_"))}
    env.update({
        "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
        "TICKET_SIGNING_KEY": base64.b64encode(os.urandom(32)).decode(), "DATABASE_URL": cluster_db,
        "PUBLIC_BASE_URL": "http://127.0.0.1", "TRUSTED_HOSTS": "127.0.0.1", "SESSION_COOKIE_SECURE": "0",
        "RATELIMIT_ENABLED": "0", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(smtp_port), "MAIL_POLL_SECONDS": "1",
        "MAIL_LEASE_SECONDS": "60",
    })
    nodes = [Node("a", env, tmp_path), Node("b", env, tmp_path)]
    try:
        deadline = time.monotonic() + 60
        while not all(node.ready() for node in nodes):
            assert time.monotonic() < deadline, "the nodes did not start"
            assert all(n.app.poll() is None for n in nodes), [Path(n.log.name).read_text() for n in nodes]
            time.sleep(0.3)
        stop, subs = threading.Event(), []
        visitors = [Visitor(n, nodes, soon, stop, subs) for n in range(CLIENTS)]
        for visitor in visitors:
            visitor.start()
        time.sleep(KILL_AFTER)
        nodes[0].kill()
        time.sleep(LOAD_SECONDS - KILL_AFTER)
        stop.set()
        for visitor in visitors:
            visitor.join(timeout=60)

        # Both nodes' jobs at once (the survivor's processes stand in for the killed machine's timers).
        job_env = dict(env, XDG_RUNTIME_DIR=str(tmp_path))
        _book_for_tomorrow(cluster_db, tomorrow)
        jobs = [subprocess.Popen([str(BIN / "flask"), "--app", "app", job], cwd=ROOT, env=job_env,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for job in ("remind", "remind", "purge", "purge")]
        outputs = [job.communicate(timeout=120)[0] for job in jobs]
        assert all(job.returncode == 0 for job in jobs), outputs
        queued = sum(int(re.search(r"Queued (\d+)", o).group(1)) for o in outputs[:2])

        mails = _wait_for_the_outbox(cluster_db, timeout=150)
    finally:
        for node in nodes:
            if node.alive:
                node.stop()
            elif node.app.poll() is None:
                node.kill()

    kills = [s for s in subs if 0 in s["tries"]]
    assert len(subs) > 40 and kills, (len(subs), len(kills))  # load before and after the kill, some of it cut off
    assert all(s["status"] for s in subs), [s for s in subs if not s["status"]][:3]
    booked = {s["key"]: s for s in subs if s["status"] in (200, 201, 303)}
    assert booked

    engine = sa.create_engine(_psycopg(cluster_db))
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(Booking.idempotency_key, Booking.code, Booking.contact, Booking.id,
                                          Booking.status).where(Booking.workshop_id.in_(soon))).all()
            seats = conn.execute(sa.select(
                Workshop.id, Workshop.capacity, Workshop.seats_taken,
                sa.select(sa.func.coalesce(sa.func.sum(Booking.party_size), 0)).where(
                    Booking.workshop_id == Workshop.id, Booking.status == BookingStatus.CONFIRMED).scalar_subquery(),
            ).where(Workshop.id.in_(soon))).all()
            reminders = conn.execute(sa.select(OutgoingMail.booking_id, sa.func.count()).where(
                OutgoingMail.kind == "booking-reminder").group_by(OutgoingMail.booking_id)).all()
    finally:
        engine.dispose()

    by_key = {row.idempotency_key: row for row in rows}
    # Nothing lost: every submission answered as booked is in the database under its key, with the code it was told.
    assert all(key in by_key and by_key[key].code == s["code"] for key, s in booked.items())
    # Nothing doubled: one booking per submission, and none nobody submitted.
    assert len(rows) == len(by_key) == len({s["key"] for s in subs if s["key"] in by_key})
    assert set(by_key) <= {s["key"] for s in subs}
    # Nothing overbooked.
    for workshop_id, capacity, taken, confirmed in seats:
        assert taken == confirmed <= capacity, (workshop_id, capacity, taken, confirmed)
    assert any(row.status == BookingStatus.WAITING for row in rows)  # the queues formed

    # Every booking's confirmation queued once, sent, and delivered under one Message-ID.
    confirmations = [m for m in mails if m["booking_id"] in {row.id for row in rows}]
    per_booking = Counter(m["booking_id"] for m in confirmations)
    assert set(per_booking) == {row.id for row in rows} and set(per_booking.values()) == {1}
    assert all(m["status"] == MailStatus.SENT.value for m in mails)
    ids_per_recipient = defaultdict(set)
    for envelope in received:
        found = re.search(rb"^Message-ID:\s*(\S+)", envelope.content, re.M | re.I)
        for rcpt in envelope.rcpt_tos:
            ids_per_recipient[rcpt].add(found.group(1) if found else None)
    for row in rows:
        assert len(ids_per_recipient[row.contact]) == 1, row.contact
    # Reminders: the two remind runs together queued one per booking of tomorrow.
    assert queued == len(reminders) > 0 and all(n == 1 for _, n in reminders)


def _book_for_tomorrow(url: str, workshops: list[int]) -> None:
    from busapp.booking import service

    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _psycopg(url)})
    with app.app_context(), app.test_request_context():
        made = [service.create(workshop_id, party_size=1, name="Morgen", contact=f"tomorrow{n}@example.org",
                               needs_note=None, idempotency_key=secrets.token_hex(16), locale="de").booking.id
                for n, workshop_id in enumerate(workshops[:3])]
        # Booked yesterday: a booking of the last few hours gets no reminder (its people know).
        db.session.execute(sa.update(Booking).where(Booking.id.in_(made)).values(
            created_at=utcnow() - timedelta(days=1)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()


def _wait_for_the_outbox(url: str, timeout: float) -> list[dict]:
    """Until no mail is waiting or being sent (a claim of the killed worker ends with its lease)."""
    engine = sa.create_engine(_psycopg(url))
    deadline = time.monotonic() + timeout
    try:
        while True:
            with engine.connect() as conn:
                mails = [dict(r._mapping) for r in conn.execute(
                    sa.select(OutgoingMail.booking_id, OutgoingMail.status, OutgoingMail.kind))]
            pending = [m for m in mails if m["status"] in (MailStatus.WAITING, MailStatus.SENDING)]
            if not pending or time.monotonic() > deadline:
                for m in mails:
                    m["status"] = m["status"].value
                return mails
            time.sleep(1)
    finally:
        engine.dispose()
