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
    now = utcnow()
    workshops = [workshop] if workshop else [w for w in stop.workshops if w.status != WorkshopStatus.CANCELLED]
    # Every booking takes its workshop's seat lock first. Taken here before the bookings are read (in one order,
    # so two cancellations cannot deadlock), a booking either came before and is cancelled and told with the
    # others, or waits and is then refused: none stays confirmed in a cancelled workshop.
    for w in sorted(workshops, key=lambda w: w.id):
        seats.lock(w.id)
    result = impact(stop, workshop)
    for w in workshops:
        w.status = WorkshopStatus.CANCELLED
        w.cancel_reason = reason
        set_texts_of(w, "cancel_reason", reasons)
        seats.clear(w.id)  # the bookings' seats and any tablet's held seats
    for booking in result.bookings:
        booking.status = BookingStatus.CANCELLED
        booking.cancelled_at = now
    if workshop is None:
        stop.status = StopStatus.CANCELLED
        stop.cancel_reason = reason
        set_texts_of(stop, "cancel_reason", reasons)
    stop.change_note = reason
    set_texts_of(stop, "change_note", reasons)
    stop.changed_at = now
    db.session.flush()
    for booking in result.bookings:
        _tell(booking, "workshop-cancelled" if workshop else "stop-cancelled", reason, reasons)
    audit("workshop-cancel" if workshop else "stop-cancel", workshop or stop, user=writes.user_in_session(user),
          reason=reason, bookings=[b.id for b in result.bookings], mailed=len(result.mailed),
          phone_only=len(result.phone_only))
    db.session.commit()
    return result


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
