"""Typed SQLAlchemy 2 models of the tour: districts, stops, workshops, bookings, feedback, accounts, audit."""
from __future__ import annotations

import enum
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .domain.party import PARTY_CHECK
from .core.extensions import db


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Stores aware datetimes as UTC and always returns them aware, on SQLite as on PostgreSQL."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware datetimes")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def enum_column(cls: type[enum.Enum], name: str) -> sa.Enum:
    """A column type for an enum, shared by every feature's models."""
    # Stored as plain strings with a CHECK, so adding a value is a small migration on both databases.
    return sa.Enum(
        cls, name=name, native_enum=False, create_constraint=True, length=20,
        values_callable=lambda e: [m.value for m in e],
    )


class StopStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class LiveStatus(str, enum.Enum):
    SCHEDULED = "scheduled"
    ON_THE_WAY = "on_the_way"
    HERE = "here"
    LATE = "late"
    LEFT = "left"


class WorkshopStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CANCELLED = "cancelled"


class BookingStatus(str, enum.Enum):
    CONFIRMED = "confirmed"
    WAITING = "waiting"
    CANCELLED = "cancelled"


class MailStatus(str, enum.Enum):
    WAITING = "waiting"  # to be sent when next_attempt_at has come
    SENDING = "sending"  # claimed by a worker until lease_until
    SENT = "sent"
    DEAD = "dead"  # given up after too many tries or a permanent refusal; a coordinator may retry it


class Role(str, enum.Enum):
    STAFF = "staff"
    COORDINATOR = "coordinator"


class District(db.Model):
    """A Stadtteil of the city, with its official number."""

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(4), unique=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    # The district's boundary from the town's official list: a GeoJSON Polygon or MultiPolygon in WGS 84
    # (busapp/core/districtfile.py), or None when the list gave only a point.
    boundary: Mapped[dict | None] = mapped_column(sa.JSON, deferred=True)

    stops: Mapped[list[Stop]] = relationship(back_populates="district", order_by="Stop.starts_at")

    def __repr__(self) -> str:
        return f"<District {self.number} {self.slug}>"


