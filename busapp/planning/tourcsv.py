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

Texts in several languages
    The workshop columns hold a workshop's texts in its own language (`workshop_language`, German when empty). The
    same texts in the other offered languages are columns named after the text and the language's tag: `title_tr`,
    `description_ar`, `bring_uk`, `accessibility_notes_de-x-ls`, one for each text and each language of the
    LANGUAGES setting. An empty cell leaves the language out, so residents read the workshop's own text there. A
    cell in the workshop's own language may repeat its own text, or give it where the workshop column is empty; a
    different text is an error (which one is meant?). A column for a language the site does not offer is an error
    that names the languages it does.

Checking, then adding (the browser's two steps)
    A file that passes the check is kept for its coordinator for an hour (`stage`), so "add all of them" needs no
    second upload. Adding takes the kept file and deletes it in the same transaction that writes its stops: a
    second click, a second tab or a reload finds nothing left to add, so nothing is written twice; when the rows
    no longer pass (someone planned a stop there since), nothing is written and the file stays kept.
"""
from __future__ import annotations

import bisect
import csv
import difflib
import io
import re
import secrets
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from dateutil.relativedelta import relativedelta
from flask import current_app
from flask_babel import format_date, format_time, gettext as _

from ..core import content, csvexport
from ..core.choices import AUDIENCES, LEVELS, TOPICS, WORKSHOP_LANGUAGES
from ..core.extensions import db
from ..models import (
    DEFAULT_BUS_NAME, Bus, District, ImportBatch, Place, Stop, StopSeries, StopStatus, TourUpload, User, Workshop,
    WorkshopStatus, audit, utcnow,
)
from . import recurrence, service, textcolumns

STOP_COLUMNS = ("organisation", "vehicle", "route", "community", "stop", "address", "postcode", "longitude",
                "latitude", "day", "arrival", "departure", "frequency", "start", "end", "timetable")
WORKSHOP_COLUMNS = ("workshop_title", "workshop_topic", "workshop_start", "workshop_duration", "workshop_capacity",
                    "workshop_language", "workshop_audience", "workshop_parallel", "workshop_level", "workshop_bring",
                    "workshop_walk_ins", "workshop_description", "workshop_accessibility_notes")
YES = ("1", "yes", "ja", "true", "x")
NO = ("0", "no", "nein", "false")
COLUMNS = STOP_COLUMNS + WORKSHOP_COLUMNS
# The public mobile-library stop schema's own columns, in its order (what the councils publish).
SCHEMA_COLUMNS = ("organisation", "mobile", "route", "community", "stop", "address", "postcode", "geox", "geoy", "day",
                  "type", "arrival", "departure", "frequency", "start", "end", "exceptions", "timetable")
# The schema's names for the columns this app once renamed: both are read.
SCHEMA_NAMES = {"mobile": "vehicle", "geox": "longitude", "geoy": "latitude"}
KNOWN_COLUMNS = tuple(dict.fromkeys(SCHEMA_COLUMNS + COLUMNS))
REQUIRED = ("community", "stop", "arrival", "departure")
# A workshop's texts, each in its own column (`workshop_title`, ...) in the workshop's language and in a column per
# offered language (`title_tr`, `description_ar`, `bring_uk`, `accessibility_notes_fa`, ...): planning/textcolumns.py.
WORKSHOP_TEXTS = textcolumns.TextColumns(
    {"title": "workshop_title", "description": "workshop_description", "bring": "workshop_bring",
     "accessibility_notes": "workshop_accessibility_notes"},
    {"title": 160, "description": 2000, "bring": 300, "accessibility_notes": 300})
TEXT_FIELDS = WORKSHOP_TEXTS.fields
OWN_COLUMN = WORKSHOP_TEXTS.own_columns
languages = textcolumns.languages


def text_columns() -> list[str]:
    """The language columns, for every offered language."""
    return WORKSHOP_TEXTS.columns()


# The values of a line kept with its import (ImportBatch.rows), so that the schema export gives them back.
ORIGIN_COLUMNS = ("organisation", "vehicle", "route", "community", "day", "type", "frequency", "start", "end",
                  "exceptions", "timetable")
MAX_ROWS = 5000
MAX_BYTES = 5 * 1024 * 1024
# At most this many stops from one file (a year of weekly visits at 5,000 places would be far more).
MAX_STOPS = 60000
# How long a checked file waits for "add all of them".
UPLOAD_KEPT = timedelta(hours=1)
UPLOAD_KEY = re.compile(r"[A-Za-z0-9_-]{20,64}")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_WEEKDAY_NAMES = {name: i for i, names in enumerate((
    ("monday", "mon", "mo", "montag"), ("tuesday", "tue", "tues", "tu", "di", "dienstag"),
    ("wednesday", "wed", "we", "mi", "mittwoch"), ("thursday", "thu", "thur", "thurs", "th", "do", "donnerstag"),
    ("friday", "fri", "fr", "freitag"), ("saturday", "sat", "sa", "samstag", "sonnabend"),
    ("sunday", "sun", "su", "so", "sonntag"))) for name in names}


@dataclass
class RowError:
    line: int
    column: str
    message: str
    day: date | None = None  # the date of the visit the problem is about, when it is about one


@dataclass
class Problem:
    """Identical problems of one line (the same column and reason) once, with the dates they concern."""

    line: int
    column: str
    message: str
    days: list[date]


@dataclass
class PlannedWorkshop:
    draft: service.WorkshopDraft
    line: int


@dataclass
class PlannedStop:
    line: int
    draft: service.StopDraft  # place_id 0 while the place is new
    district_id: int | None  # None while the district is new (created with the stops)
    district_name: str
    place: dict  # name, address, postcode, lat, lon as in the file
    bus: str = ""
    workshops: list[PlannedWorkshop] = field(default_factory=list)


@dataclass
class Reading:
    """What a file would do: the stops it plans, or the rows that are wrong."""

    stops: list[PlannedStop]
    errors: list[RowError]
    rows: int
    horizon: date | None = None  # repeat rules give dates up to this day
    new_districts: list[str] = field(default_factory=list)
    new_buses: list[str] = field(default_factory=list)
    origins: dict[int, dict] = field(default_factory=dict)  # the file's own values of each line, for the export
    quiet_lines: list[int] = field(default_factory=list)  # lines whose rule gives no date from today to the horizon
    warnings: list[RowError] = field(default_factory=list)  # data that looks wrong; nothing is changed for it
    left_out: int = 0  # stops with a problem left out on the coordinator's request (`without_problems`)

    @property
    def ok(self) -> bool:
        return not self.errors and bool(self.stops)

    @property
    def workshop_count(self) -> int:
        return sum(len(s.workshops) for s in self.stops)

    def text_languages(self) -> dict[str, int]:
        """How many of the file's workshops bring texts in each other language than their own, {tag: count}, in
        the order of the offered languages."""
        counts = dict.fromkeys(languages(), 0)
        for stop in self.stops:
            for w in stop.workshops:
                for tag in w.draft.texts or {}:
                    counts[tag] = counts.get(tag, 0) + 1
        return {tag: n for tag, n in counts.items() if n}

    def problems(self) -> list[Problem]:
        """The errors with identical ones of a line folded into one, with their dates, in line order."""
        groups: dict[tuple, Problem] = {}
        for e in self.errors:
            key = (e.line, e.column, e.message)
            group = groups.get(key)
            if group is None:
                group = groups[key] = Problem(e.line, e.column, e.message, [])
            if e.day is not None:
                group.days.append(e.day)
        for group in groups.values():
            group.days.sort()
        return sorted(groups.values(), key=lambda p: (p.line, p.days[:1]))


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
    """10:00, 9:30, 09:30:00 or 9.30."""
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


def _buses() -> dict[str, Bus]:
    found = list(db.session.scalars(sa.select(Bus).order_by(Bus.id)))
    out = {b.name.lower(): b for b in found}
    if found:
        out[""] = found[0]
    return out


def _bus(row: dict, context: _Context) -> str:
    """The row's bus (`mobile`) by name: a known one, else a new one; an empty name is the first bus."""
    name = " ".join(row.get("vehicle", "").split())[:80]
    known = context.buses.get(name.lower())
    if known is not None:
        return known.name
    if not name:
        name = DEFAULT_BUS_NAME
    return context.new_buses.setdefault(name.lower(), name)


def horizon_months() -> int:
    return int(current_app.config.get("IMPORT_HORIZON_MONTHS", 12))


def _header(fieldnames: list[str] | None) -> tuple[list[str], list[RowError]]:
    """The header's columns under this app's names (the schema's `mobile`, `geox`, `geoy` read as `vehicle`,
    `longitude`, `latitude`), and what is wrong with it."""
    errors = []
    raw = [(h or "").strip().strip("\ufeff").strip().lower() for h in (fieldnames or [])]
    header = [SCHEMA_NAMES.get(h, h) for h in raw]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        errors.append(RowError(1, ", ".join(missing), _("These columns are missing.")))
    for name in raw:
        if not name or name in KNOWN_COLUMNS:
            continue
        problem = WORKSHOP_TEXTS.header_problem(name)
        if problem is not None:
            if problem:
                errors.append(RowError(1, name, problem))
            continue
        close = difflib.get_close_matches(name, KNOWN_COLUMNS, n=1, cutoff=0.6)
        if close:
            errors.append(RowError(1, name, _("This column is not known. Did you mean “%(name)s”?", name=close[0])))
        else:
            errors.append(RowError(1, name, _("This column is not known. Known columns: %(cols)s",
                                              cols=", ".join(KNOWN_COLUMNS))))
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        errors.append(RowError(1, ", ".join(twice), _("These columns are given twice (under the schema's name and "
                                                      "under this app's name, or twice the same).")))
    return header, errors


def read(data: bytes, now: datetime | None = None) -> Reading:
    """Parse and check a tour CSV without writing anything."""
    now = now or utcnow()
    today = now.astimezone(service.tz()).date()
    horizon = today + relativedelta(months=horizon_months())
    text = decode(data)
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    header, errors = _header(reader.fieldnames)
    if errors:
        return Reading([], errors, 0, horizon)
    reader.fieldnames = header
    context = _Context(now=now, today=today, horizon=horizon, districts=_districts(), place_ids=_place_ids(),
                       buses=_buses())
    rows = 0
    for line, raw in enumerate(reader, start=2):
        rows += 1
        if rows > MAX_ROWS:
            errors.append(RowError(line, "", _("A file may have at most %(n)d rows.", n=MAX_ROWS)))
            break
        if None in raw or any(v is None for v in raw.values()):
            got = len(header) + len(raw.get(None) or ()) - sum(1 for v in raw.values() if v is None)
            errors.append(RowError(line, "", _(
                "This line has %(got)d values, the first line names %(want)d columns: a value is missing or one too "
                "many (often a comma inside a value that has no quotation marks). Nothing of this line was read.",
                got=got, want=len(header))))
            continue
        # restore(): a cell this app's export wrote as text ('=...) reads back as it was typed
        row = {k: csvexport.restore((v or "").strip()) for k, v in raw.items() if k}
        if not any(row.values()):
            continue
        errors.extend(_read_row(line, row, context))
        if len(context.stops) > MAX_STOPS:
            errors.append(RowError(line, "", _("A file may give at most %(n)d stops.", n=MAX_STOPS)))
            break
    planned = sorted(context.stops.values(), key=lambda s: s.draft.starts_at)
    if not errors:
        errors.extend(_check_all(planned, now))
    if not planned and not errors:
        errors.append(RowError(1, "", _("The file has no rows with a date from today to %(day)s.",
                                        day=format_date(horizon, "d MMM yyyy"))))
    return Reading(planned, errors, rows, horizon, sorted(context.new_districts.values()),
                   sorted(context.new_buses.values()), context.origins, context.quiet_lines,
                   _warnings(context))


@dataclass
class _Context:
    now: datetime
    today: date
    horizon: date
    districts: dict
    place_ids: dict
    buses: dict  # lower-case name -> Bus; "" -> the first bus
    stops: dict = field(default_factory=dict)
    new_districts: dict = field(default_factory=dict)  # lower-case name -> name as first written
    new_buses: dict = field(default_factory=dict)
    origins: dict = field(default_factory=dict)
    quiet_lines: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    points: list = field(default_factory=list)  # (line, lat, lon, district id or None) of rows with coordinates
    expanded: dict = field(default_factory=dict)  # (rule, first, last) -> dates


def _dates_of(line: int, row: dict, first: date, last: date | None, context: _Context) -> tuple[list[date], list]:
    """The row's dates: its repeat rule's from today (or its later start) to the horizon, or its one date."""
    rule_text = row.get("frequency", "")
    if not rule_text:
        return [first], []
    key = (rule_text, first, last)
    if key not in context.expanded:
        try:
            rule = recurrence.parse(rule_text, first)
            end = min(last, context.horizon) if last else context.horizon
            found = recurrence.dates(rule, context.today, end)
            if not found and end >= context.today and (rule._until is None or rule._until.date() >= context.today):
                # Not ended, yet no date: a rule that never (or hardly ever) matches, such as the 30th of February.
                found = recurrence.RuleError("empty")
            context.expanded[key] = found
        except recurrence.RuleError as exc:
            context.expanded[key] = exc
    found = context.expanded[key]
    if isinstance(found, recurrence.RuleError):
        if found.reason == "empty":
            return [], [RowError(line, "frequency", _("“%(text)s” gives no date from today to %(day)s.",
                                                      text=rule_text, day=format_date(context.horizon, "medium")))]
        elif found.reason == "frequency":
            message = _("“%(text)s”: a stop can repeat daily, weekly, monthly or yearly, not more often.",
                        text=rule_text)
        elif found.reason == "count":
            message = _("“%(text)s”: a rule with COUNT may start at most %(n)d years ago.", text=rule_text,
                        n=recurrence.MAX_COUNT_YEARS)
        else:
            message = _("“%(text)s” is not a repeat rule such as FREQ=WEEKLY;INTERVAL=2.", text=rule_text)
        return [], [RowError(line, "frequency", message)]
    return list(found), []


FAR_KM = 50  # a stop this far from the file's other stops is probably not in the town
DISTRICT_FAR_KM = 15  # nor in its district when this far from the district's centre


def _km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    from math import asin, cos, radians, sin, sqrt

    a = sin(radians(lat2 - lat1) / 2) ** 2 + cos(radians(lat1)) * cos(radians(lat2)) * sin(radians(lon2 - lon1) / 2) ** 2
    return 6371 * 2 * asin(sqrt(min(1.0, a)))


def _warnings(context: _Context) -> list[RowError]:
    """Coordinates that look wrong: far from the file's other stops (or right once latitude and longitude are
    swapped), or far from a known district's centre. Warnings only: nothing is changed."""
    out = list(context.warnings)
    if context.points:
        lats = sorted(p[1] for p in context.points)
        lons = sorted(p[2] for p in context.points)
        mid_lat, mid_lon = lats[len(lats) // 2], lons[len(lons) // 2]
        for line, lat, lon, district in context.points:
            if _km(lat, lon, mid_lat, mid_lon) > FAR_KM:
                if _km(lon, lat, mid_lat, mid_lon) <= FAR_KM:
                    out.append(RowError(line, "latitude", _("Latitude and longitude look swapped: %(lat)s, %(lon)s.",
                                                            lat=lat, lon=lon)))
                else:
                    out.append(RowError(line, "latitude", _(
                        "This place lies %(km)d km from the file's other stops: are the coordinates right?",
                        km=_km(lat, lon, mid_lat, mid_lon))))
            elif district is not None and district.lat is not None and district.lon is not None \
                    and _km(lat, lon, district.lat, district.lon) > DISTRICT_FAR_KM:
                out.append(RowError(line, "community", _("This place lies %(km)d km from the centre of %(name)s.",
                                                         km=_km(lat, lon, district.lat, district.lon),
                                                         name=district.name)))
    return sorted(out, key=lambda e: e.line)


def _first_day(row: dict, today: date) -> date | None:
    """An empty `start` means from today: the first day on the row's weekday (`day`) from today on."""
    wanted = _WEEKDAY_NAMES.get(row.get("day", "").strip().lower().rstrip("."))
    if wanted is None:
        return today
    return today + timedelta(days=(wanted - today.weekday()) % 7)


def _exceptions(line: int, text: str) -> tuple[set[date], list[RowError]]:
    days, errs = set(), []
    for part in re.split(r"[\s;,|]+", text.strip()):
        if not part:
            continue
        day = service.parse_date(part)
        if day is None:
            errs.append(RowError(line, "exceptions", _("“%(text)s” is not a date. Write 2026-12-01 or 01.12.2026.",
                                                       text=part)))
        else:
            days.add(day)
    return days, errs


def _district(row: dict, context: _Context) -> tuple[int | None, str]:
    """The row's district: a known one (by name, slug or number), else a new one by the name in the file. A row
    without a community falls into a district named after the organisation."""
    name = row["community"] or row.get("organisation", "")
    known = context.districts.get(name.lower())
    if known is not None:
        return known.id, known.name
    name = " ".join(name.split())[:80]
    return None, context.new_districts.setdefault(name.lower(), name)


def _read_row(line: int, row: dict, context: _Context) -> list[RowError]:
    errs: list[RowError] = []
    for column in REQUIRED:
        if column == "community" and row.get("organisation"):
            continue
        if not row.get(column):
            errs.append(RowError(line, column, _("This column is empty.")))
    if errs:
        return errs
    if row.get("start"):
        first = service.parse_date(row["start"])
        if first is None:
            errs.append(RowError(line, "start", _("“%(text)s” is not a date. Write 2026-12-01 or 01.12.2026.",
                                                  text=row["start"])))
    else:
        first = _first_day(row, context.today)
    last = None
    if row.get("end"):
        last = service.parse_date(row["end"])
        if last is None:
            errs.append(RowError(line, "end", _("“%(text)s” is not a date. Write 2026-12-01 or 01.12.2026.",
                                                text=row["end"])))
    skipped, exception_errors = _exceptions(line, row.get("exceptions", ""))
    errs.extend(exception_errors)
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
        dates, rule_errors = _dates_of(line, row, first, last, context)
        errs.extend(rule_errors)
    if errs:
        return errs
    wanted = _WEEKDAY_NAMES.get(row.get("day", "").strip().lower().rstrip("."))
    if row.get("start") and wanted is not None and first.weekday() != wanted:
        context.warnings.append(RowError(line, "day", _(
            "The day says %(day)s, but the start %(start)s is a %(weekday)s. The dates follow the start.",
            day=row["day"], start=format_date(first, "medium"), weekday=format_date(first, "EEEE"))))
    if lat is not None:
        known = context.districts.get((row["community"] or "").lower())
        context.points.append((line, lat, lon, known))
    if row.get("frequency"):
        # Dates of a rule before now are left out without a word: a timetable published years ago is still valid.
        dates = [d for d in dates if d not in skipped and service.local(d, arrival) >= context.now]
        if not dates:
            context.quiet_lines.append(line)
            return errs
    district_id, district_name = _district(row, context)
    place = {"name": row["stop"][:160], "address": row.get("address", "")[:200], "postcode": row.get("postcode", "")[:10],
             "lat": lat, "lon": lon}
    place_id = context.place_ids.get((district_id, place["name"].lower()), 0) if district_id else 0
    bus = _bus(row, context)
    context.origins[line] = {k: row[k] for k in ORIGIN_COLUMNS if row.get(k)}
    own, texts, text_errors = {}, {}, []
    if row.get("workshop_title"):  # read once for all the row's dates
        own, texts, problems = WORKSHOP_TEXTS.read(row, row.get("workshop_language") or "de")
        text_errors = [RowError(line, column, message) for column, message in problems]
        errs.extend(text_errors)
    for day in dates:
        key = (district_name.lower(), row["stop"].lower(), day, arrival)
        stop = context.stops.get(key)
        if stop is None:
            draft = service.StopDraft(place_id=place_id, starts_at=service.local(day, arrival),
                                      ends_at=service.local(day, departure))
            stop = context.stops[key] = PlannedStop(line, draft, district_id, district_name, place, bus)
        if row.get("workshop_title") and not text_errors:
            workshop, werrs = _read_workshop(line, row, day, own, texts)
            errs.extend(werrs)
            if workshop is not None:
                stop.workshops.append(PlannedWorkshop(workshop, line))
    if not row.get("workshop_title"):
        # Texts without a workshop would be dropped without a word.
        given = [c for c in list(OWN_COLUMN.values())[1:] + text_columns() if row.get(c)]
        if given:
            errs.append(RowError(line, given[0], _(
                "This row has workshop texts but no workshop: “workshop_title” is empty. Give the workshop's "
                "title, or leave its texts out.")))
    return errs


def _read_workshop(line: int, row: dict, day: date, own: dict, texts: dict
                   ) -> tuple[service.WorkshopDraft | None, list[RowError]]:
    """The row's workshop on one of its dates; `own` and `texts` are its texts (WORKSHOP_TEXTS.read)."""
    errs = []
    topic = row.get("workshop_topic") or "smartphone_basics"
    if topic not in TOPICS:
        errs.append(RowError(line, "workshop_topic", _("“%(text)s” is not a topic. Known: %(keys)s", text=topic,
                                                       keys=", ".join(TOPICS)), day))
    start = _time(row.get("workshop_start") or row["arrival"])
    if start is None:
        errs.append(RowError(line, "workshop_start", _("“%(text)s” is not a time. Write 10:00.",
                                                       text=row.get("workshop_start")), day))
    numbers = {}
    for column, default in (("workshop_duration", 60), ("workshop_capacity", 8)):
        try:
            numbers[column] = int(row.get(column) or default)
        except ValueError:
            errs.append(RowError(line, column, _("“%(text)s” is not a whole number.", text=row[column]), day))
    language = row.get("workshop_language") or "de"
    if language not in WORKSHOP_LANGUAGES:
        errs.append(RowError(line, "workshop_language", _("“%(text)s” is not a language code.", text=language), day))
    audience = row.get("workshop_audience") or "everyone"
    if audience not in AUDIENCES:
        errs.append(RowError(line, "workshop_audience", _("“%(text)s” is not an audience.", text=audience), day))
    level = row.get("workshop_level") or "first_steps"
    if level not in LEVELS:
        errs.append(RowError(line, "workshop_level", _("“%(text)s” is not a level. Known: %(keys)s", text=level,
                                                       keys=", ".join(LEVELS)), day))
    walk_ins = (row.get("workshop_walk_ins") or "yes").strip().lower()
    if walk_ins not in YES + NO:
        errs.append(RowError(line, "workshop_walk_ins", _("“%(text)s”: please write yes or no.", text=walk_ins), day))
    if errs:
        return None, errs
    return service.WorkshopDraft(
        title=own["title"], topic=topic, starts_at=service.local(day, start),
        duration_minutes=numbers["workshop_duration"], capacity=numbers["workshop_capacity"], language=language,
        audience=audience, parallel=(row.get("workshop_parallel", "").lower() in YES), level=level,
        bring=own["bring"], walk_ins=walk_ins in YES, description=own["description"],
        accessibility_notes=own["accessibility_notes"], texts=texts,
    ), []


_WORKSHOP_COLUMN_OF = {"capacity": "workshop_capacity", "duration_minutes": "workshop_duration"}


def _bus_key(bus: str) -> str:
    return bus.lower()  # each bus is at one stop at a time; two buses may be out at once


def _clashes_with_tour(planned: list[PlannedStop]) -> list[RowError]:
    """Planned stops whose time overlaps a stop already planned (not cancelled) of the same bus: one query for the
    file's whole span, then compared in memory."""
    if not planned:
        return []
    lo = min(s.draft.starts_at for s in planned)
    hi = max(s.draft.ends_at for s in planned)
    names = dict(db.session.execute(sa.select(Bus.id, Bus.name)).all())
    existing: dict[str, list[Stop]] = {}
    for stop in db.session.scalars(sa.select(Stop).where(Stop.status != StopStatus.CANCELLED, Stop.starts_at < hi,
                                                        Stop.ends_at > lo).order_by(Stop.starts_at)):
        existing.setdefault(_bus_key(names[stop.bus_id]), []).append(stop)
    errs = []
    for key, stops in existing.items():
        starts = [s.starts_at for s in stops]
        longest = max(s.ends_at - s.starts_at for s in stops)
        for p in planned:
            if _bus_key(p.bus) != key:
                continue
            i = bisect.bisect_left(starts, p.draft.starts_at - longest)
            while i < len(stops) and stops[i].starts_at < p.draft.ends_at:
                other = stops[i]
                if other.ends_at > p.draft.starts_at:
                    errs.append(RowError(p.line, "arrival", _(
                        "The bus is at %(place)s (%(district)s) then, %(start)s to %(end)s.",
                        place=other.place.name, district=other.district.name,
                        start=format_time(other.starts_at, "HH:mm"), end=format_time(other.ends_at, "HH:mm")),
                        service.local_day(p.draft.starts_at)))
                    break
                i += 1
    return errs


def _check_all(planned: list[PlannedStop], now) -> list[RowError]:
    """The planning rules for every planned stop, against the tour already planned and against each other."""
    errs: list[RowError] = []
    by_bus: dict[str, list[PlannedStop]] = {}
    for stop in planned:
        by_bus.setdefault(_bus_key(stop.bus), []).append(stop)
    for stops in by_bus.values():
        stops.sort(key=lambda s: s.draft.starts_at)
        latest = None  # the stop seen so far that ends last
        for stop in stops:
            if latest is not None and stop.draft.starts_at < latest.draft.ends_at:
                errs.append(RowError(stop.line, "arrival", _("This stop overlaps the stop in line %(n)d.",
                                                             n=latest.line), service.local_day(stop.draft.starts_at)))
            if latest is None or stop.draft.ends_at > latest.draft.ends_at:
                latest = stop
    for stop in planned:
        d = stop.draft
        day = service.local_day(d.starts_at)
        if d.ends_at <= d.starts_at:
            errs.append(RowError(stop.line, "departure", _("The end must be after the start."), day))
            continue
        if d.ends_at - d.starts_at > timedelta(hours=service.MAX_STOP_HOURS):
            errs.append(RowError(stop.line, "departure", _("A stop can last at most %(n)d hours.",
                                                           n=service.MAX_STOP_HOURS), day))
        if d.starts_at < now:
            errs.append(RowError(stop.line, "start", _("This time is in the past. Please choose a later date."), day))
        shell = Stop(starts_at=d.starts_at, ends_at=d.ends_at)
        for w in stop.workshops:
            for name, messages in service.check_workshop(shell, w.draft).items():
                for m in messages:
                    errs.append(RowError(w.line, _WORKSHOP_COLUMN_OF.get(name, "workshop_start"), m, day))
            shell.workshops.append(Workshop(title=w.draft.title, starts_at=w.draft.starts_at,
                                            duration_minutes=w.draft.duration_minutes, parallel=w.draft.parallel,
                                            status=WorkshopStatus.DRAFT))
    errs.extend(_clashes_with_tour(planned))
    return sorted(errs, key=lambda e: (e.line, e.day or date.min))


def without_problems(reading: Reading, now: datetime | None = None) -> tuple[Reading, int] | None:
    """The same file with the stops that have a problem left out, for a coordinator who adds the rest on purpose
    (councils' published timetables often put one vehicle at two stops at once on some dates): the reading of the
    remaining stops (checked again, until none is left with a problem) and how many stops were left out. A problem
    about a date leaves out that line's stop on that date; a problem without a date, that line's every stop. None
    when nothing can be kept: a problem with the file itself (its columns, its size) or no stop left."""
    now = now or utcnow()
    if any(e.line < 2 for e in reading.errors) or reading.rows > MAX_ROWS or len(reading.stops) > MAX_STOPS:
        return None
    tz = service.tz()
    kept, errors, first = list(reading.stops), list(reading.errors), True
    while errors:
        whole = {e.line for e in errors if e.day is None}
        on_day = {(e.line, e.day) for e in errors if e.day is not None}

        def wrong(stop: PlannedStop) -> bool:
            day = stop.draft.starts_at.astimezone(tz).date()
            lines = {stop.line, *(w.line for w in stop.workshops)}
            return bool(lines & whole) or any((line, day) in on_day for line in lines)

        left = [s for s in kept if not wrong(s)]
        if len(left) == len(kept) and not first:
            return None  # a problem that names no stop of the file: nothing is left out blindly
        # A line that could not be read gave no stop: it is left out already. The rules that run once every row
        # is read (clashes, the past, workshops in their stop) are checked on what is left.
        kept, first = left, False
        errors = _check_all(kept, now) if kept else []
    if not kept:
        return None
    buses = {_bus_key(s.bus) for s in kept}
    districts = {s.district_name for s in kept if s.district_id is None}
    return (Reading(kept, [], reading.rows, reading.horizon, [d for d in reading.new_districts if d in districts],
                    [b for b in reading.new_buses if _bus_key(b) in buses], reading.origins, reading.quiet_lines,
                    reading.warnings), len(reading.stops) - len(kept))


def write(data: bytes, user: User | None, now: datetime | None = None) -> Reading:
    """Read the file and, when every row is right, write all its stops and workshops as drafts in one transaction.

    The file is read and checked before the planning lock is taken (that is the slow part); under the lock only
    the tour is compared again (one query) and the stops are written."""
    reading = read(data, now)
    if not reading.ok:
        return reading
    service._planning_lock()
    return _write_checked(reading, user)


def _write_checked(reading: Reading, user: User | None) -> Reading:
    # Checked again under the lock: another coordinator may have planned a stop since the preview.
    again = _clashes_with_tour(reading.stops)
    if again:
        db.session.rollback()
        return Reading(reading.stops, sorted(again, key=lambda e: (e.line, e.day or date.min)), reading.rows,
                       reading.horizon, reading.new_districts, reading.new_buses, reading.origins, reading.quiet_lines,
                       reading.warnings)
    _insert(reading, user)
    return reading


_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", "Ä": "ae", "Ö": "oe", "Ü": "ue"})


def slug_for(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9]+", "-", unicodedata.normalize("NFKD", name.translate(_UMLAUTS))
                  .encode("ascii", "ignore").decode().lower()).strip("-")[:70] or "stadtteil"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    taken.add(slug)
    return slug


def new_districts(names: list[str]) -> list[District]:
    """Districts added by a coordinator or an import: each the next free number and a unique slug."""
    numbers = set(db.session.scalars(sa.select(District.number)))
    slugs = set(db.session.scalars(sa.select(District.slug)))
    n = max((int(x) for x in numbers if x.isdigit()), default=0)
    made = []
    for name in names:
        n += 1
        while f"{n:02d}" in numbers:
            n += 1
        numbers.add(f"{n:02d}")
        made.append(District(number=f"{n:02d}", name=name, slug=slug_for(name, slugs)))
    db.session.add_all(made)
    db.session.flush()
    return made


def new_district(name: str) -> District:
    return new_districts([name])[0]


def _insert(reading: Reading, user: User | None) -> None:
    """Write a checked reading's districts, places, stops and workshops (as drafts) and commit; the caller holds
    the planning lock."""
    districts = {d.name.lower(): d.id for d in new_districts(reading.new_districts)}
    made_buses = [Bus(name=name) for name in reading.new_buses]
    db.session.add_all(made_buses)
    batch = ImportBatch(user_id=user.id if user else None, stops=len(reading.stops),
                        rows={str(line): values for line, values in reading.origins.items()})
    db.session.add(batch)
    db.session.flush()
    buses = {name.lower(): i for i, name in db.session.execute(sa.select(Bus.id, Bus.name))}
    # Places first (a few hundred, through the ORM), then stops and workshops as bulk inserts: thousands of stops
    # are written in a few statements, so the planning lock is held for a short time.
    new_places: dict[tuple, Place] = {}
    place_of: list[Place | int] = []
    for planned in reading.stops:
        district_id = planned.district_id or districts[planned.district_name.lower()]
        if planned.draft.place_id:
            place_of.append(planned.draft.place_id)
            continue
        key = (district_id, planned.place["name"].lower())
        place = new_places.get(key)
        if place is None:
            place = new_places[key] = Place(district_id=district_id, **planned.place)
            db.session.add(place)
        place_of.append(place)
    db.session.flush()
    # The stops of one line with a repeat rule are a series, as if repeated by hand (planning.series).
    now = utcnow()
    per_line = Counter(planned.line for planned in reading.stops)
    lines = sorted(line for line, n in per_line.items() if n > 1 and reading.origins.get(line, {}).get("frequency"))
    series: dict[int, int] = {}
    if lines:
        made = db.session.scalars(sa.insert(StopSeries).returning(StopSeries.id, sort_by_parameter_order=True),
                                  [{"rule": reading.origins[line]["frequency"][:300], "created_at": now} for line in lines])
        series = dict(zip(lines, made))
    rows = [{"district_id": planned.district_id or districts[planned.district_name.lower()],
             "place_id": place if isinstance(place, int) else place.id, "bus_id": buses[planned.bus.lower()],
             "starts_at": planned.draft.starts_at, "ends_at": planned.draft.ends_at, "status": StopStatus.DRAFT,
             "batch_id": batch.id, "batch_line": planned.line, "created_at": now, "updated_at": now,
             "series_id": series.get(planned.line)}
            for planned, place in zip(reading.stops, place_of)]
    for start in range(0, len(rows), 2000):
        db.session.execute(sa.insert(Stop), rows[start:start + 2000])
    if reading.workshop_count:
        ids = {(place_id, starts_at): i for i, place_id, starts_at in db.session.execute(
            sa.select(Stop.id, Stop.place_id, Stop.starts_at).where(Stop.batch_id == batch.id))}
        stop_ids = [ids[(row["place_id"], row["starts_at"])] for row in rows]
        workshops = [{"stop_id": stop_id, "title": x.title, "topic": x.topic, "language": x.language,
                      "audience": x.audience, "starts_at": x.starts_at, "duration_minutes": x.duration_minutes,
                      "capacity": x.capacity, "parallel": x.parallel, "level": x.level, "bring": x.bring,
                      "description": x.description, "accessibility_notes": x.accessibility_notes,
                      "walk_ins": x.walk_ins, "texts": x.texts or {}, "seats_taken": 0,
                      "status": WorkshopStatus.DRAFT, "created_at": now, "updated_at": now,
                      "series_key": key if planned.line in series else None}
                     for planned, stop_id in zip(reading.stops, stop_ids)
                     for key, x in enumerate((w.draft for w in planned.workshops), start=1)]
        for start in range(0, len(workshops), 2000):
            db.session.execute(sa.insert(Workshop), workshops[start:start + 2000])
    batch.created = {"districts": sorted(districts.values()), "buses": [b.id for b in made_buses],
                     "places": sorted(p.id for p in new_places.values())}
    audit("tour-import", None, user=db.session.get(User, user.id) if user else None, batch=batch.id,
          stops=len(reading.stops), workshops=reading.workshop_count, districts=reading.new_districts,
          buses=reading.new_buses)
    db.session.commit()


def stage(data: bytes, user: User) -> str:
    """Keep a checked file for its coordinator; returns the key the confirmation sends back. Files older than an
    hour are cleared on the way."""
    db.session.execute(sa.delete(TourUpload).where(TourUpload.created_at < utcnow() - UPLOAD_KEPT))
    token = secrets.token_urlsafe(32)
    db.session.add(TourUpload(token=token, user_id=user.id, data=data))
    db.session.commit()
    return token


def _kept(token: str, user: User):
    return ((TourUpload.token == token) & (TourUpload.user_id == user.id)
            & (TourUpload.created_at >= utcnow() - UPLOAD_KEPT))


def kept_file(token: str, user: User) -> bytes | None:
    """The kept file of this key for this coordinator, or None."""
    if not UPLOAD_KEY.fullmatch(token or ""):
        return None
    data = db.session.scalar(sa.select(TourUpload.data).where(_kept(token, user)))
    db.session.rollback()
    return data


def write_staged(token: str, user: User, leave_out: bool = False) -> Reading | None:
    """Add the kept file: None when it is gone (added already, another coordinator's, or older than an hour).
    With `leave_out` the stops that have a problem are left out and the rest is added (`without_problems`).

    The file is read and checked without the planning lock; under the lock it is taken (deleted) so that only one
    request adds it, the tour is compared again, and the stops are written."""
    if not UPLOAD_KEY.fullmatch(token or ""):
        return None  # not a key `stage` made (checked before any query: a NUL is an error on PostgreSQL)
    data = kept_file(token, user)
    if data is None:
        return None
    reading = read(data)
    if leave_out and reading.errors:
        rest = without_problems(reading)
        if rest is not None:
            reading, reading.left_out = rest
    if not reading.ok:
        return reading  # the file stays kept: the coordinator may change the tour and add it then
    service._planning_lock()
    taken = db.session.execute(sa.delete(TourUpload).where(_kept(token, user)).returning(TourUpload.token)).first()
    if taken is None:
        db.session.rollback()
        return None
    return _write_checked(reading, user)


def export(stops: list[Stop]) -> str:
    """The stops (one row per workshop, or one row for a stop without workshops) as CSV text."""
    out = io.StringIO()
    writer = csvexport.SafeWriter(out)
    language_columns = text_columns()
    writer.writerow(list(COLUMNS) + language_columns)
    tz = service.tz()
    organisation = current_app.config.get("SITE_NAME", "")
    bus_names = dict(db.session.execute(sa.select(Bus.id, Bus.name)).all())
    for stop in stops:
        start, end = stop.starts_at.astimezone(tz), stop.ends_at.astimezone(tz)
        place = stop.place
        base = [organisation, bus_names.get(stop.bus_id, ""), "", stop.district.name, place.name, place.address,
                place.postcode,
                place.lon, place.lat,
                WEEKDAYS[start.weekday()], f"{start:%H:%M}", f"{end:%H:%M}", "", start.date().isoformat(),
                start.date().isoformat(), ""]
        workshops = [w for w in stop.workshops if w.status != WorkshopStatus.CANCELLED]
        if not workshops:
            writer.writerow(base + [""] * (len(WORKSHOP_COLUMNS) + len(language_columns)))
        for w in workshops:
            writer.writerow(base + [w.title, w.topic, f"{w.starts_at.astimezone(tz):%H:%M}", w.duration_minutes,
                                    w.capacity, w.language, w.audience, "yes" if w.parallel else "", w.level,
                                    w.bring, "yes" if w.walk_ins else "no", w.description or "",
                                    w.accessibility_notes or ""]
                            + WORKSHOP_TEXTS.cells(w.texts, w.language))
    return out.getvalue()


def export_schema(stops: list[Stop]) -> str:
    """The tour in the mobile-library stop schema as its other users read it: exactly its columns in its order,
    comma-separated, UTF-8 without a byte order mark. Cancelled stops are left out. The stops an import made from
    one line with a repeat rule become one row again, with the rule, the first and last date and the dates left out
    (`exceptions`), and the file's own organisation, route, type and timetable; a stop moved to another time or
    place, and every stop planned by hand, is a row of its own. The bus is in `mobile`."""
    out = io.StringIO()
    writer = csvexport.SafeWriter(out, delimiter=",")
    writer.writerow(SCHEMA_COLUMNS)
    tz = service.tz()
    organisation = current_app.config.get("SITE_NAME", "")
    bus_names = dict(db.session.execute(sa.select(Bus.id, Bus.name)).all())
    batch_ids = {s.batch_id for s in stops if s.batch_id}
    origins = {b.id: b.rows or {} for b in db.session.scalars(
        sa.select(ImportBatch).where(ImportBatch.id.in_(batch_ids)))} if batch_ids else {}
    groups: dict[tuple, list[Stop]] = {}
    for stop in stops:
        if stop.status == StopStatus.CANCELLED:
            continue
        start, end = stop.starts_at.astimezone(tz), stop.ends_at.astimezone(tz)
        origin = origins.get(stop.batch_id, {}).get(str(stop.batch_line), {}) if stop.batch_id else {}
        series = (stop.batch_id, stop.batch_line) if origin.get("frequency") else ("stop", stop.id)
        key = series + (stop.place_id, stop.bus_id, start.time(), end.time())
        groups.setdefault(key, []).append(stop)
    rows = []
    for key, members in groups.items():
        members.sort(key=lambda s: s.starts_at)
        first, last = members[0], members[-1]
        origin = origins.get(first.batch_id, {}).get(str(first.batch_line), {}) if first.batch_id else {}
        rule, exceptions = "", ""
        day_first, day_last = first.starts_at.astimezone(tz).date(), last.starts_at.astimezone(tz).date()
        if key[0] != "stop":
            try:
                expected = recurrence.dates(recurrence.parse(origin["frequency"], day_first), day_first, day_last)
            except recurrence.RuleError:
                expected = None
            present = {m.starts_at.astimezone(tz).date() for m in members}
            if expected is not None and present <= set(expected) and "COUNT" not in origin["frequency"].upper():
                rule = origin["frequency"]
                exceptions = ";".join(d.isoformat() for d in expected if d not in present)
            else:  # the rule no longer describes these stops: one row each
                rows.extend((m.starts_at, _schema_row(m, None, origin, organisation, bus_names, tz, "", ""))
                            for m in members[1:])
                day_last = day_first
        rows.append((first.starts_at, _schema_row(first, day_last, origin, organisation, bus_names, tz, rule,
                                                  exceptions)))
    rows.sort(key=lambda r: r[0])
    writer.writerows(r for _, r in rows)
    return out.getvalue()


def _schema_row(stop: Stop, last: date | None, origin: dict, organisation: str, bus_names: dict, tz, rule: str,
                exceptions: str) -> list:
    start = stop.starts_at.astimezone(tz)
    end = stop.ends_at.astimezone(tz)
    place = stop.place
    return [origin.get("organisation", organisation), bus_names.get(stop.bus_id, ""), origin.get("route", ""),
            stop.district.name, place.name, place.address, place.postcode, place.lon, place.lat,
            WEEKDAYS[start.weekday()], origin.get("type", "Public"), f"{start:%H:%M}", f"{end:%H:%M}", rule,
            start.date().isoformat(), (last or start.date()).isoformat(), exceptions, origin.get("timetable", "")]
