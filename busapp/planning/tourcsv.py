"""The tour as CSV in the columns of the public mobile-library stop schema, plus the workshop columns.

Reading (the rules)
    The file may be UTF-8 with or without a byte order mark, or Latin-1; fields are separated by `;` or `,`
    (whichever the header line uses); dates are written 2026-12-01 or 01.12.2026, times 10:00. One row is one
    workshop at one stop visit; rows that name the same district, place, date and arrival belong to one stop, and a
    row with empty workshop columns is a stop without workshops. `start` is the date of the visit; with a
    `frequency` (an iCalendar RRULE such as FREQ=WEEKLY;INTERVAL=2) and an `end` date the visit repeats.
    Every row is checked against the planning rules, against the stops already planned and against the other rows;
    when any row is wrong nothing is written, and the report names each wrong row, column and reason. Stops are
    written as drafts.

Checking, then adding (the browser's two steps)
    A file that passes the check is kept for its coordinator for an hour (`stage`), so "add all of them" needs no
    second upload. Adding takes the kept file and deletes it in the same transaction that writes its stops: a
    second click, a second tab or a reload finds nothing left to add, so nothing is written twice; when the rows
    no longer pass (someone planned a stop there since), nothing is written and the file stays kept.
"""
from __future__ import annotations

import csv
import io
import re
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from dateutil.rrule import rrulestr
from flask import current_app
from flask_babel import gettext as _

from .. import csvexport
from ..catalog import AUDIENCES, TOPICS, WORKSHOP_LANGUAGES
from ..extensions import db
from ..models import District, Place, Stop, StopStatus, TourUpload, User, Workshop, WorkshopStatus, audit, utcnow
from . import service

STOP_COLUMNS = ("organisation", "vehicle", "route", "community", "stop", "address", "postcode", "longitude",
                "latitude", "day", "arrival", "departure", "frequency", "start", "end", "timetable")
WORKSHOP_COLUMNS = ("workshop_title", "workshop_topic", "workshop_start", "workshop_duration", "workshop_capacity",
                    "workshop_language", "workshop_audience", "workshop_parallel")
COLUMNS = STOP_COLUMNS + WORKSHOP_COLUMNS
REQUIRED = ("community", "stop", "arrival", "departure", "start")
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
# How long a checked file waits for "add all of them".
UPLOAD_KEPT = timedelta(hours=1)
UPLOAD_KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class PlannedWorkshop:
    draft: service.WorkshopDraft
    line: int


@dataclass
class PlannedStop:
    line: int
    draft: service.StopDraft  # place_id 0 while the place is new
    district_id: int
    district_name: str
    place: dict  # name, address, postcode, lat, lon as in the file
    workshops: list[PlannedWorkshop] = field(default_factory=list)


@dataclass
class Reading:
    """What a file would do: the stops it plans, or the rows that are wrong."""

    stops: list[PlannedStop]
    errors: list[RowError]
    rows: int

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.stops)

    @property
    def workshop_count(self) -> int:
        return sum(len(s.workshops) for s in self.stops)


