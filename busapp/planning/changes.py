"""Changes that reach the people booked: moving a stop or a workshop, cancelling a stop or a workshop.

The rules
    Moving a stop or giving a workshop another time keeps every booking; cancelling a stop or a workshop cancels its
    bookings (confirmed and waiting) and frees their seats, with a reason the people booked will read. The
    cancellation takes each workshop's seat lock (busapp/domain/seats.py) before it reads the bookings, so a
    booking made at that moment is either cancelled and told with the others or refused. Before either is saved, the coordinator sees
    a dry run (`impact`): how many parties and seats are affected, how many will get an email, and who gave only a
    phone number (the call list). The change, the stop's note shown on every affected ticket page and the emails
    (through the durable mail outbox) are written in one transaction: all of it or nothing. The calendar SEQUENCE
    of the stop rises with the change (the Stop model does that; a workshop's entry carries its stop's SEQUENCE,
    so a workshop's new time raises it too), and a cancelled entry says STATUS:CANCELLED.

Many at once
    Several stops and workshops (a week, a district, a bus, a series from one date on) are cancelled with one reason
    in one transaction (`cancel_many`): the same seat locks, taken in one order for all of them, the same notes and
    mails, one audit entry per stop or workshop. Its dry run (`impact_of`, `by_stop`) shows every stop with who is
    affected and how many emails go out. Stops cancelled already or over are left out and counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from ..booking import notify
from ..core.content import set_texts_of
from ..booking.forms import contact_kind
from ..domain import seats
from ..core.extensions import db
from ..mail import service as outbox
from ..models import Booking, BookingStatus, Stop, StopStatus, User, Workshop, WorkshopStatus, audit, utcnow
from . import writes


@dataclass
class Impact:
    """Who a change reaches: the active bookings, split by how they can be told."""

    bookings: list[Booking] = field(default_factory=list)
    mail_on: bool = False

    @property
    def parties(self) -> int:
        return len(self.bookings)

    @property
    def seats(self) -> int:
        return sum(b.party_size for b in self.bookings)

    @property
    def mailed(self) -> list[Booking]:
        return [b for b in self.bookings if contact_kind(b.contact) == "email"]

    @property
    def phone_only(self) -> list[Booking]:
        return [b for b in self.bookings if contact_kind(b.contact) == "phone"]

    @property
    def unreachable(self) -> int:
        return sum(1 for b in self.bookings if not b.contact)


CHUNK = 500  # ids per IN (...) list: SQLite allows a limited number of bound values per statement


def _chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start:start + CHUNK]


def _active(query) -> list[Booking]:
    return list(db.session.scalars(query.where(Booking.status != BookingStatus.CANCELLED)
                                   .order_by(Booking.workshop_id, Booking.created_at, Booking.id)))


def impact(stop: Stop | None = None, workshop: Workshop | None = None) -> Impact:
    """The dry run: the bookings a change to this stop (all its workshops) or this one workshop reaches."""
    query = sa.select(Booking)
    if workshop is not None:
        query = query.where(Booking.workshop_id == workshop.id)
    else:
        query = query.join(Workshop).where(Workshop.stop_id == stop.id)
    return Impact(_active(query), outbox.smtp.enabled())


def impact_of(stop_ids=(), workshop_ids=()) -> Impact:
    """The dry run of a change to many at once: the bookings of these stops' workshops and of these workshops."""
    found: dict[int, Booking] = {}
    for chunk in _chunks(sorted(set(stop_ids))):
        for b in _active(sa.select(Booking).join(Workshop).where(Workshop.stop_id.in_(chunk))):
            found[b.id] = b
    for chunk in _chunks(sorted(set(workshop_ids))):
        for b in _active(sa.select(Booking).where(Booking.workshop_id.in_(chunk))):
            found[b.id] = b
    bookings = sorted(found.values(), key=lambda b: (b.workshop.starts_at, b.workshop_id, b.created_at, b.id))
    return Impact(bookings, outbox.smtp.enabled())


