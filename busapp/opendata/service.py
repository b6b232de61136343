"""The open data's rules: what is public, how each object reads as JSON, schema.org JSON-LD and NGSI-LD, how list
pages are cut and their cursors signed, and when a conditional request is answered without asking the database.

What is public
    Districts; stops that are published or cancelled (never drafts) with their place; their workshops that are not
    drafts. Nothing of a booking ever: no names, contacts, notes, codes or tokens, and no counts per person; only the
    seats taken as a number per workshop, which every stop page shows too.

One mapping
    `place_facts`, `stop_facts`, `workshop_facts` and `district_facts` turn model objects into plain facts. Every
    format (the JSON API, the JSON-LD in stop pages, the NGSI-LD entities, the CSV) is made from these facts, so they
    cannot disagree, and a change of the data model (a Place table, texts per language) changes these functions only.

Statuses
    A stop is "cancelled" when cancelled, "moved" when it was published and then got another time or place
    (Stop.moved_at), else "scheduled". A workshop is cancelled when it or its stop is; otherwise it has its stop's status.

Pages and cursors
    Lists are ordered by start and id and cut by keyset: the cursor names the last item of the page before, the
    filters it was made for, and is signed with the app's secret key, so a cursor that was changed or used with other
    filters is refused with a 400 instead of silently skipping or repeating items.

Conditional requests that cost no query
    Free seats and live status change at any moment and are written by other features through plain UPDATEs, so a
    version that tells whether anything changed would need a query (or a channel between processes that the app does
    not have: it keeps no state of its own). The public pages already accept a lag of PAGE_CACHE_SECONDS for the same
    facts. The API does the same: each process remembers, for each address, the ETag and Last-Modified of the answer
    it last made, for OPENDATA_FRESH_SECONDS (default 5). A request whose If-None-Match names that ETag within that
    time gets its 304 without a query; after it, the answer is made again and still answered 304 when its bytes are
    the same. The ETag is a hash of the answer's bytes, so it is the same in every process; Last-Modified is when this
    process first made those bytes for the address.
"""
from __future__ import annotations

import hashlib
import io
import json
import threading
import time
from http import HTTPStatus
from collections import OrderedDict
from dataclasses import dataclass, replace
from datetime import date, datetime, time as clock, timedelta, timezone
from email.utils import format_datetime
from typing import Any, Iterable

import sqlalchemy as sa
from flask import Response, current_app, g, request
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import joinedload, selectinload

from .. import csvexport
from ..content import own_language
from ..domain import links
from ..domain.tour import PUBLIC_STATUSES
from ..i18n import current_tag, local_time
from ..extensions import db
from ..models import District, Place, Stop, StopStatus, Workshop, WorkshopStatus
from ..schedule import display
from . import schemas

LOCALITY = "Lübeck"
COUNTRY = "DE"
DEFAULT_LIMIT = 20
MAX_LIMIT = 200
MAX_TEXT_PARAM = 80
TOUR_ID = "tour"
# The Smart Data Models' own contexts, so that Event and PointOfInterest and their attributes expand to
# https://smartdatamodels.org/... (TourismDestinations first: "category" is then PointOfInterest's, the one our
# places use), then the NGSI-LD core context, which is protected and comes last.
SDM_CONTEXTS = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.TourismDestinations/master/context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.PointOfInterest/master/context.jsonld",
)
NGSI_CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
NGSI_CONTEXT = [*SDM_CONTEXTS, NGSI_CORE_CONTEXT]
NGSI_PREFIX = "urn:ngsi-ld"
NGSI_TYPES = ("PointOfInterest", "Event")
NGSI_MAX_LIMIT = 1000


class ApiError(Exception):
    """A request the API cannot answer; becomes a problem-details JSON answer."""

    def __init__(self, status: int, detail: str, parameter: str | None = None):
        super().__init__(detail)
        self.status, self.detail, self.parameter = status, detail, parameter

    def facts(self) -> dict:
        # RFC 9457 4.2.1: with the type about:blank the title is the status code's own phrase, the same every time
        # (a program may show or compare it); what to change is in `detail`, in the language of Content-Language.
        return {"type": "about:blank", "title": status_phrase(self.status), "status": self.status,
                "detail": self.detail, "parameter": self.parameter}


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def bad(parameter: str | None, detail: str) -> ApiError:
    return ApiError(400, detail, parameter)


def not_found(detail: str) -> ApiError:
    return ApiError(404, detail)


# --------------------------------------------------------------------------------------------- addresses

def base_url() -> str:
    """The public address of the app (PUBLIC_BASE_URL, never the request's Host: busapp/domain/links.py)."""
    return links.base()


def link(endpoint: str, **values) -> str:
    return links.absolute_url(endpoint, **values)


# A stand-in id no object has: each address pattern is built once per request through url_for (so the routes stay
# the only place that spells them) and then filled in, since a page of stops needs hundreds of links.
_SLOT = 2**31 - 7


def id_link(endpoint: str, name: str, value: int) -> str:
    """link(endpoint, **{name: value}) for an integer id, with the pattern built once per request."""
    cache = g.setdefault("opendata_links", {})
    parts = cache.get(endpoint)
    if parts is None:
        head, _slot, tail = link(endpoint, **{name: _SLOT}).partition(str(_SLOT))
        parts = cache[endpoint] = (head, tail)
    return f"{parts[0]}{value}{parts[1]}"


# --------------------------------------------------------------------------------------------- the one mapping