class Place(db.Model):
    """Where the bus parks, typed once and reused by every stop there: how to get there and what is on site.

    The amenities are yes, no or unknown (None): a place nobody has checked must not be shown as step-free."""

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("district.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(160))
    # Street and house number, e.g. "Elisabeth-Haseloff-Straße 1".
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    postcode: Mapped[str] = mapped_column(sa.String(10), default="")
    lat: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    # The nearest city bus stop and the lines that call there, e.g. "Rathaus", "1, 4".
    transit_stop: Mapped[str] = mapped_column(sa.String(120), default="")
    transit_lines: Mapped[str] = mapped_column(sa.String(120), default="")
    step_free: Mapped[bool | None] = mapped_column()
    seats: Mapped[bool | None] = mapped_column()
    toilet: Mapped[bool | None] = mapped_column()
    hearing_loop: Mapped[bool | None] = mapped_column()
    # How to find the bus on the spot, e.g. "entrance at the back of the library".
    finding_note: Mapped[str] = mapped_column(sa.String(300), default="")
    # The finding note in other languages, {tag: {"finding_note": text}} (busapp/core/content.py).
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    # Where the address comes from; an example address (demo data) is marked as one on every page.
    source: Mapped[str] = mapped_column(sa.String(200), default="")
    is_example: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    district: Mapped[District] = relationship()
    stops: Mapped[list[Stop]] = relationship(back_populates="place", order_by="Stop.starts_at")

    @property
    def has_position(self) -> bool:
        return self.lat is not None and self.lon is not None

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Place {self.id} {self.name!r}>"


DEFAULT_BUS_NAME = "Digitalwerkstatt-Bus"


class Bus(db.Model):
    """A vehicle of the tour. Every stop belongs to one bus, and a bus is at one stop at a time; a town with one
    bus has just this one record (made by the migration, or with the first stop)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    # Seats, step-free lift, what it carries: for the coordinators, as they wrote it.
    capacity_notes: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    devices: Mapped[list[Device]] = relationship(back_populates="bus", order_by="Device.name")

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Bus {self.id} {self.name!r}>"


def _default_bus_id(context) -> int:
    """The first bus, for a stop written without one; on an empty table it is made here, in the same transaction."""
    table = Bus.__table__
    found = context.connection.scalar(sa.select(sa.func.min(table.c.id)))
    if found is None:
        found = context.connection.execute(
            sa.insert(table).values(name=DEFAULT_BUS_NAME, capacity_notes="", created_at=utcnow())
        ).inserted_primary_key[0]
    return found


class ImportBatch(db.Model):
    """One confirmed tour import: its stops can be removed together while none of them has bookings or feedback.
    `rows` keeps the file's own values per line (organisation, route, type, timetable, frequency, ...) for the
    schema export; `created` the districts, buses and places the import made, removed with it when unused."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    stops: Mapped[int] = mapped_column(default=0)
    rows: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created: Mapped[dict] = mapped_column(sa.JSON, default=dict)

    user: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<ImportBatch {self.id} {self.stops} stops>"


class StopSeries(db.Model):
    """Stops made as a series ("repeat this stop", or one line of an imported timetable with a repeat rule): each
    keeps this link, so that a change or a cancellation can reach "this and all following" or the whole series."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # How the dates were made, for the coordinators: "weekly", "biweekly", "monthly" or the imported RRULE.
    rule: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<StopSeries {self.id} {self.rule!r}>"


class Stop(db.Model):
    """One visit of the bus at a place in a district."""

    id: Mapped[int] = mapped_column(primary_key=True)
    district_id: Mapped[int] = mapped_column(sa.ForeignKey("district.id"), index=True)
    place_id: Mapped[int] = mapped_column(sa.ForeignKey("place.id"), index=True)
    # The bus that makes the visit (the first bus when none is given).
    bus_id: Mapped[int] = mapped_column(sa.ForeignKey("bus.id"), default=_default_bus_id)
    # The import that wrote the stop, and the line of the file it came from (None for stops planned by hand).
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("import_batch.id", ondelete="SET NULL"), index=True)
    batch_line: Mapped[int | None] = mapped_column()
    # The series the stop was made in (None for a single stop); the series' stops share its workshops' series_key.
    series_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stop_series.id", ondelete="SET NULL"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # active_history: the status before a change must be known, to tell a move of a published stop (_mark_moved).
    status: Mapped[StopStatus] = mapped_column(enum_column(StopStatus, "stop_status"), default=StopStatus.DRAFT,
                                               active_history=True)
    cancel_reason: Mapped[str] = mapped_column(sa.String(300), default="")
    # The last change the people booked were told about (a move or a cancellation), shown on their tickets.
    change_note: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    live_status: Mapped[LiveStatus] = mapped_column(enum_column(LiveStatus, "live_status"), default=LiveStatus.SCHEDULED)
    live_note: Mapped[str] = mapped_column(sa.String(200), default="")
    live_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The live note and cancel reason in other languages, {tag: {field: text}} (busapp/core/content.py).
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    live_minutes_late: Mapped[int | None] = mapped_column()
    # Bumped on every change a calendar subscriber should see (iCalendar SEQUENCE).
    sequence: Mapped[int] = mapped_column(default=0)
    # When a published stop last got a new time or place (see _mark_moved); the open data calls such a stop moved.
    moved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The start people were first told, kept when a published stop first gets another time (see _mark_moved); the
    # open data gives it as schema.org's previousStartDate of a rescheduled event.
    announced_starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Indexed: the calendar feeds' version reads its latest value (busapp/schedule/feeds.py).
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    # A stop always has a district, a workshop a stop, a booking a workshop: loading them with an inner join lets the
    # database walk an index instead of building the outer join's nested result first (SQLite did, at 100,000 stops).
    district: Mapped[District] = relationship(back_populates="stops", innerjoin=True)
    # Every page that shows a stop shows where it is: loaded with the stop, never as a query of its own.
    place: Mapped[Place] = relationship(back_populates="stops", lazy="joined", innerjoin=True)
    workshops: Mapped[list[Workshop]] = relationship(back_populates="stop", order_by="Workshop.starts_at")
    bus: Mapped[Bus] = relationship()

    __table_args__ = (
        sa.CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        # The clash rule reads a bus's stops around a time.
        sa.Index("ix_stop_bus_id_starts_at", "bus_id", "starts_at"),
        # A district's page and feed read its stops in start order, from anywhere in a long tour.
        sa.Index("ix_stop_district_id_starts_at", "district_id", "starts_at"),
    )

    @property
    def is_public(self) -> bool:
        return self.status in (StopStatus.PUBLISHED, StopStatus.CANCELLED)

    def calendar_changed(self) -> bool:
        """True when a field a calendar subscriber sees has a pending change that did not set SEQUENCE itself."""
        state = sa.inspect(self)
        if state.attrs.sequence.history.has_changes():
            return False
        return any(state.attrs[name].history.has_changes() for name in STOP_CALENDAR_FIELDS)

    @property
    def is_cancelled(self) -> bool:
        return self.status == StopStatus.CANCELLED

    @property
    def is_moved(self) -> bool:
        return self.status == StopStatus.PUBLISHED and self.moved_at is not None

    def is_over(self, now: datetime | None = None) -> bool:
        return self.ends_at <= (now or utcnow())

    def __repr__(self) -> str:
        return f"<Stop {self.id} place={self.place_id} {self.starts_at:%Y-%m-%d %H:%M}>"


# What makes a published stop "moved" for the people who already know it: another time or another place.
MOVE_FIELDS = ("starts_at", "ends_at", "place_id", "place", "district_id")


@sa.event.listens_for(Stop, "before_update")
def _mark_moved(_mapper, _connection, stop: Stop) -> None:
    """Stamp moved_at when a stop that was already published changes time or place, whoever changes it."""
    state = sa.inspect(stop)
    status = state.attrs.status.history
    # An unchanged status may not be loaded yet: reading the attribute loads it.
    was_published = (status.deleted[0] if status.deleted else stop.status) == StopStatus.PUBLISHED
    if was_published and stop.status == StopStatus.PUBLISHED and not state.attrs.moved_at.history.has_changes() \
            and any(state.attrs[name].history.has_changes() for name in MOVE_FIELDS):
        stop.moved_at = utcnow()
    starts = state.attrs.starts_at.history
    if was_published and starts.deleted and starts.deleted[0] != stop.starts_at and stop.announced_starts_at is None:
        stop.announced_starts_at = starts.deleted[0]
# Stop fields a calendar subscriber sees; a change to any of them must reach calendars as a higher SEQUENCE.
STOP_CALENDAR_FIELDS = ("starts_at", "ends_at", "place_id", "place", "status", "cancel_reason", "district_id")
# Place fields that go into a stop's calendar entry: changing one raises SEQUENCE of the place's stops.
PLACE_CALENDAR_FIELDS = ("name", "address", "postcode", "lat", "lon")


@sa.event.listens_for(Stop, "before_update")
def _bump_sequence(_mapper, _connection, stop: Stop) -> None:
    # Part of the model, so the SEQUENCE rule holds whoever changes a stop (planning, import, a shell), not only
    # when some feature module happens to be imported.
    if stop.calendar_changed():
        stop.sequence = (stop.sequence or 0) + 1


@sa.event.listens_for(Place, "before_update")
def _bump_place_sequences(_mapper, connection, place: Place) -> None:
    # A place moved or renamed changes every calendar entry of its stops.
    state = sa.inspect(place)
    if any(state.attrs[name].history.has_changes() for name in PLACE_CALENDAR_FIELDS):
        table = Stop.__table__
        connection.execute(
            table.update().where(table.c.place_id == place.id).values(sequence=table.c.sequence + 1)
        )


class Workshop(db.Model):
    """A workshop held at a stop, with a number of seats."""

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(sa.ForeignKey("stop.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(160))
    topic: Mapped[str] = mapped_column(sa.String(40))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    language: Mapped[str] = mapped_column(sa.String(8), default="de")
    audience: Mapped[str] = mapped_column(sa.String(40), default="everyone")
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    duration_minutes: Mapped[int] = mapped_column(default=60)
    capacity: Mapped[int] = mapped_column(default=8)
    # Kept in step with confirmed bookings by one conditional UPDATE, so a seat is never given twice.
    seats_taken: Mapped[int] = mapped_column(default=0)
    accessibility_notes: Mapped[str] = mapped_column(sa.String(300), default="")
    # Title, description and access notes in other languages than `language`, {tag: {field: text}} (busapp/core/content.py).
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    # For whom and what to bring: a level key of catalog.LEVELS, a short list, and whether people may just drop in.
    level: Mapped[str] = mapped_column(sa.String(20), default="first_steps", server_default="first_steps")
    bring: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    walk_ins: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Held at the same time as another workshop of the stop on purpose (a second trainer, another corner).
    parallel: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    cancel_reason: Mapped[str] = mapped_column(sa.String(300), default="", server_default="")
    # The same workshop on every date of its stop's series carries the same key (1, 2, ... within the series);
    # None for a workshop added to one date only.
    series_key: Mapped[int | None] = mapped_column()
    status: Mapped[WorkshopStatus] = mapped_column(
        enum_column(WorkshopStatus, "workshop_status"), default=WorkshopStatus.PUBLISHED
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Any change of the row, seat counts included; calendar feeds compare its latest value (indexed) for their ETag.
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow, index=True)

    stop: Mapped[Stop] = relationship(back_populates="workshops", innerjoin=True)
    bookings: Mapped[list[Booking]] = relationship(back_populates="workshop", order_by="Booking.created_at")

    __table_args__ = (
        sa.CheckConstraint("capacity >= 0", name="capacity_not_negative"),
        sa.CheckConstraint("seats_taken >= 0 AND seats_taken <= capacity", name="seats_within_capacity"),
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        # The open data lists workshops in time order and pages on from there.
        sa.Index("ix_workshop_starts_at_id", "starts_at", "id"),
    )

    @property
    def ends_at(self) -> datetime:
        return self.starts_at + timedelta(minutes=self.duration_minutes)

    @property
    def seats_free(self) -> int:
        return max(self.capacity - self.seats_taken, 0)

    def __repr__(self) -> str:
        return f"<Workshop {self.id} {self.title!r}>"


class Course(db.Model):
    """A reusable workshop template of the course catalogue: a new workshop starts as a copy of it."""

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(sa.String(160))
    topic: Mapped[str] = mapped_column(sa.String(40))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    audience: Mapped[str] = mapped_column(sa.String(40), default="everyone")
    level: Mapped[str] = mapped_column(sa.String(20), default="first_steps")
    language: Mapped[str] = mapped_column(sa.String(8), default="de")
    duration_minutes: Mapped[int] = mapped_column(default=60)
    capacity: Mapped[int] = mapped_column(default=8)
    what_to_bring: Mapped[str] = mapped_column(sa.String(300), default="")
    walk_ins: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Title, description and what to bring in other languages than `language`, {tag: {field: text}}
    # (busapp/core/content.py); a workshop made from the course starts with them.
    texts: Mapped[dict] = mapped_column(sa.JSON, default=dict, server_default=sa.text("'{}'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.CheckConstraint("duration_minutes > 0", name="duration_positive"),
        sa.CheckConstraint("capacity > 0", name="capacity_positive"),
    )


class Booking(db.Model):
    """Seats for one party in a workshop, confirmed or on the waiting list; no account needed."""

    id: Mapped[int] = mapped_column(primary_key=True)
    workshop_id: Mapped[int] = mapped_column(sa.ForeignKey("workshop.id"), index=True)
    party_size: Mapped[int] = mapped_column(default=1)
    # Personal data: emptied by `flask purge` after the workshop, or by the person on their manage page.
    name: Mapped[str | None] = mapped_column(sa.String(80))
    contact: Mapped[str | None] = mapped_column(sa.String(120))
    needs_note: Mapped[str | None] = mapped_column(sa.String(300))
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "booking_status"), index=True)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    manage_token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # A keyed hash of who sent the booking (the visitor's session, or the outbox item's own secret): a repeat of
    # the idempotency key gets the booking back only with the same proof, so a leaked key opens nothing.
    replay_proof: Mapped[str | None] = mapped_column(sa.String(64))
    # Personal data too: a keyed hash of the address (IPv6: its /64) the booking came from, for the per-address
    # share of a workshop and the coordinators' view of bursts; None from the bus's trusted networks and the tablet.
    origin: Mapped[str | None] = mapped_column(sa.String(32), index=True)
    locale: Mapped[str] = mapped_column(sa.String(8), default="de")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_device: Mapped[str | None] = mapped_column(sa.String(64))
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How often a party behind this one on the waiting list got seats first; bounds how long it can be skipped.
    passed_over: Mapped[int] = mapped_column(default=0, server_default="0")
    # When the reminder of the day before was queued (once per booking).
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Check-in (busapp/checkin/service.py): how many of the party came, who let them in, and whether they walked in.
    arrived: Mapped[int] = mapped_column(default=0, server_default="0")
    checked_in_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    walk_in: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    workshop: Mapped[Workshop] = relationship(back_populates="bookings", innerjoin=True)
    checked_in_by: Mapped[User | None] = relationship()

    __table_args__ = (
        sa.CheckConstraint(PARTY_CHECK, name="party_size_range"),
        sa.CheckConstraint("arrived BETWEEN 0 AND party_size", name="arrived_within_party"),
    )

    def __repr__(self) -> str:
        return f"<Booking {self.code} {self.status.value} x{self.party_size}>"


# How often a waiting party may be passed over by smaller parties behind it before the free seats wait for it
# (the waiting-list rule in busapp/booking/service.py).
MAX_PASSED_OVER = 2

# Whether a waiting party is owed this workshop's free seats: then a new party cannot take them. Loaded with the
# workshop in the same statement, so every page that shows seats can follow the booking rule without a query more.
Workshop.seats_owed = column_property(
    sa.exists().where(
        Booking.workshop_id == Workshop.id,
        Booking.status == BookingStatus.WAITING,
        Booking.passed_over >= MAX_PASSED_OVER,
        Booking.party_size <= Workshop.capacity,
    ).correlate_except(Booking),
)


class Feedback(db.Model):
    """An anonymous rating of a stop (and optionally a workshop); holds no personal data."""

    id: Mapped[int] = mapped_column(primary_key=True)
    stop_id: Mapped[int] = mapped_column(sa.ForeignKey("stop.id"), index=True)
    workshop_id: Mapped[int | None] = mapped_column(sa.ForeignKey("workshop.id"), index=True)
    rating: Mapped[int] = mapped_column()
    learned: Mapped[str] = mapped_column(sa.Text, default="")
    missing: Mapped[str] = mapped_column(sa.Text, default="")
    wish_topic: Mapped[str] = mapped_column(sa.String(40), default="")
    wish_other: Mapped[str] = mapped_column(sa.String(200), default="")
    age_group: Mapped[str] = mapped_column(sa.String(20), default="")
    locale: Mapped[str] = mapped_column(sa.String(8), default="de")
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # A keyed hash of a random per-device cookie: limits repeats without knowing who anyone is.
    device_hash: Mapped[str] = mapped_column(sa.String(64), default="", index=True)
    # The same for the address it came from (IPv6: its /64), so a new cookie does not make a new phone; "" from the
    # bus's trusted networks.
    origin: Mapped[str] = mapped_column(sa.String(64), default="", server_default="", index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When the person gave the answer (an answer given offline arrives later, from the phone's outbox).
    given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    stop: Mapped[Stop] = relationship()
    workshop: Mapped[Workshop | None] = relationship()

    __table_args__ = (sa.CheckConstraint("rating BETWEEN 1 AND 5", name="rating_range"),)


class User(UserMixin, db.Model):
    """A staff or coordinator account."""

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Kept in every sign-in's session and compared on each request: raising it ends all of the account's open
    # sign-ins, even copies of the cookie (sign-out, disabling, a new password).
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # The second factor (busapp/accounts/totp.py, when COORDINATOR_TOTP is on): the authenticator key, set when the first
    # code was confirmed, and the last time step a code was used in (each code counts once).
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger)

    def end_sessions(self) -> None:
        """End every open sign-in of this account, in the current transaction."""
        db.session.execute(
            sa.update(User).where(User.id == self.id).values(session_version=User.session_version + 1)
        )
        db.session.refresh(self, ["session_version"])

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method="scrypt")

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def has_role(self, *roles: Role) -> bool:
        # A coordinator can do everything staff can.
        if self.role == Role.COORDINATOR:
            return True
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.email} {self.role.value}>"


class EndedSignIn(db.Model):
    """A sign-in ended by signing out on its device: its cookie, and any copy of it, is no longer accepted.

    Each sign-in carries its own random id in the session; signing out ends only that one, so a volunteer signing out
    on one tablet leaves the same account signed in on the other. Rows older than AUTH_MAX_AGE are deleted at the next
    sign-out (such a session has expired anyway).
    """

    sid: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class CallMark(db.Model):
    """How far a coordinator got with one person of a stop's call list: called (tried) and reached, when and by whom.
    Ticks older than the stop's latest change are about an earlier change and count no more (planning.calls)."""

    booking_id: Mapped[int] = mapped_column(sa.ForeignKey("booking.id", ondelete="CASCADE"), primary_key=True)
    called_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User | None] = relationship()


