"""iCalendar files: one stop, a district's feed, the whole tour, and one workshop for the booking pages."""
from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import Response, current_app, url_for
from flask_babel import gettext as _
from icalendar import Calendar, Event
from icalendar.enums import STATUS

from ..catalog import audience_label, language_label
from ..models import Stop, StopStatus, Workshop, WorkshopStatus, utcnow
from .display import place_line, public_workshops

PRODID = "-//Digitalwerkstatt-Bus Lübeck//Tour schedule//DE"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# Calendar apps poll subscribed feeds; a few hours keeps changes timely without hammering the server.
REFRESH = timedelta(hours=3)


def uid_domain() -> str:
    """The right-hand side of every UID: the public host, so UIDs stay the same across requests and servers."""
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"


def absolute_url(endpoint: str, **values) -> str:
    """An absolute link (mail, calendar, QR code) on the configured public address, never on the request's Host:
    a forged Host header must not put someone's private link on another site."""
    return current_app.config["PUBLIC_BASE_URL"] + url_for(endpoint, **values)


def webcal_url(endpoint: str, **values) -> str:
    """The feed's address with the webcal: scheme, which phones hand to their calendar app as a subscription."""
    return "webcal://" + absolute_url(endpoint, **values).split("://", 1)[1]


def _tz() -> ZoneInfo:
    return ZoneInfo(current_app.config["TIMEZONE"])


def _summary(title: str, cancelled: bool) -> str:
    # Many calendar apps ignore STATUS, so the word "cancelled" also goes into the title people see.
    return _("Cancelled: %(title)s", title=title) if cancelled else title


def _location(stop: Stop) -> str:
    return place_line(stop.place)


def _workshop_line(workshop: Workshop) -> str:
    tz = _tz()
    start = workshop.starts_at.astimezone(tz)
    end = workshop.ends_at.astimezone(tz)
    line = f"{start:%H:%M}–{end:%H:%M} {workshop.title} ({audience_label(workshop.audience)}, {language_label(workshop.language)})"
    if workshop.status == WorkshopStatus.CANCELLED:
        line = _("Cancelled: %(title)s", title=line)
    return "• " + line


def stop_event(stop: Stop) -> Event:
    """One VEVENT for a stop: its times in the city's time zone, its workshops in the description."""
    tz = _tz()
    cancelled = stop.status == StopStatus.CANCELLED
    url = absolute_url("schedule.stop", stop_id=stop.id)
    lines = [_("Digital workshop bus in %(district)s", district=stop.district.name)]
    if cancelled and stop.cancel_reason:
        lines.append(_("Reason: %(reason)s", reason=stop.cancel_reason))
    workshops = public_workshops(stop)
    if workshops:
        lines += ["", _("Workshops (free, please book a seat):")]
        lines += [_workshop_line(w) for w in workshops]
    lines += ["", _("Details and booking: %(url)s", url=url)]
    event = Event.new(
        uid=f"stop-{stop.id}@{uid_domain()}",
        summary=_summary(_("Digital workshop bus: %(place)s", place=stop.place.name), cancelled),
        start=stop.starts_at.astimezone(tz),
        end=stop.ends_at.astimezone(tz),
        location=_location(stop),
        description="\n".join(lines),
        url=url,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        sequence=stop.sequence,
        stamp=utcnow(),
        created=stop.created_at,
        last_modified=stop.updated_at,
    )
    if stop.place.has_position:
        event.add("geo", (stop.place.lat, stop.place.lon))
    return event


def workshop_event(workshop: Workshop) -> Event:
    """One VEVENT for a single workshop, for "add to my calendar" after booking a seat."""
    tz = _tz()
    stop = workshop.stop
    cancelled = workshop.status == WorkshopStatus.CANCELLED or stop.status == StopStatus.CANCELLED
    url = absolute_url("schedule.stop", stop_id=stop.id)
    lines = [workshop.description] if workshop.description else []
    if workshop.accessibility_notes:
        lines.append(workshop.accessibility_notes)
    if stop.status == StopStatus.CANCELLED and stop.cancel_reason:
        lines.append(_("Reason: %(reason)s", reason=stop.cancel_reason))
    lines.append(_("Details: %(url)s", url=url))
    event = Event.new(
        uid=f"workshop-{workshop.id}@{uid_domain()}",
        summary=_summary(workshop.title, cancelled),
        start=workshop.starts_at.astimezone(tz),
        end=workshop.ends_at.astimezone(tz),
        location=_location(stop),
        description="\n\n".join(lines),
        url=url,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        # A workshop moves with its stop, so the stop's change counter serves both.
        sequence=stop.sequence,
        stamp=utcnow(),
        created=workshop.created_at,
        last_modified=max(stop.updated_at, workshop.created_at),
    )
    if stop.place.has_position:
        event.add("geo", (stop.place.lat, stop.place.lon))
    return event


def build_calendar(events: Iterable[Event], name: str, uid: str, feed: bool = False) -> Calendar:
    """A VCALENDAR with the events and the VTIMEZONE they refer to."""
    cal = Calendar.new(
        prodid=PRODID,
        name=name,
        uid=f"{uid}@{uid_domain()}",
        refresh_interval=REFRESH if feed else None,
    )
    cal.add("method", "PUBLISH")
    if feed:
        cal.add("x-published-ttl", REFRESH)
    days = []
    for event in events:
        cal.add_component(event)
        days.append(event.start.date())
    if days:
        # The time zone rules only need to cover the events; the default span (1970-2038) bloats every file.
        cal.add_missing_timezones(first_date=date(min(days).year - 1, 1, 1), last_date=date(max(days).year + 2, 1, 1))
    return cal


def stops_calendar(stops: Iterable[Stop], name: str, uid: str, feed: bool = True) -> Calendar:
    """A calendar of stops, for one stop's file or a subscribable feed."""
    return build_calendar((stop_event(s) for s in stops), name, uid, feed=feed)


def ics_for_workshop(workshop: Workshop) -> bytes:
    """The .ics bytes of one workshop (its stop and district must be loadable)."""
    return build_calendar([workshop_event(workshop)], workshop.title, f"workshop-{workshop.id}").to_ical()


def calendar_response(cal: Calendar | bytes, filename: str, attachment: bool = False) -> Response:
    """Serve a calendar with the right type; single files download, feeds stay inline for subscription."""
    body = cal if isinstance(cal, bytes) else cal.to_ical()
    response = Response(body, content_type=CONTENT_TYPE)
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
