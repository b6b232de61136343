"""iCalendar files: one stop, a district's feed, the whole tour, and one workshop for the booking pages.

Stop files and feeds are written here line by line from plain rows (busapp/schedule/feeds.py loads them): building
an icalendar object per event cost about a millisecond each, which a feed of a thousand stops cannot afford. The
single workshop file for the booking pages still goes through the icalendar library, which also checks our output
in the tests.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from typing import Iterable
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import hashlib
from dataclasses import dataclass
from email.utils import parseaddr

from flask import Response, current_app, request
from flask_babel import get_locale, gettext as _
from icalendar import Alarm, Calendar, Event, Timezone, vCalAddress
from icalendar.enums import STATUS

from ..core.choices import audience_label, language_label
from ..domain import links, town
from ..core.content import text_in, text_of
from ..core.i18n import current_tag, language_tag
from ..models import Booking, BookingStatus, Stop, StopStatus, Workshop, WorkshopStatus, utcnow
from .display import place_line

# The product that made the file (RFC 5545 3.7.3); which town runs it is the calendar's name and organiser.
PRODID = "-//Digitalwerkstatt-Bus//Tour schedule//DE"
CONTENT_TYPE = "text/calendar; charset=utf-8"
# Calendar apps may keep a file five minutes; after that they ask again with If-None-Match and mostly get a 304.
CALENDAR_CACHE = "public, max-age=300"
# Raise when the files' content changes shape, so that copies made by earlier code are not kept as current.
FORMAT = "2"
# Calendar apps poll subscribed feeds; a few hours keeps changes timely without hammering the server.
REFRESH = timedelta(hours=3)


def uid_domain() -> str:
    """The right-hand side of every UID: the public host, so UIDs stay the same across requests and servers."""
    return urlsplit(current_app.config["PUBLIC_BASE_URL"]).hostname or "localhost"


absolute_url = links.absolute_url  # on the public address, never the request's Host (busapp/domain/links.py)


def webcal_url(endpoint: str, **values) -> str:
    """The feed's address with the webcal: scheme, which phones hand to their calendar app as a subscription."""
    return "webcal://" + absolute_url(endpoint, **values).split("://", 1)[1]


_tz = town.zone


def _summary(title: str, cancelled: bool) -> str:
    # Many calendar apps ignore STATUS, so the word "cancelled" also goes into the title people see.
    return _("Cancelled: %(title)s", title=title) if cancelled else title


def _location(stop: Stop) -> str:
    return place_line(stop.place)


