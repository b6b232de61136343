"""Queries, filters, cursors and pages of the JSON API: which public objects a list holds, checked query strings, and
keyset pages whose cursors are signed, so a changed cursor or one used with other filters is refused with a 400."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time as clock, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy.orm import joinedload, selectinload, undefer

from ..domain.offer import closes_at
from ..domain.tour import PUBLIC_STATUSES
from ..core.extensions import db
from ..core.i18n import local_time
from ..models import District, Place, Stop, StopStatus, Workshop, WorkshopStatus
from .addresses import link
from .facts import place_facts, stop_facts, workshop_facts
from .problems import bad

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
MAX_TEXT_PARAM = 80


# --------------------------------------------------------------------------------------------- queries

def with_details(query: sa.Select) -> sa.Select:
    return query.options(
        joinedload(Stop.district),
        selectinload(Stop.workshops.and_(Workshop.status != WorkshopStatus.DRAFT)),
    )


def public_stop(stop_id: int) -> Stop | None:
    if not 0 < stop_id <= 2**31 - 1:
        return None
    query = sa.select(Stop).where(Stop.id == stop_id, Stop.status.in_(PUBLIC_STATUSES))
    return db.session.scalars(with_details(query)).unique().one_or_none()


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
    """Every district in its official order, with its boundary."""
    return list(db.session.scalars(sa.select(District).options(undefer(District.boundary))
                                   .order_by(District.number)))


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

def stop_conditions(query: sa.Select, f: Filters, now: datetime) -> sa.Select:
    query = query.where(Stop.status.in_(PUBLIC_STATUSES))
    if f.district is not None:
        query = query.where(Stop.district_id == f.district.id)
    if f.since is not None:
        query = query.where(Stop.ends_at > f.since)
    if f.until is not None:
        query = query.where(Stop.starts_at < f.until)
    return query


def workshop_match(f: Filters, now: datetime) -> list:
    conditions = [Workshop.status != WorkshopStatus.DRAFT]
    if f.topic:
        conditions.append(Workshop.topic == f.topic)
    if f.language:
        conditions.append(Workshop.language == f.language)
    if f.free_seats:
        conditions += [Workshop.status == WorkshopStatus.PUBLISHED, Workshop.seats_taken < Workshop.capacity,
                       Workshop.starts_at > now, Stop.status == StopStatus.PUBLISHED]
    return conditions


def _stop_selection(query: sa.Select, f: Filters, now: datetime) -> sa.Select:
    """The stops of a page (and the one after it, which tells whether there is a next page), soonest first."""
    query = stop_conditions(query, f, now)
    if f.topic or f.language or f.free_seats:
        query = query.where(sa.exists().where(Workshop.stop_id == Stop.id, *workshop_match(f, now)))
    if f.after is not None:
        when, last_id = f.after
        query = query.where(sa.or_(Stop.starts_at > when, sa.and_(Stop.starts_at == when, Stop.id > last_id)))
    return query.order_by(Stop.starts_at, Stop.id).limit(f.limit + 1)


def stop_page(f: Filters, now: datetime) -> dict:
    """A page of stops with their workshops, soonest first, as JSON-ready facts with the next page's link."""
    return stop_page_until(f, now)[0]


def stop_page_until(f: Filters, now: datetime) -> tuple[dict, datetime]:
    """stop_page(), and the first moment after `now` at which the same rows would read differently (see
    stop_page_rows)."""
    stops = list(db.session.scalars(with_details(_stop_selection(sa.select(Stop), f, now))).unique())
    page = _page([stop_facts(s, now) for s in stops[:f.limit]], stops, f, "opendata.stops")
    return page, next_change(stops, now)


def stop_page_rows(f: Filters, now: datetime) -> tuple:
    """What a page of stops is made from, in one light statement: the page's stops with when each of them, its place
    and its workshops last changed and how many workshops it has. Equal rows and an unchanged clock (next_change)
    give the same page: seats, live status, texts and statuses are written through these rows' `updated_at`
    (a booking, a cancellation or a move on the waiting list locks its workshop with an UPDATE, which sets it), a
    workshop deleted changes the count, and a stop that enters or leaves the selection changes the ids. Districts
    appear only by their slug, which never changes.

    Every request asks this, so the statement is put together once per shape of the filters (which of them are set,
    and the page size), with the values bound at each execution: building it and its cache key anew was a quarter
    of the request's time."""
    shape = (f.district is not None, f.since is not None, f.until is not None, bool(f.topic), bool(f.language),
             f.free_seats, f.after is not None, f.limit)
    params = {"now": now}
    if f.district is not None:
        params["district_id"] = f.district.id
    if f.since is not None:
        params["since"] = f.since
    if f.until is not None:
        params["until"] = f.until
    if f.topic:
        params["topic"] = f.topic
    if f.language:
        params["language"] = f.language
    if f.after is not None:
        params["after_when"], params["after_id"] = f.after
    return tuple(tuple(row) for row in db.session.execute(_rows_statement(shape), params))


class _BoundDistrict:
    id = sa.bindparam("district_id")


class _BoundValue(sa.sql.expression.BindParameter):
    """A bound parameter standing for a filter that is set (the filters test their values for truth)."""

    inherit_cache = True

    def __bool__(self) -> bool:
        return True


@lru_cache(maxsize=128)
def _rows_statement(shape: tuple) -> sa.Select:
    """stop_page_rows' statement for one shape of the filters, every value a bound parameter (see there)."""
    district, since, until, topic, language, free_seats, after, limit = shape
    bound = Filters(
        district=_BoundDistrict() if district else None,
        since=sa.bindparam("since") if since else None,
        until=sa.bindparam("until") if until else None,
        topic=_BoundValue("topic") if topic else None,
        language=_BoundValue("language") if language else None,
        free_seats=free_seats,
        limit=limit,
        after=(sa.bindparam("after_when"), sa.bindparam("after_id")) if after else None,
    )
    latest = sa.select(sa.func.max(Workshop.updated_at)).where(Workshop.stop_id == Stop.id).scalar_subquery()
    count = sa.select(sa.func.count(Workshop.id)).where(Workshop.stop_id == Stop.id).scalar_subquery()
    query = sa.select(Stop.id, Stop.updated_at, Place.updated_at, latest, count).join(Place, Place.id == Stop.place_id)
    return _stop_selection(query, bound, sa.bindparam("now", type_=Stop.starts_at.type))


def next_change(stops: list[Stop], now: datetime) -> datetime:
    """The first moment after `now` at which facts of these stops change by the clock alone: a workshop closes for
    booking, starts or ends, a stop starts or ends, or the city's day (where lists begin) turns."""
    local = local_time(now)
    times = [datetime.combine(local.date() + timedelta(days=1), clock(0), tzinfo=local.tzinfo)]
    for stop in stops:
        times += [stop.starts_at, stop.ends_at]
        for workshop in stop.workshops:
            times += [closes_at(workshop), workshop.starts_at, workshop.ends_at]
    return min(t for t in times if t > now)


def workshop_page(f: Filters, now: datetime) -> dict:
    query = stop_conditions(sa.select(Workshop).join(Workshop.stop), f, now).where(*workshop_match(f, now))
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
