"""Many stops at once: a coordinator picks stops by a filter (days, district, bus, state, import), ticks the ones
meant, and publishes them, takes them back to draft, deletes the drafts or cancels them with one reason.

The rules are those of one stop, applied to each ticked stop in one transaction under the planning lock:
    publish       drafts still ahead, with their draft workshops (planning.batches.publish_drafts);
    back to draft published stops nobody booked: a booked stop can only be cancelled, so that its people are told;
                  the booked ones stay published and are named;
    delete        drafts only, which never have bookings (planning.batches.delete_drafts);
    cancel        every stop that is not over, with one reason, after a dry run that shows each stop with who is
                  affected and how many emails go out (planning.changes.cancel_many).
Stops that a rule leaves out are counted in the answer, never changed silently.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..core.extensions import db
from ..models import Booking, BookingStatus, Stop, StopStatus, User, Workshop, audit, utcnow
from . import batches, changes, service
from .writes import lock as _planning_lock, user_in_session

# The page lists at most this many stops; a filter that finds more says so and asks to narrow it.
LIMIT = 400
STATES = ("", "draft", "published", "cancelled")


@dataclass
class Filter:
    """Which stops the coordinator looks at: days (both included), district, bus, state, import."""

    first: date | None = None
    last: date | None = None
    district_id: int | None = None
    bus_id: int | None = None
    status: str = ""
    batch_id: int | None = None

    def where(self) -> list:
        where = []
        if self.first is not None:
            where.append(Stop.starts_at >= service.local(self.first, time(0)))
        if self.last is not None:
            where.append(Stop.starts_at < service.local(self.last + timedelta(days=1), time(0)))
        if self.district_id is not None:
            where.append(Stop.district_id == self.district_id)
        if self.bus_id is not None:
            where.append(Stop.bus_id == self.bus_id)
        if self.status:
            where.append(Stop.status == StopStatus(self.status))
        if self.batch_id is not None:
            where.append(Stop.batch_id == self.batch_id)
        return where


class Line(NamedTuple):
    """A stop as the list shows it: with its number of workshops and of parties booked or waiting."""

    stop: Stop
    workshops: int
    booked: int


def find(chosen: Filter, limit: int = LIMIT) -> tuple[list[Line], int]:
    """The first `limit` stops the filter finds, by start, and how many it finds in all (one statement each)."""
    total = db.session.scalar(sa.select(sa.func.count(Stop.id)).where(*chosen.where())) or 0
    workshops = sa.select(sa.func.count(Workshop.id)).where(Workshop.stop_id == Stop.id).scalar_subquery()
    booked = (sa.select(sa.func.count(Booking.id)).join(Workshop, Booking.workshop_id == Workshop.id)
              .where(Workshop.stop_id == Stop.id, Booking.status != BookingStatus.CANCELLED).scalar_subquery())
    rows = db.session.execute(
        sa.select(Stop, workshops, booked).where(*chosen.where())
        .options(joinedload(Stop.district, innerjoin=True), joinedload(Stop.bus))
        .order_by(Stop.starts_at, Stop.id).limit(limit))
    return [Line(*row) for row in rows], total


def chosen_stops(stop_ids: list[int]) -> list[Stop]:
    """The ticked stops that exist, by start."""
    found: list[Stop] = []
    ids = sorted(set(stop_ids))
    for start in range(0, len(ids), changes.CHUNK):
        found += db.session.scalars(sa.select(Stop).where(Stop.id.in_(ids[start:start + changes.CHUNK])))
    return sorted(found, key=lambda s: (s.starts_at, s.id))


def publish(stop_ids: list[int], user: User | None) -> int:
    """Publish the ticked drafts that are still ahead; returns how many."""
    return batches.publish_drafts(None, user, stop_ids=stop_ids)


def delete(stop_ids: list[int], user: User | None) -> int:
    """Delete the ticked drafts; returns how many."""
    return batches.delete_drafts(stop_ids, user)


def unpublish(stop_ids: list[int], user: User | None) -> tuple[int, list[Stop]]:
    """Take the ticked published stops nobody booked back to draft; returns how many, and the booked ones that
    stay published (cancel those instead)."""
    _planning_lock()
    stops = [s for s in chosen_stops(stop_ids) if s.status == StopStatus.PUBLISHED]
    booked_ids = set()
    for start in range(0, len(stops), changes.CHUNK):
        chunk = [s.id for s in stops[start:start + changes.CHUNK]]
        booked_ids |= set(db.session.scalars(
            sa.select(Workshop.stop_id).join(Booking, Booking.workshop_id == Workshop.id)
            .where(Workshop.stop_id.in_(chunk), Booking.status != BookingStatus.CANCELLED)))
    booked = [s for s in stops if s.id in booked_ids]
    who = user_in_session(user)
    done = 0
    for stop in stops:
        if stop.id not in booked_ids:
            stop.status = StopStatus.DRAFT
            audit("stop-unpublish", stop, user=who, bulk=True)
            done += 1
    db.session.commit()
    return done, booked


def cancel_dry_run(stop_ids: list[int]) -> tuple[list[changes.StopImpact], changes.Impact, int]:
    """The dry run of cancelling the ticked stops: each stop that would be cancelled with who is affected, the
    totals, and how many ticked stops are left out (cancelled already or over)."""
    now = utcnow()
    stops = chosen_stops(stop_ids)
    open_stops = [s for s in stops if s.status != StopStatus.CANCELLED and s.ends_at > now]
    result = changes.impact_of(stop_ids=[s.id for s in open_stops])
    return changes.by_stop(open_stops, result), result, len(set(stop_ids)) - len(open_stops)


def cancel(stop_ids: list[int], reason: str, user: User | None) -> changes.Cancelled:
    """Cancel the ticked stops with one reason (planning.changes.cancel_many); raises Refused when none is left."""
    return changes.cancel_many(stop_ids=stop_ids, reason=reason, user=user, bulk=True)