def workshop_event(workshop: Workshop) -> Event:
    """One VEVENT for a single workshop, for "add to my calendar" after booking a seat."""
    tz = _tz()
    stop = workshop.stop
    cancelled = workshop.status == WorkshopStatus.CANCELLED or stop.status == StopStatus.CANCELLED
    url = absolute_url("schedule.stop", stop_id=stop.id)
    lines = [text_in(workshop, "description")] if workshop.description else []
    if workshop.accessibility_notes:
        lines.append(text_in(workshop, "accessibility_notes"))
    if stop.status == StopStatus.CANCELLED and stop.cancel_reason:
        lines.append(_("Reason: %(reason)s", reason=text_in(stop, "cancel_reason")))
    lines.append(_("Details: %(url)s", url=url))
    event = Event.new(
        uid=f"workshop-{workshop.id}@{uid_domain()}",
        summary=_summary(text_in(workshop, "title"), cancelled),
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


# A booked seat reminds its owner the day before and two hours before.
ALARMS = (timedelta(days=1), timedelta(hours=2))


def booking_event(booking: Booking) -> Event:
    """One VEVENT for a booked seat: the bus in its title, the code and ticket link in its description, two
    reminders; a cancelled booking is the same event (same UID) marked cancelled."""
    tz = _tz()
    workshop, stop = booking.workshop, booking.workshop.stop
    cancelled = (booking.status == BookingStatus.CANCELLED or workshop.status == WorkshopStatus.CANCELLED
                 or stop.status == StopStatus.CANCELLED)
    # The ticket opens in the language of the booking, as the calendar entry is written in it.
    ticket = absolute_url("booking.show", token=booking.manage_token, lang=language_tag(booking.locale))
    title = text_in(workshop, "title")
    lines = [
        _("Booking code: %(code)s", code=booking.code),
        _("Your ticket: %(url)s", url=ticket),
        _("People: %(n)d", n=booking.party_size),
    ]
    if stop.place.finding_note:
        lines.append(_("How to find the bus: %(note)s", note=text_in(stop.place, "finding_note")))
    if workshop.description:
        lines += ["", text_in(workshop, "description")]
    event = Event.new(
        uid=f"booking-{booking.code}@{uid_domain()}",
        summary=_summary(_("Digital workshop bus: %(title)s", title=title), cancelled),
        start=workshop.starts_at.astimezone(tz),
        end=workshop.ends_at.astimezone(tz),
        location=_location(stop),
        description="\n".join(lines),
        url=ticket,
        status=STATUS.CANCELLED if cancelled else STATUS.CONFIRMED,
        # The stop's change counter, one more once the booking is cancelled, so calendars take the cancellation.
        sequence=stop.sequence + (1 if booking.status == BookingStatus.CANCELLED else 0),
        stamp=utcnow(),
        created=booking.created_at,
    )
    if stop.place.has_position:
        event.add("geo", (stop.place.lat, stop.place.lon))
    if not cancelled:
        for before in ALARMS:
            alarm = Alarm.new(description=_("Digital workshop bus: %(title)s", title=title))
            alarm.add("action", "DISPLAY")
            alarm.add("trigger", -before)
            event.add_component(alarm)
    return event


def ics_for_booking(booking: Booking) -> bytes:
    """The .ics bytes of a booked seat; METHOD:CANCEL once the booking (or its workshop) is cancelled."""
    event = booking_event(booking)
    cancelled = str(event["STATUS"]) == "CANCELLED"
    if cancelled:
        # RFC 5546 3.2.5: a CANCEL names its organizer, or calendar apps may not apply it. The bus team sends it.
        organizer = vCalAddress("mailto:" + parseaddr(current_app.config["MAIL_FROM"])[1])
        organizer.params["CN"] = current_app.config["SITE_NAME"]
        event.add("organizer", organizer)
    cal = build_calendar([event], text_in(booking.workshop, "title"), f"booking-{booking.code}",
                         method="CANCEL" if cancelled else "PUBLISH")
    return cal.to_ical()


def build_calendar(events: Iterable[Event], name: str, uid: str, feed: bool = False,
                   method: str = "PUBLISH") -> Calendar:
    """A VCALENDAR with the events and the VTIMEZONE they refer to."""
    cal = Calendar.new(
        prodid=PRODID,
        name=name,
        uid=f"{uid}@{uid_domain()}",
        refresh_interval=REFRESH if feed else None,
    )
    cal.add("method", method)
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


def ics_for_workshop(workshop: Workshop) -> bytes:
    """The .ics bytes of one workshop (its stop and district must be loadable)."""
    return build_calendar([workshop_event(workshop)], text_in(workshop, "title"), f"workshop-{workshop.id}").to_ical()


def calendar_response(cal: Calendar | bytes, filename: str, attachment: bool = False) -> Response:
    """Serve a calendar with the right type; single files download, feeds stay inline for subscription."""
    body = cal if isinstance(cal, bytes) else cal.to_ical()
    response = Response(body, content_type=CONTENT_TYPE)
    disposition = "attachment" if attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = CALENDAR_CACHE
    return response


@dataclass(frozen=True)
class Version:
    """A validator for one calendar answer: an ETag value and the Last-Modified time."""

    etag: str
    last_modified: datetime

    @classmethod
    def of(cls, parts: tuple, changed: Iterable[datetime | None]) -> Version:
        """From everything the answer depends on, and the times its content last changed."""
        digest = hashlib.sha256(repr((FORMAT,) + parts).encode("utf-8")).hexdigest()[:32]
        latest = max(c for c in changed if c is not None)
        return cls(digest, latest.astimezone(timezone.utc).replace(microsecond=0))


def calendar_answer(version: Version, make, filename: str, attachment: bool = False) -> Response:
    """A calendar answer with its validators; a 304 without building the body when the caller has this version."""
    if _unchanged(version):
        response = Response(status=304)
        response.headers["Cache-Control"] = CALENDAR_CACHE
    else:
        response = calendar_response(make(), filename, attachment=attachment)
    response.set_etag(version.etag, weak=True)  # weak: DTSTAMP says when the file was made, so bytes differ
    response.last_modified = version.last_modified
    return response


def _unchanged(version: Version) -> bool:
    """RFC 9110 13.2.2: If-None-Match decides when sent; If-Modified-Since only without it."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(version.etag)
    since = request.if_modified_since
    return since is not None and version.last_modified <= since


def workshop_version(workshop: Workshop) -> Version:
    """The version of one workshop's file (its workshop, stop and place rows, which the booking page has loaded)."""
    stop = workshop.stop
    changed = [workshop.updated_at, stop.updated_at, stop.place.updated_at]
    return Version.of((workshop.id, stop.sequence, str(get_locale()), uid_domain(), *changed), changed)


def booking_version(booking: Booking) -> Version:
    """The version of a booked seat's file: its workshop's, and the booking's state and size."""
    base = workshop_version(booking.workshop)
    changed = [base.last_modified, booking.created_at, booking.confirmed_at, booking.cancelled_at]
    return Version.of((base.etag, booking.code, booking.status.value, booking.party_size), changed)


# --- Stop files and feeds, written from rows ------------------------------------------------------------------------

def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545, 3.3.11): backslash, semicolon, comma and line breaks escaped."""
    return (value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
            .replace("\r\n", "\\n").replace("\n", "\\n").replace("\r", "\\n"))


def fold_line(line: str) -> str:
    """Lines longer than 75 octets go on in continuation lines that start with a space, never inside a character."""
    if len(line) <= 75 and line.isascii():
        return line
    raw = line.encode("utf-8")
    if len(raw) <= 75:
        return line
    parts, start, width = [], 0, 75
    while start < len(raw):
        end = min(start + width, len(raw))
        while end < len(raw) and (raw[end] & 0xC0) == 0x80:  # a UTF-8 continuation byte: step back
            end -= 1
        parts.append(raw[start:end].decode("utf-8"))
        start, width = end, 74
    return "\r\n ".join(parts)


def utc_text(value: datetime) -> str:
    """A time as an iCalendar UTC value: 20261208T090000Z."""
    return value.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")


@lru_cache(maxsize=16)
def vtimezone_text(tzid: str, first_year: int, last_year: int) -> str:
    """The VTIMEZONE block of a zone for the years a file's events fall in."""
    # The rules only need to cover the events; the library's default span (1970-2038) bloats every file.
    tz = Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1), last_date=date(last_year, 1, 1))
    return tz.to_ical().decode("utf-8").rstrip("\r\n")