def decode(data: bytes) -> str:
    """UTF-8 (with or without BOM), else Latin-1, which can read any byte."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _time(text: str) -> time | None:
    for fmt in ("%H:%M", "%H:%M:%S", "%H.%M"):
        try:
            return datetime.strptime(text.strip(), fmt).time()
        except ValueError:
            continue
    return None


def _districts() -> dict[str, District]:
    out = {}
    for d in db.session.scalars(sa.select(District)):
        for key in (d.name, d.slug, d.number, d.number.lstrip("0")):
            out[key.strip().lower()] = d
    return out


def _place_ids() -> dict[tuple[int, str], int]:
    """Known places by (district, name in lower case)."""
    return {(d, n.lower()): i for i, d, n in db.session.execute(sa.select(Place.id, Place.district_id, Place.name))}


def _dates(first: date, rule: str, last: date | None) -> list[date]:
    if not rule:
        return [first]
    start = datetime.combine(first, time(12))
    until = datetime.combine(last, time(23, 59)) if last else None
    rr = rrulestr(rule, dtstart=start)
    if until is not None:
        rr = rr.replace(until=until)
    out = []
    for value in rr:
        out.append(value.date())
        if len(out) >= service.MAX_SERIES:
            break
    return out


def read(data: bytes, now: datetime | None = None) -> Reading:
    """Parse and check a tour CSV without writing anything."""
    errors: list[RowError] = []
    text = decode(data)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header = [(h or "").strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    unknown = [h for h in header if h and h not in COLUMNS]
    if missing or unknown:
        if missing:
            errors.append(RowError(1, ", ".join(missing), _("These columns are missing.")))
        if unknown:
            errors.append(RowError(1, ", ".join(unknown), _("These columns are not known. Expected: %(cols)s",
                                                              cols=", ".join(COLUMNS))))
        return Reading([], errors, 0)
    reader.fieldnames = header
    districts = _districts()
    place_ids = _place_ids()
    stops: dict[tuple, PlannedStop] = {}
    rows = 0
    for line, raw in enumerate(reader, start=2):
        rows += 1
        if rows > MAX_ROWS:
            errors.append(RowError(line, "", _("A file may have at most %(n)d rows.", n=MAX_ROWS)))
            break
        # restore(): a cell this app's export wrote as text ('=...) reads back as it was typed
        row = {k: csvexport.restore((v or "").strip()) for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        row_errors = _read_row(line, row, districts, place_ids, stops, now)
        errors.extend(row_errors)
    planned = list(stops.values())
    if not errors:
        errors.extend(_check_all(planned, now))
    if not planned and not errors:
        errors.append(RowError(1, "", _("The file has no rows.")))
    return Reading(planned, errors, rows)


def _read_row(line: int, row: dict, districts: dict, place_ids: dict, stops: dict, now) -> list[RowError]:
    errs: list[RowError] = []
    for column in REQUIRED:
        if not row.get(column):
            errs.append(RowError(line, column, _("This column is empty.")))
    if errs:
        return errs
    district = districts.get(row["community"].lower())
    if district is None:
        errs.append(RowError(line, "community", _("“%(text)s” is not a district.", text=row["community"])))
    first = service.parse_date(row["start"])
    if first is None:
        errs.append(RowError(line, "start", _("“%(text)s” is not a date. Write 2026-12-01 or 01.12.2026.",
                                              text=row["start"])))
    last = None
    if row.get("end"):
        last = service.parse_date(row["end"])
        if last is None:
            errs.append(RowError(line, "end", _("“%(text)s” is not a date. Write 2026-12-01 or 01.12.2026.",
                                                text=row["end"])))
    arrival, departure = _time(row["arrival"]), _time(row["departure"])
    if arrival is None:
        errs.append(RowError(line, "arrival", _("“%(text)s” is not a time. Write 10:00.", text=row["arrival"])))
    if departure is None:
        errs.append(RowError(line, "departure", _("“%(text)s” is not a time. Write 10:00.", text=row["departure"])))
    lat = lon = None
    try:
        if row.get("latitude") or row.get("longitude"):
            lat, lon = float(row["latitude"].replace(",", ".")), float(row["longitude"].replace(",", "."))
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):
                raise ValueError
    except ValueError:
        errs.append(RowError(line, "latitude", _("Please give both coordinates as numbers, or neither.")))
    dates: list[date] = []
    if first is not None:
        try:
            dates = _dates(first, row.get("frequency", ""), last)
        except (ValueError, TypeError):
            errs.append(RowError(line, "frequency", _("“%(text)s” is not a repeat rule such as FREQ=WEEKLY;INTERVAL=2.",
                                                      text=row["frequency"])))
    if errs:
        return errs
    place = {"name": row["stop"][:160], "address": row.get("address", "")[:200], "postcode": row.get("postcode", "")[:10],
             "lat": lat, "lon": lon}
    place_id = place_ids.get((district.id, place["name"].lower()), 0)
    for day in dates:
        key = (district.id, row["stop"].lower(), day, arrival)
        stop = stops.get(key)
        if stop is None:
            draft = service.StopDraft(place_id=place_id, starts_at=service.local(day, arrival),
                                      ends_at=service.local(day, departure))
            stop = stops[key] = PlannedStop(line, draft, district.id, district.name, place)
        if row.get("workshop_title"):
            workshop, werrs = _read_workshop(line, row, day)
            errs.extend(werrs)
            if workshop is not None:
                stop.workshops.append(PlannedWorkshop(workshop, line))
    return errs


def _read_workshop(line: int, row: dict, day: date) -> tuple[service.WorkshopDraft | None, list[RowError]]:
    errs = []
    topic = row.get("workshop_topic") or "smartphone_basics"
    if topic not in TOPICS:
        errs.append(RowError(line, "workshop_topic", _("“%(text)s” is not a topic. Known: %(keys)s", text=topic,
                                                       keys=", ".join(TOPICS))))
    start = _time(row.get("workshop_start") or row["arrival"])
    if start is None:
        errs.append(RowError(line, "workshop_start", _("“%(text)s” is not a time. Write 10:00.",
                                                       text=row.get("workshop_start"))))
    numbers = {}
    for column, default in (("workshop_duration", 60), ("workshop_capacity", 8)):
        try:
            numbers[column] = int(row.get(column) or default)
        except ValueError:
            errs.append(RowError(line, column, _("“%(text)s” is not a whole number.", text=row[column])))
    language = row.get("workshop_language") or "de"
    if language not in WORKSHOP_LANGUAGES:
        errs.append(RowError(line, "workshop_language", _("“%(text)s” is not a language code.", text=language)))
    audience = row.get("workshop_audience") or "everyone"
    if audience not in AUDIENCES:
        errs.append(RowError(line, "workshop_audience", _("“%(text)s” is not an audience.", text=audience)))
    if errs:
        return None, errs
    return service.WorkshopDraft(
        title=row["workshop_title"][:160], topic=topic, starts_at=service.local(day, start),
        duration_minutes=numbers["workshop_duration"], capacity=numbers["workshop_capacity"], language=language,
        audience=audience, parallel=(row.get("workshop_parallel", "").lower() in ("1", "yes", "ja", "true", "x")),
    ), []


_COLUMN_OF = {"day": "start", "start": "arrival", "end": "departure", "place": "stop"}
_WORKSHOP_COLUMN_OF = {"capacity": "workshop_capacity", "duration_minutes": "workshop_duration"}


def _check_all(planned: list[PlannedStop], now) -> list[RowError]:
    """The planning rules for every planned stop, against the database and against each other."""
    errs: list[RowError] = []
    ordered = sorted(planned, key=lambda s: s.draft.starts_at)
    for earlier, later in zip(ordered, ordered[1:]):
        if later.draft.starts_at < earlier.draft.ends_at:
            errs.append(RowError(later.line, "arrival", _("This stop overlaps the stop in line %(n)d.", n=earlier.line)))
    for stop in planned:
        for name, messages in service.check_stop(stop.draft, None, now).items():
            if name == "place" and not stop.draft.place_id:
                continue  # a new place, written with the stops
            for m in messages:
                errs.append(RowError(stop.line, _COLUMN_OF.get(name, name), m))
        shell = Stop(starts_at=stop.draft.starts_at, ends_at=stop.draft.ends_at)
        for w in stop.workshops:
            for name, messages in service.check_workshop(shell, w.draft).items():
                for m in messages:
                    errs.append(RowError(w.line, _WORKSHOP_COLUMN_OF.get(name, "workshop_start"), m))
            shell.workshops.append(Workshop(title=w.draft.title, starts_at=w.draft.starts_at,
                                            duration_minutes=w.draft.duration_minutes, parallel=w.draft.parallel,
                                            status=WorkshopStatus.DRAFT))
    return sorted(errs, key=lambda e: e.line)


def write(data: bytes, user: User | None) -> Reading:
    """Read the file and, when every row is right, write all its stops and workshops as drafts in one transaction."""
    reading = read(data)
    if not reading.ok:
        return reading
    service._planning_lock()
    # Checked again under the lock: another coordinator may have planned a stop since the preview.
    again = _check_all(reading.stops, None)
    if again:
        db.session.rollback()
        return Reading(reading.stops, again, reading.rows)
    _insert(reading, user)
    return reading


def _insert(reading: Reading, user: User | None) -> None:
    """Write a checked reading's stops and workshops as drafts and commit; the caller holds the planning lock."""
    new_places: dict[tuple, Place] = {}
    for planned in reading.stops:
        d = planned.draft
        place = db.session.get(Place, d.place_id) if d.place_id else None
        if place is None:
            key = (planned.district_id, planned.place["name"].lower())
            place = new_places.get(key)
            if place is None:
                place = new_places[key] = Place(district_id=planned.district_id, **planned.place)
                db.session.add(place)
        stop = Stop(district_id=planned.district_id, place=place, starts_at=d.starts_at, ends_at=d.ends_at,
                    status=StopStatus.DRAFT)
        for w in planned.workshops:
            x = w.draft
            stop.workshops.append(Workshop(title=x.title, topic=x.topic, language=x.language, audience=x.audience,
                                           starts_at=x.starts_at, duration_minutes=x.duration_minutes,
                                           capacity=x.capacity, parallel=x.parallel, seats_taken=0,
                                           status=WorkshopStatus.DRAFT))
        db.session.add(stop)
    db.session.flush()
    audit("tour-import", None, user=db.session.get(User, user.id) if user else None,
          stops=len(reading.stops), workshops=reading.workshop_count)
    db.session.commit()