# Texts people write, by the API's name for them: each object's own columns are in its own language (`language`),
# the other languages come in `translations`, {tag: {api name: text}}, from the row's `texts` (busapp/content.py).
TRANSLATED = {
    "Workshop": {"title": "title", "description": "description", "accessibility": "accessibility_notes"},
    "Stop": {"status_reason": "cancel_reason", "live_note": "live_note"},
    "Place": {"note": "finding_note"},
}


def translations(obj, shown: Iterable[str] | None = None) -> dict:
    """The object's texts in languages other than its own, under the API's names; only the fields in `shown` (the
    ones its own answer shows now), only non-empty texts, languages in a fixed order so the bytes stay the same."""
    names = TRANSLATED[type(obj).__name__]
    wanted = [n for n in names if shown is None or n in shown]
    own = own_language(obj)
    out: dict[str, dict] = {}
    for tag, texts in sorted((getattr(obj, "texts", None) or {}).items()):
        if tag == own or not isinstance(texts, dict) or not schemas.is_language(tag):
            continue
        entry = {n: texts[names[n]] for n in wanted if isinstance(texts.get(names[n]), str) and texts[names[n]]}
        if entry:
            out[tag] = entry
    return out


def place_facts(place: Place, district: District) -> dict:
    """Where a stop is: the one function to change when the place record changes (its district comes loaded)."""
    lines = [line.strip() for line in (place.transit_lines or "").split(",") if line.strip()]
    return {
        "id": str(place.id),
        "name": place.name,
        "street": place.address or None,
        "postcode": place.postcode or None,
        "locality": LOCALITY,
        "district": district.slug,
        "lat": place.lat,
        "lon": place.lon,
        "nearest_bus_stop": place.transit_stop or None,
        "bus_lines": lines,
        "step_free": place.step_free,
        "seats": place.seats,
        "toilet": place.toilet,
        "hearing_loop": place.hearing_loop,
        "note": place.finding_note or None,
        "language": own_language(place),
        "translations": translations(place),
    }


def stop_place(stop: Stop) -> dict:
    return place_facts(stop.place, stop.district)


def district_facts(district: District) -> dict:
    return {
        "id": district.slug,
        "number": district.number,
        "name": district.name,
        "lat": district.lat,
        "lon": district.lon,
        "url": link("schedule.district", slug=district.slug),
    }


def stop_status(stop: Stop) -> str:
    if stop.status == StopStatus.CANCELLED:
        return "cancelled"
    return "moved" if stop.is_moved else "scheduled"


def public_workshops(stop: Stop) -> list[Workshop]:
    return [w for w in stop.workshops if w.status != WorkshopStatus.DRAFT]


def workshop_facts(workshop: Workshop, now: datetime) -> dict:
    stop = workshop.stop
    cancelled = workshop.status == WorkshopStatus.CANCELLED or stop.is_cancelled
    over = workshop.ends_at <= now
    bookable = display.bookable(workshop, now)
    return {
        "id": str(workshop.id),
        "url": id_link("schedule.stop", "stop_id", stop.id) + f"#workshop-{workshop.id}-title",
        "booking_url": id_link("booking.new", "workshop_id", workshop.id) if bookable else None,
        "stop": str(stop.id),
        "place": str(stop.place_id),
        "district": stop.district.slug,
        "title": workshop.title,
        "description": workshop.description or "",
        "topic": workshop.topic,
        "audience": workshop.audience,
        "language": workshop.language,
        "level": workshop.level,
        "what_to_bring": workshop.bring or None,
        "walk_ins": workshop.walk_ins,
        "accessibility": workshop.accessibility_notes or None,
        "starts_at": local(workshop.starts_at),
        "ends_at": local(workshop.ends_at),
        "previous_starts_at": previous_start(stop, workshop.starts_at),
        "duration_minutes": workshop.duration_minutes,
        "status": "cancelled" if cancelled else stop_status(stop),
        "capacity": workshop.capacity,
        "seats_free": 0 if cancelled or over else workshop.seats_free,
        # Seats change through the workshop's row, so its last change is when this count was last true anew.
        "seats_observed_at": workshop.updated_at,
        "bookable": bookable,
        "translations": translations(workshop),
    }


def stop_facts(stop: Stop, now: datetime) -> dict:
    status = stop_status(stop)
    shown = ("status_reason",) if status == "cancelled" else ("live_note",)
    return {
        "id": str(stop.id),
        "url": id_link("schedule.stop", "stop_id", stop.id),
        "calendar_url": id_link("schedule.stop_ics", "stop_id", stop.id),
        "district": stop.district.slug,
        "place": stop_place(stop),
        "starts_at": local(stop.starts_at),
        "ends_at": local(stop.ends_at),
        "previous_starts_at": previous_start(stop, stop.starts_at),
        "status": status,
        "status_reason": (stop.cancel_reason or None) if status == "cancelled" else None,
        "live_status": display.live_state(stop, now).key,
        "live_note": (stop.live_note or None) if status != "cancelled" else None,
        "seats_free": 0 if status == "cancelled" or stop.is_over(now) else display.seats_free(stop),
        "workshops": [workshop_facts(w, now) for w in public_workshops(stop)],
        "updated_at": stop.updated_at.astimezone(timezone.utc),
        "language": own_language(stop),
        "translations": translations(stop, shown),
    }


def previous_start(stop: Stop, starts_at: datetime) -> datetime | None:
    """When something at a stop that was given another time was first announced to start: its workshops moved with
    it, so each keeps its distance from the stop's start. None when the stop still has its announced time."""
    if stop.announced_starts_at is None or stop.announced_starts_at == stop.starts_at or stop.is_cancelled:
        return None
    return local(starts_at - (stop.starts_at - stop.announced_starts_at))


