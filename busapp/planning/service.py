"""Planning rules: when stops and workshops may be, how capacity may change, and how series are written.

Buses
    A bus can be at one stop at a time; every stop belongs to a bus (the first bus unless another is chosen), and
    several buses may be out at the same time. A stop that is not cancelled (draft or published) blocks its time: a new
    or moved stop whose time overlaps it is refused, and the answer names the other stop and its time. Stops end
    after they start, last at most MAX_STOP_HOURS, and a new or moved stop cannot start in the past.

Workshops in the bus
    A workshop lies inside its stop's time. Two workshops of one stop do not overlap, unless one of them is marked
    as parallel (a second trainer in another corner). Since stops never overlap, workshops of different stops
    cannot either. Moving a stop moves its workshops by the same amount, and the stop's new time must still hold
    every one of them; bookings stay as they are.

Capacity
    A workshop has between MIN_CAPACITY and MAX_CAPACITY seats. Capacity is never set below the seats taken: the
    change is one conditional UPDATE (``... SET capacity = :new WHERE id = :id AND seats_taken <= :new``) after
    the workshop's row is locked, so a booking arriving at the same moment cannot slip under it, and the answer
    says how many seats are taken and by how many parties. Raising capacity moves waiting parties up at once
    through the booking service's `fill_from_waiting_list()`, which walks the list under the same lock, so each
    party moves up exactly once however many changes race.

Publishing
    New stops and workshops start as drafts, which residents do not see. Publishing a stop publishes its draft
    workshops with it. A stop or workshop that people have booked cannot go back to draft: it can only be
    cancelled, so the people booked are told.

Writes
    Every planning write takes the planning lock first (an advisory lock on PostgreSQL, the database's write lock
    on SQLite), checks the rules again inside that transaction, and writes everything or nothing. A series of stops
    is written the same way: if any date is no longer free when it is saved, no stop of the series is written.
    Every change is recorded in the audit log with the values before and after.

Calendars
    The SEQUENCE of a stop's calendar entry is raised by the Stop model itself whenever a field a subscriber sees
    changes (busapp/models.py), whoever changes it.
"""
from __future__ import annotations

import calendar as pycalendar
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from typing import NamedTuple

import holidays as holiday_tables
import sqlalchemy as sa
from flask import current_app
from flask_babel import format_datetime, format_time, get_locale, gettext as _, ngettext
from sqlalchemy.orm import joinedload

from ..booking import service as booking_service
from ..domain import seats, town
from ..core.extensions import db
from ..core.forms import clean_text
from ..models import (
    Booking, BookingStatus, Bus, Course, District, Place, Stop, StopSeries, StopStatus, User, Workshop, WorkshopStatus,
    audit, utcnow,
)
from . import changes
from .writes import Refused, lock as _planning_lock, user_in_session as _user  # noqa: F401  (used by tourcsv, views)

MIN_CAPACITY = 1
MAX_CAPACITY = 60
MAX_STOP_HOURS = 12
MAX_WORKSHOP_MINUTES = 8 * 60
MAX_SERIES = 52


tz = town.zone


def local(day: date, at: time) -> datetime:
    """A local wall-clock time in the city as an aware datetime."""
    return datetime.combine(day, at, tzinfo=tz())


local_day = town.day_of


def _span(start: datetime, end: datetime) -> str:
    return _("%(day)s, %(start)s to %(end)s", day=format_datetime(start, "EEE dd.MM.yyyy"),
             start=format_time(start, "HH:mm"), end=format_time(end, "HH:mm"))


# ---------------------------------------------------------------------------------------------------------------
# Public holidays

@lru_cache(maxsize=32)
def _holiday_table(country: str, region: str, year: int, language: str) -> dict[date, str]:
    offered = holiday_tables.country_holidays(country, subdiv=region or None, years=year).supported_languages
    base = language.split("@")[0].split("_")[0]
    lang = base if base in offered else ("en_US" if "en_US" in offered else None)
    return dict(holiday_tables.country_holidays(country, subdiv=region or None, years=year, language=lang))


def holiday(day: date) -> str | None:
    """The name of the public holiday on this day in the town's region (its profile's holidays), in the reader's
    language, or None."""
    profile = current_app.config["TOWN_PROFILE"]
    return _holiday_table(profile.country, profile.holiday_subdivision, day.year,
                          str(get_locale() or "de")).get(day)


# ---------------------------------------------------------------------------------------------------------------
# Checking stops

@dataclass
class StopDraft:
    """What a coordinator typed for a stop, already parsed: a place from the list of places, and the time."""

    place_id: int
    starts_at: datetime
    ends_at: datetime
    bus_id: int | None = None  # None: the stop's bus, or the first bus for a new stop


