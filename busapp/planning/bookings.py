"""Bookings and waiting lists of one workshop for coordinators, and their CSV export (every export is audited).

Personal data shown here is the same that `flask purge` empties PURGE_AFTER_DAYS after the workshop."""
from __future__ import annotations

import sqlalchemy as sa
from flask import render_template
from flask_login import current_user

from ..core import csvexport
from ..accounts.auth import role_required
from ..booking.forms import contact_kind
from ..core.extensions import db
from ..models import Booking, BookingStatus, Role, Workshop, audit
from . import bp, service

ORDER = {BookingStatus.CONFIRMED: 0, BookingStatus.WAITING: 1, BookingStatus.CANCELLED: 2}


def _bookings(workshop: Workshop) -> list[Booking]:
    rows = db.session.scalars(
        sa.select(Booking).where(Booking.workshop_id == workshop.id).order_by(Booking.created_at, Booking.id)).all()
    return sorted(rows, key=lambda b: ORDER[b.status])


@bp.get("/workshops/<int:workshop_id>/bookings")
@role_required(Role.COORDINATOR)
def bookings(workshop_id: int):
    """Who booked and who waits for one workshop, in the order they came."""
    workshop = db.get_or_404(Workshop, workshop_id)
    seats, parties = service.taken(workshop.id)
    return render_template("planning/bookings.html", workshop=workshop, bookings=_bookings(workshop),
                           seats=seats, parties=parties, contact_kind=contact_kind)


@bp.get("/workshops/<int:workshop_id>/bookings.csv")
@role_required(Role.COORDINATOR)
def bookings_csv(workshop_id: int):
    """The workshop's bookings as CSV; recorded in the audit log, since it carries personal data."""
    workshop = db.get_or_404(Workshop, workshop_id)
    rows = _bookings(workshop)
    body = csvexport.text(
        ["code", "state", "party_size", "name", "contact", "needs_note", "booked_at", "checked_in_at"],
        ([b.code, b.status.value, b.party_size, b.name, b.contact, b.needs_note,
          b.created_at.isoformat(timespec="minutes"),
          b.checked_in_at.isoformat(timespec="minutes") if b.checked_in_at else ""] for b in rows), bom=True)
    audit("bookings-export", workshop, user=current_user._get_current_object(), rows=len(rows))
    db.session.commit()
    return csvexport.download(body, f"bookings-{workshop.id}.csv")
