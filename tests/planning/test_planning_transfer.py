"""Tour import and export (CSV, iCalendar, `flask tour`) and the advisory board's report figures."""
from __future__ import annotations

import csv
import io
import itertools
import re
import threading
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from busapp.core.extensions import db
from busapp.models import (
    AuditEvent, Booking, BookingStatus, CheckIn, Feedback, Place, Stop, StopStatus, TourUpload, User, Workshop,
    WorkshopStatus, utcnow,
)
from busapp.planning import reports, tourcsv
from tests.conftest import csrf_token

BERLIN = ZoneInfo("Europe/Berlin")
HEADER = ";".join(tourcsv.COLUMNS)


@pytest.fixture
def coordinator(client, login):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return login("coordinator")


@pytest.fixture
def moisling(make_district):
    return make_district(name="Moisling", slug="moisling", number="09")


def first_monday(weeks_ahead: int = 3) -> date:
    day = date.today() + timedelta(weeks=weeks_ahead)
    return day - timedelta(days=day.weekday())


def row(day: date, arrival="10:00", departure="13:00", stop="Bücherei Moisling", community="Moisling",
        fmt="%Y-%m-%d", title="Erste Schritte", wstart="10:15", **kw) -> list[str]:
    values = {c: "" for c in tourcsv.COLUMNS}
    values.update(organisation="Hansestadt Lübeck", vehicle="Digitalwerkstatt-Bus", community=community, stop=stop,
                  address="Andersenring 41", postcode="23560", day=day.strftime("%A"), arrival=arrival,
                  departure=departure, start=day.strftime(fmt), end=day.strftime(fmt), workshop_title=title,
                  workshop_topic="smartphone_basics", workshop_start=wstart, workshop_duration="60",
                  workshop_capacity="8")
    values.update(kw)
    return [values[c] for c in tourcsv.COLUMNS]


def csv_bytes(rows: list[list[str]], sep=";", encoding="utf-8", bom=False) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow(tourcsv.COLUMNS)
    writer.writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_a_500_row_file_with_a_bad_last_row_writes_nothing(app, moisling):
    start = first_monday()
    rows = [row(start + timedelta(days=i), title=f"Kurs {i}") for i in range(499)]
    rows.append(row(start + timedelta(days=600), arrival="25:00"))
    reading = tourcsv.write(csv_bytes(rows), None)
    assert [(e.line, e.column) for e in reading.errors] == [(501, "arrival")]
    assert count(Stop) == count(Workshop) == count(Place) == 0
    reading = tourcsv.write(csv_bytes(rows[:-1]), None)
    assert not reading.errors and count(Stop) == 499 and count(Workshop) == 499 and count(Place) == 1
    assert {s.status for s in db.session.scalars(sa.select(Stop))} == {StopStatus.DRAFT}


@pytest.mark.parametrize("encoding, bom, sep, fmt", [
    ("latin-1", False, ";", "%d.%m.%Y"),
    ("utf-8", True, ",", "%Y-%m-%d"),
    ("utf-8", False, ";", "%d.%m.%Y"),
])
def test_encodings_separators_and_date_formats(app, moisling, encoding, bom, sep, fmt):
    day = first_monday()
    data = csv_bytes([row(day, fmt=fmt, stop="Bücherei Moisling", title="Größer schreiben")],
                     sep=sep, encoding=encoding, bom=bom)
    reading = tourcsv.write(data, None)
    assert not reading.errors, reading.errors
    stop = db.session.scalar(sa.select(Stop))
    assert stop.place.name == "Bücherei Moisling" and stop.workshops[0].title == "Größer schreiben"
    assert stop.starts_at == datetime.combine(day, time(10), tzinfo=BERLIN)


def test_rows_of_one_visit_become_one_stop_and_existing_places_are_reused(app, moisling, make_place):
    place = make_place(moisling, "Bücherei Moisling")
    day = first_monday()
    reading = tourcsv.write(csv_bytes([row(day, title="A", wstart="10:00"), row(day, title="B", wstart="11:00")]), None)
    assert not reading.errors
    [stop] = db.session.scalars(sa.select(Stop)).all()
    assert stop.place_id == place.id and [w.title for w in stop.workshops] == ["A", "B"]