def _add(errors: dict[str, list[str]], name: str, message: str) -> None:
    errors.setdefault(name, []).append(message)


def default_bus_id() -> int | None:
    """The first bus: the one a stop belongs to when none is named."""
    return db.session.scalar(sa.select(sa.func.min(Bus.id)))


def buses() -> list[Bus]:
    return list(db.session.scalars(sa.select(Bus).order_by(Bus.id)))


def overlapping_stop(starts_at: datetime, ends_at: datetime, exclude_id: int | None = None,
                     bus_id: int | None = None, ignore: Collection[int] = ()) -> Stop | None:
    """The first stop (draft or published) of the same bus (the first bus when none is named) whose time overlaps
    this time, or None. Each bus is at one stop at a time; two buses may be out at once. `ignore`: stops that are
    being moved in the same change (a series), compared with each other by the caller."""
    bus_id = bus_id or default_bus_id()
    query = sa.select(Stop).where(
        Stop.status != StopStatus.CANCELLED, Stop.bus_id == bus_id, Stop.starts_at < ends_at,
        Stop.ends_at > starts_at,
    ).order_by(Stop.starts_at).limit(1)
    if exclude_id is not None:
        query = query.where(Stop.id != exclude_id)
    if ignore:
        query = query.where(Stop.id.not_in(list(ignore)))
    return db.session.scalar(query)


def check_stop(draft: StopDraft, stop: Stop | None = None, now: datetime | None = None,
               ignore: Collection[int] = ()) -> dict[str, list[str]]:
    """Every rule a stop's time and place break, by field; empty when the stop can be saved."""
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    if draft.ends_at <= draft.starts_at:
        _add(errors, "end", _("The end must be after the start."))
        return errors
    if draft.ends_at - draft.starts_at > timedelta(hours=MAX_STOP_HOURS):
        _add(errors, "end", _("A stop can last at most %(n)d hours.", n=MAX_STOP_HOURS))
    moved = stop is None or draft.starts_at != stop.starts_at or draft.ends_at != stop.ends_at
    if moved and draft.starts_at < now:
        _add(errors, "day", _("This time is in the past. Please choose a later date."))
    if db.session.get(Place, draft.place_id) is None:
        _add(errors, "place", _("Please choose a place."))
    bus_id = draft.bus_id or (stop.bus_id if stop is not None else None)
    other = overlapping_stop(draft.starts_at, draft.ends_at, stop.id if stop else None, bus_id, ignore)
    if other is not None:
        _add(errors, "start", _("The bus is at %(place)s (%(district)s) then: %(when)s.", place=other.place.name,
                                district=other.district.name, when=_span(other.starts_at, other.ends_at)))
    if stop is not None and stop.id is not None:
        shift = draft.starts_at - stop.starts_at
        for workshop in stop.workshops:
            if workshop.status == WorkshopStatus.CANCELLED:
                continue
            start = workshop.starts_at + shift
            if start < draft.starts_at or start + timedelta(minutes=workshop.duration_minutes) > draft.ends_at:
                _add(errors, "end", _("The workshop “%(title)s” would no longer fit into the stop's time.",
                                      title=workshop.title))
    return errors


# ---------------------------------------------------------------------------------------------------------------
# Checking workshops

@dataclass
class WorkshopDraft:
    """What a coordinator typed for a workshop, already parsed."""

    title: str
    topic: str
    starts_at: datetime
    duration_minutes: int
    capacity: int
    description: str = ""
    language: str = "de"
    audience: str = "everyone"
    accessibility_notes: str = ""
    parallel: bool = False
    # Shown on the stop page, the booking form and the ticket; the door's walk-in check follows walk_ins.
    level: str = "first_steps"
    bring: str = ""
    walk_ins: bool = True
    # The same texts in other languages ({"tr": {"title": ...}}); None keeps what the workshop has.
    texts: dict | None = None

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)


def taken(workshop_id: int) -> tuple[int, int]:
    """(seats taken, parties holding them) of a workshop, from the bookings."""
    booked, parties = db.session.execute(
        sa.select(sa.func.coalesce(sa.func.sum(Booking.party_size), 0), sa.func.count(Booking.id))
        .where(Booking.workshop_id == workshop_id, Booking.status == BookingStatus.CONFIRMED)
    ).one()
    return int(booked), int(parties)


def capacity_message(seats: int, parties: int) -> str:
    return ngettext(
        "%(num)d seat is taken (by %(parties)d party): the capacity cannot be lower.",
        "%(num)d seats are taken (by %(parties)d parties): the capacity cannot be lower.",
        seats, parties=parties,
    )