def local(value: datetime) -> datetime:
    """Times go out in the city's time with their offset, as people there read them."""
    return local_time(value)


# --------------------------------------------------------------------------------------------- queries

def _with_details(query: sa.Select) -> sa.Select:
    return query.options(
        joinedload(Stop.district),
        selectinload(Stop.workshops.and_(Workshop.status != WorkshopStatus.DRAFT)),
    )


def public_stop(stop_id: int) -> Stop | None:
    if not 0 < stop_id <= 2**31 - 1:
        return None
    query = sa.select(Stop).where(Stop.id == stop_id, Stop.status.in_(PUBLIC_STATUSES))
    return db.session.scalars(_with_details(query)).unique().one_or_none()


def public_workshop(workshop_id: int) -> Workshop | None:
    if not 0 < workshop_id <= 2**31 - 1:
        return None
    query = (
        sa.select(Workshop).join(Workshop.stop)
        .where(Workshop.id == workshop_id, Workshop.status != WorkshopStatus.DRAFT, Stop.status.in_(PUBLIC_STATUSES))
        .options(joinedload(Workshop.stop).joinedload(Stop.district))
    )
    return db.session.scalar(query)


def all_districts() -> list[District]:
    return list(db.session.scalars(sa.select(District).order_by(District.number)))


def district_ids() -> list[str]:
    """The ids a `district` filter accepts, in the districts' order."""
    return list(db.session.scalars(sa.select(District.slug).order_by(District.number)))


# --------------------------------------------------------------------------------------------- filters

@dataclass(frozen=True)
class Filters:
    """The checked query of a list: every value is known to be valid."""

    district: District | None = None
    since: datetime | None = None
    until: datetime | None = None
    topic: str | None = None
    language: str | None = None
    free_seats: bool = False
    limit: int = DEFAULT_LIMIT
    after: tuple[datetime, int] | None = None

    def canonical(self) -> dict:
        """The filters as plain values: what a cursor is bound to and what goes into the next link."""
        out: dict[str, str] = {}
        if self.district is not None:
            out["district"] = self.district.slug
        if self.since is not None:
            out["from"] = self.since.isoformat()
        if self.until is not None:
            out["to"] = self.until.isoformat()
        if self.topic:
            out["topic"] = self.topic
        if self.language:
            out["language"] = self.language
        if self.free_seats:
            out["free_seats"] = "true"
        out["limit"] = str(self.limit)
        return out


LIST_PARAMS = ("district", "from", "to", "topic", "language", "free_seats", "limit", "cursor")
# A download is the whole selection in one file: the same filters, no pages.
DOWNLOAD_PARAMS = ("district", "from", "to", "topic", "language", "free_seats")


def start_of_today(now: datetime) -> datetime:
    """Midnight of today in the city, as UTC: where lists and downloads begin when no `from` is given."""
    today = local_time(now).date()
    return datetime.combine(today, clock(0), tzinfo=local_time(now).tzinfo).astimezone(timezone.utc)


def parse_filters(args, now: datetime, known: tuple[str, ...] = LIST_PARAMS) -> Filters:
    """Check a list's query string; an ApiError (400) names the first parameter that is not right.

    Without `from` and `to`, a list starts today (the whole day in the city), so it shows the current tour and not
    years of stops that are over; `from` reaches back as far as one likes, and `to` alone means all before it."""
    unknown = sorted(set(args) - set(known))
    if unknown:
        raise bad(unknown[0], _("Unknown parameter %(name)s. Known parameters: %(known)s.",
                                name=unknown[0][:MAX_TEXT_PARAM], known=", ".join(known)))
    for name in args:
        if len(args.getlist(name)) > 1:
            raise bad(name, _("Give %(name)s only once.", name=name))
    values: dict[str, Any] = {}
    for name in ("topic", "language"):
        raw = args.get(name)
        if raw is not None:
            if not raw or len(raw) > MAX_TEXT_PARAM or not raw.replace("_", "").replace("-", "").isalnum() \
                    or not raw.isascii():
                raise bad(name, _("%(name)s must be a short key of letters, digits and _ (like smartphone_basics).",
                                  name=name))
            values[name] = raw
    values["since"] = _when(args, "from", start=True)
    values["until"] = _when(args, "to", start=False)
    if values["since"] is None and values["until"] is None:
        values["since"] = start_of_today(now)
    if values["since"] and values["until"] and values["since"] >= values["until"]:
        raise bad("from", _("from must be before to."))
    raw = args.get("free_seats")
    if raw is not None:
        if raw not in ("true", "false"):
            raise bad("free_seats", _("free_seats must be true or false."))
        values["free_seats"] = raw == "true"
    raw = args.get("limit")
    if raw is not None:
        if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise bad("limit", _("limit must be a whole number from 1 to %(max)d.", max=MAX_LIMIT))
        values["limit"] = int(raw)
    raw = args.get("district")
    if raw is not None:
        district = _district(raw)
        if district is None:
            raise bad("district", _("Unknown district. The districts are listed at /api/v1/districts."))
        values["district"] = district
    filters = Filters(**values)
    raw = args.get("cursor")
    if raw is not None:
        filters = Filters(**{**values, "after": read_cursor(raw, filters)})
    return filters


def _district(raw: str) -> District | None:
    if not raw or len(raw) > MAX_TEXT_PARAM or not raw.replace("-", "").isalnum() or not raw.isascii():
        return None
    return db.session.scalar(sa.select(District).where(District.slug == raw.lower()).limit(1))


