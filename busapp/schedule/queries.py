"""What the public may see of the tour, loaded in a fixed, small number of queries whatever its size.

Every list is a page: a window of days from where it starts, and never more than a set number of stops. Pages are
addressed by a key (a stop's start and id), so "later" and "earlier" need no offset counting: `?from=KEY` starts a
page at that stop, `?before=KEY` ends one just before it. Each page's one query also fetches the stop just before it
and the first one after it, so the page knows whether there is anything to page to without asking again.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..domain import town, tour
from ..core.extensions import db
from ..core.i18n import local_time
from ..models import District, Stop

# Slugs and official numbers are short and plain; anything else cannot be a district and never reaches the
# database (PostgreSQL refuses NUL bytes in text, which would otherwise surface as a server error).
DISTRICT_KEY = re.compile(r"[A-Za-z0-9-]{1,80}")

# Ids beyond PostgreSQL's integer range cannot exist; asking for one would be a database error, not a 404.
MAX_ID = 2**31 - 1

PAGE_KEY = re.compile(r"(\d{8}T\d{6})(?:\.(\d{6}))?-(\d{1,10})")


@dataclass(frozen=True, order=True)
class PageKey:
    """Where a page starts or ends: a stop's start time and id, which order stops uniquely."""

    starts_at: datetime
    id: int

    def __str__(self) -> str:
        value = self.starts_at.astimezone(timezone.utc)
        micro = f".{value.microsecond:06d}" if value.microsecond else ""
        return f"{value:%Y%m%dT%H%M%S}{micro}-{self.id}"

    @classmethod
    def parse(cls, text: str | None) -> PageKey | None:
        """The key in a URL, or None when it is missing or malformed (then the page starts now)."""
        match = PAGE_KEY.fullmatch(text or "")
        if not match:
            return None
        try:
            moment = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S").replace(
                microsecond=int(match.group(2) or 0), tzinfo=timezone.utc)
        except ValueError:
            return None
        stop_id = int(match.group(3))
        # Far-off years can hold no stop, and a page's window around them would run off the calendar.
        return cls(moment, stop_id) if stop_id <= MAX_ID and 1970 <= moment.year < 3000 else None

    @classmethod
    def of(cls, stop: Stop) -> PageKey:
        return cls(stop.starts_at, stop.id)


@dataclass(frozen=True)
class Page:
    """One page of a stop list: its stops, and the keys of the pages after and before it (None: nothing there)."""

    stops: list[Stop]
    later: PageKey | None  # `?from=` of the next page
    earlier: PageKey | None  # `?before=` of the previous page
    current: bool  # the page that starts now rather than one paged to


def _with_details(query: sa.Select) -> sa.Select:
    """Load each stop's district and its public workshops in the same round trips as the stops."""
    return query.options(
        joinedload(Stop.district),
        selectinload(Stop.workshops.and_(tour.public_workshop())),
    )


def public_stops() -> sa.Select:
    """Published and cancelled stops; drafts are the coordinators' business only."""
    return sa.select(Stop).where(tour.public_stop())


def all_districts() -> list[District]:
    """The ten districts in their official order."""
    return list(db.session.scalars(sa.select(District).order_by(District.number)))


def _midnight(day: date) -> datetime:
    """The start of a day in the city, as an aware datetime."""
    return town.midnight(day)


# The plain bound on starts_at beside the exact condition lets both databases read the index from the key on.
def _from_key(key: PageKey) -> sa.ColumnElement[bool]:
    return sa.and_(Stop.starts_at >= key.starts_at, sa.or_(
        Stop.starts_at > key.starts_at, Stop.id >= key.id))


def _before_key(key: PageKey) -> sa.ColumnElement[bool]:
    return sa.and_(Stop.starts_at <= key.starts_at, sa.or_(
        Stop.starts_at < key.starts_at, Stop.id < key.id))


def _part(query: sa.Select, limit: int, *order) -> sa.Select:
    # Each part of the UNION keeps its own ORDER BY and LIMIT inside a subquery (SQLite allows them nowhere else).
    return sa.select(query.order_by(*order).limit(limit).subquery().c.id)


