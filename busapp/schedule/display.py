"""How stops read to a visitor: their live state, day groups, seat counts and map links."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import groupby
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _

from ..i18n import local_time
from ..models import LiveStatus, Place, Stop, StopStatus, Workshop, WorkshopStatus


@dataclass(frozen=True)
class LiveState:
    """What to tell a visitor about where the bus stands for one stop."""

    key: str
    label: str
    tone: str  # badge colour: "ok", "warn", "bad" or "" (neutral)


def live_state(stop: Stop, now: datetime) -> LiveState:
    """The one status line a visitor needs: cancelled and over win over what the staff last set."""
    if stop.status == StopStatus.CANCELLED:
        return LiveState("cancelled", _("Cancelled"), "bad")
    if stop.is_over(now):
        return LiveState("over", _("This visit is over"), "")
    if stop.live_status == LiveStatus.LEFT:
        return LiveState("left", _("The bus has left"), "")
    if stop.live_status == LiveStatus.HERE:
        return LiveState("here", _("Here now"), "ok")
    if stop.live_status == LiveStatus.LATE:
        if stop.live_delay_minutes:
            return LiveState("late", _("Running late, about %(n)d minutes", n=stop.live_delay_minutes), "warn")
        return LiveState("late", _("Running late"), "warn")
    if stop.live_status == LiveStatus.ON_THE_WAY:
        return LiveState("on_the_way", _("On the way"), "ok")
    if stop.starts_at <= now:
        return LiveState("due", _("Open now"), "ok")
    return LiveState("scheduled", _("Planned"), "")


def polls_live(stop: Stop, now: datetime) -> bool:
    """Whether the stop page should keep its live status fresh: only on the day itself, until the visit ends."""
    return stop.status == StopStatus.PUBLISHED and not stop.is_over(now) and local_day(stop.starts_at) <= local_day(now)


def local_day(value: datetime) -> date:
    """The calendar day in the city, which is what people mean by "Friday"."""
    return local_time(value).date()


def by_day(stops: list[Stop]) -> list[tuple[datetime, list[Stop]]]:
    """Stops grouped by local day, each group keyed by its first stop's start (for formatting the heading)."""
    groups = []
    for _day, items in groupby(stops, key=lambda s: local_day(s.starts_at)):
        items = list(items)
        groups.append((items[0].starts_at, items))
    return groups


def relative_day(value: datetime, now: datetime) -> str:
    """"Today" or "Tomorrow" when it is, else an empty string."""
    delta = (local_day(value) - local_day(now)).days
    if delta == 0:
        return _("Today")
    if delta == 1:
        return _("Tomorrow")
    return ""


def public_workshops(stop: Stop) -> list[Workshop]:
    """Workshops shown to the public (drafts are never loaded for public pages, but a stop may come from elsewhere)."""
    return [w for w in stop.workshops if w.status != WorkshopStatus.DRAFT]


def seats_free(stop: Stop) -> int:
    """Free seats over the stop's workshops that still take bookings."""
    return sum(w.seats_free for w in public_workshops(stop) if w.status == WorkshopStatus.PUBLISHED)


def bookable(workshop: Workshop, now: datetime) -> bool:
    """Whether a visitor can still book (or join the waiting list): not cancelled and not started yet."""
    closes = workshop.starts_at - timedelta(minutes=current_app.config.get("BOOKING_CLOSES_MINUTES", 0))
    return (
        workshop.status == WorkshopStatus.PUBLISHED
        and workshop.stop.status == StopStatus.PUBLISHED
        and now < closes
    )


def geo_link(stop: Stop) -> str | None:
    """A geo: URI that opens the place in the phone's own map app, with the place name as the pin's label."""
    place = stop.place
    if not place.has_position:
        return None
    point = f"{place.lat:.6f},{place.lon:.6f}"
    label = quote(place.name.replace("(", "").replace(")", ""), safe="")
    return f"geo:{point}?q={point}({label})"


def osm_link(stop: Stop) -> str | None:
    """The place on openstreetmap.org: a plain link for phones that ignore geo: (iPhones); nothing is embedded."""
    place = stop.place
    if not place.has_position:
        return None
    return (f"https://www.openstreetmap.org/?mlat={place.lat:.6f}&mlon={place.lon:.6f}"
            f"#map=18/{place.lat:.6f}/{place.lon:.6f}")


def place_line(place: Place) -> str:
    """The place as one line, name, street, postcode and town, for calendars and mails."""
    town = f"{place.postcode} {current_app.config['CITY_NAME']}" if place.postcode else ""
    return ", ".join(part for part in (place.name, place.address, town) if part)


def register(bp) -> None:
    """Offer the helpers to every template, so other features can show stops the same way."""
    bp.add_app_template_global(live_state)
    bp.add_app_template_global(relative_day)
    bp.add_app_template_global(polls_live)
    bp.add_app_template_global(public_workshops)
    bp.add_app_template_global(seats_free, "stop_seats_free")
    bp.add_app_template_global(bookable, "workshop_bookable")
    bp.add_app_template_global(geo_link, "stop_geo_link")
    bp.add_app_template_global(osm_link, "stop_osm_link")
    bp.add_app_template_filter(by_day)