def stage(data: bytes, user: User) -> str:
    """Keep a checked file for its coordinator; returns the key the confirmation sends back. Files older than an
    hour are cleared on the way."""
    db.session.execute(sa.delete(TourUpload).where(TourUpload.created_at < utcnow() - UPLOAD_KEPT))
    token = secrets.token_urlsafe(32)
    db.session.add(TourUpload(token=token, user_id=user.id, data=data))
    db.session.commit()
    return token


def write_staged(token: str, user: User) -> Reading | None:
    """Add the kept file: None when it is gone (added already, another coordinator's, or older than an hour)."""
    if not UPLOAD_KEY.fullmatch(token or ""):
        return None  # not a key `stage` made (checked before any query: a NUL is an error on PostgreSQL)
    service._planning_lock()
    taken = db.session.execute(
        sa.delete(TourUpload)
        .where(TourUpload.token == token, TourUpload.user_id == user.id,
               TourUpload.created_at >= utcnow() - UPLOAD_KEPT)
        .returning(TourUpload.data)).scalar_one_or_none()
    if taken is None:
        db.session.rollback()
        return None
    # Read and checked under the lock: another coordinator may have planned a stop since the preview.
    reading = read(taken)
    if not reading.ok:
        db.session.rollback()  # the file stays kept: the coordinator may change the tour and add it then
        return reading
    _insert(reading, user)
    return reading


def export(stops: list[Stop]) -> str:
    """The stops (one row per workshop, or one row for a stop without workshops) as CSV text."""
    out = io.StringIO()
    writer = csvexport.SafeWriter(out)
    writer.writerow(COLUMNS)
    tz = service.tz()
    organisation = current_app.config.get("SITE_NAME", "")
    for stop in stops:
        start, end = stop.starts_at.astimezone(tz), stop.ends_at.astimezone(tz)
        place = stop.place
        base = [organisation, "Digitalwerkstatt-Bus", "", stop.district.name, place.name, place.address, place.postcode,
                place.lon, place.lat,
                WEEKDAYS[start.weekday()], f"{start:%H:%M}", f"{end:%H:%M}", "", start.date().isoformat(),
                start.date().isoformat(), ""]
        workshops = [w for w in stop.workshops if w.status != WorkshopStatus.CANCELLED]
        if not workshops:
            writer.writerow(base + [""] * len(WORKSHOP_COLUMNS))
        for w in workshops:
            writer.writerow(base + [w.title, w.topic, f"{w.starts_at.astimezone(tz):%H:%M}", w.duration_minutes,
                                    w.capacity, w.language, w.audience, "yes" if w.parallel else ""])
    return out.getvalue()
