"""The tour import reads what towns publish: the mobile-library stop schema's own columns, real councils' files as
delivered (tests/data/mobile-libraries), repeat rules bounded by a horizon, and problems named with their dates."""
from __future__ import annotations

import re
import time as clock
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from busapp.core.extensions import db
from busapp.models import Bus, District, Place, Stop
from busapp.models import StopStatus, WorkshopStatus
from busapp.planning import recurrence, service, tourcsv

DATA = Path(__file__).parents[1] / "data" / "mobile-libraries"
# A fixed "now" (a Monday morning in the city), so that the dates a rule gives are the same whenever the suite runs.
NOW = datetime(2027, 1, 4, 6, 0, tzinfo=timezone.utc)
HEAD = "organisation,mobile,route,community,stop,address,postcode,geox,geoy,day,type,arrival,departure,frequency," \
       "start,end,exceptions,timetable\n"


def count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def schema_file(*rows: str) -> bytes:
    return (HEAD + "".join(r + "\n" for r in rows)).encode()


def test_york_as_published_is_imported_whole(app):
    data = (DATA / "york.csv").read_bytes()
    reading = tourcsv.write(data, None, now=NOW)
    assert not reading.errors, reading.problems()[:3]
    # 53 rows, each a fortnightly visit since 2019: the visits from 4 January 2027 to 4 January 2028 (26 or 27 each).
    assert reading.rows == 53 and reading.horizon == date(2028, 1, 4)
    assert count(Stop) == len(reading.stops) == 1388
    assert count(District) == 30 and count(Place) == 53 and count(Bus) == 1
    assert reading.new_buses == ["Mobile"] and {s.bus.name for s in db.session.scalars(sa.select(Stop))} == {"Mobile"}
    first = db.session.scalar(sa.select(Stop).order_by(Stop.starts_at))
    assert first.starts_at >= NOW
    # Nothing before "now", though every start date lies in 2019.
    assert min(s.draft.starts_at for s in reading.stops) >= NOW


def test_the_schema_columns_and_ours_are_both_read(app):
    day = date(2027, 1, 11)
    theirs = schema_file(f"York,Mobile,D1,Holtby,Church Rise,Holtby,,-0.97,53.97,Monday,Public,9:30,10:15,,"
                         f"{day},,,https://example.org")
    ours = ("community;stop;longitude;latitude;vehicle;arrival;departure;start\n"
            f"Holtby;Church Rise;-0,97;53,97;Mobile;09:30;10:15;{day:%d.%m.%Y}\n").encode("latin-1")
    for data in (theirs, ours):
        reading = tourcsv.read(data, NOW)
        assert not reading.errors, reading.errors
        [stop] = reading.stops
        assert stop.place["lon"] == -0.97 and stop.place["lat"] == 53.97 and stop.bus == "Mobile"
        assert stop.draft.starts_at.hour == 9 and stop.draft.starts_at.minute == 30


def test_an_empty_start_means_from_today_on_the_rows_weekday(app):
    reading = tourcsv.read(schema_file("Town,Van,R,Holtby,Hall,,,,,Thursday,Public,10:00,11:00,"
                                       "FREQ=WEEKLY;INTERVAL=2,,2027-02-01,2027-01-21,"), NOW)
    assert not reading.errors, reading.errors
    # From Thursday 7 January (the first Thursday from "now") every second week, without the exception.
    assert [s.draft.starts_at.date() for s in reading.stops] == [date(2027, 1, 7)]


def test_a_shifted_row_is_a_clear_row_error_and_nothing_is_written(app):
    rows = ["York,Mobile,D1,Holtby,Church Rise,Holtby - Church Rise,,-0.97,53.97,Thursday,Public,10:00,10:45,"
            "FREQ=WEEKLY;INTERVAL=2,2019-09-12,,,https://example.org",
            # an address with a comma and no quotes: every value after it one column to the right
            "York,Mobile,D1,Kexby,Old Hall Lane,Kexby, Old Hall Lane,,-0.93,53.95,Thursday,Public,14:00,14:15,"
            "FREQ=WEEKLY;INTERVAL=2,2019-09-25,,,https://example.org",
            # one value too few: the weekday where the date belongs
            "York,Mobile,D1,Murton,Garth,Murton,,-1.01,53.96,Public,14:35,14:45,FREQ=WEEKLY;INTERVAL=2,Thursday,,,"]
    reading = tourcsv.write(schema_file(*rows), None, now=NOW)
    assert [(e.line, e.column) for e in reading.errors] == [(3, ""), (4, "")]
    with force_locale("en"):
        message = tourcsv.read(schema_file(*rows), NOW).errors[0].message
    assert "19 values" in message and "18 columns" in message
    assert count(Stop) == count(District) == count(Place) == 0


