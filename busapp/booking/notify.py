"""Emails to people who booked: the confirmation (with the workshop as .ics) and the news of a seat from the
waiting list. Only for bookings whose contact is an email address, only when mail is configured, each in the
language the booking was made in. Sent after the booking is committed, so a mail failure never loses it."""
from __future__ import annotations

from flask_babel import force_locale, format_date, format_time, gettext as _

from .. import mail
from ..models import Booking, BookingStatus
from ..schedule.calendar import absolute_url, ics_for_workshop
from ..schedule.display import place_line
from .forms import contact_kind
from .service import waiting_position


def _facts(booking: Booking) -> list[str]:
    workshop, stop = booking.workshop, booking.workshop.stop
    return [
        _("Workshop: %(title)s", title=workshop.title),
        _("When: %(date)s, %(start)s to %(end)s", date=format_date(workshop.starts_at, "full"),
          start=format_time(workshop.starts_at, "short"), end=format_time(workshop.ends_at, "short")),
        _("Where: %(place)s", place=place_line(stop.place)),
        _("People: %(n)d", n=booking.party_size),
        _("Booking code: %(code)s", code=booking.code),
    ]


def _manage_lines(booking: Booking) -> list[str]:
    return [
        _("Your ticket, to show on the bus, and where you can cancel:"),
        absolute_url("booking.show", token=booking.manage_token),
        _("Please keep this email or the link: anyone with the link can see and cancel this booking."),
    ]


def _send(booking: Booking, subject: str, lines: list[str]) -> bool:
    body = "\n".join(lines) + "\n\n" + _("Your digital workshop bus team") + "\n"
    attachment = ("workshop.ics", ics_for_workshop(booking.workshop), "text/calendar")
    return mail.send(booking.contact, subject, body, [attachment])


def confirmation(booking: Booking) -> bool:
    """Tell the person their booking (or waiting-list place) is recorded; False when nothing was sent."""
    if not mail.enabled() or contact_kind(booking.contact) != "email":
        return False
    with force_locale(booking.locale):
        if booking.status == BookingStatus.CONFIRMED:
            subject = _("Your seat: %(title)s", title=booking.workshop.title)
            intro = [_("Hello %(name)s,", name=booking.name), "", _("your seat is booked."), ""]
        else:
            subject = _("Waiting list: %(title)s", title=booking.workshop.title)
            intro = [
                _("Hello %(name)s,", name=booking.name), "",
                _("the workshop is full. You are number %(n)d on the waiting list.", n=waiting_position(booking) or 1),
                _("When seats become free, we move you up automatically and tell you by email."), "",
            ]
        return _send(booking, subject, intro + _facts(booking) + [""] + _manage_lines(booking))


def promotion(booking: Booking) -> bool:
    """Tell a party from the waiting list that it now has seats; False when nothing was sent."""
    if not mail.enabled() or contact_kind(booking.contact) != "email":
        return False
    with force_locale(booking.locale):
        subject = _("You have a seat: %(title)s", title=booking.workshop.title)
        intro = [
            _("Hello %(name)s,", name=booking.name), "",
            _("good news: seats became free and you have moved up from the waiting list. Your seat is booked."),
            _("If you cannot come, please cancel, so that the next person gets the seat."), "",
        ]
        return _send(booking, subject, intro + _facts(booking) + [""] + _manage_lines(booking))