def _mark(name: str) -> str:
    return f"\x00{name}\x00"


def _pattern(translated: str, *names: str):
    """A translated sentence with placeholders, looked up once and filled in many times (gettext per event was a
    third of a feed's time). The caller translates with a literal msgid and _mark() for each value, so that Babel
    extracts the sentence: _pattern(_("Reason: %(reason)s", reason=_mark("reason")), "reason")."""

    def fill(**values: str) -> str:
        result = translated
        for name in names:
            result = result.replace(_mark(name), values[name])
        return result

    return fill


class _Labels:
    """Translated words each event repeats, looked up once per file rather than once per event."""

    def __init__(self) -> None:
        self._cache: dict[tuple, str] = {}
        self.district = _pattern(_("Digital workshop bus in %(district)s", district=_mark("district")), "district")

    def get(self, kind: str, key: str) -> str:
        cached = self._cache.get((kind, key))
        if cached is None:
            if kind == "audience":
                cached = audience_label(key)
            elif kind == "language":
                cached = language_label(key)
            else:
                cached = self.district(district=key)
            self._cache[(kind, key)] = cached
        return cached


# Rendered events by everything they are made of (the stop's row with place and district, its workshops' rows, the
# language and the public address). Feeds share most events with each other and with their own previous version, so
# after a change only the stops that changed are written again. Bounded; losing it changes only speed.
_EVENTS: dict[tuple, str] = {}
EVENT_CACHE_SIZE = 20_000


class _Words:
    """The translated sentences of a stop's event, looked up once per file."""

    def __init__(self) -> None:
        self.labels = _Labels()
        self.heading = _("Workshops (free, please book a seat):")
        self.summary = _pattern(_("Digital workshop bus: %(place)s", place=_mark("place")), "place")
        self.cancelled = _pattern(_("Cancelled: %(title)s", title=_mark("title")), "title")
        self.reason = _pattern(_("Reason: %(reason)s", reason=_mark("reason")), "reason")
        self.details = _pattern(_("Details and booking: %(url)s", url=_mark("url")), "url")