def check_workshop(stop: Stop, draft: WorkshopDraft, workshop: Workshop | None = None) -> dict[str, list[str]]:
    """Every rule a workshop breaks, by field; empty when it can be saved."""
    errors: dict[str, list[str]] = {}
    if not MIN_CAPACITY <= draft.capacity <= MAX_CAPACITY:
        _add(errors, "capacity", _("Please give between %(min)d and %(max)d seats.", min=MIN_CAPACITY, max=MAX_CAPACITY))
    if not 1 <= draft.duration_minutes <= MAX_WORKSHOP_MINUTES:
        _add(errors, "duration_minutes",
             _("Please give between %(min)d and %(max)d minutes.", min=1, max=MAX_WORKSHOP_MINUTES))
        return errors
    if draft.starts_at < stop.starts_at or draft.ends_at > stop.ends_at:
        _add(errors, "start", _("A workshop must lie within its stop's time: %(when)s.",
                                when=_span(stop.starts_at, stop.ends_at)))
    if not draft.parallel:
        for other in stop.workshops:
            if workshop is not None and other.id == workshop.id:
                continue
            if other.status == WorkshopStatus.CANCELLED or other.parallel:
                continue
            if other.starts_at < draft.ends_at and other.ends_at > draft.starts_at:
                _add(errors, "start", _(
                    "“%(title)s” is held in the bus then (%(start)s to %(end)s). Choose another time, or mark this "
                    "workshop as held in parallel.", title=other.title,
                    start=format_time(other.starts_at, "HH:mm"), end=format_time(other.ends_at, "HH:mm")))
    if workshop is not None and workshop.id is not None and draft.capacity < workshop.seats_taken:
        booked, parties = taken(workshop.id)
        _add(errors, "capacity", capacity_message(max(booked, workshop.seats_taken), parties))
    return errors


# ---------------------------------------------------------------------------------------------------------------
# Writing

def _stop_values(stop: Stop) -> dict:
    return {"district_id": stop.district_id, "place_id": stop.place_id, "bus_id": stop.bus_id,
            "starts_at": stop.starts_at.isoformat(), "ends_at": stop.ends_at.isoformat(), "status": stop.status.value}


def _workshop_values(w: Workshop) -> dict:
    return {"title": w.title, "topic": w.topic, "starts_at": w.starts_at.isoformat(),
            "duration_minutes": w.duration_minutes, "capacity": w.capacity, "language": w.language,
            "audience": w.audience, "parallel": w.parallel, "level": w.level, "bring": w.bring,
            "walk_ins": w.walk_ins, "status": w.status.value}


def save_stop(stop_id: int | None, draft: StopDraft, user: User | None, note: str = "",
              notes: dict[str, str] | None = None) -> Stop:
    """Create a stop (as a draft) or change one, moving its workshops with it; raises Refused.

    Moving a stop that people booked needs `note` (what changed and why): it is shown on their tickets and mailed
    to them in the same transaction (planning.changes), in the language they booked in where `notes` ({tag: text})
    has it."""
    _planning_lock()
    stop = db.session.get(Stop, stop_id) if stop_id else None
    if stop_id and stop is None:
        raise Refused({"": [_("This stop no longer exists.")]})
    errors = check_stop(draft, stop)
    if errors:
        db.session.rollback()
        raise Refused(errors)
    if stop is not None and stop_moves(stop, draft) and active_bookings(stop) and not note:
        db.session.rollback()
        raise Refused({"note": [_("People have booked: please say what changed and why. They will read it.")]})
    stop = write_stop(stop, draft, user, note, notes)
    db.session.commit()
    return stop


def stop_moves(stop: Stop, draft: StopDraft) -> bool:
    """True when the draft gives the stop another time or place (what the people booked are told about)."""
    return draft.starts_at != stop.starts_at or draft.ends_at != stop.ends_at or draft.place_id != stop.place_id


def write_stop(stop: Stop | None, draft: StopDraft, user: User | None, note: str = "",
               notes: dict[str, str] | None = None, **detail) -> Stop:
    """Inside a checked planning write: make the stop (stop None) or change it, moving its workshops with it and
    telling the people booked when it moves and a note is given (`notes`: in other languages); audited, not
    committed."""
    before = _stop_values(stop) if stop else None
    moved = stop is not None and stop_moves(stop, draft)
    place = db.session.get(Place, draft.place_id)
    if stop is None:
        stop = Stop(status=StopStatus.DRAFT)
    else:
        shift = draft.starts_at - stop.starts_at
        if shift:
            for workshop in stop.workshops:
                workshop.starts_at = workshop.starts_at + shift
    stop.place, stop.district_id = place, place.district_id
    stop.starts_at, stop.ends_at = draft.starts_at, draft.ends_at
    if draft.bus_id:
        stop.bus_id = draft.bus_id
    db.session.add(stop)
    db.session.flush()
    told = changes.tell_moved(stop, note, utcnow(), reasons=notes) if moved and note else None
    audit("stop-create" if before is None else "stop-update", stop, user=_user(user),
          before=before, after=_stop_values(stop), told=told.parties if told else 0, **detail)
    return stop


