"""How stops read to a visitor: their live state, day groups, seat counts and map links."""
from __future__ import annotations

from datetime import datetime
from itertools import groupby
from urllib.parse import quote

from flask import current_app
from flask_babel import gettext as _

from ..domain import live, town, tour
from ..domain.offer import Offer, offer
from ..models import Place, Stop, StopStatus, Workshop


# The words of the live status live with its rule (busapp/domain/live.py); pages and open data read them here.
LiveState = live.LiveState
live_state = live.public_state


def polls_live(stop: Stop, now: datetime) -> bool:
    """Whether the stop page should keep its live status fresh: only on the day itself, until the visit ends."""
    return stop.status == StopStatus.PUBLISHED and not stop.is_over(now) and local_day(stop.starts_at) <= local_day(now)


local_day = town.day_of  # the calendar day in the town, which is what people mean by "Friday"


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


public_workshops = tour.public_workshops


def workshop_offer(workshop: Workshop, now: datetime | None = None) -> Offer:
    """Whether the workshop can be booked and how many seats a new party gets: the booking rule's one answer."""
    return offer(workshop, now)


def seats_free(stop: Stop, now: datetime | None = None) -> int:
    """Seats a new party could get at once, over the stop's workshops that can be booked now."""
    return sum(workshop_offer(w, now).seats_free for w in public_workshops(stop))


def bookable(workshop: Workshop, now: datetime) -> bool:
    """Whether a visitor can still book (or join the waiting list)."""
    return workshop_offer(workshop, now).bookable


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
    bp.add_app_template_global(live_state, "live_state")
    bp.add_app_template_global(relative_day)
    bp.add_app_template_global(polls_live)
    bp.add_app_template_global(public_workshops, "public_workshops")
    bp.add_app_template_global(seats_free, "stop_seats_free")
    bp.add_app_template_global(bookable, "workshop_bookable")
    bp.add_app_template_global(workshop_offer)
    bp.add_app_template_global(geo_link, "stop_geo_link")
    bp.add_app_template_global(osm_link, "stop_osm_link")
    bp.add_app_template_filter(by_day)
