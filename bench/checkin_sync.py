"""Check-in sync benchmark: two tablets come back online at once and each uploads 200 queued check-ins.

    make bench                       # runs this after bench/run.py; or: .venv/bin/python bench/checkin_sync.py

On a throwaway PostgreSQL database (127.0.0.1:5432 by default, BENCH_PG_URL to change), with the app under gunicorn
as in production: 400 bookings at one stop, two registered tablets, 20 bookings in both queues (checked in on both
tablets while offline: stored once, flagged as conflicts). Both queues are sent at the same moment, then sent again
(a replay of the whole queue). Prints the time of each upload, check-ins per second, and checks the result.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from run import app_env, free_port, gunicorn, make_app, postgres_available, postgres_database  # noqa: E402

PER_TABLET = 200
SHARED = 20


def seed(db_url: str, secret_key: str) -> dict:
    """A stop now with four workshops of 100 bookings each, and two registered tablets."""
    import sqlalchemy as sa

    from busapp.booking.service import new_code
    from busapp.checkin import service
    from busapp.core.extensions import db
    from busapp.models import Booking, BookingStatus, District, Place, Role, Stop, StopStatus, User, Workshop, utcnow

    app = make_app(db_url)
    app.config["SECRET_KEY"] = secret_key  # the served app's: the tablets' signing keys are derived from it
    with app.app_context():
        db.create_all()
        now = utcnow()
        district = District(number="01", name="Innenstadt", slug="innenstadt")
        stop = Stop(district=district, place=Place(district=district, name="Markt"),
                    starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5),
                    status=StopStatus.PUBLISHED)
        # A coordinator registers the tablets, which approves them at once (a staff member's would wait).
        staff = User(email="coordinator@example.org", role=Role.COORDINATOR, password_hash="x")
        db.session.add_all([stop, staff])
        workshops = [Workshop(stop=stop, title=f"W{i}", topic="smartphone_basics",
                              starts_at=now + timedelta(hours=1), capacity=100, seats_taken=100) for i in range(4)]
        db.session.add_all(workshops)
        db.session.flush()
        for w in workshops:
            db.session.add_all(Booking(workshop_id=w.id, party_size=1, name=f"Person {w.id}-{i}",
                                       status=BookingStatus.CONFIRMED, code=new_code(),
                                       manage_token=secrets.token_urlsafe(24), idempotency_key=secrets.token_hex(16))
                               for i in range(100))
        db.session.commit()
        bookings = db.session.execute(sa.select(Booking.id, Booking.workshop_id).order_by(Booking.id)).all()
        registered = [service.register_device(name, staff) for name in ("Tablet A", "Tablet B")]
        # Each tablet signs its queue with the day's key it got while the coordinator was signed in on it.
        keys = [service.signing_key(device, staff, service.local_day(now)) for device, _ in registered]
        tablets = [credential for _, credential in registered]
        user_id = staff.id
        acted_at = now.isoformat()
        db.engine.dispose()
    # Tablet A takes the first 200, B the next 180 and the last 20 of A's: those are checked in twice.
    a = bookings[:PER_TABLET]
    b = bookings[PER_TABLET:2 * PER_TABLET - SHARED] + bookings[PER_TABLET - SHARED:PER_TABLET]
    return {"tablets": tablets, "queues": [_queue(a, keys[0], acted_at), _queue(b, keys[1], acted_at)],
            "user_id": user_id}


def _queue(bookings, key: dict, acted_at: str) -> list[dict]:
    """Queued check-ins as static/js/checkin.js stores them: signed with the tablet's key of the day."""
    import base64
    import hashlib
    import hmac

    from busapp.checkin.service import signed_text

    raw = base64.urlsafe_b64decode(key["key"] + "=")
    items = []
    for n, (bid, wid) in enumerate(bookings, start=1):
        item = {"kind": "checkin", "workshop_id": wid, "booking_id": bid, "sequence": n,
                "nonce": secrets.token_hex(12), "acted_at": acted_at, "key": key["id"]}
        item["sig"] = base64.urlsafe_b64encode(
            hmac.new(raw, signed_text(item).encode(), hashlib.sha256).digest()).decode().rstrip("=")
        items.append(item)
    return items


def upload(base: str, credential: str, items: list, user_id: int) -> tuple[float, dict]:
    body = json.dumps({"items": items, "user_id": user_id}).encode()
    request = urllib.request.Request(base + "/staff/sync", data=body, method="POST", headers={
        "Content-Type": "application/json", "X-Device-Credential": credential})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=600) as response:
        result = json.loads(response.read())
    return time.perf_counter() - started, result


def both_at_once(base: str, world: dict) -> list[tuple[float, dict]]:
    results: list = [None, None]
    barrier = threading.Barrier(2)

    def run(i):
        barrier.wait()
        results[i] = upload(base, world["tablets"][i], world["queues"][i], world["user_id"])

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    results.append(time.perf_counter() - started)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    version = postgres_available(args.pg)
    if version.startswith("unavailable"):
        print(f"check-in sync: PostgreSQL {version}; case left out")
        return 0
    print(f"check-in sync: 2 tablets x {PER_TABLET} queued check-ins ({SHARED} on both), PostgreSQL {version}, "
          f"gunicorn {args.workers} workers x {args.threads} threads")
    with postgres_database(args.pg) as db_url, tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        env = app_env(db_url)
        world = seed(db_url, env["SECRET_KEY"])
        env.setdefault("PUBLIC_BASE_URL", f"http://127.0.0.1:{port}")
        with gunicorn("app:app", env, args.workers, args.threads, port, Path(tmp) / "gunicorn.log"):
            base = f"http://127.0.0.1:{port}"
            first = both_at_once(base, world)
            replay = both_at_once(base, world)
        ok = check(db_url, first, replay)
    for label, run in (("first upload", first), ("replay of both queues", replay)):
        (ta, _), (tb, _), wall = run
        print(f"  {label:22s} tablet A {ta * 1000:7.0f} ms   tablet B {tb * 1000:7.0f} ms   "
              f"both {wall * 1000:7.0f} ms   {2 * PER_TABLET / wall:6.0f} check-ins/s")
    print(f"  result: {'PASS' if ok else 'FAIL'} (each booking checked in once, {SHARED} conflicts stored once, "
          "replays change nothing)")
    return 0 if ok else 1


def check(db_url: str, first, replay) -> bool:
    import sqlalchemy as sa

    from busapp.core.extensions import db
    from busapp.models import Booking, CheckIn

    outcomes = [r["outcome"] for _, result in first[:2] for r in result["results"]]
    replays = all(r["replay"] for _, result in replay[:2] for r in result["results"])
    app = make_app(db_url)
    with app.app_context():
        arrived = db.session.scalar(sa.select(sa.func.count()).select_from(Booking).where(Booking.arrived == 1))
        records = db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn))
        conflicts = db.session.scalar(sa.select(sa.func.count()).select_from(CheckIn).where(CheckIn.conflict))
        db.engine.dispose()
    expected = 2 * PER_TABLET - SHARED
    return (arrived == expected and records == 2 * PER_TABLET and conflicts == SHARED and replays
            and outcomes.count("valid") == expected)


if __name__ == "__main__":
    sys.exit(main())
