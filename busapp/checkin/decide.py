"""Deciding what a scanned or typed code means at a workshop's door (busapp/checkin/service.py states the order)."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..core import tickets
from ..booking.service import normalize_code
from ..core.extensions import db
from ..models import Booking, BookingStatus, Workshop, utcnow
from .outcomes import AGAIN, CANCELLED, FORGED, OTHER_STOP, OTHER_WORKSHOP, UNKNOWN, VALID, WAITING, Decision


def _find(code: str) -> Booking | None:
    return db.session.scalar(
        sa.select(Booking).where(Booking.code == code)
        .options(joinedload(Booking.workshop).joinedload(Workshop.stop), joinedload(Booking.checked_in_by))
    )


def code_read(text: str) -> str:
    """The booking code a scan or a typed entry carries, as the door shows it back ("K7MQ4P"): a token's code
    field, or what was typed without spaces and dashes; "" when nothing like a code was read."""
    text = (text or "").strip()[:400]
    if text.upper().startswith(("DB1.", "DB2.")):
        parts = text.split(".")
        code = normalize_code(parts[1]) if len(parts) > 1 else ""
    else:
        code = normalize_code(text)
    return code[:12]


def decide(text: str, workshop: Workshop, now: datetime | None = None) -> Decision:
    """What a scanned token or typed code means at this workshop's door (the module's first rule); reads only."""
    now = now or utcnow()
    text = (text or "").strip()[:400]
    if text.upper().startswith(("DB1.", "DB2.")):
        payload = tickets.verify(text)
        if payload is None:
            return Decision(FORGED)
        booking = _find(payload.code)
        if booking is None:
            return Decision(UNKNOWN)
        if payload.legacy and now >= booking.workshop.ends_at:
            return Decision(FORGED, booking, detail={"legacy": True})
        return _by_booking(booking, workshop)
    code = normalize_code(text)
    if not 4 <= len(code) <= 12:
        return Decision(UNKNOWN)
    booking = _find(code)
    if booking is None:
        return Decision(UNKNOWN)
    return _by_booking(booking, workshop)


def _by_booking(booking: Booking, workshop: Workshop) -> Decision:
    if booking.status == BookingStatus.CANCELLED:
        return Decision(CANCELLED, booking)
    if booking.status == BookingStatus.WAITING:
        return Decision(WAITING, booking)
    if booking.workshop_id != workshop.id:
        same_stop = booking.workshop.stop_id == workshop.stop_id
        return Decision(OTHER_WORKSHOP if same_stop else OTHER_STOP, booking)
    if booking.arrived:
        return Decision(AGAIN, booking)
    return Decision(VALID, booking)