def test_an_open_ended_rule_from_years_ago_gives_dates_to_the_horizon_only(app):
    app.config["IMPORT_HORIZON_MONTHS"] = 3
    reading = tourcsv.read(schema_file("Town,Van,R,Holtby,Hall,,,,,Monday,Public,10:00,11:00,FREQ=WEEKLY;INTERVAL=2,"
                                       "2019-01-14,,,"), NOW)
    assert not reading.errors and reading.horizon == date(2027, 4, 4)
    days = [s.draft.starts_at.date() for s in reading.stops]
    assert days[0] == date(2027, 1, 4) and days[-1] == date(2027, 3, 29) and len(days) == 7


def test_a_rule_that_never_matches_is_refused_at_once(app):
    rows = ["Town,Van,R,Holtby,Hall,,,,,,Public,10:00,11:00,FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30,2019-01-07,,,",
            "Town,Van,R,Holtby,Hall,,,,,,Public,10:00,11:00,FREQ=MINUTELY,2027-01-07,,,",
            "Town,Van,R,Holtby,Hall,,,,,,Public,10:00,11:00,FREQ=SOMETIMES,2027-01-07,,,"]
    started = clock.perf_counter()
    reading = tourcsv.read(schema_file(*rows), NOW)
    # Walked the way dateutil walks it, the first rule takes most of a minute (to the year 9999).
    assert clock.perf_counter() - started < 5
    assert [(e.line, e.column) for e in reading.errors] == [(2, "frequency"), (3, "frequency"), (4, "frequency")]
    assert not reading.stops


def test_a_rule_whose_end_has_passed_leaves_its_line_out_quietly(app):
    reading = tourcsv.read(schema_file(
        "Town,Van,R,Holtby,Hall,,,,,,Public,10:00,11:00,FREQ=WEEKLY,2019-01-07,2020-01-01,,",
        "Town,Van,R,Holtby,Hall,,,,,,Public,10:00,11:00,,2027-01-05,,,"), NOW)
    assert not reading.errors and reading.quiet_lines == [2] and len(reading.stops) == 1


def test_problems_of_one_line_are_summed_up_with_their_dates(app, make_district, make_stop):
    holtby = make_district(name="Holtby", slug="holtby", number="40")
    make_stop(holtby, starts_at=datetime(2027, 1, 11, 9, 30, tzinfo=timezone.utc), hours=1, place="Markt")
    reading = tourcsv.read(schema_file(
        "Town,,R,Holtby,Hall,,,,,,Public,10:00,11:00,FREQ=WEEKLY,2027-01-04,2027-03-01,,",
        "Town,,R,Holtby,School,,,,,,Public,10:30,11:30,FREQ=WEEKLY,2027-01-04,2027-03-01,,"), NOW)
    problems = [(p.line, p.column, len(p.days), p.days[0]) for p in reading.problems()]
    # Line 3 overlaps line 2 on all nine Mondays; both meet the planned stop on 11 January.
    assert problems == [(2, "arrival", 1, date(2027, 1, 11)), (3, "arrival", 9, date(2027, 1, 4)),
                        (3, "arrival", 1, date(2027, 1, 11))]
    assert "Markt" in reading.problems()[0].message


def test_the_bounded_expansion_agrees_with_dateutil():
    from dateutil.rrule import rrulestr
    rules = ["FREQ=WEEKLY;INTERVAL=2", "FREQ=WEEKLY;INTERVAL=4;BYDAY=MO,TH", "FREQ=MONTHLY;BYDAY=1TU",
             "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=DAILY;INTERVAL=3", "FREQ=YEARLY;BYMONTH=3;BYDAY=2SU",
             "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=15,-1", "FREQ=WEEKLY;BYDAY=TU,TH;BYSETPOS=2",
             "FREQ=WEEKLY;INTERVAL=2;WKST=SU;BYDAY=SU,MO", "FREQ=WEEKLY;INTERVAL=3;COUNT=20", "FREQ=DAILY;BYYEARDAY=100,-1",
             "FREQ=WEEKLY;BYMONTH=6,7", "FREQ=WEEKLY;INTERVAL=2;UNTIL=20270301", "FREQ=YEARLY;BYWEEKNO=20;BYDAY=MO"]
    for first in (date(2019, 9, 12), date(2024, 12, 30), date(2026, 12, 31)):
        for text in rules:
            lo, hi = date(2026, 12, 7), date(2027, 12, 7)
            expected = [d.date() for d in rrulestr(text, dtstart=datetime(first.year, first.month, first.day, 12))
                        .between(datetime(lo.year, lo.month, lo.day), datetime(hi.year, hi.month, hi.day, 23), inc=True)]
            assert recurrence.dates(recurrence.parse(text, first), lo, hi) == expected, (text, first)