def test_a_frequency_repeats_the_visit(app, moisling):
    day = first_monday()
    reading = tourcsv.read(csv_bytes([row(day, frequency="FREQ=WEEKLY;INTERVAL=2",
                                          end=(day + timedelta(weeks=6)).isoformat())]))
    assert not reading.errors
    assert [s.draft.starts_at.date() for s in reading.stops] == [day + timedelta(weeks=2 * i) for i in range(4)]


def test_row_errors_name_line_column_and_reason(app, moisling, make_stop):
    day = first_monday()
    make_stop(moisling, starts_at=datetime.combine(day, time(9), tzinfo=BERLIN), hours=2, place="Markt")
    rows = [
        row(day),                                                  # overlaps the planned stop
        row(day + timedelta(days=1), community="Atlantis"),        # a new district: no problem
        row(day + timedelta(days=2), start="31.02.2027"),          # no such date
        row(day + timedelta(days=3), workshop_capacity="0"),       # capacity out of range
        row(day + timedelta(days=4), wstart="15:00"),              # workshop outside its stop
        row(day + timedelta(days=5), arrival="14:00", departure="10:00"),
        row(day - timedelta(days=400)),                            # in the past
    ]
    reading = tourcsv.read(csv_bytes(rows))
    got = {(e.line, e.column) for e in reading.errors}
    assert (4, "start") in got and not any(line == 3 for line, _ in got)
    assert not reading.ok and reading.new_districts == ["Atlantis"]
    # The stop-level rules run once the rows parse: check them without the unparseable rows.
    reading = tourcsv.read(csv_bytes([rows[0], rows[3], rows[4], rows[5], rows[6]]))
    got = {(e.line, e.column): e.message for e in reading.errors}
    assert "Markt" in got[(2, "arrival")]
    assert (3, "workshop_capacity") in got and (4, "workshop_start") in got
    assert (5, "departure") in got and (6, "start") in got
    # Every problem about a visit names its date.
    assert {e.day for e in reading.errors} == {day, day + timedelta(days=3), day + timedelta(days=4),
                                               day + timedelta(days=5), day - timedelta(days=400)}


def test_wrong_columns_are_reported(app):
    reading = tourcsv.read(b"name;datum\nA;B\n")
    assert reading.errors and reading.errors[0].column == "community, stop, arrival, departure"
    # An unknown column names the known one it is closest to.
    reading = tourcsv.read(b"community,stop,arival,departure,geo_x\nA,B,10:00,11:00,1\n")
    assert [e.column for e in reading.errors] == ["arrival", "arival", "geo_x"]
    assert "arrival" in reading.errors[1].message and "geox" in reading.errors[2].message