def workshop_moved(workshop: Workshop | None, draft: WorkshopDraft) -> bool:
    """True when a change gives an existing workshop another start or end."""
    return workshop is not None and (draft.starts_at != workshop.starts_at
                                     or draft.duration_minutes != workshop.duration_minutes)


def workshop_bookings(workshop: Workshop) -> int:
    """Bookings (confirmed or waiting) of one workshop."""
    return db.session.scalar(sa.select(sa.func.count(Booking.id)).where(
        Booking.workshop_id == workshop.id, Booking.status != BookingStatus.CANCELLED)) or 0


# What a coordinator sets for a workshop, copied from the draft as it is; one list for saving, copying a stop
# (create_series) and the audit log, so a field added to the form cannot be dropped on one of those ways.
WORKSHOP_FIELDS = ("title", "topic", "description", "language", "audience", "accessibility_notes", "parallel",
                   "level", "bring", "walk_ins", "duration_minutes", "starts_at")


def save_workshop(stop_id: int, workshop_id: int | None, draft: WorkshopDraft, user: User | None,
                  note: str = "", notes: dict[str, str] | None = None) -> tuple[Workshop, list[Booking]]:
    """Create a workshop (as a draft) or change one; returns it and the parties moved up. Raises Refused.

    A new time for a workshop that people booked needs `note`, and reaches them as a moved stop does
    (planning.changes.tell_moved): the note on their tickets and the mails, in the same transaction."""
    _planning_lock()
    stop = db.session.get(Stop, stop_id)
    workshop = db.session.get(Workshop, workshop_id) if workshop_id else None
    if stop is None or (workshop_id and (workshop is None or workshop.stop_id != stop_id)):
        db.session.rollback()
        raise Refused({"": [_("This workshop no longer exists.")]})
    errors = check_workshop(stop, draft, workshop)
    if errors:
        db.session.rollback()
        raise Refused(errors)
    if workshop_moved(workshop, draft) and workshop_bookings(workshop) and not note:
        db.session.rollback()
        raise Refused({"note": [_("People have booked: please say what changed and why. They will read it.")]})
    workshop, raised = write_workshop(stop, workshop, draft, user, note, notes)
    workshop_id = workshop.id
    db.session.commit()
    # The promoted parties' mails are queued by the booking service in the same transaction as their seats.
    promoted = booking_service.fill_from_waiting_list(workshop_id) if raised else []
    return db.session.get(Workshop, workshop_id), promoted


def write_workshop(stop: Stop, workshop: Workshop | None, draft: WorkshopDraft, user: User | None,
                   note: str = "", notes: dict[str, str] | None = None, **detail) -> tuple[Workshop, bool]:
    """Inside a checked planning write: make the workshop (workshop None) or change it; returns it and whether its
    seats were raised (the caller fills them from the waiting list after the commit). Raises Refused, after a
    rollback, when more seats are taken than the new capacity. Audited, not committed."""
    moved = workshop_moved(workshop, draft)
    before = _workshop_values(workshop) if workshop else None
    raised = False
    if workshop is None:
        workshop = Workshop(stop_id=stop.id, status=WorkshopStatus.DRAFT, seats_taken=0, capacity=draft.capacity)
        db.session.add(workshop)
    else:
        raised = draft.capacity > workshop.capacity
        # Seats change only under the workshop's row lock, the same one every booking takes (domain.seats).
        if not seats.set_capacity(workshop.id, draft.capacity):
            booked, parties = taken(workshop.id)
            when = format_datetime(stop.starts_at, "dd.MM.yyyy")
            db.session.rollback()
            message = capacity_message(booked, parties)
            raise Refused({"capacity": [f"{when}: {message}" if detail.get("series") else message]})
        db.session.refresh(workshop, ["capacity", "seats_taken"])
    for name in WORKSHOP_FIELDS:
        setattr(workshop, name, getattr(draft, name))
    if draft.texts is not None:
        workshop.texts = draft.texts
    told = None
    if moved:
        # The workshop's calendar entry carries its stop's SEQUENCE: calendars must take the new time.
        stop.sequence = (stop.sequence or 0) + 1
        if note:
            told = changes.tell_moved(stop, note, utcnow(), workshop=workshop, reasons=notes)
    db.session.flush()
    audit("workshop-create" if before is None else "workshop-update", workshop, user=_user(user),
          before=before, after=_workshop_values(workshop), told=told.parties if told else 0, **detail)
    return workshop, raised