@pytest.mark.parametrize("name, rows, stops, buses, districts", [
    ("angus.csv", 170, 4469, 2, 29),
    ("wiltshire.csv", 347, 4526, 3, 189),
])
def test_councils_with_several_buses_are_imported_whole(app, name, rows, stops, buses, districts):
    reading = tourcsv.write((DATA / name).read_bytes(), None, now=NOW)
    assert not reading.errors, reading.problems()[:3]
    assert (reading.rows, count(Stop), count(Bus), count(District)) == (rows, stops, buses, districts)
    # Each bus is at one stop at a time; the buses are out at the same time on many days.
    by_bus: dict[int, list[Stop]] = {}
    for stop in db.session.scalars(sa.select(Stop).order_by(Stop.starts_at)):
        by_bus.setdefault(stop.bus_id, []).append(stop)
    for stops_of_bus in by_bus.values():
        assert all(a.ends_at <= b.starts_at for a, b in zip(stops_of_bus, stops_of_bus[1:]))
    assert len(by_bus) == buses


def test_a_file_with_a_bus_clashing_with_itself_names_line_and_dates(app):
    reading = tourcsv.read(schema_file(
        "Town,North,R,Holtby,Hall,,,,,,Public,10:00,11:00,FREQ=WEEKLY,2027-01-04,2027-02-01,,",
        "Town,South,R,Holtby,School,,,,,,Public,10:00,11:00,FREQ=WEEKLY,2027-01-04,2027-02-01,,",
        "Town,North,R,Holtby,Church,,,,,,Public,10:30,11:30,FREQ=WEEKLY,2027-01-04,2027-02-01,,"), NOW)
    assert [(p.line, len(p.days)) for p in reading.problems()] == [(4, 5)]
    assert reading.new_buses == ["North", "South"]


def test_the_preview_pages_problems_and_shows_year_and_place(client, login, app):
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    login("coordinator")
    from tests.planning.test_planning_transfer import _kept, _post_file
    ok = _post_file(client, (DATA / "york.csv").read_bytes())
    text = ok.get_data(as_text=True)
    assert ok.status_code == 200 and "Church Rise" in text and "30 new districts" in text
    year = (date.today() + timedelta(days=1)).year
    assert str(year) in text and "12 months" in text and "all of them are added" in text
    assert text.index('name="upload"') < text.index("Church Rise")  # the button before the long list
    _kept(ok)
    rows = [f"Town,Van,R,Holtby,Hall {i},,,,,,Public,10:00,11:00,,{date.today() - timedelta(days=400 + i)},,,"
            for i in range(150)]
    bad = _post_file(client, schema_file(*rows))
    text = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "150 problems" in text and "Page 1 of 2" in text
    more = client.get(text.split('rel="next" href="')[1].split('"')[0].replace("&amp;", "&"))
    assert more.status_code == 422 and "Page 2 of 2" in more.get_data(as_text=True)
    assert f">{151}<" in more.get_data(as_text=True)  # the last line's problem is on the second page