class CalendarLink(db.Model):
    """A coordinator's secret address of the whole tour as a calendar feed, for Outlook or Thunderbird to subscribe to
    without signing in; renewing replaces the secret, revoking deletes the row (planning.coordinator_calendar)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), unique=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    # The language the feed's words are written in: the coordinator's when the link was made.
    locale: Mapped[str] = mapped_column(sa.String(8), default="de")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class AuditEvent(db.Model):
    """Who changed what, when: written by staff and coordinator actions."""

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    action: Mapped[str] = mapped_column(sa.String(60))
    object_type: Mapped[str] = mapped_column(sa.String(40), default="")
    object_id: Mapped[str] = mapped_column(sa.String(40), default="")
    detail: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    device: Mapped[str] = mapped_column(sa.String(64), default="")

    user: Mapped[User | None] = relationship()


class TourUpload(db.Model):
    """A checked tour file, kept between its preview and the coordinator's "add all of them" (an hour at most), so
    the file is chosen once; taken, and so deleted, in the same transaction that writes its stops."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class OutgoingMail(db.Model):
    """A message in the durable outbox: written in the same transaction as the change that causes it, sent later
    by the mail worker (busapp/mail/service.py has the rules)."""

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40), default="")
    # Personal data: deleted with the booking's data and some days after sending (`flask purge`).
    to_address: Mapped[str] = mapped_column(sa.String(254))
    subject: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text)
    # [{"filename", "mimetype", "content"}], text attachments only (calendar files).
    attachments: Mapped[list] = mapped_column(sa.JSON, default=list)
    locale: Mapped[str] = mapped_column(sa.String(8), default="de")
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id", ondelete="SET NULL"), index=True)
    # Made once, so that a message sent again after a lost answer can be recognised as the same one.
    message_id: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[MailStatus] = mapped_column(enum_column(MailStatus, "mail_status"), default=MailStatus.WAITING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    lease_token: Mapped[str | None] = mapped_column(sa.String(32))
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    booking: Mapped[Booking | None] = relationship()

    __table_args__ = (sa.Index("ix_outgoing_mail_due", "status", "next_attempt_at"),)

    def __repr__(self) -> str:
        return f"<OutgoingMail {self.id} {self.kind} {self.status.value}>"
class Device(db.Model):
    """A registered staff tablet: its own sync credential, independent of anyone's sign-in; revocable."""

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(80))
    # SHA-256 of the sync credential; the credential itself is shown once, to the tablet that registered.
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The bus this tablet travels in (None: the first bus).
    bus_id: Mapped[int | None] = mapped_column(sa.ForeignKey("bus.id", ondelete="SET NULL"))
    # The highest queue sequence number received from this tablet.
    last_sequence: Mapped[int] = mapped_column(default=0, server_default="0")
    # A new tablet only asks to be set up; it works once a coordinator has approved it (busapp/checkin/tablets.py).
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))

    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    approved_by: Mapped[User | None] = relationship(foreign_keys=[approved_by_id])
    bus: Mapped[Bus | None] = relationship(back_populates="devices")

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None

    @property
    def is_approved(self) -> bool:
        """Set up and working: approved by a coordinator and not revoked."""
        return self.approved_at is not None and self.revoked_at is None

    @property
    def is_waiting(self) -> bool:
        """Asked to be set up; no coordinator has approved or refused it yet."""
        return self.approved_at is None and self.revoked_at is None

    def __repr__(self) -> str:
        return f"<Device {self.id} {self.name!r}>"