def active_bookings(stop: Stop) -> int:
    """Bookings (confirmed or waiting) of a stop's workshops."""
    return db.session.scalar(
        sa.select(sa.func.count(Booking.id)).join(Workshop)
        .where(Workshop.stop_id == stop.id, Booking.status != BookingStatus.CANCELLED)
    ) or 0


def publish_stop(stop_id: int, user: User | None) -> Stop:
    """Make a draft stop and its draft workshops visible to residents; raises Refused."""
    _planning_lock()
    stop = db.session.get(Stop, stop_id)
    if stop is None or stop.status == StopStatus.CANCELLED:
        db.session.rollback()
        raise Refused({"": [_("A cancelled stop cannot be published.")]})
    if stop.ends_at <= utcnow():
        db.session.rollback()
        raise Refused({"": [_("This stop is over; it can no longer be published.")]})
    stop.status = StopStatus.PUBLISHED
    for workshop in stop.workshops:
        if workshop.status == WorkshopStatus.DRAFT:
            workshop.status = WorkshopStatus.PUBLISHED
    audit("stop-publish", stop, user=_user(user))
    db.session.commit()
    return stop


def unpublish_stop(stop_id: int, user: User | None) -> Stop:
    """Take a published stop back to draft; refused once people have booked (cancel it instead)."""
    _planning_lock()
    stop = db.session.get(Stop, stop_id)
    if stop is None or stop.status != StopStatus.PUBLISHED:
        db.session.rollback()
        raise Refused({"": [_("Only a published stop can be taken back to draft.")]})
    if active_bookings(stop):
        db.session.rollback()
        raise Refused({"": [_("People have booked at this stop. Cancel it instead, so that they are told.")]})
    stop.status = StopStatus.DRAFT
    audit("stop-unpublish", stop, user=_user(user))
    db.session.commit()
    return stop


def set_workshop_status(workshop_id: int, publish: bool, user: User | None) -> Workshop:
    """Publish a draft workshop, or take an unbooked one back to draft; raises Refused."""
    _planning_lock()
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status == WorkshopStatus.CANCELLED:
        db.session.rollback()
        raise Refused({"": [_("A cancelled workshop cannot be changed.")]})
    if not publish:
        booked = db.session.scalar(sa.select(sa.func.count(Booking.id)).where(
            Booking.workshop_id == workshop_id, Booking.status != BookingStatus.CANCELLED))
        if booked:
            db.session.rollback()
            raise Refused({"": [_("People have booked this workshop. Cancel it instead, so that they are told.")]})
    workshop.status = WorkshopStatus.PUBLISHED if publish else WorkshopStatus.DRAFT
    audit("workshop-publish" if publish else "workshop-unpublish", workshop, user=_user(user))
    db.session.commit()
    return workshop


# ---------------------------------------------------------------------------------------------------------------
# Week and month views

class StopLine(NamedTuple):
    """A stop as the week and month show it, with the number of its workshops."""

    stop: Stop
    workshops: int


@dataclass
class Day:
    day: date
    holiday: str | None
    stops: list[StopLine] = field(default_factory=list)
    # Every stop of the day, also those the page leaves out (see `days(per_day=...)`).
    total: int = 0

    @property
    def more(self) -> int:
        """Stops of this day that the page does not show."""
        return self.total - len(self.stops)


def stops_between(first: date, last: date) -> list[Stop]:
    """Every stop (drafts and cancelled ones too) starting between the two local days, inclusive."""
    start = local(first, time(0))
    end = local(last + timedelta(days=1), time(0))
    return list(db.session.scalars(
        sa.select(Stop).where(Stop.starts_at >= start, Stop.starts_at < end).order_by(Stop.starts_at)
    ))


def bucket(column, bounds: list[datetime], keys: list) -> sa.ColumnElement:
    """SQL that gives `keys[i]` for a `column` value from `bounds[i - 1]` up to `bounds[i]` (len(keys) = len(bounds)
    + 1): which local day or month a time falls in, for GROUP BY and window partitions on SQLite as on PostgreSQL
    (SQLite knows no time zones, so the city's day and month limits are computed here and compared in SQL).

    A balanced CASE: each value is compared about log2(len(keys)) times rather than once per limit, which keeps a
    report over ten years of months cheap."""
    if len(keys) == 1:
        return sa.literal(keys[0])
    mid = len(keys) // 2
    return sa.case((column < bounds[mid - 1], bucket(column, bounds[:mid - 1], keys[:mid])),
                   else_=bucket(column, bounds[mid:], keys[mid:]))


