"""Fault benchmark: bookings through gunicorn on PostgreSQL while workers are killed and connections terminated.

    make bench-faults                 # or: .venv/bin/python bench/faults.py [--clients 24] [--kills 6] [--rounds 9]

A throwaway PostgreSQL database (127.0.0.1:5432, dropped afterwards) gets the demo tour; gunicorn serves the app on
loopback (4 workers x 4 threads). Clients book seats in a few small workshops (so waiting lists and their
alternatives come into play) and treat every answer the way the outbox does: a 2xx or 4xx settles the submission;
no answer, a 5xx or a 429 means "send it again, with the same idempotency key", after Retry-After or a growing
pause. Two phases run one after the other:

1. kill: a gunicorn worker is killed with SIGKILL every 5 s (the master starts a new one);
2. terminate: every 3 s, all of the app's connections to the benchmark's database are terminated
   (pg_terminate_backend, filtered on datname = current_database()).

Each attempt is matched with the booking it made, if any (the booking's created_at falls within the attempt), so a
5xx or a broken connection is counted "after the commit" when the request that failed had stored the booking.
Printed per phase: attempts, answers, 5xx before and after the commit, connection errors, bookings, submissions
lost (settled as booked but not in the database, or never settled), doubled (more bookings than submissions) and
the seat invariants (no workshop over capacity, seats taken = confirmed seats). See bench/README.md.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import re
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (the load benchmark's plumbing: databases, seeding, gunicorn)

# The outbox waits Retry-After (5 s) and then 5 s, 10 s, 20 s ... between tries; the benchmark keeps that shape but
# shortens it, so that a run of a minute sees many faults and many retries.
FIRST_PAUSE_S = 0.25
MAX_PAUSE_S = 2.0
RETRY_AFTER_SCALE = 0.2
MAX_TRIES = 40          # per submission; one that never settles is counted as lost
REQUEST_TIMEOUT_S = 15


@dataclass
class Attempt:
    key: str
    sent: float          # wall clock, seconds since the epoch
    received: float
    status: int          # 0: no answer (connection refused, reset or timed out)
    phase: str


@dataclass
class Submission:
    key: str
    phase: str
    settled: int = 0     # the settling answer's status, 0 if it never settled
    code: str = ""       # the booking code the answer named
    attempts: list[Attempt] = field(default_factory=list)


class Client(threading.Thread):
    """One visitor: opens the booking form once (session and form token), then books again and again."""

    def __init__(self, port: int, forms: list[str], stop: threading.Event, phase: list[str], out: list):
        super().__init__(daemon=True)
        self.port, self.forms, self.stop_event, self.phase, self.out = port, forms, stop, phase, out
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body: str = "", headers: dict | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=REQUEST_TIMEOUT_S)
        try:
            hdrs = {"Cookie": self.cookie} if self.cookie else {}
            hdrs.update(headers or {})
            conn.request(method, path, body=body, headers=hdrs)
            response = conn.getresponse()
            return response.status, response.getheader("Retry-After"), response.read().decode("utf-8", "replace"), \
                response.getheader("Set-Cookie") or ""
        finally:
            conn.close()

    def open_form(self) -> bool:
        for _ in range(MAX_TRIES):
            try:
                status, _, html, set_cookie = self.request("GET", self.forms[0])
            except OSError:
                time.sleep(FIRST_PAUSE_S)
                continue
            match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
            if status == 200 and match and set_cookie:
                self.cookie = set_cookie.split(";", 1)[0]
                self.token = match.group(1)
                return True
            time.sleep(FIRST_PAUSE_S)
        return False

    def run(self):
        if not self.open_form():
            return
        while not self.stop_event.is_set():
            self.out.append(self.submit(random.choice(self.forms)))

    def submit(self, path: str) -> Submission:
        sub = Submission(key=str(uuid.uuid4()), phase=self.phase[0])
        body = urlencode({"csrf_token": self.token, "idempotency_key": sub.key, "name": "Bench", "party_size":
                          str(random.choice((1, 1, 1, 2))), "consent": "y"})
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json",
                   "X-Outbox": "1"}
        pause = FIRST_PAUSE_S
        for _ in range(MAX_TRIES):
            sent = time.time()
            try:
                status, retry_after, text, _ = self.request("POST", path, body, headers)
            except (OSError, http.client.HTTPException):
                status, retry_after, text = 0, None, ""
            sub.attempts.append(Attempt(sub.key, sent, time.time(), status, self.phase[0]))
            if status and status < 500 and status not in (408, 429):
                sub.settled = status
                code = re.search(r'"code":\s*"([A-Z0-9]+)"', text)
                sub.code = code.group(1) if code else ""
                return sub
            wait = float(retry_after) * RETRY_AFTER_SCALE if (retry_after or "").isdigit() else pause
            pause = min(MAX_PAUSE_S, pause * 2)
            time.sleep(wait * random.uniform(0.8, 1.2))
        return sub


def workers_of(master: int) -> list[int]:
    try:
        with open(f"/proc/{master}/task/{master}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def kill_workers(master: int, every: float, times: int, stop: threading.Event, log: list) -> None:
    for _ in range(times):
        if stop.wait(every):
            return
        workers = workers_of(master)
        if workers:
            victim = random.choice(workers)
            os.kill(victim, signal.SIGKILL)
            log.append(("kill", victim))


def terminate_connections(pg_url: str, every: float, times: int, stop: threading.Event, log: list) -> None:
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as killer:
        for _ in range(times):
            if stop.wait(every):
                return
            n = killer.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()").fetchone()[0]
            log.append(("terminate", n))


def bookings_by_key(db_url: str) -> dict[str, tuple[str, datetime]]:
    import sqlalchemy as sa

    from busapp.core.extensions import db
    from busapp.models import Booking

    app = run.make_app(db_url)
    with app.app_context():
        rows = db.session.execute(sa.select(Booking.idempotency_key, Booking.code, Booking.created_at)).all()
        db.session.remove()
        db.engine.dispose()
    return {key: (code, created) for key, code, created in rows}


def analyse(subs: list[Submission], booked: dict, phase: str) -> dict:
    subs = [s for s in subs if s.phase == phase]
    figures = Counter()
    for sub in subs:
        figures["submissions"] += 1
        figures["attempts"] += len(sub.attempts)
        row = booked.get(sub.key)
        committed_by = None
        if row is not None:
            created = row[1].timestamp()
            # The attempt that stored the booking: the last one sent before the booking's time.
            before = [a for a in sub.attempts if a.sent <= created + 0.001]
            committed_by = before[-1] if before else None
        for attempt in sub.attempts:
            after = committed_by is attempt
            if attempt.status == 0:
                figures["connection errors after the commit" if after else "connection errors before the commit"] += 1
            elif attempt.status >= 500:
                figures["5xx after the commit" if after else "5xx before the commit"] += 1
            elif attempt.status in (408, 429):
                figures["429/408"] += 1
            elif 200 <= attempt.status < 300:
                figures["2xx"] += 1
            else:
                figures["4xx"] += 1
        if sub.settled and 200 <= sub.settled < 300:
            figures["settled as booked"] += 1
            if row is None or (sub.code and row[0] != sub.code):
                figures["lost"] += 1
        elif sub.settled:
            figures["settled as refused"] += 1
            if row is not None:
                figures["doubled"] += 1  # refused, yet stored
        else:
            figures["never settled"] += 1
            figures["lost"] += 1
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--kills", type=int, default=6, help="workers killed in the first phase, one every 5 s")
    parser.add_argument("--rounds", type=int, default=9, help="rounds of terminated connections, one every 3 s")
    parser.add_argument("--workshops", type=int, default=6)
    args = parser.parse_args()

    version = run.postgres_available(args.pg)
    if version.startswith("unavailable"):
        print(f"PostgreSQL {version}: nothing to measure")
        return 1
    print(f"fault benchmark: PostgreSQL {version}, gunicorn {args.workers} workers x {args.threads} threads, "
          f"{args.clients} clients retrying with the same key")
    with tempfile.TemporaryDirectory() as tmp, run.postgres_database(args.pg) as db_url:
        seeded = run.seed(db_url, weeks=2)
        if not seeded["booking"]:
            print("booking is not available: nothing to measure")
            return 1
        forms = seeded["urls"]["book"][: args.workshops]
        seeded_keys = set(bookings_by_key(db_url))  # the seed's own booking (for the ticket page)
        port = run.free_port()
        env = run.app_env(db_url)
        env["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{port}"  # production refuses to start without it
        plain_url = db_url.replace("postgresql+psycopg://", "postgresql://")
        with run.gunicorn("app:app", env, args.workers, args.threads, port, Path(tmp) / "gunicorn.log",
                          ready="/healthz", timeout=120) as master:
            subs: list[Submission] = []
            phase = ["kill"]
            stop = threading.Event()
            clients = [Client(port, forms, stop, phase, subs) for _ in range(args.clients)]
            for c in clients:
                c.start()
            time.sleep(2)
            events: list = []
            started = time.time()
            kill_workers(master.pid, 5.0, args.kills, threading.Event(), events)
            time.sleep(2)
            phase[0] = "terminate"
            terminate_connections(plain_url, 3.0, args.rounds, threading.Event(), events)
            time.sleep(2)
            stop.set()
            for c in clients:
                c.join(timeout=REQUEST_TIMEOUT_S * MAX_TRIES)
            elapsed = time.time() - started
        booked = bookings_by_key(db_url)
        seats = run.overbooking_check(db_url)

    kills = sum(1 for e in events if e[0] == "kill")
    rounds = [e[1] for e in events if e[0] == "terminate"]
    print(f"{elapsed:.0f} s: {kills} workers killed, {len(rounds)} rounds of terminated connections "
          f"({sum(rounds)} connections)")
    keys = [s.key for s in subs]
    order = ["submissions", "attempts", "2xx", "4xx", "429/408", "5xx before the commit", "5xx after the commit",
             "connection errors before the commit", "connection errors after the commit", "settled as booked",
             "settled as refused", "never settled", "lost", "doubled"]
    results = {p: analyse(subs, booked, p) for p in ("kill", "terminate")}
    print(f"{'':40} {'kill':>10} {'terminate':>10}")
    for name in order:
        print(f"{name:40} {results['kill'][name]:>10} {results['terminate'][name]:>10}")
    strangers = len(set(booked) - set(keys) - seeded_keys)
    print(f"bookings in the database: {len(booked)}; for no submission of this run: {strangers}; "
          f"duplicate keys sent: {len(keys) - len(set(keys))}")
    print(f"seats: {seats['workshops']} workshops, {seats['over_capacity']} over capacity, "
          f"{seats['mismatched']} with seats taken != confirmed seats; bookings by status {seats['bookings']}")
    bad = (sum(r["lost"] + r["doubled"] + r["5xx after the commit"] for r in results.values()) + strangers
           + seats["over_capacity"] + seats["mismatched"])
    print("PASS: 0 lost, 0 doubled, 0 errors after a commit, seats consistent" if bad == 0 else
          "MISS: see the figures above")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