def _post_file(client, data: bytes):
    """Send the upload as a browser does; the body is built here so no temporary file is left open."""
    token = csrf_token(client, "/admin/transfer")
    boundary = "----tourfile7d3a"
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode()]
    parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="tour.csv"\r\n'
                 f"Content-Type: text/csv\r\n\r\n".encode() + data + b"\r\n")
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return client.post("/admin/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def _kept(response) -> str:
    """The key of the checked file in the preview's "add all of them" form."""
    match = re.search(r'name="upload" value="([^"]+)"', response.get_data(as_text=True))
    assert match, "no confirmation form in the preview"
    return match.group(1)


def _add(client, upload: str):
    return client.post("/admin/import", data={"csrf_token": csrf_token(client, "/admin/transfer"), "upload": upload})


def test_upload_previews_then_writes_without_choosing_the_file_again(client, coordinator, moisling):
    data = csv_bytes([row(first_monday())])
    preview = _post_file(client, data)
    assert preview.status_code == 200
    assert "1 stop would be added. Including 1 workshop." in preview.get_data(as_text=True)
    assert count(Stop) == 0
    upload = _kept(preview)
    assert _add(client, upload).status_code == 303
    assert count(Stop) == 1 and count(TourUpload) == 0
    # A second click (or the back button and the button again) adds nothing twice and says why.
    again = _add(client, upload)
    assert again.status_code == 422 and "added already" in again.get_data(as_text=True)
    assert count(Stop) == 1
    bad = _post_file(client, b"foo;bar\n1;2\n")
    assert bad.status_code == 422 and "These columns are missing" in bad.get_data(as_text=True)
    assert 'name="upload"' not in bad.get_data(as_text=True) and count(TourUpload) == 0


def test_the_preview_and_its_confirmation_count_one_stop_as_one_in_german(client, coordinator, moisling):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    preview = _post_file(client, csv_bytes([row(first_monday())]))
    text = preview.get_data(as_text=True)
    assert "1 Halt würde angelegt. Dazu 1 Kurs." in text and "1 Halte" not in text
    # The file field is needed to check a file: no "(freiwillig)" beside it.
    label = re.search(r'<label for="file">(.*?)</label>', text, re.S)[1]
    assert "CSV-Datei" in label and "freiwillig" not in label
    assert _add(client, _kept(preview)).status_code == 303
    assert "1 Halt wurde als Entwurf angelegt. Dazu 1 Kurs." in client.get("/admin/imports").get_data(as_text=True)


def test_a_kept_file_is_only_for_its_coordinator_and_only_for_an_hour(app, client, coordinator, moisling, make_user):
    data = csv_bytes([row(first_monday())])
    upload = _kept(_post_file(client, data))
    other = make_user("coordinator")
    assert tourcsv.write_staged(upload, other) is None
    for forged in ("x", "a\x00" * 30, upload + "\x00", "ä" * 43):
        answer = _add(client, forged)
        assert answer.status_code == 422 and "Please choose it again" in answer.get_data(as_text=True), forged
    db.session.execute(sa.update(TourUpload).values(created_at=utcnow() - timedelta(minutes=61)))
    db.session.commit()
    refused = _add(client, upload)
    assert refused.status_code == 422 and "more than an hour ago" in refused.get_data(as_text=True)
    assert count(Stop) == 0
    # The next check clears files nobody added within the hour.
    _post_file(client, data)
    assert count(TourUpload) == 1


def test_a_kept_file_stays_when_the_tour_changed_and_its_rows_no_longer_fit(client, coordinator, moisling,
                                                                           make_stop):
    day = first_monday()
    upload = _kept(_post_file(client, csv_bytes([row(day)])))
    make_stop(moisling, starts_at=datetime.combine(day, time(10), tzinfo=BERLIN))  # the bus is busy then now
    response = _add(client, upload)
    assert response.status_code == 422 and "nothing was saved" in response.get_data(as_text=True)
    assert count(Stop) == 1 and count(TourUpload) == 1


def test_adding_the_same_file_twice_at_once_writes_it_once(app, client, coordinator, moisling):
    upload = _kept(_post_file(client, csv_bytes([row(first_monday() + timedelta(days=i)) for i in range(3)])))
    user_id = coordinator.id
    results, errors = [], []
    barrier = threading.Barrier(3)

    def add():
        with app.app_context():
            try:
                barrier.wait()
                reading = tourcsv.write_staged(upload, db.session.get(User, user_id))
                results.append(reading is not None and reading.ok)
            except Exception as exc:  # noqa: BLE001
                errors.append(exc)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=add) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert sorted(results) == [False, False, True]
    db.session.expire_all()
    assert count(Stop) == 3 and count(TourUpload) == 0


def test_a_20_mb_upload_is_refused_plainly(client, coordinator):
    with _post_file(client, b"x" * (20 * 1024 * 1024)) as response:
        assert response.status_code == 413
        # On the import page, beside the file field, not a general error page.
        page = response.get_data(as_text=True)
        assert "The file is too big: at most 5 MB." in page and 'id="field-file"' in page
        assert "The file is too big" in page[page.index('id="field-file"'):]  # beside the field, not only on top
    assert count(Stop) == 0


