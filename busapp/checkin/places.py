"""Places, days and the stop of today: which stops and workshops are today's, their numbers at the door, and the
door list searched by names as people type them (busapp/checkin/service.py states the rules)."""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from ..booking.service import normalize_code
from ..domain import town, tour
from ..core.extensions import db
from ..core.forms import clean_text
from ..models import Booking, BookingStatus, SeatShare, Stop, StopStatus, Workshop, WorkshopStatus, utcnow
from .outcomes import NAME_MAX


def place_name(stop: Stop) -> str:
    """A stop's place as text, whether the stop holds a name or a Place record."""
    place = stop.place
    return getattr(place, "name", place) or ""


def end_of_day(now: datetime) -> datetime:
    """Midnight after `now`, local time, as UTC: when the day's offline data expires."""
    local = now.astimezone(town.zone())
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=town.zone())
    return midnight.astimezone(now.tzinfo)


def local_day(moment: datetime) -> date:
    """The city's calendar day of a moment."""
    return moment.astimezone(town.zone()).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=town.zone())
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=town.zone())


def is_of_day(stop: Stop, day: date) -> bool:
    """True when the stop takes place (at least partly) on this local day."""
    start, end = _day_bounds(day)
    return stop.starts_at < end and stop.ends_at > start


def is_today(workshop: Workshop, now: datetime | None = None) -> bool:
    """Staff act at the door of today's workshops only (check-in, walk-in, seat, live status of its stop)."""
    return is_of_day(workshop.stop, local_day(now or utcnow()))


def stops_of_day(now: datetime) -> list[Stop]:
    """Today's public stops (local day), soonest first."""
    local = now.astimezone(town.zone())
    start = datetime.combine(local.date(), time(0), tzinfo=town.zone())
    return list(db.session.scalars(
        sa.select(Stop)
        .where(Stop.status != StopStatus.DRAFT, Stop.starts_at < end_of_day(now), Stop.ends_at > start)
        .order_by(Stop.starts_at, Stop.id)
        .options(joinedload(Stop.district), selectinload(Stop.workshops))
    ))


def workshops_of_day(now: datetime) -> list[Workshop]:
    """Today's workshops at today's stops, in time order: the door's quick switch between them."""
    return [w for stop in stops_of_day(now) for w in sorted(stop.workshops, key=lambda w: (w.starts_at, w.id))
            if w.status != WorkshopStatus.DRAFT]


def current_stop(now: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop the bus (this bus, when one is named) is at or going to next (busapp/domain/tour.py)."""
    return tour.at_or_next(now, bus_id)


@dataclass
class Counts:
    """A workshop's numbers for the door: seats booked, people checked in, seats free, people waiting."""

    booked: int = 0
    checked_in: int = 0
    free: int = 0
    waiting: int = 0
    held: int = 0


def counts(workshops: list[Workshop]) -> dict[int, Counts]:
    """Counts per workshop id, in two queries whatever the number of workshops."""
    ids = [w.id for w in workshops]
    result = {w.id: Counts(free=w.seats_free) for w in workshops}
    if not ids:
        return result
    rows = db.session.execute(
        sa.select(Booking.workshop_id, Booking.status, sa.func.sum(Booking.party_size), sa.func.sum(Booking.arrived))
        .where(Booking.workshop_id.in_(ids), Booking.status != BookingStatus.CANCELLED)
        .group_by(Booking.workshop_id, Booking.status)
    )
    for workshop_id, status, people, arrived in rows:
        c = result[workshop_id]
        if status == BookingStatus.CONFIRMED:
            c.booked = int(people or 0)
            c.checked_in = int(arrived or 0)
        else:
            c.waiting = int(people or 0)
    for workshop_id, held in db.session.execute(
        sa.select(SeatShare.workshop_id, sa.func.sum(SeatShare.seats - SeatShare.used))
        .where(SeatShare.workshop_id.in_(ids)).group_by(SeatShare.workshop_id)
    ):
        result[workshop_id].held = int(held or 0)
    return result


# Letters that Unicode does not decompose into a base letter and a mark, as people type them without the mark.
_SPECIAL_LETTERS = {"ß": "ss", "ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}


def fold(text: str) -> str:
    """A name as it is compared at the door: without accents and marks, lower case, special letters spelled out,
    and German ae/oe/ue read as a/o/u, so "yilmaz" finds "Yılmaz", "muller" and "mueller" find "Müller",
    "sorensen" finds "Sørensen". static/js/checkin.js folds the same way (tests/cases/checkin.json)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M")).lower()
    spelled = "".join(_SPECIAL_LETTERS.get(ch, ch) for ch in bare)
    for pair, letter in (("ae", "a"), ("oe", "o"), ("ue", "u")):
        spelled = spelled.replace(pair, letter)
    return " ".join(spelled.split())


def bookings_for(workshop: Workshop, query: str = "", missing: bool = False) -> list[Booking]:
    """The door list of a workshop: confirmed parties by name, then the waiting list in order, then cancelled ones;
    with `query`, only those whose name contains it or whose code starts with it; with `missing`, only confirmed
    parties nobody has checked in for yet."""
    stmt = sa.select(Booking).where(Booking.workshop_id == workshop.id).options(joinedload(Booking.checked_in_by))
    if missing:
        stmt = stmt.where(Booking.status == BookingStatus.CONFIRMED, Booking.arrived == 0)
    query = " ".join(clean_text(query).split())[:NAME_MAX]
    order = sa.case(
        (Booking.status == BookingStatus.CONFIRMED, 0), (Booking.status == BookingStatus.WAITING, 1), else_=2
    )
    stmt = stmt.order_by(order, sa.case((Booking.status == BookingStatus.WAITING, Booking.created_at), else_=None),
                         sa.func.lower(sa.func.coalesce(Booking.name, "")), Booking.id)
    rows = list(db.session.scalars(stmt))
    if not query:
        return rows
    # A door list is one workshop's parties: folded names are compared here, the same way on every database.
    wanted, code = fold(query), normalize_code(query)
    return [b for b in rows if (wanted and wanted in fold(b.name or "")) or (code and b.code.startswith(code))]
