"""What a visitor can do with a workshop right now: book a seat, join the waiting list, or why not. The one answer
the booking service enforces and every page, form, JSON reply and the schedule's seat counts show (the waiting-list
rule behind `seats_owed` is in busapp/booking/service.py, the seats in busapp/domain/seats.py)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app

from ..models import StopStatus, Workshop, WorkshopStatus, utcnow


def closes_at(workshop: Workshop) -> datetime:
    """When booking ends: the workshop's start minus BOOKING_CLOSES_MINUTES."""
    return workshop.starts_at - timedelta(minutes=current_app.config["BOOKING_CLOSES_MINUTES"])


def refusal(workshop: Workshop | None, now: datetime | None = None) -> str | None:
    """Why this workshop cannot be booked now, or None when it can."""
    now = now or utcnow()
    if workshop is None:
        return "gone"
    if workshop.status == WorkshopStatus.DRAFT or workshop.stop.status == StopStatus.DRAFT:
        return "draft"
    if workshop.status == WorkshopStatus.CANCELLED:
        return "cancelled"
    if workshop.stop.status == StopStatus.CANCELLED:
        return "stop_cancelled"
    if now >= workshop.starts_at:
        return "past"
    if now >= closes_at(workshop):
        return "closed"
    return None


@dataclass(frozen=True)
class Offer:
    """What a visitor can do with a workshop right now: the one answer every page, form and JSON reply shows.

    `seats_free` are the seats a new party gets at once: the free seats, or none while a party that has waited
    long is owed them (the waiting-list rule). A party of `n` gets seats when n <= seats_free, else it waits."""

    refusal: str | None
    seats_free: int
    seats_owed: bool = False

    @property
    def bookable(self) -> bool:
        return self.refusal is None

    @property
    def waiting_list_only(self) -> bool:
        """Bookable, but every new party goes onto the waiting list."""
        return self.bookable and self.seats_free == 0

    def outcome(self, party_size: int) -> str:
        """"confirmed", "waiting" or "refused": what a booking of this party would get now."""
        if not self.bookable:
            return "refused"
        return "confirmed" if party_size <= self.seats_free else "waiting"


def offer(workshop: Workshop | None, now: datetime | None = None) -> Offer:
    """The offer of a workshop now; reads nothing from the database beyond the loaded workshop and stop."""
    reason = refusal(workshop, now)
    if reason is not None:
        return Offer(reason, 0)
    owed = bool(workshop.seats_owed) and workshop.seats_free > 0
    return Offer(None, 0 if owed else workshop.seats_free, owed)