def test_a_file_larger_than_an_ordinary_form_is_accepted(client, coordinator, moisling, app):
    # A 500-row tour is far bigger than the limit for ordinary forms (MAX_CONTENT_LENGTH).
    rows = [row(first_monday() + timedelta(days=i), title=f"Kurs {i} " + "x" * 100) for i in range(400)]
    data = csv_bytes(rows)
    assert len(data) > app.config["MAX_CONTENT_LENGTH"]
    response = _post_file(client, data)
    assert response.status_code == 200, response.status_code


def test_export_round_trips_and_is_audited(client, coordinator, moisling, make_stop, make_workshop):
    day = first_monday()
    stop = make_stop(moisling, starts_at=datetime.combine(day, time(10), tzinfo=BERLIN), place="Bücherei")
    make_workshop(stop, title="Videoanrufe", starts_at=stop.starts_at)
    response = client.get("/admin/tour.csv")
    body = response.data
    assert body.startswith(b"\xef\xbb\xbf") and "Videoanrufe" in body.decode("utf-8-sig")
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "tour-export")) is not None
    # The exported file is a valid import (on an empty tour).
    for model in (Workshop, Stop):
        db.session.execute(sa.delete(model))
    db.session.commit()
    reading = tourcsv.read(body)
    assert not reading.errors and len(reading.stops) == 1 and reading.stops[0].workshops[0].draft.title == "Videoanrufe"
    ics = client.get("/admin/tour.ics")
    assert ics.status_code == 200 and Calendar.from_ical(ics.data)


def test_flask_tour_import_and_export(runner, moisling, tmp_path):
    path = tmp_path / "tour.csv"
    path.write_bytes(csv_bytes([row(first_monday())]))
    result = runner.invoke(args=["tour", "import", str(path), "--dry-run"])
    assert result.exit_code == 0 and "would add 1 stops" in result.output
    assert count(Stop) == 0
    result = runner.invoke(args=["tour", "import", str(path)])
    assert result.exit_code == 0 and count(Stop) == 1
    path.write_bytes(csv_bytes([row(first_monday() + timedelta(days=1), arrival="x")]))
    result = runner.invoke(args=["tour", "import", str(path)])
    assert result.exit_code != 0 and "line 2, arrival" in result.output
    result = runner.invoke(args=["tour", "export"])
    assert result.exit_code == 0 and "Bücherei Moisling" in result.output


# ---------------------------------------------------------------------------------------------------------------
# Reports against a hand-counted fixture

def hand_counted_tour(make_district, make_stop, make_workshop, now):
    north, south = make_district(name="Nord"), make_district(name="Süd")
    held_n = make_stop(north, starts_at=now - timedelta(days=3), hours=3)
    held_s = make_stop(south, starts_at=now - timedelta(days=2), hours=3)
    make_stop(south, starts_at=now - timedelta(days=1), hours=3, status=StopStatus.CANCELLED)
    make_stop(north, starts_at=now + timedelta(days=2), hours=3)  # not held yet
    a = make_workshop(held_n, capacity=8, topic="video_calls", audience="seniors", starts_at=held_n.starts_at)
    b = make_workshop(held_n, capacity=4, topic="photos", audience="families",
                      starts_at=held_n.starts_at + timedelta(hours=1))
    c = make_workshop(held_s, capacity=10, topic="video_calls", audience="everyone", starts_at=held_s.starts_at)
    make_workshop(held_s, capacity=6, topic="photos", status=WorkshopStatus.CANCELLED, starts_at=held_s.starts_at)

    serial = itertools.count()

    def book(w, n, status=BookingStatus.CONFIRMED, came=False, walk_in=False):
        k = next(serial)
        booking = Booking(workshop=w, party_size=n, status=status, code=f"C{k}", manage_token=f"t{k}",
                          idempotency_key=f"k{k}", checked_in_at=now if came else None, arrived=n if came else 0,
                          walk_in=walk_in)
        db.session.add(booking)
        if walk_in:  # as the check-in tablets store a walk-in: a checked-in booking and its action
            db.session.flush()
            db.session.add(CheckIn(nonce=f"n{k}", kind="walkin", workshop_id=w.id, booking_id=booking.id, people=n,
                                   outcome="valid"))

    # a: 3 booked (2 came), 2 waiting; b: 4 booked (4 came); c: 5 booked (1 came), 1 cancelled
    book(a, 2, came=True); book(a, 1); book(a, 2, BookingStatus.WAITING)  # noqa: E702
    book(b, 4, came=True)
    book(c, 1, came=True); book(c, 4); book(c, 3, BookingStatus.CANCELLED)  # noqa: E702
    # walk-ins: 2 people at a, 3 + 1 at c; they are neither booked ahead nor no-shows
    book(a, 2, came=True, walk_in=True)
    book(c, 3, came=True, walk_in=True); book(c, 1, came=True, walk_in=True)  # noqa: E702
    for rating, w in ((5, a), (3, a), (4, None)):
        db.session.add(Feedback(stop=held_n, workshop=w, rating=rating, idempotency_key=f"f{rating}{w}"))
    db.session.add(Feedback(stop=held_s, workshop=c, rating=2, idempotency_key="fs"))
    db.session.commit()


