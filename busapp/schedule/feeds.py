"""What calendar feeds hold, read as plain rows, and the cheap version that lets a polling calendar app get a 304.

A feed holds the stops that start between FEED_PAST_DAYS before today and FEED_FUTURE_DAYS after it (days in the
city's time zone), at most FEED_MAX_EVENTS of them, the earliest first. The window moves at midnight, so all day long
every poll of an unchanged tour gets the same answer.

The version is one statement that reads a few index entries' worth of data: the latest change of any stop, any
workshop and any place, and how many stops start inside the window (a stop deleted from it lowers that count).
Any change to the tour makes the version new, so a calendar app may see a 200 it did not strictly need, never an
outdated 304 (apart from a public stop deleted and another added inside the same window at once, which cancelling
instead of deleting avoids).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..core.extensions import db
from ..core.i18n import local_time
from ..models import District, Place, Stop, Workshop, WorkshopStatus
from .calendar import Version
from ..domain import town
from ..domain.tour import PUBLIC_STATUSES
from .queries import MAX_ID, district_condition

STOP_COLUMNS = (
    Stop.id, Stop.starts_at, Stop.ends_at, Place.name.label("place_name"), Place.address, Place.postcode, Place.lat,
    Place.lon, Stop.status, Stop.cancel_reason, Stop.sequence, Stop.created_at, Stop.updated_at,
    District.name.label("district_name"), Stop.texts,
)
WORKSHOP_COLUMNS = (
    Workshop.stop_id, Workshop.title, Workshop.starts_at, Workshop.duration_minutes, Workshop.audience,
    Workshop.language, Workshop.status, Workshop.texts,
)


@dataclass(frozen=True)
class Window:
    """The stops a feed holds: those starting in [first, last), at most `limit`; `opened` is when it last moved."""

    first: datetime
    last: datetime
    limit: int
    opened: datetime

    @classmethod
    def today(cls, now: datetime) -> Window:
        cfg = current_app.config
        today = local_time(now).date()
        return cls(_midnight(today - timedelta(days=cfg["FEED_PAST_DAYS"])),
                   _midnight(today + timedelta(days=cfg["FEED_FUTURE_DAYS"] + 1)), cfg["FEED_MAX_EVENTS"],
                   _midnight(today))

    def where(self) -> list:
        return [Stop.status.in_(PUBLIC_STATUSES), Stop.starts_at >= self.first, Stop.starts_at < self.last]


def _midnight(day: date) -> datetime:
    return town.midnight(day)


def _version(parts: tuple, changed: list[datetime | None], floor: datetime) -> Version:
    return Version.of(parts, [*changed, floor])


def _latest_changes() -> tuple:
    # MAX over an indexed column is one index lookup on both databases, however long the tour; places are few.
    return (sa.select(sa.func.max(Stop.updated_at)).scalar_subquery(),
            sa.select(sa.func.max(Workshop.updated_at)).scalar_subquery(),
            sa.select(sa.func.max(Place.updated_at)).scalar_subquery())


def _in_window(window: Window, *where) -> sa.ScalarSelect:
    return (sa.select(sa.func.count()).select_from(Stop)
            .where(Stop.starts_at >= window.first, Stop.starts_at < window.last, *where).scalar_subquery())


def tour_version(window: Window, context: tuple) -> Version:
    """The whole tour's feed version, in one statement."""
    row = db.session.execute(sa.select(*_latest_changes(), _in_window(window))).one()
    return _version(("tour", window, *context, *row), [row[0], row[1], row[2]], window.opened)


@dataclass(frozen=True)
class DistrictFeed:
    id: int
    slug: str
    name: str
    version: Version


def district_feed(key: str, window: Window, context: tuple) -> DistrictFeed | None:
    """The district for a slug or number, with its feed's version, in one statement; None if there is none."""
    condition = district_condition(key)
    if condition is None:
        return None
    row = db.session.execute(
        sa.select(District.id, District.slug, District.name, *_latest_changes(),
                  _in_window(window, Stop.district_id == District.id))
        .where(condition).limit(1)
    ).one_or_none()
    if row is None:
        return None
    version = _version(("district", window, *context, *row), [row[3], row[4], row[5]], window.opened)
    return DistrictFeed(row.id, row.slug, row.name, version)


@dataclass(frozen=True)
class StopFile:
    id: int
    place: str
    version: Version


def stop_file(stop_id: int, context: tuple) -> StopFile | None:
    """A public stop's place and its file's version, in one statement; None if there is no such stop."""
    if not 0 < stop_id <= MAX_ID:
        return None
    workshops_changed = (sa.select(sa.func.max(Workshop.updated_at)).where(Workshop.stop_id == Stop.id)
                         .scalar_subquery())
    row = db.session.execute(
        sa.select(Stop.id, Place.name, Stop.updated_at, Stop.sequence, District.name, workshops_changed,
                  Place.updated_at)
        .join(District, District.id == Stop.district_id).join(Place, Place.id == Stop.place_id)
        .where(Stop.id == stop_id, Stop.status.in_(PUBLIC_STATUSES))
    ).one_or_none()
    if row is None:
        return None
    version = _version(("stop", *context, *row), [row[2], row[5], row[6]], row[2])
    return StopFile(row[0], row[1], version)


def _rows(where: list, limit: int) -> tuple[list, dict[int, list]]:
    """Stop rows and their public workshops' rows (by stop id): two statements, however many stops."""
    ordered = (Stop.starts_at, Stop.id)
    stops = db.session.execute(
        sa.select(*STOP_COLUMNS).join(District, District.id == Stop.district_id)
        .join(Place, Place.id == Stop.place_id).where(*where)
        .order_by(*ordered).limit(limit)
    ).all()
    workshops: dict[int, list] = {}
    if not stops:
        return stops, workshops
    ids = sa.select(Stop.id).where(*where).order_by(*ordered).limit(limit).subquery()
    for row in db.session.execute(
        sa.select(*WORKSHOP_COLUMNS)
        .where(Workshop.stop_id.in_(sa.select(ids.c.id)), Workshop.status != WorkshopStatus.DRAFT)
        .order_by(Workshop.stop_id, Workshop.starts_at, Workshop.id)
    ):
        workshops.setdefault(row.stop_id, []).append(row)
    return stops, workshops


def feed_rows(window: Window, district_id: int | None = None) -> tuple[list, dict[int, list]]:
    """The rows of a feed: the whole tour's, or one district's."""
    where = window.where()
    if district_id is not None:
        where.append(Stop.district_id == district_id)
    return _rows(where, window.limit)


def stop_rows(stop_id: int) -> tuple[list, dict[int, list]]:
    """The rows of one public stop's file."""
    return _rows([Stop.id == stop_id, Stop.status.in_(PUBLIC_STATUSES)], 1)


def export_rows(ending_after: datetime) -> tuple[list, dict[int, list]]:
    """The rows of every public stop that ends after the given time, for the coordinators' export."""
    return _rows([Stop.status.in_(PUBLIC_STATUSES), Stop.ends_at > ending_after], MAX_EXPORT)


# An export is a download a coordinator asks for, not a feed that is polled: its bound only guards memory.
MAX_EXPORT = 100_000