def test_an_import_is_removed_whole_unless_a_stop_has_bookings(app, client, login, make_workshop):
    from busapp.models import Booking, BookingStatus, ImportBatch, Workshop
    from busapp.planning import batches
    from tests.conftest import csrf_token

    existing = make_workshop()  # a stop planned by hand, on the first bus: it stays
    day = (NOW + timedelta(days=30)).date()
    data = schema_file(f"York,Mobile,D1,Holtby,Church Rise,,,,,,Public,10:00,10:45,FREQ=WEEKLY,{day},,,",
                       f"York,Mobile,D1,Kexby,Old Hall Lane,,,,,,Public,11:00,11:45,FREQ=WEEKLY,{day},,,")
    reading = tourcsv.write(data, None)
    assert not reading.errors
    batch = db.session.scalar(sa.select(ImportBatch))
    written = count(Stop) - 1
    assert batch.stops == written > 2 and batch.rows["2"]["route"] == "D1"
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    # A booking at one of its stops keeps the whole import, and the answer names that stop.
    stop = db.session.scalar(sa.select(Stop).where(Stop.batch_id == batch.id).order_by(Stop.starts_at))
    workshop = Workshop(stop=stop, title="Kurs", topic="smartphone_basics", starts_at=stop.starts_at, capacity=8,
                        status=WorkshopStatus.PUBLISHED)
    db.session.add(workshop)
    db.session.flush()
    db.session.add(Booking(workshop=workshop, party_size=1, name="A", status=BookingStatus.CANCELLED, code="ABCD1234",
                           manage_token="t" * 40, idempotency_key="k" * 40))
    db.session.commit()
    dry = client.post(f"/admin/imports/{batch.id}/remove", data={"csrf_token": csrf_token(client, "/admin/imports")})
    assert dry.status_code == 200 and "Church Rise" in dry.get_data(as_text=True)
    with pytest.raises(service.Refused):
        batches.remove(batch.id, None)
    assert count(Stop) == written + 1
    db.session.execute(sa.delete(Booking))
    db.session.commit()
    dry = client.post(f"/admin/imports/{batch.id}/remove", data={"csrf_token": csrf_token(client, "/admin/imports")})
    text = dry.get_data(as_text=True)
    assert f"{written} stops" in text and "2 places the import added" in text and "2 districts the import added" in text
    assert "1 bus the import added" in text and count(Stop) == written + 1  # the dry run removes nothing
    done = client.post(f"/admin/imports/{batch.id}/remove",
                       data={"csrf_token": csrf_token(client, "/admin/imports"), "confirm": "yes"})
    assert done.status_code == 303
    db.session.expire_all()
    assert count(Stop) == 1 and db.session.get(Stop, existing.stop_id) is not None
    assert count(ImportBatch) == 0 and count(Bus) == 1 and count(Place) == 1 and count(District) == 1


def test_a_batch_publishes_and_deletes_its_drafts(app):
    from busapp.models import ImportBatch, StopStatus
    from busapp.planning import batches

    day = (NOW + timedelta(days=30)).date()
    tourcsv.write(schema_file(f"York,Mobile,D1,Holtby,Church Rise,,,,,,Public,10:00,10:45,,{day},,,",
                              f"York,Mobile,D1,Holtby,Hall,,,,,,Public,11:00,11:45,,{day},,,"), None)
    batch = db.session.scalar(sa.select(ImportBatch))
    assert batches.publish_drafts(batch.id, None) == 2
    assert {s.status for s in db.session.scalars(sa.select(Stop))} == {StopStatus.PUBLISHED}
    tourcsv.write(schema_file(f"York,Mobile,D1,Holtby,School,,,,,,Public,13:00,13:45,,{day},,,"), None)
    second = db.session.scalar(sa.select(ImportBatch).order_by(ImportBatch.id.desc()))
    ids = [s.id for s in db.session.scalars(sa.select(Stop))]
    assert batches.delete_drafts(ids, None, second.id) == 1  # the published ones stay
    assert count(Stop) == 2


def _tour() -> set[tuple]:
    return {(s.place.name, s.district.name, s.bus.name, s.starts_at, s.ends_at)
            for s in db.session.scalars(sa.select(Stop).where(Stop.status != StopStatus.CANCELLED))}


def _empty_the_tour() -> None:
    from busapp.models import ImportBatch, Workshop

    for model in (Workshop, Stop, ImportBatch, Place, District, Bus):
        db.session.execute(sa.delete(model))
    db.session.commit()