def test_report_figures_match_a_hand_count(app, make_district, make_stop, make_workshop, now):
    hand_counted_tour(make_district, make_stop, make_workshop, now)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        data = reports.figures()
    by = {group: {f.label: f for f in data[group]} for group in data}
    n, s = by["district"]["Nord"], by["district"]["Süd"]
    assert (n.held, n.offered, n.booked, n.checked_in, n.walk_ins, n.no_shows, n.waiting, n.feedback) == (
        1, 12, 7, 6, 2, 1, 2, 3)
    assert n.average == 4.0
    assert (s.held, s.offered, s.booked, s.checked_in, s.walk_ins, s.no_shows, s.waiting, s.feedback) == (
        1, 10, 5, 1, 4, 4, 0, 1)
    video = by["topic"]["Video calls with family"]
    assert (video.held, video.offered, video.booked, video.checked_in, video.walk_ins, video.no_shows,
            video.waiting) == (2, 18, 8, 3, 6, 5, 2)
    assert (video.feedback, video.average) == (3, 3.33)  # two for workshop a, one for c
    families = by["audience"]["Families"]
    assert (families.booked, families.walk_ins, families.no_shows) == (4, 0, 0)
    assert by["audience"]["Everyone"].walk_ins == 4
    assert sum(f.held for f in data["month"]) >= 2
    assert sum(f.walk_ins for f in data["month"]) == 6