def _when(args, name: str, start: bool) -> datetime | None:
    """A date (the whole day in the city) or a date and time with offset (a time without one is the city's)."""
    raw = args.get(name)
    if raw is None:
        return None
    message = _("%(name)s must be a date (2026-05-04) or a date and time (2026-05-04T10:00:00+02:00).", name=name)
    if not raw or len(raw) > 40 or not raw.isascii():
        raise bad(name, message)
    try:
        if len(raw) == 10:
            value = datetime.combine(date.fromisoformat(raw), clock(0))
            end_of_day = not start
        else:
            value = datetime.fromisoformat(raw[:-1] + "+00:00" if raw[-1:] in "Zz" else raw)
            end_of_day = False
    except ValueError:
        raise bad(name, message) from None
    # Every date from year 1 to 9999 is a fine bound, but the tour lies well inside these two: a bound beyond them
    # means the same as the bound itself, and stays clear of the ends of datetime's range.
    if value.replace(tzinfo=None) < EARLIEST.replace(tzinfo=None):
        return EARLIEST
    if value.replace(tzinfo=None) >= LATEST.replace(tzinfo=None):
        return LATEST
    if value.tzinfo is None:
        value = value.replace(tzinfo=local_time(EARLIEST).tzinfo)
    if end_of_day:
        value += timedelta(days=1)
    return value.astimezone(timezone.utc)


EARLIEST = datetime(1900, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(9000, 1, 1, tzinfo=timezone.utc)


# --------------------------------------------------------------------------------------------- cursors

def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="busapp.opendata.cursor.v1")


def make_cursor(filters: Filters, starts_at: datetime, item_id: int) -> str:
    return _signer().dumps({"f": filters.canonical(), "k": [starts_at.astimezone(timezone.utc).isoformat(), item_id]})


def read_cursor(raw: str, filters: Filters) -> tuple[datetime, int]:
    """The position a cursor names; a 400 when it was changed, made by someone else, or made for other filters."""
    message = _("This cursor is not valid. Start again from the first page.")
    if len(raw) > 1000:
        raise bad("cursor", message)
    try:
        data = _signer().loads(raw)
        when, item_id = data["k"]
        after = (datetime.fromisoformat(when), int(item_id))
    except (BadSignature, KeyError, TypeError, ValueError):
        raise bad("cursor", message) from None
    if data.get("f") != filters.canonical():
        raise bad("cursor", _("This cursor belongs to other filters. Keep the filters, or start again."))
    return after


# --------------------------------------------------------------------------------------------- lists

def _stop_conditions(query: sa.Select, f: Filters, now: datetime) -> sa.Select:
    query = query.where(Stop.status.in_(PUBLIC_STATUSES))
    if f.district is not None:
        query = query.where(Stop.district_id == f.district.id)
    if f.since is not None:
        query = query.where(Stop.ends_at > f.since)
    if f.until is not None:
        query = query.where(Stop.starts_at < f.until)
    return query


def _workshop_match(f: Filters, now: datetime) -> list:
    conditions = [Workshop.status != WorkshopStatus.DRAFT]
    if f.topic:
        conditions.append(Workshop.topic == f.topic)
    if f.language:
        conditions.append(Workshop.language == f.language)
    if f.free_seats:
        conditions += [Workshop.status == WorkshopStatus.PUBLISHED, Workshop.seats_taken < Workshop.capacity,
                       Workshop.starts_at > now, Stop.status == StopStatus.PUBLISHED]
    return conditions


def stop_page(f: Filters, now: datetime) -> dict:
    """A page of stops with their workshops, soonest first, as JSON-ready facts with the next page's link."""
    query = _stop_conditions(sa.select(Stop), f, now)
    if f.topic or f.language or f.free_seats:
        query = query.where(sa.exists().where(Workshop.stop_id == Stop.id, *_workshop_match(f, now)))
    if f.after is not None:
        when, last_id = f.after
        query = query.where(sa.or_(Stop.starts_at > when, sa.and_(Stop.starts_at == when, Stop.id > last_id)))
    query = query.order_by(Stop.starts_at, Stop.id).limit(f.limit + 1)
    stops = list(db.session.scalars(_with_details(query)).unique())
    return _page([stop_facts(s, now) for s in stops[:f.limit]], stops, f, "opendata.stops")


def workshop_page(f: Filters, now: datetime) -> dict:
    query = _stop_conditions(sa.select(Workshop).join(Workshop.stop), f, now).where(*_workshop_match(f, now))
    if f.after is not None:
        when, last_id = f.after
        query = query.where(sa.or_(Workshop.starts_at > when,
                                   sa.and_(Workshop.starts_at == when, Workshop.id > last_id)))
    query = (query.order_by(Workshop.starts_at, Workshop.id).limit(f.limit + 1)
             .options(joinedload(Workshop.stop).joinedload(Stop.district)))
    workshops = list(db.session.scalars(query))
    return _page([workshop_facts(w, now) for w in workshops[:f.limit]], workshops, f, "opendata.workshops")


def _page(items: list[dict], rows: list, f: Filters, endpoint: str) -> dict:
    args = f.canonical()
    if f.after is not None:
        args["cursor"] = make_cursor(f, *f.after)
    next_link = None
    if len(rows) > f.limit:
        last = rows[f.limit - 1]
        next_link = link(endpoint, **f.canonical(), cursor=make_cursor(f, last.starts_at, last.id))
    return {"items": items, "links": {"self": link(endpoint, **args), "next": next_link}}


def public_places() -> sa.Select:
    """Places where a public stop is or was."""
    used = sa.select(Stop.place_id).where(Stop.status.in_(PUBLIC_STATUSES))
    return (sa.select(Place).where(Place.id.in_(used)).order_by(Place.district_id, Place.name, Place.id)
            .options(joinedload(Place.district)))