@pytest.mark.parametrize("name", ["york.csv", "wiltshire.csv"])
def test_the_schema_export_imports_back_to_the_same_stops(app, runner, name):
    from busapp.planning.transfer import _all_stops

    assert not tourcsv.write((DATA / name).read_bytes(), None, now=NOW).errors
    # A stop cancelled and one moved: the first is left out, the second becomes a row of its own.
    line_2 = db.session.scalars(sa.select(Stop).where(Stop.batch_line == 2).order_by(Stop.starts_at)).all()
    line_2[2].status = StopStatus.CANCELLED
    line_2[3].starts_at += timedelta(minutes=5)
    line_2[3].ends_at += timedelta(minutes=5)
    db.session.commit()
    skipped = line_2[2].starts_at.astimezone(service.tz()).date().isoformat()
    before = _tour()
    body = tourcsv.export_schema(_all_stops())
    assert body.startswith(",".join(tourcsv.SCHEMA_COLUMNS) + "\r\n") and not body.startswith("\ufeff")
    lines = body.splitlines()
    # One row per line of the council's file (plus the moved stop), each with its rule and its own values.
    source = (DATA / name).read_text().splitlines()
    assert len(lines) == len(source) + 1
    assert sum("FREQ=WEEKLY" in line for line in lines) == len(source)  # the moved stop keeps its rule, for a day
    # The cancelled and the moved dates are exceptions of line 2's row, which keeps the council's own values.
    [row_2] = [line for line in lines if skipped in line]
    assert row_2.split(",")[2] == source[1].split(",")[2] and row_2.endswith(source[1].split(",")[-1])
    _empty_the_tour()
    reading = tourcsv.write(body.encode(), None, now=NOW)
    assert not reading.errors, reading.problems()[:3]
    assert _tour() == before
    # The command line gives the same file.
    assert runner.invoke(args=["tour", "export", "--format", "mobile-libraries"]).output.splitlines()[0] == lines[0]


def test_bulk_written_stops_are_whole_records(app):
    from busapp.models import LiveStatus

    tourcsv.write(schema_file("York,Mobile,D1,Holtby,Hall,,,,,,Public,10:00,10:45,,2027-02-01,,,"), None, now=NOW)
    stop = db.session.scalar(sa.select(Stop))
    assert (stop.texts, stop.sequence, stop.live_status, stop.cancel_reason, stop.change_note) == (
        {}, 0, LiveStatus.SCHEDULED, "", "")
    assert stop.created_at is not None and stop.place.name == "Hall" and stop.bus.name == "Mobile"


def test_data_that_looks_wrong_is_warned_about_and_kept_as_it_is(app, make_district):
    district = make_district(name="Holtby", slug="holtby", number="40")
    district.lat, district.lon = 53.97, -0.97
    db.session.commit()
    reading = tourcsv.read(schema_file(
        "York,Mobile,D1,Holtby,Hall,,,-0.97,53.97,Monday,Public,10:00,10:45,,2027-02-01,,,",
        "York,Mobile,D1,Kexby,Lane,,,53.95,-0.93,Tuesday,Public,11:00,11:45,,2027-02-02,,,",     # swapped
        "York,Mobile,D1,Holtby,School,,,-1.60,53.97,Wednesday,Public,12:00,12:45,,2027-02-03,,,",  # 41 km off
        "York,Mobile,D1,Murton,Garth,,,-1.01,53.96,Friday,Public,13:00,13:45,,2027-02-04,,,",      # a Thursday
        "York,Mobile,D1,Naburn,River,,,-1.09,53.90,Friday,Public,14:00,14:45,,2027-02-05,,,"), NOW)
    assert not reading.errors
    with force_locale("en"):
        assert "swapped" in tourcsv._warnings(tourcsv._Context(NOW, NOW.date(), NOW.date(), {}, {}, {}, points=[
            (2, 53.95, -0.93, None), (3, -0.93, 53.95, None), (4, 53.96, -1.01, None)]))[0].message
    assert [(w.line, w.column) for w in reading.warnings] == [(3, "latitude"), (4, "community"), (5, "day")]
    assert "53.95" in reading.warnings[0].message and "41 km" in reading.warnings[1].message
    # Nothing is changed for a warning: the swapped place keeps its numbers, the dates follow the start.
    swapped = next(s for s in reading.stops if s.line == 3)
    assert (swapped.place["lat"], swapped.place["lon"]) == (-0.93, 53.95)
    assert next(s for s in reading.stops if s.line == 5).draft.starts_at.date() == date(2027, 2, 4)


