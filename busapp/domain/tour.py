"""What the public may see of the tour, and where the bus is now: one definition each, for the schedule pages,
the open data, the feedback codes and the staff tablet.

What is public
    A stop is public once published, and stays public when cancelled (people must read that it is off); drafts are
    the coordinators' business only. A workshop is public when it is not a draft and its stop is public.

Where the bus is now
    The bus is at a stop when the stop is published, has started, is not over, and staff have not marked it as
    left (`where_now`). The home page and the tablet show that stop, or else the next one the bus goes to
    (`at_or_next`). The bus's permanent feedback code points to the stop it is at, or else to the last stop it was
    at earlier the same day (`last_today`), so an answer given on the way home still counts.
"""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..core.extensions import db
from ..models import LiveStatus, Stop, StopStatus, Workshop, WorkshopStatus
from . import town

PUBLIC_STATUSES = (StopStatus.PUBLISHED, StopStatus.CANCELLED)

# A visit lasts hours, not days. Stops still running are looked for among those that started at most this long ago,
# so the index on the start time bounds the search instead of every past stop being read to check its end.
LONGEST_VISIT = timedelta(days=7)


def public_stop():
    """SQL condition: the stop is public."""
    return Stop.status.in_(PUBLIC_STATUSES)


def public_workshop():
    """SQL condition on a workshop (its stop's condition is `public_stop`): not a draft."""
    return Workshop.status != WorkshopStatus.DRAFT


def is_public(item: Stop | Workshop) -> bool:
    """Whether a loaded stop or workshop is public."""
    if isinstance(item, Workshop):
        return item.status != WorkshopStatus.DRAFT and is_public(item.stop)
    return item.status in PUBLIC_STATUSES


def public_workshops(stop: Stop) -> list[Workshop]:
    """A stop's public workshops (drafts are never loaded for public pages, but a stop may come from elsewhere)."""
    return [w for w in stop.workshops if w.status != WorkshopStatus.DRAFT]


def _bus(bus_id: int | None) -> list:
    return [Stop.bus_id == bus_id] if bus_id is not None else []


def _running(now: datetime, bus_id: int | None) -> list:
    return [Stop.status == StopStatus.PUBLISHED, Stop.ends_at > now, Stop.starts_at > now - LONGEST_VISIT,
            Stop.live_status != LiveStatus.LEFT, *_bus(bus_id)]


def where_now(now: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop the bus (this bus, when one is named) is at now, or None."""
    return db.session.scalar(sa.select(Stop).where(*_running(now, bus_id), Stop.starts_at <= now)
                             .order_by(Stop.starts_at.desc(), Stop.id.desc()).limit(1))


def at_or_next(now: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop the bus (this bus, when one is named) is at now, or else the next one it goes to (cancelled stops
    and early departures skipped)."""
    return db.session.scalar(sa.select(Stop).where(*_running(now, bus_id)).order_by(Stop.starts_at, Stop.id).limit(1)
                             .options(joinedload(Stop.district)))


def last_today(now: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop the bus (this bus, when one is named) is at now, or else the last one it was at earlier the same
    day in the town."""
    stop = where_now(now, bus_id)
    if stop is not None:
        return stop
    return db.session.scalar(
        sa.select(Stop).where(Stop.status == StopStatus.PUBLISHED, Stop.starts_at <= now,
                              Stop.starts_at > now - LONGEST_VISIT, Stop.ends_at >= town.day_start(now),
                              sa.or_(Stop.ends_at <= now, Stop.live_status == LiveStatus.LEFT), *_bus(bus_id))
        .order_by(Stop.starts_at.desc(), Stop.id.desc()).limit(1)
    )