def places(now: datetime, offset: int = 0, limit: int | None = None) -> list[dict]:
    """The places of public stops, in order of district and name."""
    query = public_places().offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [place_facts(p, p.district) for p in db.session.scalars(query)]


def public_place(place_id: int) -> Place | None:
    if not 0 < place_id <= 2**31 - 1:
        return None
    return db.session.scalar(public_places().where(Place.id == place_id))


CSV_COLUMNS = [
    # New columns go before "url", which stays last; texts in other languages are in the JSON's "translations".
    "stop_id", "stop_status", "status_reason", "district", "place", "street", "lat", "lon", "stop_starts_at",
    "stop_ends_at", "workshop_id", "title", "topic", "audience", "language", "workshop_starts_at", "workshop_ends_at",
    "workshop_status", "capacity", "seats_free", "level", "what_to_bring", "walk_ins", "accessibility", "url",
]
# Stops read per query while a download is written: memory stays flat however long the tour.
DOWNLOAD_BATCH = 200


def _csv_rows(s: dict) -> Iterable[list]:
    p = s["place"]
    head = [s["id"], s["status"], s["status_reason"] or "", s["district"], p["name"], p["street"] or "",
            p["lat"], p["lon"], s["starts_at"].isoformat(), s["ends_at"].isoformat()]
    for w in s["workshops"] or [None]:
        tail = ([w["id"], w["title"], w["topic"], w["audience"], w["language"], w["starts_at"].isoformat(),
                 w["ends_at"].isoformat(), w["status"], w["capacity"], w["seats_free"], w["level"],
                 w["what_to_bring"], "yes" if w["walk_ins"] else "no", w["accessibility"]] if w else [""] * 14)
        yield head + tail + [s["url"]]


def all_stops(f: Filters, now: datetime) -> Iterable[dict]:
    """Every stop the filters select, soonest first, read a batch at a time by keyset (no page limit)."""
    batch = replace(f, limit=DOWNLOAD_BATCH, after=None)
    while True:
        query = _stop_conditions(sa.select(Stop), batch, now)
        if f.topic or f.language or f.free_seats:
            query = query.where(sa.exists().where(Workshop.stop_id == Stop.id, *_workshop_match(f, now)))
        if batch.after is not None:
            when, last_id = batch.after
            query = query.where(sa.or_(Stop.starts_at > when, sa.and_(Stop.starts_at == when, Stop.id > last_id)))
        query = query.order_by(Stop.starts_at, Stop.id).limit(DOWNLOAD_BATCH)
        stops = list(db.session.scalars(_with_details(query)).unique())
        for stop in stops:
            yield stop_facts(stop, now)
        if len(stops) < DOWNLOAD_BATCH:
            return
        batch = replace(batch, after=(stops[-1].starts_at, stops[-1].id))


def stops_csv(f: Filters, now: datetime) -> Iterable[str]:
    """The stops the filters select as CSV, one row per workshop (a stop without workshops gets one row of its own),
    written piece by piece as the batches are read."""
    out = io.StringIO()
    writer = csvexport.SafeWriter(out, delimiter=",")
    writer.writerow(CSV_COLUMNS)
    for stop in all_stops(f, now):
        writer.writerows(_csv_rows(stop))
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def download_version(f: Filters, now: datetime) -> tuple[str, datetime]:
    """A weak ETag and Last-Modified for a download, from one statement that reads the latest change of any stop,
    workshop and place and how many stops the filters select, without writing the file.

    Seats shown as free become 0 when a workshop ends, without any row changing; workshops last hours, so the ones
    that started within the last day and have ended by now are counted in too."""
    selected = _stop_conditions(sa.select(sa.func.count()).select_from(Stop), f, now)
    if f.topic or f.language or f.free_seats:
        selected = selected.where(sa.exists().where(Workshop.stop_id == Stop.id, *_workshop_match(f, now)))
    row = db.session.execute(sa.select(
        sa.select(sa.func.max(Stop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Workshop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Place.updated_at)).scalar_subquery(),
        selected.scalar_subquery(),
    )).one()
    recent = db.session.execute(
        sa.select(Workshop.starts_at, Workshop.duration_minutes)
        .where(Workshop.starts_at > now - timedelta(days=1), Workshop.starts_at <= now)
    ).all()
    ended = sum(1 for start, minutes in recent if start + timedelta(minutes=minutes) <= now)
    parts = ("csv", 1, base_url(), sorted(f.canonical().items()), *row, ended)
    etag = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    changed = [c for c in row[:3] if c is not None] + [start_of_today(now)]
    return etag, max(changed).astimezone(timezone.utc).replace(microsecond=0)


# --------------------------------------------------------------------------------------------- schema.org JSON-LD

def tour_facts() -> dict:
    return {"id": link("schedule.index") + "#tour", "name": current_app.config["SITE_NAME"],
            "url": link("schedule.index")}


def schema_place(p: dict) -> dict:
    address = {"@type": "PostalAddress", "streetAddress": p["street"], "postalCode": p["postcode"],
               "addressLocality": p["locality"], "addressRegion": current_app.config["OPENDATA_REGION"],
               "addressCountry": COUNTRY}
    place: dict = {
        "@type": "Place",
        "@id": f"{base_url()}/api/v1/places#{p['id']}",
        "name": p["name"],
        # What is not known is left out, not given as null.
        "address": {k: v for k, v in address.items() if v},
    }
    if p["lat"] is not None and p["lon"] is not None:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": p["lat"], "longitude": p["lon"]}
    return place