def _event(stop: tuple, workshops: tuple, words: _Words, url: str, context: tuple) -> str:
    """One VEVENT's lines after BEGIN and DTSTAMP, CRLF-joined."""
    _locale, domain, _link, city, tzid = context
    tz = ZoneInfo(tzid)
    (stop_id, starts_at, ends_at, place, address, postcode, lat, lon, status, cancel_reason, sequence,
     created_at, updated_at, district_name) = stop
    cancelled = status == StopStatus.CANCELLED
    text = [words.labels.get("district", district_name)]
    if cancelled and cancel_reason:
        text.append(words.reason(reason=cancel_reason))
    if workshops:
        text += ["", words.heading]
        for _stop_id, title, w_starts, minutes, audience, language, w_status in workshops:
            start = w_starts.astimezone(tz)
            end = start + timedelta(minutes=minutes)
            line = (f"{start:%H:%M}–{end:%H:%M} {title} "
                    f"({words.labels.get('audience', audience)}, {words.labels.get('language', language)})")
            if w_status == WorkshopStatus.CANCELLED:
                line = words.cancelled(title=line)
            text.append("• " + line)
    text += ["", words.details(url=url)]
    # As display.place_line writes it: name, street, postcode and town.
    location = ", ".join(part for part in (place, address, f"{postcode} {city}" if postcode else "") if part)
    summary = words.summary(place=place)
    lines = [
        fold_line("SUMMARY:" + escape_text(words.cancelled(title=summary) if cancelled else summary)),
        f"DTSTART;TZID={tzid}:{starts_at.astimezone(tz):%Y%m%dT%H%M%S}",
        f"DTEND;TZID={tzid}:{ends_at.astimezone(tz):%Y%m%dT%H%M%S}",
        f"UID:stop-{stop_id}@{domain}",
        f"SEQUENCE:{sequence}",
        f"CREATED:{utc_text(created_at)}",
        fold_line("DESCRIPTION:" + escape_text("\n".join(text))),
    ]
    if lat is not None and lon is not None:
        lines.append(f"GEO:{lat!r};{lon!r}")
    lines += [
        f"LAST-MODIFIED:{utc_text(updated_at)}",
        fold_line("LOCATION:" + escape_text(location)),
        "STATUS:CANCELLED" if cancelled else "STATUS:CONFIRMED",
        fold_line("URL:" + url),
        "END:VEVENT",
    ]
    return "\r\n".join(lines)


def _in_language(row, field: str, own: str, tag: str) -> tuple:
    """A stop's or workshop's row with `field` in the visitor's language (from the row's `texts`, which goes)."""
    values = row._asdict()
    values[field] = str(text_of(values[field], values.pop("texts"), own, field, tag))
    return tuple(values.values())


def render_stops(stops: list, workshops: dict[int, list], name: str, uid: str, feed: bool) -> bytes:
    """A VCALENDAR of stop rows (see feeds.STOP_COLUMNS) and their public workshops' rows, by stop id."""
    tz = _tz()
    tzid = current_app.config["TIMEZONE"]
    domain = uid_domain()
    stamp = f"DTSTAMP:{utc_text(utcnow())}"
    # Links to stop pages differ only in the id: made once (url_for per event is a noticeable share of a feed).
    link = absolute_url("schedule.stop", stop_id=1)
    link_prefix = link[:-1] if link.endswith("/1") else None
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "METHOD:PUBLISH",
             f"NAME:{escape_text(name)}", f"X-WR-CALNAME:{escape_text(name)}"]
    if feed:
        lines.append("REFRESH-INTERVAL;VALUE=DURATION:PT3H")
    lines.append(f"UID:{uid}@{domain}")
    if feed:
        lines.append("X-PUBLISHED-TTL:PT3H")
    if stops:
        lines.append(vtimezone_text(tzid, stops[0].starts_at.astimezone(tz).year - 1,
                                stops[-1].starts_at.astimezone(tz).year + 2))
    context = (str(get_locale()), domain, link_prefix, current_app.config["CITY_NAME"], tzid)
    tag, default = current_tag(), current_app.config["BABEL_DEFAULT_LOCALE"]
    words = None
    for stop in stops:
        stop_id = stop[0]
        row = _in_language(stop, "cancel_reason", default, tag)
        rows = tuple(_in_language(w, "title", w.language, tag) for w in workshops.get(stop_id, ()))
        key = (context, row, rows)
        body = _EVENTS.get(key)
        if body is None:
            words = words or _Words()
            url = f"{link_prefix}{stop_id}" if link_prefix else absolute_url("schedule.stop", stop_id=stop_id)
            body = _event(row, rows, words, url, context)
            if len(_EVENTS) >= EVENT_CACHE_SIZE:
                _EVENTS.clear()
            _EVENTS[key] = body
        lines += ["BEGIN:VEVENT", stamp, body]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")