def test_report_page_and_csv_show_walk_ins_and_no_shows(app, client, coordinator, make_district, make_stop,
                                                        make_workshop, now):
    hand_counted_tour(make_district, make_stop, make_workshop, now)
    page = client.get("/admin/reports").get_data(as_text=True)
    assert "Walk-ins" in page and "No-shows" in page
    assert "<strong>6</strong> came without booking" in page and "<strong>5</strong> did not come" in page
    assert '<th scope="row">Nord</th><td class="num">1</td><td class="num">12</td><td class="num">7</td>' \
           '<td class="num">6</td><td class="num">2</td><td class="num">1</td>' in page
    response = client.get("/admin/reports.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    sued = next(r for r in rows if r["group"] == "district" and r["name"] == "Süd")
    assert (sued["seats_booked"], sued["checked_in"], sued["walk_ins"], sued["no_shows"]) == ("5", "1", "4", "4")


def test_a_report_covers_the_last_twelve_months_unless_another_period_is_picked(client, coordinator, make_district,
                                                                                make_stop, make_workshop, now):
    today = now.astimezone(BERLIN).date()
    recent = make_stop(make_district(name="Nord"), starts_at=now - timedelta(days=2), hours=2)
    make_workshop(recent, capacity=7)
    old_day = date(today.year - 2, 6, 10)
    old = make_stop(make_district(name="Süd"), starts_at=datetime.combine(old_day, time(10), tzinfo=BERLIN))
    make_workshop(old, capacity=5)

    page = client.get("/admin/reports").get_data(as_text=True)
    start = reports.default_period(today)[0]
    assert start.day == 1 and start > today.replace(year=today.year - 1)
    assert f'value="{start.isoformat()}"' in page and f'value="{today.isoformat()}"' in page
    assert "<strong>1</strong> stops held" in page and "<strong>7</strong> seats offered" in page
    assert '<th scope="row">Süd</th>' not in page
    # One click for each year of the tour and for all of them, as plain links.
    year = f'/admin/reports?start={old_day.year}-01-01&amp;end={old_day.year}-12-31'
    assert f'href="{year}"' in page and f">{old_day.year}</a>" in page
    all_years = f'/admin/reports?start={old_day.year}-01-01&amp;end={today.isoformat()}'
    assert f'href="{all_years}"' in page
    page = client.get(all_years.replace("&amp;", "&")).get_data(as_text=True)
    assert "<strong>2</strong> stops held" in page and "<strong>12</strong> seats offered" in page
    assert 'aria-current="page">All years' in page
    rows = client.get(f"/admin/reports.csv?start={old_day.year}-01-01&end={old_day.year}-12-31").get_data(as_text=True)
    assert "district;Süd;1;5;" in rows and "Nord" not in rows
    # A date typed wrong is kept beside its message; the report shows the last twelve months meanwhile.
    page = client.get("/admin/reports?start=10.13.2025").get_data(as_text=True)
    assert 'value="10.13.2025"' in page and "<strong>1</strong> stops held" in page


def test_a_stop_counts_for_the_month_of_its_day_in_the_city(app, make_district, make_stop, now):
    """00:30 on the 1st in Lübeck is the evening before in UTC, so a month made from UTC would be wrong."""
    month_start = now.astimezone(BERLIN).date().replace(day=1)
    last_month = (month_start - timedelta(days=1)).replace(day=1)
    district = make_district()
    make_stop(district, starts_at=datetime.combine(last_month, time(0, 30), tzinfo=BERLIN), hours=2)
    evening = datetime.combine(last_month - timedelta(days=1), time(23, 0), tzinfo=BERLIN)
    make_stop(district, starts_at=evening, hours=0.5)
    with app.test_request_context(headers={"Accept-Language": "en"}):
        data = reports.figures(last_month - timedelta(days=40), month_start)
        months = {f.label: f.held for f in data["month"]}
        before = last_month - timedelta(days=1)
        assert months == {f"{before:%B %Y}": 1, f"{last_month:%B %Y}": 1}
        assert reports.figures(last_month, last_month)["month"][0].held == 1


def test_the_tour_csv_keeps_the_language_columns_through_export_and_import(client, coordinator, moisling, make_stop,
                                                                            make_workshop):
    day = first_monday()
    stop = make_stop(moisling, starts_at=datetime.combine(day, time(10), tzinfo=BERLIN), place="Bücherei")
    texts = {"tr": {"title": "Görüntülü görüşmeler", "bring": "Telefonunuz"},
             "ar": {"description": "مكالمات الفيديو مع العائلة"}, "de-x-ls": {"title": "Video-Anrufe"}}
    make_workshop(stop, title="Videoanrufe", starts_at=stop.starts_at, texts=texts)
    body = client.get("/admin/tour.csv").data
    header = body.decode("utf-8-sig").splitlines()[0].split(";")
    assert {"title_tr", "description_ar", "bring_uk", "accessibility_notes_fa", "title_de-x-ls"} <= set(header)
    # The German workshop's own texts are in the workshop columns; its German language cells stay empty.
    assert body.decode("utf-8-sig").splitlines()[1].split(";")[header.index("title_de")] == ""
    for model in (Workshop, Stop):
        db.session.execute(sa.delete(model))
    db.session.commit()
    reading = tourcsv.write(body, None)
    assert not reading.errors, reading.errors
    workshop = db.session.scalar(sa.select(Workshop))
    assert workshop.title == "Videoanrufe" and workshop.texts == texts
    again = client.get("/admin/tour.csv").data
    assert again.decode("utf-8-sig").splitlines()[1] .split(";")[len(tourcsv.COLUMNS):] == \
        body.decode("utf-8-sig").splitlines()[1].split(";")[len(tourcsv.COLUMNS):]