class CheckIn(db.Model):
    """One check-in action (check in, undo, walk-in) as a tablet sent it, online or from its offline queue."""

    id: Mapped[int] = mapped_column(primary_key=True)
    # Made on the tablet when staff acted; a replay of the same action carries the same nonce.
    nonce: Mapped[str] = mapped_column(sa.String(64), unique=True)
    device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("device.id"), index=True)
    sequence: Mapped[int | None] = mapped_column()
    kind: Mapped[str] = mapped_column(sa.String(12))
    workshop_id: Mapped[int] = mapped_column(sa.ForeignKey("workshop.id"), index=True)
    booking_id: Mapped[int | None] = mapped_column(sa.ForeignKey("booking.id"), index=True)
    people: Mapped[int] = mapped_column(default=1)
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id"))
    # When staff acted (the tablet's clock) and when the server got it.
    acted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # What the server decided: an outcome of busapp/checkin/service.py.
    outcome: Mapped[str] = mapped_column(sa.String(20))
    # The booking was already checked in by another tablet while this one was offline: staff should look.
    conflict: Mapped[bool] = mapped_column(default=False, server_default=sa.false(), index=True)
    conflict_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    device: Mapped[Device | None] = relationship()
    booking: Mapped[Booking | None] = relationship()
    user: Mapped[User | None] = relationship()

    __table_args__ = (sa.UniqueConstraint("device_id", "sequence", name="device_sequence"),)