@dataclass
class StopImpact:
    """One stop's line in the dry run of a change to many: its bookings split as in Impact."""

    stop: Stop
    impact: Impact


def by_stop(stops: list[Stop], result: Impact) -> list[StopImpact]:
    """The dry run's bookings stop by stop, in the order of `stops` (stops nobody booked included)."""
    lines = {s.id: StopImpact(s, Impact([], result.mail_on)) for s in stops}
    for booking in result.bookings:
        line = lines.get(booking.workshop.stop_id)
        if line is not None:
            line.impact.bookings.append(booking)
    return list(lines.values())


def call_list(stop: Stop) -> list[Booking]:
    """People of this stop who gave only a phone number and are affected by its last change (or still booked)."""
    query = sa.select(Booking).join(Workshop).where(Workshop.stop_id == stop.id)
    if stop.changed_at is not None:
        query = query.where(sa.or_(Booking.status != BookingStatus.CANCELLED, Booking.cancelled_at >= stop.changed_at))
    else:
        query = query.where(Booking.status != BookingStatus.CANCELLED)
    rows = db.session.scalars(query.order_by(Booking.workshop_id, Booking.created_at)).all()
    return [b for b in rows if contact_kind(b.contact) == "phone"]


def _tell(booking: Booking, kind: str, reason: str, reasons: dict[str, str] | None = None) -> None:
    """Queue the email about a change for one booking, in its own language (templates/mail/booking_change.txt),
    with the reason as the coordinator wrote it in that language, else the German one."""
    notify.change(booking, kind, reason, reasons)


@dataclass
class Cancelled:
    """What a cancellation of many did: the stops and the single workshops cancelled, and whom it reached."""

    impact: Impact
    stops: list[int]
    workshops: list[int]
    # Asked for but left as they were: cancelled already, or over.
    skipped: int = 0


def _cancel(stops: list[Stop], workshops: list[Workshop], reason: str, user: User | None,
            reasons: dict[str, str] | None = None, **detail) -> Cancelled:
    """Cancel these stops (each with its workshops) and these single workshops of other stops, inside the planning
    lock: every workshop's seat lock first, then the bookings are read, cancelled and told; the caller commits."""
    now = utcnow()
    whole = {s.id for s in stops}
    workshops = [w for w in workshops if w.stop_id not in whole]
    reached = [w for s in stops for w in s.workshops if w.status != WorkshopStatus.CANCELLED] + workshops
    # Every booking takes its workshop's seat lock first. Taken here before the bookings are read (in one order,
    # so two cancellations cannot deadlock), a booking either came before and is cancelled and told with the
    # others, or waits and is then refused: none stays confirmed in a cancelled workshop.
    for w in sorted(reached, key=lambda w: w.id):
        seats.lock(w.id)
    result = impact_of(workshop_ids=[w.id for w in reached])
    for w in reached:
        w.status = WorkshopStatus.CANCELLED
        w.cancel_reason = reason
        set_texts_of(w, "cancel_reason", reasons)
        seats.clear(w.id)  # the bookings' seats and any tablet's held seats
    for booking in result.bookings:
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
    for stop in stops:
        stop.status = StopStatus.CANCELLED
        stop.cancel_reason = reason
        set_texts_of(stop, "cancel_reason", reasons)
    for stop in {s.id: s for s in stops + [w.stop for w in workshops]}.values():
        stop.change_note = reason
        set_texts_of(stop, "change_note", reasons)
        stop.changed_at = now
    db.session.flush()
    for booking in result.bookings:
        _tell(booking, "stop-cancelled" if booking.workshop.stop_id in whole else "workshop-cancelled", reason,
              reasons)
    per_target: dict[tuple[str, int], list[Booking]] = {}
    for booking in result.bookings:
        key = ("stop", booking.workshop.stop_id) if booking.workshop.stop_id in whole else ("workshop", booking.workshop_id)
        per_target.setdefault(key, []).append(booking)
    who = writes.user_in_session(user)
    for kind, targets in (("stop", stops), ("workshop", workshops)):
        for target in targets:
            told = Impact(per_target.get((kind, target.id), []))
            audit("stop-cancel" if kind == "stop" else "workshop-cancel", target, user=who, reason=reason, bookings=[b.id for b in told.bookings],
                  mailed=len(told.mailed), phone_only=len(told.phone_only), **detail)
    return Cancelled(result, [s.id for s in stops], [w.id for w in workshops])


