"""Emails to people who booked: the confirmation (with the workshop as .ics), the news of a seat from the
waiting list and the reminder the day before. Only for bookings whose contact is an email address, each in the
language the booking was made in, and without any text the booker typed (see `greeting`). They are put into the
mail outbox (busapp/mail/service.py) in the transaction that makes the change, by the booking service: a booking and its mail are stored together or not at all, and
the request never waits for a mail server."""
from __future__ import annotations

from flask_babel import force_locale, format_date, format_time, gettext as _

from ..content import text_in
from ..i18n import language_tag
from ..mail import service as outbox
from ..models import Booking, BookingStatus, OutgoingMail
from ..domain.links import absolute_url
from ..schedule.calendar import ics_for_booking
from ..schedule.display import place_line
from .forms import contact_kind


def greeting() -> str:
    """The mail's first line. It never repeats the name typed at booking: whoever books may type anyone's email
    address, and that address has confirmed nothing, so a mail from the app must not carry the booker's words
    ("Your account will be closed, confirm at https://..." as a name would open the mail)."""
    return _("Hello,")


def _facts(booking: Booking) -> list[str]:
    workshop, stop = booking.workshop, booking.workshop.stop
    lines = [
        _("Workshop: %(title)s", title=text_in(workshop, "title")),
        _("When: %(date)s, %(start)s to %(end)s", date=format_date(workshop.starts_at, "full"),
          start=format_time(workshop.starts_at, "short"), end=format_time(workshop.ends_at, "short")),
        _("Where: %(place)s", place=place_line(stop.place)),
    ]
    if stop.place.finding_note:
        lines.append(_("How to find the bus: %(note)s", note=text_in(stop.place, "finding_note")))
    lines += [
        _("People: %(n)d", n=booking.party_size),
        _("Booking code: %(code)s", code=booking.code),
    ]
    return lines


def _manage_lines(booking: Booking) -> list[str]:
    return [
        _("Your ticket, to show on the bus, and where you can cancel:"),
        absolute_url("booking.show", token=booking.manage_token, lang=language_tag(booking.locale)),
        _("Please keep this email or the link: anyone with the link can see and cancel this booking."),
    ]


def _queue(booking: Booking, kind: str, subject: str, lines: list[str], calendar: bool = True) -> OutgoingMail | None:
    body = "\n".join(lines) + "\n\n" + _("Your digital workshop bus team") + "\n"
    attachments = [("workshop.ics", ics_for_booking(booking).decode(), "text/calendar")] if calendar else []
    return outbox.enqueue(to=booking.contact, subject=subject, body=body, locale=booking.locale, kind=kind,
                          booking=booking, attachments=attachments)


def wants_mail(booking: Booking) -> bool:
    """Whether this booking gets emails at all: mail is on and its contact is an email address."""
    return outbox.smtp.enabled() and contact_kind(booking.contact) == "email"


def confirmation(booking: Booking, position: int | None = None) -> OutgoingMail | None:
    """Queue the news that the booking (or waiting-list place, number `position`) is recorded."""
    if not wants_mail(booking):
        return None
    with force_locale(booking.locale):
        if booking.status == BookingStatus.CONFIRMED:
            subject = _("Your seat: %(title)s", title=text_in(booking.workshop, "title"))
            intro = [greeting(), "", _("your seat is booked."), ""]
        else:
            subject = _("Waiting list: %(title)s", title=text_in(booking.workshop, "title"))
            intro = [
                greeting(), "",
                _("the workshop is full. You are number %(n)d on the waiting list.", n=position or 1),
                _("When seats become free, we move you up automatically and tell you by email."), "",
            ]
        # A waiting-list place is not an appointment yet: no calendar entry until there is a seat.
        calendar = booking.status == BookingStatus.CONFIRMED
        return _queue(booking, "booking-confirmation", subject, intro + _facts(booking) + [""]
                      + _manage_lines(booking), calendar=calendar)


def promotion(booking: Booking) -> OutgoingMail | None:
    """Queue the news for a party from the waiting list that it now has seats."""
    if not wants_mail(booking):
        return None
    with force_locale(booking.locale):
        subject = _("You have a seat: %(title)s", title=text_in(booking.workshop, "title"))
        intro = [
            greeting(), "",
            _("good news: seats became free and you have moved up from the waiting list. Your seat is booked."),
            _("If you cannot come, please cancel, so that the next person gets the seat."), "",
        ]
        return _queue(booking, "booking-promotion", subject, intro + _facts(booking) + [""] + _manage_lines(booking))


def reminder(booking: Booking) -> OutgoingMail | None:
    """Queue the reminder the day before, with the link to cancel."""
    if not wants_mail(booking):
        return None
    with force_locale(booking.locale):
        subject = _("Tomorrow: %(title)s", title=text_in(booking.workshop, "title"))
        intro = [
            greeting(), "",
            _("a reminder: your workshop on the digital workshop bus is tomorrow."),
            _("If you cannot come, please cancel with the link below, so that someone else gets the seat."), "",
        ]
        return _queue(booking, "booking-reminder", subject, intro + _facts(booking) + [""] + _manage_lines(booking),
                      calendar=False)
