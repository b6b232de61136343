"""What the public may see of the tour, loaded in a fixed, small number of queries whatever its size."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..extensions import db
from ..models import District, LiveStatus, Stop, StopStatus, Workshop, WorkshopStatus

PUBLIC_STATUSES = (StopStatus.PUBLISHED, StopStatus.CANCELLED)

# Slugs and official numbers are short and plain; anything else cannot be a district and never reaches the
# database (PostgreSQL refuses NUL bytes in text, which would otherwise surface as a server error).
DISTRICT_KEY = re.compile(r"[A-Za-z0-9-]{1,80}")

# Ids beyond PostgreSQL's integer range cannot exist; asking for one would be a database error, not a 404.
MAX_ID = 2**31 - 1

# How far back the calendar feeds reach, so subscribers keep recent visits without the feed growing forever.
FEED_HISTORY = timedelta(days=60)


def _with_details(query: sa.Select) -> sa.Select:
    """Load each stop's district and its public workshops in the same round trips as the stops."""
    return query.options(
        joinedload(Stop.district),
        selectinload(Stop.workshops.and_(Workshop.status != WorkshopStatus.DRAFT)),
    )


def public_stops() -> sa.Select:
    """Published and cancelled stops; drafts are the coordinators' business only."""
    return sa.select(Stop).where(Stop.status.in_(PUBLIC_STATUSES))


def all_districts() -> list[District]:
    """The ten districts in their official order."""
    return list(db.session.scalars(sa.select(District).order_by(District.number)))


def upcoming_stops(now: datetime, district: District | None = None, within: timedelta | None = None) -> list[Stop]:
    """Stops not over yet, soonest first, optionally in one district and starting within a time span."""
    query = public_stops().where(Stop.ends_at > now).order_by(Stop.starts_at, Stop.id)
    if district is not None:
        query = query.where(Stop.district_id == district.id)
    if within is not None:
        query = query.where(Stop.starts_at < now + within)
    return list(db.session.scalars(_with_details(query)).unique())


def current_or_next_stop(now: datetime) -> Stop | None:
    """The stop the bus is at now, or else the next one it goes to (cancelled stops and early departures skipped)."""
    query = (
        sa.select(Stop)
        .where(Stop.status == StopStatus.PUBLISHED, Stop.ends_at > now, Stop.live_status != LiveStatus.LEFT)
        .order_by(Stop.starts_at, Stop.id)
        .limit(1)
        .options(joinedload(Stop.district))
    )
    return db.session.scalar(query)


def find_district(key: str) -> District | None:
    """A district by its slug or official number ("07" or "7"), ignoring case; None for anything else."""
    if not DISTRICT_KEY.fullmatch(key):
        return None
    condition = District.slug == key.lower()
    if key.isdigit():
        condition = sa.or_(condition, District.number == f"{int(key):02d}")
    return db.session.scalar(sa.select(District).where(condition).limit(1))


def public_stop(stop_id: int) -> Stop | None:
    """One published or cancelled stop with its district and workshops, or None."""
    if not 0 < stop_id <= MAX_ID:
        return None
    return db.session.scalars(_with_details(public_stops().where(Stop.id == stop_id))).unique().one_or_none()


def feed_stops(now: datetime, district: District | None = None) -> list[Stop]:
    """Stops for a calendar feed: recent and future visits, cancelled ones included so calendars drop them."""
    query = public_stops().where(Stop.ends_at > now - FEED_HISTORY).order_by(Stop.starts_at, Stop.id)
    if district is not None:
        query = query.where(Stop.district_id == district.id)
    return list(db.session.scalars(_with_details(query)).unique())
