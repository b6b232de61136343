"""The one mapping: model objects as plain facts, from which every format (JSON API, schema.org JSON-LD, NGSI-LD,
CSV) is made, so they cannot disagree; a change of the data model changes these functions only."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterable

from flask import current_app

from ..core.content import own_language
from ..core.i18n import local_time
from ..models import District, Place, Stop, StopStatus, Workshop, WorkshopStatus
from ..schedule import display
from . import schemas
from .addresses import id_link, link

COUNTRY = "DE"


# Texts people write, by the API's name for them: each object's own columns are in its own language (`language`),
# the other languages come in `translations`, {tag: {api name: text}}, from the row's `texts` (busapp/core/content.py).
TRANSLATED = {
    "Workshop": {"title": "title", "description": "description", "accessibility": "accessibility_notes"},
    "Stop": {"status_reason": "cancel_reason", "live_note": "live_note"},
    "Place": {"note": "finding_note"},
}


def translations(obj, shown: Iterable[str] | None = None) -> dict:
    """The object's texts in languages other than its own, under the API's names; only the fields in `shown` (the
    ones its own answer shows now), only non-empty texts, languages in a fixed order so the bytes stay the same."""
    names = TRANSLATED[type(obj).__name__]
    wanted = [n for n in names if shown is None or n in shown]
    own = own_language(obj)
    out: dict[str, dict] = {}
    for tag, texts in sorted((getattr(obj, "texts", None) or {}).items()):
        if tag == own or not isinstance(texts, dict) or not schemas.is_language(tag):
            continue
        entry = {n: texts[names[n]] for n in wanted if isinstance(texts.get(names[n]), str) and texts[names[n]]}
        if entry:
            out[tag] = entry
    return out


def place_facts(place: Place, district: District) -> dict:
    """Where a stop is: the one function to change when the place record changes (its district comes loaded)."""
    lines = [line.strip() for line in (place.transit_lines or "").split(",") if line.strip()]
    return {
        "id": str(place.id),
        "name": place.name,
        "street": place.address or None,
        "postcode": place.postcode or None,
        "locality": current_app.config["CITY_NAME"],
        "district": district.slug,
        "lat": place.lat,
        "lon": place.lon,
        "nearest_bus_stop": place.transit_stop or None,
        "bus_lines": lines,
        "step_free": place.step_free,
        "seats": place.seats,
        "toilet": place.toilet,
        "hearing_loop": place.hearing_loop,
        "note": place.finding_note or None,
        "language": own_language(place),
        "translations": translations(place),
    }


def stop_place(stop: Stop) -> dict:
    return place_facts(stop.place, stop.district)


def district_facts(district: District) -> dict:
    return {
        "id": district.slug,
        "number": district.number,
        "name": district.name,
        "lat": district.lat,
        "lon": district.lon,
        "boundary": district.boundary,
        "url": link("schedule.district", slug=district.slug),
    }


def stop_status(stop: Stop) -> str:
    if stop.status == StopStatus.CANCELLED:
        return "cancelled"
    return "moved" if stop.is_moved else "scheduled"


def public_workshops(stop: Stop) -> list[Workshop]:
    return [w for w in stop.workshops if w.status != WorkshopStatus.DRAFT]


def workshop_facts(workshop: Workshop, now: datetime) -> dict:
    stop = workshop.stop
    cancelled = workshop.status == WorkshopStatus.CANCELLED or stop.is_cancelled
    over = workshop.ends_at <= now
    bookable = display.bookable(workshop, now)
    return {
        "id": str(workshop.id),
        "url": id_link("schedule.stop", "stop_id", stop.id) + f"#workshop-{workshop.id}-title",
        "booking_url": id_link("booking.new", "workshop_id", workshop.id) if bookable else None,
        "stop": str(stop.id),
        "place": str(stop.place_id),
        "district": stop.district.slug,
        "title": workshop.title,
        "description": workshop.description or "",
        "topic": workshop.topic,
        "audience": workshop.audience,
        "language": workshop.language,
        "level": workshop.level,
        "what_to_bring": workshop.bring or None,
        "walk_ins": workshop.walk_ins,
        "accessibility": workshop.accessibility_notes or None,
        "starts_at": local(workshop.starts_at),
        "ends_at": local(workshop.ends_at),
        "previous_starts_at": previous_start(stop, workshop.starts_at),
        "duration_minutes": workshop.duration_minutes,
        "status": "cancelled" if cancelled else stop_status(stop),
        "capacity": workshop.capacity,
        "seats_free": 0 if cancelled or over else workshop.seats_free,
        # Seats change through the workshop's row, so its last change is when this count was last true anew.
        "seats_observed_at": workshop.updated_at,
        "bookable": bookable,
        "translations": translations(workshop),
    }


def stop_facts(stop: Stop, now: datetime) -> dict:
    status = stop_status(stop)
    shown = ("status_reason",) if status == "cancelled" else ("live_note",)
    return {
        "id": str(stop.id),
        "url": id_link("schedule.stop", "stop_id", stop.id),
        "calendar_url": id_link("schedule.stop_ics", "stop_id", stop.id),
        "district": stop.district.slug,
        "place": stop_place(stop),
        "starts_at": local(stop.starts_at),
        "ends_at": local(stop.ends_at),
        "previous_starts_at": previous_start(stop, stop.starts_at),
        "status": status,
        "status_reason": (stop.cancel_reason or None) if status == "cancelled" else None,
        "live_status": display.live_state(stop, now).key,
        "live_note": (stop.live_note or None) if status != "cancelled" else None,
        "seats_free": 0 if status == "cancelled" or stop.is_over(now) else display.seats_free(stop),
        "workshops": [workshop_facts(w, now) for w in public_workshops(stop)],
        "updated_at": stop.updated_at.astimezone(timezone.utc),
        "language": own_language(stop),
        "translations": translations(stop, shown),
    }


def previous_start(stop: Stop, starts_at: datetime) -> datetime | None:
    """When something at a stop that was given another time was first announced to start: its workshops moved with
    it, so each keeps its distance from the stop's start. None when the stop still has its announced time."""
    if stop.announced_starts_at is None or stop.announced_starts_at == stop.starts_at or stop.is_cancelled:
        return None
    return local(starts_at - (stop.starts_at - stop.announced_starts_at))


def local(value: datetime) -> datetime:
    """Times go out in the city's time with their offset, as people there read them."""
    return local_time(value)


def tour_facts() -> dict:
    return {"id": link("schedule.index") + "#tour", "name": current_app.config["SITE_NAME"],
            "url": link("schedule.index")}