def test_a_council_file_with_its_bus_at_two_stops_at_once_can_be_added_without_those_stops(app):
    """West Berkshire's published file puts its one vehicle at two stops at the same time on some dates: those
    stops are named as problems, and the rest can be added on purpose, every bus still at one stop at a time."""
    reading = tourcsv.read((DATA / "west_berkshire.csv").read_bytes(), NOW)
    assert reading.errors and {e.column for e in reading.errors} == {"arrival"}
    assert 22 in {e.line for e in reading.errors}  # line 22 repeats line 21's times at another stop
    rest, left_out = tourcsv.without_problems(reading, NOW)
    assert not rest.errors and left_out == len(reading.errors) and len(rest.stops) == len(reading.stops) - left_out
    wrong = {(e.line, e.day) for e in reading.errors}
    assert not any((s.line, s.draft.starts_at.astimezone(service.tz()).date()) in wrong for s in rest.stops)
    # Line 22 meets line 21 on each of its dates: all of them are left out, line 21 stays whole.
    assert not any(s.line == 22 for s in rest.stops)
    assert sum(s.line == 21 for s in rest.stops) == sum(s.line == 21 for s in reading.stops) > 0
    service._planning_lock()
    assert tourcsv._write_checked(rest, None).ok
    assert count(Stop) == len(rest.stops) and count(Bus) == 1
    stops = db.session.scalars(sa.select(Stop).order_by(Stop.starts_at)).all()
    assert all(a.ends_at <= b.starts_at for a, b in zip(stops, stops[1:]))


def test_leaving_out_takes_a_line_that_could_not_be_read_whole_and_a_clash_on_its_dates_only(app):
    reading = tourcsv.read(schema_file(
        "Town,Van,R,Holtby,Hall,,,,,Public,10:00,11:00,FREQ=WEEKLY,2027-01-04,2027-02-01,,",  # a value too few
        "Town,Van,R,Holtby,School,,,,,,Public,10:00,11:00,FREQ=WEEKLY,2027-01-04,2027-02-01,,",
        "Town,Van,R,Holtby,Church,,,,,,Public,10:30,11:30,FREQ=WEEKLY;INTERVAL=2,2027-01-04,2027-02-01,,",
        "Town,Van,R,Murton,Garth,,,,,,Public,13:00,14:00,,2027-01-05,,,"), NOW)
    assert [(e.line, e.column) for e in reading.errors] == [(2, "")]
    rest, left_out = tourcsv.without_problems(reading, NOW)
    # Line 2 gave no stop; line 4 meets line 3 on 4, 18 January and 1 February and is left out on those dates.
    assert left_out == 3 and not rest.errors
    assert sorted((s.line, s.draft.starts_at.date()) for s in rest.stops) == [
        (3, date(2027, 1, d)) for d in (4, 11, 18, 25)] + [(3, date(2027, 2, 1)), (5, date(2027, 1, 5))]
    assert rest.new_districts == ["Holtby", "Murton"] and rest.new_buses == ["Van"]


def test_nothing_is_left_out_of_a_file_whose_columns_are_wrong(app):
    reading = tourcsv.read(b"name;datum\nA;B\n", NOW)
    assert reading.errors and tourcsv.without_problems(reading, NOW) is None


def test_the_preview_offers_to_add_the_rest_and_says_how_many_are_left_out(client, login, app):
    from tests.conftest import csrf_token
    from tests.planning.test_planning_transfer import _post_file

    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    data = (DATA / "west_berkshire.csv").read_bytes()
    rest, left_out = tourcsv.without_problems(tourcsv.read(data))
    preview = _post_file(client, data)
    text = preview.get_data(as_text=True)
    assert preview.status_code == 422 and "Die übrigen anlegen, ohne die Halte unten" in text
    assert f"können {len(rest.stops)} Halte angelegt werden" in text
    assert f"{left_out} Halte mit Problemen würden weggelassen" in text
    assert count(Stop) == 0  # the preview writes nothing
    upload = re.search(r'name="upload" value="([^"]+)"', text)[1]
    # Without the coordinator's choice the file is still refused whole.
    token = csrf_token(client, "/admin/transfer")
    assert client.post("/admin/import", data={"csrf_token": token, "upload": upload}).status_code == 422
    assert count(Stop) == 0
    done = client.post("/admin/import", data={"csrf_token": token, "upload": upload, "leave_out": "yes"})
    assert done.status_code == 303 and count(Stop) == len(rest.stops)
    page = client.get("/admin/imports").get_data(as_text=True)
    assert (f"{len(rest.stops)} Halte wurden als Entwurf angelegt. {left_out} Halte mit Problemen wurden "
            "weggelassen.") in page