def stop_page(now: datetime, days: int, limit: int, district: District | None = None,
              start: PageKey | None = None, end: PageKey | None = None, skip_empty: bool = False) -> Page:
    """A page of at most `limit` stops over at most `days` days, in one query plus one for their workshops.

    Without a key the page starts now with the stops not over yet; `start` begins it at that stop; `end` makes it
    the page that ends just before that stop. With `skip_empty`, a page starting now that would be empty starts at
    the next stop instead (one query more, only then), so a district visited rarely does not look forgotten.
    Besides the page, the query fetches the nearest stop on either side of it, which tells whether there is a page
    to go to and where it starts."""
    base = sa.select(Stop.id).where(tour.public_stop())
    if district is not None:
        base = base.where(Stop.district_id == district.id)
    up, down = (Stop.starts_at, Stop.id), (Stop.starts_at.desc(), Stop.id.desc())
    if end is not None:
        lower = _midnight(local_time(end.starts_at).date() - timedelta(days=days - 1))
        is_after = lambda s: PageKey.of(s) >= end  # noqa: E731
        is_before = lambda s: s.starts_at < lower  # noqa: E731
        parts = (_part(base.where(_before_key(end), Stop.starts_at >= lower), limit + 1, *down),
                 _part(base.where(Stop.starts_at < lower), 1, *down),
                 _part(base.where(_from_key(end)), 1, *up))
    else:
        if start is not None:
            upper = _midnight(local_time(start.starts_at).date() + timedelta(days=days))
            window = [_from_key(start)]
            before = [_before_key(start)]
        else:
            upper = _midnight(local_time(now).date() + timedelta(days=days))
            window = [Stop.ends_at > now, Stop.starts_at > now - tour.LONGEST_VISIT]
            # Over already; a stop still running is on this page even if it started before one that is over.
            before = [Stop.starts_at < now, Stop.ends_at <= now]
        is_after = lambda s: s.starts_at >= upper  # noqa: E731
        is_before = lambda s: (PageKey.of(s) < start) if start is not None else s.ends_at <= now  # noqa: E731
        parts = (_part(base.where(*window, Stop.starts_at < upper), limit + 1, *up),
                 _part(base.where(*before), 1, *down),
                 _part(base.where(*window, Stop.starts_at >= upper), 1, *up))
    ids = sa.union_all(*parts).subquery()
    query = public_stops().where(Stop.id.in_(sa.select(ids.c.id))).order_by(*up)
    rows = list(db.session.scalars(_with_details(query)).unique())
    outside_after = [s for s in rows if is_after(s)]
    outside_before = [s for s in rows if is_before(s)]
    inside = [s for s in rows if not is_after(s) and not is_before(s)]

    if end is not None:
        shown = inside[-limit:]
        if len(inside) > limit:
            earlier = PageKey.of(shown[0])
        else:
            # The next page back ends just after the nearest earlier stop, so it is never empty.
            earlier = PageKey(outside_before[-1].starts_at, outside_before[-1].id + 1) if outside_before else None
        later = end if outside_after else None
        return Page(shown, later, earlier, current=False)

    if skip_empty and start is None and not inside and outside_after:
        return replace(stop_page(now, days, limit, district, start=PageKey.of(outside_after[0])), current=True)
    shown = inside[:limit]
    later = PageKey.of(inside[limit]) if len(inside) > limit else (
        PageKey.of(outside_after[0]) if outside_after else None)
    # From the page that starts now, the page before ends now: a stop still running may show on both.
    earlier = (start or PageKey(now.replace(second=0, microsecond=0), 0)) if outside_before else None
    return Page(shown, later, earlier, current=start is None)


def current_or_next_stop(now: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop the bus (this bus, when one is named) is at now, or else the next one it goes to
    (busapp/domain/tour.py)."""
    return tour.at_or_next(now, bus_id)


def district_condition(key: str) -> sa.ColumnElement[bool] | None:
    """The WHERE clause for a district by slug or official number ("07" or "7"); None when it cannot be one."""
    if not DISTRICT_KEY.fullmatch(key):
        return None
    condition = District.slug == key.lower()
    if key.isdigit():
        condition = sa.or_(condition, District.number == f"{int(key):02d}")
    return condition


def find_district(key: str) -> District | None:
    """A district by its slug or official number, ignoring case; None for anything else."""
    condition = district_condition(key)
    if condition is None:
        return None
    return db.session.scalar(sa.select(District).where(condition).limit(1))


def public_stop(stop_id: int) -> Stop | None:
    """One published or cancelled stop with its district and workshops, or None."""
    if not 0 < stop_id <= MAX_ID:
        return None
    return db.session.scalars(_with_details(public_stops().where(Stop.id == stop_id))).unique().one_or_none()