class SeatShare(db.Model):
    """Seats of a workshop held for one tablet's offline walk-ins, so two offline tablets cannot overbook."""

    device_id: Mapped[int] = mapped_column(sa.ForeignKey("device.id"), primary_key=True)
    workshop_id: Mapped[int] = mapped_column(sa.ForeignKey("workshop.id"), primary_key=True)
    # Counted in Workshop.seats_taken while held; `used` of them have become walk-in bookings.
    seats: Mapped[int] = mapped_column(default=0)
    used: Mapped[int] = mapped_column(default=0)
    # When the seats were taken: when booking closed (busapp/checkin/service.py). None: the tablet prepared the
    # day and is in line for a share, but residents can still book, so no seat is held yet.
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (sa.CheckConstraint("used >= 0 AND used <= seats", name="share_used_within_seats"),)


class RateCounter(db.Model):
    """Hits per key and time window, shared by every app process through the database."""

    key: Mapped[str] = mapped_column(sa.String(120), primary_key=True)
    window_start: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


def audit(action: str, obj: Any = None, user: User | None = None, device: str = "", **detail: Any) -> AuditEvent:
    """Record an audit event in the current transaction."""
    event = AuditEvent(
        action=action,
        object_type=type(obj).__name__.lower() if obj is not None else "",
        object_id=str(getattr(obj, "id", "") or ""),
        user=user,
        detail=detail,
        device=device,
    )
    db.session.add(event)
    return event


def record_job(job: str, **detail: Any) -> None:
    """Note that a scheduled job (purge, reminders, backup) finished: an audit event, committed. The metrics and
    their alerts (busapp/ops/monitoring.py) read the newest one of each job."""
    audit(f"job-{job}", None, **detail)
    db.session.commit()
