"""How long the tour import's preview takes for a council-sized file: 1,300 rows, seven buses, fortnightly and
four-weekly rules (the shape of Norfolk's published timetable), through the real upload page.

    .venv/bin/python bench/import_preview.py [--database URL] [--rows 1300] [--buses 7]

Prints the seconds for reading and checking the file alone (tourcsv.read), for the whole preview request (upload,
check, keeping the file, the page), and for adding it (the confirmation), on an empty tour.
"""
from __future__ import annotations

import argparse
import csv
import io
import re
import sys
import time
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")


def council_file(rows: int, buses: int) -> bytes:
    """Each bus visits villages one after another on weekdays, 20 minutes each, in four weekly rounds (each round
    every four weeks, as Wiltshire's and Norfolk's timetables run)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["organisation", "mobile", "route", "community", "stop", "address", "postcode", "geox", "geoy",
                     "day", "type", "arrival", "departure", "frequency", "start", "end", "exceptions", "timetable"])
    monday = date(2024, 1, 1)
    per_slot: dict[tuple, int] = {}
    for i in range(rows):
        bus = i % buses
        week, day = (i // buses) % 4, (i // (buses * 4)) % 5
        slot = per_slot.get((bus, week, day), 0)
        per_slot[(bus, week, day)] = slot + 1
        minutes = 9 * 60 + slot * 25
        start = monday + timedelta(weeks=week, days=day)
        rule = "FREQ=WEEKLY;INTERVAL=4"
        village = f"Village {i // 3}"
        writer.writerow(["Norfolk", f"Library {bus + 1}", f"Route {bus + 1}{'ABCD'[week]}", village, f"Stop {i}",
                         f"Stop {i}, {village}", "", f"{1.0 + i / 10000:.5f}", f"{52.6 + i / 20000:.5f}",
                         DAYS[day], "Public", f"{minutes // 60}:{minutes % 60:02d}",
                         f"{(minutes + 20) // 60}:{(minutes + 20) % 60:02d}", rule, start.isoformat(), "", "",
                         "https://example.org/mobile-library"])
    return out.getvalue().encode()


def _token(client, path: str) -> str:
    html = client.get(path).get_data(as_text=True)
    return (re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html)
            or re.search(r'value="([^"]+)"[^>]*name="csrf_token"', html)).group(1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", default="")
    parser.add_argument("--rows", type=int, default=1300)
    parser.add_argument("--buses", type=int, default=7)
    args = parser.parse_args()

    import tempfile

    from busapp import create_app
    from busapp.core.config import database_url
    from busapp.core.extensions import db
    from busapp.models import Role, User
    from busapp.planning import tourcsv
    from werkzeug.security import generate_password_hash

    url = args.database or f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3"
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url(url)})
    data = council_file(args.rows, args.buses)
    with app.app_context():
        db.drop_all()
        db.create_all()
        db.session.add(User(email="c@example.org", role=Role.COORDINATOR, active=True,
                            password_hash=generate_password_hash("bench-password-1", method="scrypt:1024:8:1")))
        db.session.commit()
        started = time.perf_counter()
        reading = tourcsv.read(data)
        read_s = time.perf_counter() - started
        print(f"{args.rows} rows, {args.buses} buses: {len(reading.stops)} stops, {len(reading.errors)} problems")
        print(f"read and check (tourcsv.read): {read_s:.2f} s")
        db.session.remove()
    # Requests run outside the app context above, each in its own, as a server runs them.
    client = app.test_client()
    token = _token(client, "/signin")
    signed = client.post("/signin", data={"email": "c@example.org", "password": "bench-password-1",
                                          "csrf_token": token})
    assert signed.status_code == 303, signed.status_code
    token = _token(client, "/admin/transfer")
    boundary = "----tourfile7d3a"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="tour.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    started = time.perf_counter()
    answer = client.post("/admin/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")
    print(f"preview request: {time.perf_counter() - started:.2f} s (status {answer.status_code})")
    kept = re.search(r'name="upload" value="([^"]+)"', answer.get_data(as_text=True))
    if kept:
        started = time.perf_counter()
        added = client.post("/admin/import", data={"csrf_token": token, "upload": kept.group(1)})
        print(f"adding (confirmation): {time.perf_counter() - started:.2f} s (status {added.status_code})")

if __name__ == "__main__":
    main()