def schema_status(item: dict) -> dict:
    """eventStatus, with previousStartDate for a new time; a stop that only changed place keeps EventScheduled
    (schema.org's EventRescheduled means a new date), at the place it names now."""
    if item["status"] == "cancelled":
        return {"eventStatus": "https://schema.org/EventCancelled"}
    if item["previous_starts_at"] is not None:
        return {"eventStatus": "https://schema.org/EventRescheduled",
                "previousStartDate": item["previous_starts_at"].isoformat()}
    return {"eventStatus": "https://schema.org/EventScheduled"}


def schema_offer(w: dict, over: bool) -> dict:
    """A free seat; its availability only while it can still be taken: a cancelled or past workshop is not sold out,
    it is not on offer, so it says nothing about availability and when the offer ended."""
    offer = {"@type": "Offer", "price": 0, "priceCurrency": "EUR", "url": w["booking_url"] or w["url"]}
    if w["status"] == "cancelled" or over:
        offer["availabilityEnds"] = w["starts_at"].isoformat()
    else:
        offer["availability"] = "https://schema.org/" + ("InStock" if w["seats_free"] else "SoldOut")
    return offer


def schema_events(stop: dict, now: datetime) -> list[dict]:
    """The stop's workshops as schema.org Events (the stop itself when it has none), each part of the tour."""
    tour = tour_facts()
    super_event = {"@type": "EventSeries", "@id": tour["id"], "name": tour["name"], "url": tour["url"]}
    place = schema_place(stop["place"])
    events = []
    for w in stop["workshops"]:
        event = {
            "@context": "https://schema.org",
            # An EducationEvent, so that the level has its schema.org property (educationalLevel).
            "@type": "EducationEvent",
            "@id": w["url"],
            "identifier": w["id"],
            "name": w["title"],
            "description": w["description"],
            "url": w["url"],
            "startDate": w["starts_at"].isoformat(),
            "endDate": w["ends_at"].isoformat(),
            **schema_status(w),
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
            "location": place,
            "inLanguage": w["language"],
            "isAccessibleForFree": True,
            "maximumAttendeeCapacity": w["capacity"],
            "remainingAttendeeCapacity": w["seats_free"],
            "offers": schema_offer(w, w["ends_at"] <= now),
            "audience": {"@type": "Audience", "audienceType": w["audience"]},
            "about": w["topic"],
            "educationalLevel": w["level"],
            "superEvent": super_event,
            "organizer": {"@type": "Organization", "name": tour["name"], "url": tour["url"]},
        }
        events.append(event)
    if not events:
        events.append({
            "@context": "https://schema.org",
            "@type": "Event",
            "@id": stop["url"],
            "identifier": stop["id"],
            "name": tour["name"],
            "url": stop["url"],
            "startDate": stop["starts_at"].isoformat(),
            "endDate": stop["ends_at"].isoformat(),
            **schema_status(stop),
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
            "location": place,
            "isAccessibleForFree": True,
            "superEvent": super_event,
            "organizer": {"@type": "Organization", "name": tour["name"], "url": tour["url"]},
        })
    return events