def cancel(stop_id: int, workshop_id: int | None, reason: str, user: User | None,
           reasons: dict[str, str] | None = None) -> Impact:
    """Cancel a whole stop (workshop_id None) or one workshop: its bookings are cancelled and told, in one go.

    `reasons` is the reason in other languages ({tag: text}): tickets, pages and mails show it in the person's."""
    writes.lock()
    stop = db.session.get(Stop, stop_id)
    workshop = db.session.get(Workshop, workshop_id) if workshop_id else None
    if stop is None or stop.status == StopStatus.CANCELLED or (workshop_id and (
            workshop is None or workshop.stop_id != stop_id or workshop.status == WorkshopStatus.CANCELLED)):
        db.session.rollback()
        raise writes.Refused({"": [_("This is cancelled already.")]})
    done = _cancel([] if workshop else [stop], [workshop] if workshop else [], reason, user, reasons)
    db.session.commit()
    return done.impact


def cancel_many(stop_ids=(), workshop_ids=(), reason: str = "", user: User | None = None,
                reasons: dict[str, str] | None = None, **detail) -> Cancelled:
    """Cancel many stops and workshops with one reason (and its `reasons` in other languages), all in one
    transaction: each one's bookings are cancelled and told as by `cancel`. Stops and workshops cancelled already or
    over are left out (counted in `skipped`); raises Refused when none is left."""
    writes.lock()
    now = utcnow()
    stop_ids, workshop_ids = sorted(set(stop_ids)), sorted(set(workshop_ids))
    stops: list[Stop] = []
    for chunk in _chunks(stop_ids):
        stops += db.session.scalars(sa.select(Stop).where(Stop.id.in_(chunk), Stop.status != StopStatus.CANCELLED,
                                                          Stop.ends_at > now))
    workshops: list[Workshop] = []
    for chunk in _chunks(workshop_ids):
        workshops += db.session.scalars(
            sa.select(Workshop).join(Workshop.stop).where(
                Workshop.id.in_(chunk), Workshop.status != WorkshopStatus.CANCELLED,
                Stop.status != StopStatus.CANCELLED, Stop.ends_at > now))
    if not stops and not workshops:
        db.session.rollback()
        raise writes.Refused({"": [_("Nothing was cancelled: these are cancelled already or over.")]})
    stops.sort(key=lambda s: (s.starts_at, s.id))
    found = len(stops) + len(workshops)
    done = _cancel(stops, workshops, reason, user, reasons, **detail)
    done.skipped = len(stop_ids) + len(workshop_ids) - found
    db.session.commit()
    return done


def tell_moved(stop: Stop, reason: str, now, workshop: Workshop | None = None,
               reasons: dict[str, str] | None = None) -> Impact:
    """Inside a move's transaction: note the change on the stop and queue the mails; returns who it reached.

    With `workshop`, only that workshop got another time: only its bookings are told. `reasons` is the note in
    other languages ({tag: text}); each person reads the one of the language they booked in, else the German."""
    result = impact(stop, workshop)
    stop.change_note = reason
    set_texts_of(stop, "change_note", reasons)
    stop.changed_at = now
    for booking in result.bookings:
        _tell(booking, "workshop-moved" if workshop else "stop-moved", reason, reasons)
    return result