def days(first: date, last: date, per_day: int | None = None) -> list[Day]:
    """Each day between the two dates with its holiday and its stops (at most `per_day` of them, the earliest),
    with place, district and the number of workshops: one statement however many stops there are."""
    count = (last - first).days + 1
    numbers = list(range(count))
    day = bucket(Stop.starts_at, [local(first + timedelta(days=i), time(0)) for i in numbers[1:]], numbers)
    ranked = (
        sa.select(Stop.id, day.label("day"),
                  sa.func.row_number().over(partition_by=day, order_by=(Stop.starts_at, Stop.id)).label("rank"),
                  sa.func.count().over(partition_by=day).label("total"))
        .where(Stop.starts_at >= local(first, time(0)), Stop.starts_at < local(last + timedelta(days=1), time(0)))
        .subquery()
    )
    workshops = sa.select(sa.func.count(Workshop.id)).where(Workshop.stop_id == Stop.id).scalar_subquery()
    query = (
        sa.select(Stop, ranked.c.day, ranked.c.total, workshops)
        .join(ranked, ranked.c.id == Stop.id)
        .options(joinedload(Stop.place, innerjoin=True), joinedload(Stop.district, innerjoin=True))
        .order_by(Stop.starts_at, Stop.id)
    )
    if per_day is not None:
        query = query.where(ranked.c.rank <= per_day)
    out = [Day(first + timedelta(days=i), holiday(first + timedelta(days=i))) for i in numbers]
    for stop, number, total, n in db.session.execute(query):
        out[number].stops.append(StopLine(stop, n))
        out[number].total = total
    return out