def stop_jsonld(stop: Stop, now: datetime) -> str:
    """The JSON-LD for a stop page, safe inside a script element (no "<", so no "</script>" can end it early)."""
    text = json.dumps(schema_events(stop_facts(stop, now), now), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


# --------------------------------------------------------------------------------------------- NGSI-LD

def ngsi_id(kind: str, key: str) -> str:
    return f"{NGSI_PREFIX}:{kind}:digitalbus:{key}"


def _prop(value: Any, observed: datetime | None = None) -> dict:
    if isinstance(value, datetime):
        prop = {"type": "Property", "value": {"@type": "DateTime", "@value": value.isoformat()}}
    else:
        prop = {"type": "Property", "value": value}
    if observed is not None:
        # When the value was seen so (NGSI-LD observedAt, UTC): free seats and live status change by the minute.
        prop["observedAt"] = observed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return prop


def _rel(target: str | list[str]) -> dict:
    return {"type": "Relationship", "object": target}


def _point(lat: float | None, lon: float | None) -> dict | None:
    if lat is None or lon is None:
        return None
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def _languages(own: str, text: str | None, translated: dict, name: str) -> dict | None:
    """A text in every language it has, as an NGSI-LD LanguageProperty; None when there is none."""
    texts = {own: text} if text else {}
    texts.update({tag: t[name] for tag, t in translated.items() if t.get(name)})
    return {"type": "LanguageProperty", "languageMap": texts} if texts else None


def _entity(kind: str, key: str, attrs: dict) -> dict:
    entity = {"id": ngsi_id(kind, key), "type": kind}
    # NGSI-LD has no empty attributes: a value that is not known is left out.
    entity.update({k: v for k, v in attrs.items()
                   if v is not None and v.get("value", v.get("object", v.get("languageMap"))) is not None})
    entity["@context"] = NGSI_CONTEXT
    return entity


def key_values(entity: dict) -> dict:
    """The entity in NGSI-LD's simplified form (options=keyValues): each attribute as its bare value, a date as its
    text, a relationship as its target, a text in several languages as its language map."""
    out = {}
    for name, attr in entity.items():
        if not isinstance(attr, dict) or "type" not in attr or name in ("id", "type"):
            out[name] = attr
        elif attr["type"] == "Relationship":
            out[name] = attr["object"]
        elif attr["type"] == "LanguageProperty":
            out[name] = attr["languageMap"]
        else:
            value = attr["value"]
            out[name] = value["@value"] if isinstance(value, dict) and "@value" in value else value
    return out


# Our words onto the Smart Data Models' lists (dataModel.TourismDestinations/Event): a stop given another time or
# place is "rescheduled"; who a workshop is for, in their audience list (our own key stays in audienceGroup).
SDM_EVENT_STATUS = {"scheduled": "scheduled", "moved": "rescheduled", "cancelled": "cancelled"}
SDM_AUDIENCE = {"everyone": "allPublic", "seniors": "senior", "families": "family", "newcomers": "adult",
                "youth": "teenager"}


def ngsi_place(p: dict) -> dict:
    """A place as a Smart Data Models PointOfInterest."""
    return _entity("PointOfInterest", p["id"], {
        "name": _prop(p["name"]),
        "description": _prop(p["note"]),
        "category": _prop(["digital-workshop-bus-stop"]),
        "address": _prop({k: v for k, v in {
            "streetAddress": p["street"], "postalCode": p["postcode"], "addressLocality": p["locality"],
            "addressRegion": current_app.config["OPENDATA_REGION"], "addressCountry": COUNTRY,
            "district": p["district"],
        }.items() if v is not None}),
        "location": _point(p["lat"], p["lon"]),
        "nearestBusStop": _prop(p["nearest_bus_stop"]),
        "busLines": _prop(p["bus_lines"] or None),
        "stepFree": _prop(p["step_free"]),
        "seats": _prop(p["seats"]),
        "toilet": _prop(p["toilet"]),
        "hearingLoop": _prop(p["hearing_loop"]),
        "descriptionByLanguage": _languages(p["language"], p["note"], p["translations"], "note"),
    })


def ngsi_tour() -> dict:
    tour = tour_facts()
    return _entity("Event", TOUR_ID, {
        "name": _prop(tour["name"]),
        "description": _prop("Tour of the digital workshop bus through the districts"),
        "url": _prop(tour["url"]),
        "thematic": _prop(["tour"]),
        "isAccessibleForFree": _prop(True),
    })


def ngsi_workshop(w: dict, stop: dict) -> dict:
    """A workshop as a Smart Data Models Event (dataModel.TourismDestinations), at its place, part of the tour."""
    p = stop["place"]
    return _entity("Event", f"workshop-{w['id']}", {
        "name": _prop(w["title"]),
        "title": _prop(w["title"]),
        "description": _prop(w["description"] or None),
        "url": _prop(w["url"]),
        "startDate": _prop(w["starts_at"]),
        "endDate": _prop(w["ends_at"]),
        "previousStartDate": _prop(w["previous_starts_at"]),
        "eventStatus": _prop([SDM_EVENT_STATUS[w["status"]]]),
        "statusReason": _prop(stop["status_reason"]),
        "liveStatus": _prop(stop["live_status"], stop["live_observed_at"]),
        "thematic": _prop([w["topic"]]),
        "audience": _prop([SDM_AUDIENCE.get(w["audience"], "allPublic")]),
        "audienceGroup": _prop(w["audience"]),
        "language": _prop([w["language"]]),
        "maximumAttendeeCapacity": _prop(w["capacity"]),
        "remainingAttendeeCapacity": _prop(w["seats_free"], w["seats_observed_at"]),
        "isAccessibleForFree": _prop(True),
        "accessibility": _prop(w["accessibility"]),
        "level": _prop(w["level"]),
        "whatToBring": _prop(w["what_to_bring"]),
        "walkIns": _prop(w["walk_ins"]),
        "nameByLanguage": _languages(w["language"], w["title"], w["translations"], "title"),
        "descriptionByLanguage": _languages(w["language"], w["description"], w["translations"], "description"),
        "accessibilityByLanguage": _languages(w["language"], w["accessibility"], w["translations"],
                                              "accessibility"),
        "stop": _prop(w["stop"]),
        "location": _point(p["lat"], p["lon"]),
        "refPointOfInterest": _rel([ngsi_id("PointOfInterest", p["id"])]),
        "superEvent": _rel(ngsi_id("Event", TOUR_ID)),
    })


def ngsi_entities(kind: str, offset: int, limit: int, now: datetime) -> list[dict]:
    """One slice of the entities of a type, in a fixed order (the tour first among the events)."""
    if kind == "PointOfInterest":
        return [ngsi_place(p) for p in places(now, offset, limit)]
    entities = [ngsi_tour()] if offset == 0 else []
    start = max(offset - 1, 0)
    count = limit - len(entities)
    if count <= 0:
        return entities
    query = (
        sa.select(Workshop).join(Workshop.stop)
        .where(Workshop.status != WorkshopStatus.DRAFT, Stop.status.in_(PUBLIC_STATUSES))
        .order_by(Workshop.id).offset(start).limit(count)
        .options(joinedload(Workshop.stop).joinedload(Stop.district))
    )
    for w in db.session.scalars(query):
        entities.append(ngsi_workshop(workshop_facts(w, now), _stop_head(w.stop, now)))
    return entities


def ngsi_count(kind: str) -> int:
    """How many entities of a type there are (the tour counts among the events)."""
    if kind == "PointOfInterest":
        return db.session.scalar(sa.select(sa.func.count()).select_from(public_places().subquery()))
    return 1 + db.session.scalar(
        sa.select(sa.func.count()).select_from(Workshop).join(Workshop.stop)
        .where(Workshop.status != WorkshopStatus.DRAFT, Stop.status.in_(PUBLIC_STATUSES)))


def ngsi_page(kinds: list[str], offset: int, limit: int, now: datetime) -> tuple[list[dict], int]:
    """A slice of the entities of the given types, one type after the other, and how many there are in all."""
    counts = [(kind, ngsi_count(kind)) for kind in kinds]
    out: list[dict] = []
    for kind, count in counts:
        if offset >= count:
            offset -= count
            continue
        take = min(limit - len(out), count - offset)
        if take <= 0:
            break
        out += ngsi_entities(kind, offset, take, now)
        offset = 0
    return out, sum(count for _kind, count in counts)


def _stop_head(stop: Stop, now: datetime) -> dict:
    """The stop facts an entity of one workshop needs, without loading the stop's other workshops."""
    status = stop_status(stop)
    return {
        "place": stop_place(stop),
        "status_reason": (stop.cancel_reason or None) if status == "cancelled" else None,
        "live_status": display.live_state(stop, now).key,
        "live_observed_at": stop.live_updated_at or stop.updated_at,
    }


def ngsi_entity(entity_id: str, now: datetime) -> dict | None:
    prefix = f"{NGSI_PREFIX}:"
    if not entity_id.startswith(prefix):
        return None
    kind, _sep, rest = entity_id[len(prefix):].partition(":digitalbus:")
    if kind == "Event" and rest == TOUR_ID:
        return ngsi_tour()
    if kind == "Event" and rest.startswith("workshop-") and rest[9:].isdigit() and rest[9:].isascii():
        workshop = public_workshop(int(rest[9:]))
        return ngsi_workshop(workshop_facts(workshop, now), _stop_head(workshop.stop, now)) if workshop else None
    if kind == "PointOfInterest" and rest.isascii() and rest.isdigit() and len(rest) <= 10:
        place = public_place(int(rest))
        return ngsi_place(place_facts(place, place.district)) if place else None
    return None


def all_ngsi_entities(now: datetime) -> Iterable[dict]:
    """Every entity, for a push to a context broker: places first, so that relationships point at something."""
    yield from (ngsi_place(p) for p in places(now))  # one row per place, so a list is small
    offset = 0
    while True:
        batch = ngsi_entities("Event", offset, 500, now)
        yield from batch
        if len(batch) < 500:
            return
        offset += 500


# --------------------------------------------------------------------------------------------- conditional answers

@dataclass(frozen=True)
class Seen:
    etag: str
    last_modified: datetime
    until: float


class Validators:
    """Per process: the ETag and Last-Modified of the last answer for each address, kept a few seconds."""

    MAX = 2048

    def __init__(self) -> None:
        self._seen: OrderedDict[str, Seen] = OrderedDict()
        self._lock = threading.Lock()

    def fresh(self, key: str) -> Seen | None:
        with self._lock:
            seen = self._seen.get(key)
            return seen if seen is not None and seen.until > time.monotonic() else None

    def record(self, key: str, etag: str, seconds: int) -> Seen:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with self._lock:
            old = self._seen.pop(key, None)
            if old is not None and old.etag == etag:
                last_modified = old.last_modified
            else:
                # Never the same second as the answer before it, so If-Modified-Since cannot mistake the two.
                last_modified = max(now, old.last_modified + timedelta(seconds=1)) if old else now
            seen = Seen(etag, last_modified, time.monotonic() + seconds)
            self._seen[key] = seen
            while len(self._seen) > self.MAX:
                self._seen.popitem(last=False)
            return seen

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


def _key() -> str:
    # NGSI-LD answers differ by Accept (the @context in the body or in a Link header).
    return "\x1f".join([request.host, request.path, request.query_string.decode("latin-1"),
                        request.headers.get("Accept-Language", ""), request.headers.get("Accept", "")])


def validators() -> Validators:
    return current_app.extensions["opendata.validators"]


def fresh_not_modified() -> Response | None:
    """A 304 from what this process remembers, without a query; None when the request must be answered in full."""
    seconds = current_app.config["OPENDATA_FRESH_SECONDS"]
    if seconds <= 0 or not request.if_none_match:
        return None
    seen = validators().fresh(_key())
    if seen is None or not request.if_none_match.contains_weak(seen.etag):
        return None
    return not_modified(seen.etag, seen.last_modified)


def unchanged(etag: str, last_modified: datetime) -> bool:
    """Whether the client has this answer already (RFC 9110 13.2.2): If-None-Match decides when it is sent, compared
    weakly (13.1.2: a proxy that compresses an answer marks its ETag weak, W/"..."); If-Modified-Since only without."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and last_modified <= since


def validate(response: Response, etag: str, last_modified: datetime, weak: bool = False) -> Response:
    """Put the validators and the cache rule on an answer."""
    response.set_etag(etag, weak=weak)
    response.headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    response.headers["Cache-Control"] = cache_control()
    return response


def not_modified(etag: str, last_modified: datetime, weak: bool = False) -> Response:
    return validate(Response(status=304), etag, last_modified, weak)


def cache_control() -> str:
    return "public, no-cache"


def answer(body: Any, mimetype: str = "application/json") -> Response:
    """The full answer with ETag and Last-Modified, or a 304 when the client already has these bytes."""
    if isinstance(body, str):
        data = body.encode()
    else:
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()
    etag = hashlib.sha256(data).hexdigest()[:32]
    seen = validators().record(_key(), etag, current_app.config["OPENDATA_FRESH_SECONDS"])
    if unchanged(etag, seen.last_modified):
        return not_modified(etag, seen.last_modified)
    return validate(Response(data, mimetype=mimetype), etag, seen.last_modified)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def problem(error: ApiError) -> Response:
    body = json.dumps(schemas.PROBLEM.dump(error.facts()), ensure_ascii=False)
    response = Response(body, status=error.status, mimetype="application/problem+json")
    response.headers["Content-Language"] = current_tag()
    return response
