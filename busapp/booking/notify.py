"""Emails to people who booked: the confirmation (with the workshop as .ics), the news of a seat from the
waiting list and the reminder the day before. Only for bookings whose contact is an email address, each in the
language the booking was made in, and without any text the booker typed (see templates/mail/_hello.txt); the
texts are templates/mail/booking_*.txt. They are put into the mail outbox
(busapp/mail/service.py) in the transaction that makes the change, by the booking service: a booking and its mail
are stored together or not at all, and the request never waits for a mail server."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, format_date, format_time

from ..core.content import text_in, text_of
from ..core.i18n import language_tag
from ..mail import service as outbox, texts
from ..models import Booking, BookingStatus, OutgoingMail
from ..domain.links import absolute_url
from ..schedule.calendar import ics_for_booking
from ..schedule.display import place_line
from .forms import contact_kind


def facts(booking: Booking) -> dict:
    """What the mail templates say about the booking, in the language of the moment (force_locale)."""
    workshop, stop = booking.workshop, booking.workshop.stop
    return {
        "title": text_in(workshop, "title"),
        "date": format_date(workshop.starts_at, "full"), "start": format_time(workshop.starts_at, "short"),
        "end": format_time(workshop.ends_at, "short"), "place": place_line(stop.place),
        "finding_note": text_in(stop.place, "finding_note") if stop.place.finding_note else "",
        "party_size": booking.party_size, "code": booking.code,
        "ticket_url": absolute_url("booking.show", token=booking.manage_token, lang=language_tag(booking.locale)),
    }


def _queue(booking: Booking, kind: str, template: str, calendar: bool = True, **extra) -> OutgoingMail | None:
    """Render templates/mail/<template>.txt in the booking's language and put it into the outbox."""
    with force_locale(booking.locale):
        subject, body = texts.render(template, booking.locale, **facts(booking), **extra)
    attachments = [("workshop.ics", ics_for_booking(booking).decode(), "text/calendar")] if calendar else []
    return outbox.enqueue(to=booking.contact, subject=subject, body=body, locale=booking.locale, kind=kind,
                          booking=booking, attachments=attachments)


def wants_mail(booking: Booking) -> bool:
    """Whether this booking gets emails at all: its contact is an email address. Without a mail server the
    messages are queued all the same and go once one is set up."""
    return contact_kind(booking.contact) == "email"


def confirmation(booking: Booking, position: int | None = None) -> OutgoingMail | None:
    """Queue the news that the booking (or waiting-list place, number `position`) is recorded."""
    if not wants_mail(booking):
        return None
    confirmed = booking.status == BookingStatus.CONFIRMED
    # A waiting-list place is not an appointment yet: no calendar entry until there is a seat.
    return _queue(booking, "booking-confirmation", "booking_confirmation", calendar=confirmed, confirmed=confirmed,
                  position=position or 1)


def promotion(booking: Booking) -> OutgoingMail | None:
    """Queue the news for a party from the waiting list that it now has seats."""
    if not wants_mail(booking):
        return None
    return _queue(booking, "booking-promotion", "booking_promotion")


def change(booking: Booking, kind: str, reason: str, reasons: dict[str, str] | None = None) -> OutgoingMail | None:
    """Queue the news of a coordinator's change (`kind`: stop- or workshop-"cancelled" or -"moved") with its
    reason, in the booking's language: the reason as written in that language (`reasons`, {tag: text}), else the
    German one."""
    if contact_kind(booking.contact) != "email":
        return None
    reason = text_of(reason, {tag: {"reason": text} for tag, text in (reasons or {}).items()},
                     current_app.config["BABEL_DEFAULT_LOCALE"],
                     "reason", language_tag(booking.locale))
    return _queue(booking, kind, "booking_change", calendar=False, cancelled=kind.endswith("cancelled"),
                  reason=reason)


def reminder(booking: Booking) -> OutgoingMail | None:
    """Queue the reminder the day before, with the link to cancel."""
    if not wants_mail(booking):
        return None
    return _queue(booking, "booking-reminder", "booking_reminder", calendar=False)