def week_of(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def month_bounds(year: int, month: int) -> tuple[date, date]:
    return date(year, month, 1), date(year, month, pycalendar.monthrange(year, month)[1])


# ---------------------------------------------------------------------------------------------------------------
# Series ("repeat this stop")

RULES = ("weekly", "biweekly", "monthly")


def nth_weekday(year: int, month: int, weekday: int, n: int) -> date | None:
    """The n-th given weekday of a month (n=2, Tuesday: the 2nd Tuesday), or None when the month has none."""
    first = date(year, month, 1)
    day = first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    return day if day.month == month else None


def recurrence(first: date, rule: str, *, until: date | None = None, count: int | None = None,
               exceptions: frozenset[date] | set[date] = frozenset()) -> list[date]:
    """The dates after `first` that the rule gives, up to `until` or `count` repeats, without the exceptions.

    monthly: the same weekday and week of the month as `first` (the 2nd Tuesday stays the 2nd Tuesday)."""
    if rule not in RULES:
        raise ValueError(rule)
    limit = min(count or MAX_SERIES, MAX_SERIES)
    out: list[date] = []
    n = (first.day - 1) // 7 + 1
    step = 0
    while len(out) < limit:
        step += 1
        if rule == "weekly":
            day = first + timedelta(weeks=step)
        elif rule == "biweekly":
            day = first + timedelta(weeks=2 * step)
        else:
            month_index = first.month - 1 + step
            day = nth_weekday(first.year + month_index // 12, month_index % 12 + 1, first.weekday(), n)
            if day is None:
                if step > 2 * MAX_SERIES:
                    break
                continue
        if until is not None and day > until:
            break
        if step > 4 * MAX_SERIES:
            break
        if day in exceptions:
            continue
        out.append(day)
    return out


@dataclass
class Occurrence:
    """One date of a series as the preview shows it."""

    day: date
    starts_at: datetime
    ends_at: datetime
    conflict: str | None
    holiday: str | None


def preview_series(stop: Stop, dates: list[date]) -> list[Occurrence]:
    """Each repeat of the stop with the stop it would clash with and the holiday it falls on; writes nothing."""
    start, end = stop.starts_at.astimezone(tz()), stop.ends_at.astimezone(tz())
    # A stop into the night (22:00 to 00:30) ends on the day after its start on every date too.
    days = (end.date() - start.date()).days
    out = []
    for day in dates:
        starts, ends = local(day, start.time()), local(day + timedelta(days=days), end.time())
        other = overlapping_stop(starts, ends, stop.id, stop.bus_id)
        conflict = None
        if starts < utcnow():
            conflict = _("in the past")
        elif other is not None:
            conflict = _("the bus is at %(place)s then", place=other.place.name)
        out.append(Occurrence(day, starts, ends, conflict, holiday(day)))
    return out


def create_series(stop_id: int, dates: list[date], user: User | None, rule: str = "") -> list[Stop]:
    """Copy the stop and its workshops to every date, all or nothing; raises Refused naming the clashing dates.

    The stop and its copies belong to one series (the stop's own, when it is in one already), and each workshop
    and its copies share a key within it (planning.series), so that later changes can reach the whole series."""
    _planning_lock()
    stop = db.session.get(Stop, stop_id)
    if stop is None:
        db.session.rollback()
        raise Refused({"": [_("This stop no longer exists.")]})
    clashes = [o for o in preview_series(stop, dates) if o.conflict]
    if clashes:
        db.session.rollback()
        raise Refused({"": [_("Nothing was saved: %(dates)s cannot be used.",
                              dates=", ".join(f"{format_datetime(o.starts_at, 'dd.MM.yyyy')} ({o.conflict})"
                                              for o in clashes))]})
    if stop.series_id is None:
        series = StopSeries(rule=rule)
        db.session.add(series)
        db.session.flush()
        stop.series_id = series.id
    key = db.session.scalar(sa.select(sa.func.max(Workshop.series_key)).join(Workshop.stop)
                            .where(Stop.series_id == stop.series_id)) or 0
    for w in stop.workshops:
        if w.series_key is None and w.status != WorkshopStatus.CANCELLED:
            key += 1
            w.series_key = key
    copies = []
    for occurrence in preview_series(stop, dates):
        shift = occurrence.starts_at - stop.starts_at
        copy = Stop(district_id=stop.district_id, place_id=stop.place_id, bus_id=stop.bus_id,
                    starts_at=occurrence.starts_at, ends_at=occurrence.ends_at, series_id=stop.series_id,
                    status=StopStatus.DRAFT if stop.status == StopStatus.DRAFT else StopStatus.PUBLISHED)
        for w in stop.workshops:
            if w.status == WorkshopStatus.CANCELLED:
                continue
            values = {name: getattr(w, name) for name in WORKSHOP_FIELDS if name != "starts_at"}
            copy.workshops.append(Workshop(
                **values, starts_at=w.starts_at + shift, capacity=w.capacity, seats_taken=0, series_key=w.series_key,
                texts=dict(w.texts) if w.texts else w.texts, status=w.status))
        db.session.add(copy)
        copies.append(copy)
    db.session.flush()
    audit("stop-repeat", stop, user=_user(user), copies=[c.id for c in copies],
          dates=[d.isoformat() for d in dates])
    db.session.commit()
    return copies


# ---------------------------------------------------------------------------------------------------------------
# Course catalogue

COURSE_FIELDS = ("title", "topic", "description", "audience", "level", "language", "duration_minutes", "capacity",
                 "what_to_bring", "walk_ins")


def courses(active_only: bool = False) -> list[Course]:
    query = sa.select(Course).order_by(Course.title)
    if active_only:
        query = query.where(Course.active.is_(True))
    return list(db.session.scalars(query))


def save_course(course_id: int | None, values: dict, user: User | None) -> Course:
    """Create or change a catalogue entry; workshops made from it earlier keep their own copy."""
    course = db.session.get(Course, course_id) if course_id else Course()
    if course is None:
        raise Refused({"": [_("This course no longer exists.")]})
    if not MIN_CAPACITY <= values["capacity"] <= MAX_CAPACITY:
        raise Refused({"capacity": [_("Please give between %(min)d and %(max)d seats.", min=MIN_CAPACITY,
                                      max=MAX_CAPACITY)]})
    before = {k: getattr(course, k) for k in COURSE_FIELDS} if course_id else None
    for name in COURSE_FIELDS:
        setattr(course, name, values[name])
    if "texts" in values:  # title, description and what to bring in other languages
        course.texts = values["texts"]
    db.session.add(course)
    db.session.flush()
    audit("course-create" if before is None else "course-update", course, user=_user(user), before=before,
          after={k: getattr(course, k) for k in COURSE_FIELDS})
    db.session.commit()
    return course


def parse_date(text: str) -> date | None:
    """A date written as 2026-12-01 or 01.12.2026, or None."""
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


# ---------------------------------------------------------------------------------------------------------------
# Districts by what a coordinator typed

# At most this many districts are named in an answer; a town with hundreds gets the first ones and a count.
NAMED_DISTRICTS = 30


def find_district(text: str | int | None) -> District | None:
    """The district a form or link names: by id, number, slug or name (any case), or None."""
    text = " ".join(clean_text(str(text or "")).split())  # no control characters: PostgreSQL refuses NUL
    if not text:
        return None
    if text.isdigit() and len(text) <= 9:
        found = db.session.get(District, int(text))
        if found is not None:
            return found
    return db.session.scalar(sa.select(District).where(sa.or_(
        District.number == text, District.slug == text.lower(),
        sa.func.lower(District.name) == text.lower())).order_by(District.id).limit(1))


def unknown_district(text: str | None) -> str:
    """The answer to a district nobody knows: the closest known names when some are close, else the known ones."""
    import difflib

    names = list(db.session.scalars(sa.select(District.name).order_by(District.name)))
    typed = " ".join(str(text or "").split())[:80]
    if not typed or typed.isdigit():
        close = []
    else:
        by_lower = {n.lower(): n for n in names}
        close = [by_lower[n] for n in difflib.get_close_matches(typed.lower(), list(by_lower), n=3, cutoff=0.6)]
        close += [n for n in names if typed.lower() in n.lower() and n not in close][:3 - len(close)]
    if close:
        return _("There is no district “%(text)s”. Did you mean %(names)s?", text=typed,
                 names=" / ".join(close))
    listed = ", ".join(names[:NAMED_DISTRICTS])
    if len(names) > NAMED_DISTRICTS:
        listed += " " + ngettext("and %(num)d more", "and %(num)d more", len(names) - NAMED_DISTRICTS)
    if not typed or typed.isdigit():
        return _("Please choose a district. Known districts: %(names)s", names=listed)
    return _("There is no district “%(text)s”. Known districts: %(names)s", text=typed, names=listed)


# ---------------------------------------------------------------------------------------------------------------
# Places

PLACE_FIELDS = ("district_id", "name", "address", "postcode", "lat", "lon", "transit_stop", "transit_lines",
                "step_free", "seats", "toilet", "hearing_loop", "finding_note")


def places() -> list[Place]:
    """Every place, by district and name."""
    return list(db.session.scalars(
        sa.select(Place).join(Place.district).order_by(District.number, Place.name)))


def save_place(place_id: int | None, values: dict, user: User | None) -> Place:
    """Create or change a place; a changed name, address or position reaches its stops' calendar entries."""
    place = db.session.get(Place, place_id) if place_id else Place()
    if place is None:
        raise Refused({"": [_("This place no longer exists.")]})
    if (values["lat"] is None) != (values["lon"] is None):
        raise Refused({"lat": [_("Please give both latitude and longitude, or neither.")]})
    if place_id and values["district_id"] != place.district_id and place.stops:
        raise Refused({"district_id": [_("Stops are planned at this place; it cannot move to another district.")]})
    before = {k: getattr(place, k) for k in PLACE_FIELDS} if place_id else None
    for name in PLACE_FIELDS:
        setattr(place, name, values[name])
    if "texts" in values:  # how to find the bus, in other languages
        place.texts = values["texts"]
    if place_id:
        place.is_example = False  # a coordinator checked it
    db.session.add(place)
    db.session.flush()
    audit("place-create" if before is None else "place-update", place, user=_user(user), before=before,
          after={k: getattr(place, k) for k in PLACE_FIELDS})
    db.session.commit()
    return place


def _gaps(obj, model: str, own: str) -> dict[str, list[str]]:
    """{language: [fields]} of the texts a row has in its own language but not in that one."""
    from ..core import content

    given = [f for f in content.PLANNED[model] if getattr(obj, f)]
    texts = obj.texts or {}
    gaps = {tag: [f for f in given if not (texts.get(tag) or {}).get(f)] for tag in content.other_languages(own)}
    return {tag: fields for tag, fields in gaps.items() if fields}


def missing_texts(now: datetime | None = None, limit: int = 500) -> list[tuple[Workshop, dict[str, list[str]]]]:
    """The upcoming workshops whose texts are not given in every language: for each, {language: [fields]} of the
    texts it has in its own language but not in that one (residents then read the German text)."""
    now = now or utcnow()
    workshops = db.session.scalars(
        sa.select(Workshop).join(Stop, Workshop.stop_id == Stop.id)
        .where(Stop.ends_at >= now, Stop.status != StopStatus.CANCELLED,
               Workshop.status != WorkshopStatus.CANCELLED)
        .options(joinedload(Workshop.stop)).order_by(Workshop.starts_at, Workshop.id).limit(limit)).unique().all()
    found = []
    for workshop in workshops:
        gaps = _gaps(workshop, "Workshop", workshop.language)
        if gaps:
            found.append((workshop, gaps))
    return found


def missing_course_texts() -> list[tuple[Course, dict[str, list[str]]]]:
    """The active course templates whose title, description or what to bring is not given in every language
    ({language: [fields]}): a workshop made from one starts with its texts, so a gap here reaches every such
    workshop."""
    found = []
    for course in courses(active_only=True):
        gaps = _gaps(course, "Course", course.language)
        if gaps:
            found.append((course, gaps))
    return found


def missing_finding_notes() -> list[tuple[Place, list[str]]]:
    """The places whose note for finding the bus is not given in every language: for each, the languages."""
    found = []
    for place in db.session.scalars(sa.select(Place).where(Place.finding_note != "").order_by(Place.name)):
        gaps = _gaps(place, "Place", "")
        if gaps:
            found.append((place, list(gaps)))
    return found
