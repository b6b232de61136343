"""NGSI-LD entities for the city's FIWARE platform: places as Smart Data Models PointOfInterest, workshops and the
tour as Event (dataModel.TourismDestinations), each with the data models' contexts."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Iterable

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import joinedload

from ..domain.tour import PUBLIC_STATUSES
from ..core.extensions import db
from ..models import Stop, Workshop, WorkshopStatus
from ..schedule import display
from .facts import COUNTRY, place_facts, stop_place, stop_status, tour_facts, workshop_facts
from .lists import places, public_place, public_places, public_workshop

TOUR_ID = "tour"
# The Smart Data Models' own contexts, so that Event and PointOfInterest and their attributes expand to
# https://smartdatamodels.org/... (TourismDestinations first: "category" is then PointOfInterest's, the one our
# places use), then the NGSI-LD core context, which is protected and comes last.
SDM_CONTEXTS = (
    "https://raw.githubusercontent.com/smart-data-models/dataModel.TourismDestinations/master/context.jsonld",
    "https://raw.githubusercontent.com/smart-data-models/dataModel.PointOfInterest/master/context.jsonld",
)
NGSI_CORE_CONTEXT = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
NGSI_CONTEXT = [*SDM_CONTEXTS, NGSI_CORE_CONTEXT]
NGSI_PREFIX = "urn:ngsi-ld"
NGSI_TYPES = ("PointOfInterest", "Event")
NGSI_MAX_LIMIT = 1000


def ngsi_id(kind: str, key: str) -> str:
    return f"{NGSI_PREFIX}:{kind}:digitalbus:{key}"


def _prop(value: Any, observed: datetime | None = None) -> dict:
    if isinstance(value, datetime):
        prop = {"type": "Property", "value": {"@type": "DateTime", "@value": value.isoformat()}}
    else:
        prop = {"type": "Property", "value": value}
    if observed is not None:
        # When the value was seen so (NGSI-LD observedAt, UTC): free seats and live status change by the minute.
        prop["observedAt"] = observed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return prop


def _rel(target: str | list[str]) -> dict:
    return {"type": "Relationship", "object": target}


def _point(lat: float | None, lon: float | None) -> dict | None:
    if lat is None or lon is None:
        return None
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def _languages(own: str, text: str | None, translated: dict, name: str) -> dict | None:
    """A text in every language it has, as an NGSI-LD LanguageProperty; None when there is none."""
    texts = {own: text} if text else {}
    texts.update({tag: t[name] for tag, t in translated.items() if t.get(name)})
    return {"type": "LanguageProperty", "languageMap": texts} if texts else None


def _entity(kind: str, key: str, attrs: dict) -> dict:
    entity = {"id": ngsi_id(kind, key), "type": kind}
    # NGSI-LD has no empty attributes: a value that is not known is left out.
    entity.update({k: v for k, v in attrs.items()
                   if v is not None and v.get("value", v.get("object", v.get("languageMap"))) is not None})
    entity["@context"] = NGSI_CONTEXT
    return entity


def key_values(entity: dict) -> dict:
    """The entity in NGSI-LD's simplified form (options=keyValues): each attribute as its bare value, a date as its
    text, a relationship as its target, a text in several languages as its language map."""
    out = {}
    for name, attr in entity.items():
        if not isinstance(attr, dict) or "type" not in attr or name in ("id", "type"):
            out[name] = attr
        elif attr["type"] == "Relationship":
            out[name] = attr["object"]
        elif attr["type"] == "LanguageProperty":
            out[name] = attr["languageMap"]
        else:
            value = attr["value"]
            out[name] = value["@value"] if isinstance(value, dict) and "@value" in value else value
    return out


# Our words onto the Smart Data Models' lists (dataModel.TourismDestinations/Event): a stop given another time or
# place is "rescheduled"; who a workshop is for, in their audience list (our own key stays in audienceGroup).
SDM_EVENT_STATUS = {"scheduled": "scheduled", "moved": "rescheduled", "cancelled": "cancelled"}
SDM_AUDIENCE = {"everyone": "allPublic", "seniors": "senior", "families": "family", "newcomers": "adult",
                "youth": "teenager"}


def ngsi_place(p: dict) -> dict:
    """A place as a Smart Data Models PointOfInterest."""
    return _entity("PointOfInterest", p["id"], {
        "name": _prop(p["name"]),
        "description": _prop(p["note"]),
        "category": _prop(["digital-workshop-bus-stop"]),
        "address": _prop({k: v for k, v in {
            "streetAddress": p["street"], "postalCode": p["postcode"], "addressLocality": p["locality"],
            "addressRegion": current_app.config["OPENDATA_REGION"], "addressCountry": COUNTRY,
            "district": p["district"],
        }.items() if v is not None}),
        "location": _point(p["lat"], p["lon"]),
        "nearestBusStop": _prop(p["nearest_bus_stop"]),
        "busLines": _prop(p["bus_lines"] or None),
        "stepFree": _prop(p["step_free"]),
        "seats": _prop(p["seats"]),
        "toilet": _prop(p["toilet"]),
        "hearingLoop": _prop(p["hearing_loop"]),
        "descriptionByLanguage": _languages(p["language"], p["note"], p["translations"], "note"),
    })


def ngsi_tour() -> dict:
    tour = tour_facts()
    return _entity("Event", TOUR_ID, {
        "name": _prop(tour["name"]),
        "description": _prop("Tour of the digital workshop bus through the districts"),
        "url": _prop(tour["url"]),
        "thematic": _prop(["tour"]),
        "isAccessibleForFree": _prop(True),
    })


def ngsi_workshop(w: dict, stop: dict) -> dict:
    """A workshop as a Smart Data Models Event (dataModel.TourismDestinations), at its place, part of the tour."""
    p = stop["place"]
    return _entity("Event", f"workshop-{w['id']}", {
        "name": _prop(w["title"]),
        "title": _prop(w["title"]),
        "description": _prop(w["description"] or None),
        "url": _prop(w["url"]),
        "startDate": _prop(w["starts_at"]),
        "endDate": _prop(w["ends_at"]),
        "previousStartDate": _prop(w["previous_starts_at"]),
        "eventStatus": _prop([SDM_EVENT_STATUS[w["status"]]]),
        "statusReason": _prop(stop["status_reason"]),
        "liveStatus": _prop(stop["live_status"], stop["live_observed_at"]),
        "thematic": _prop([w["topic"]]),
        "audience": _prop([SDM_AUDIENCE.get(w["audience"], "allPublic")]),
        "audienceGroup": _prop(w["audience"]),
        "language": _prop([w["language"]]),
        "maximumAttendeeCapacity": _prop(w["capacity"]),
        "remainingAttendeeCapacity": _prop(w["seats_free"], w["seats_observed_at"]),
        "isAccessibleForFree": _prop(True),
        "accessibility": _prop(w["accessibility"]),
        "level": _prop(w["level"]),
        "whatToBring": _prop(w["what_to_bring"]),
        "walkIns": _prop(w["walk_ins"]),
        "nameByLanguage": _languages(w["language"], w["title"], w["translations"], "title"),
        "descriptionByLanguage": _languages(w["language"], w["description"], w["translations"], "description"),
        "accessibilityByLanguage": _languages(w["language"], w["accessibility"], w["translations"],
                                              "accessibility"),
        "stop": _prop(w["stop"]),
        "location": _point(p["lat"], p["lon"]),
        "refPointOfInterest": _rel([ngsi_id("PointOfInterest", p["id"])]),
        "superEvent": _rel(ngsi_id("Event", TOUR_ID)),
    })


def ngsi_entities(kind: str, offset: int, limit: int, now: datetime) -> list[dict]:
    """One slice of the entities of a type, in a fixed order (the tour first among the events)."""
    if kind == "PointOfInterest":
        return [ngsi_place(p) for p in places(now, offset, limit)]
    entities = [ngsi_tour()] if offset == 0 else []
    start = max(offset - 1, 0)
    count = limit - len(entities)
    if count <= 0:
        return entities
    query = (
        sa.select(Workshop).join(Workshop.stop)
        .where(Workshop.status != WorkshopStatus.DRAFT, Stop.status.in_(PUBLIC_STATUSES))
        .order_by(Workshop.id).offset(start).limit(count)
        .options(joinedload(Workshop.stop).joinedload(Stop.district))
    )
    for w in db.session.scalars(query):
        entities.append(ngsi_workshop(workshop_facts(w, now), _stop_head(w.stop, now)))
    return entities


def ngsi_count(kind: str) -> int:
    """How many entities of a type there are (the tour counts among the events)."""
    if kind == "PointOfInterest":
        return db.session.scalar(sa.select(sa.func.count()).select_from(public_places().subquery()))
    return 1 + db.session.scalar(
        sa.select(sa.func.count()).select_from(Workshop).join(Workshop.stop)
        .where(Workshop.status != WorkshopStatus.DRAFT, Stop.status.in_(PUBLIC_STATUSES)))


def ngsi_page(kinds: list[str], offset: int, limit: int, now: datetime) -> tuple[list[dict], int]:
    """A slice of the entities of the given types, one type after the other, and how many there are in all."""
    counts = [(kind, ngsi_count(kind)) for kind in kinds]
    out: list[dict] = []
    for kind, count in counts:
        if offset >= count:
            offset -= count
            continue
        take = min(limit - len(out), count - offset)
        if take <= 0:
            break
        out += ngsi_entities(kind, offset, take, now)
        offset = 0
    return out, sum(count for _kind, count in counts)


def _stop_head(stop: Stop, now: datetime) -> dict:
    """The stop facts an entity of one workshop needs, without loading the stop's other workshops."""
    status = stop_status(stop)
    return {
        "place": stop_place(stop),
        "status_reason": (stop.cancel_reason or None) if status == "cancelled" else None,
        "live_status": display.live_state(stop, now).key,
        "live_observed_at": stop.live_updated_at or stop.updated_at,
    }


def ngsi_entity(entity_id: str, now: datetime) -> dict | None:
    prefix = f"{NGSI_PREFIX}:"
    if not entity_id.startswith(prefix):
        return None
    kind, _sep, rest = entity_id[len(prefix):].partition(":digitalbus:")
    if kind == "Event" and rest == TOUR_ID:
        return ngsi_tour()
    if kind == "Event" and rest.startswith("workshop-") and rest[9:].isdigit() and rest[9:].isascii():
        workshop = public_workshop(int(rest[9:]))
        return ngsi_workshop(workshop_facts(workshop, now), _stop_head(workshop.stop, now)) if workshop else None
    if kind == "PointOfInterest" and rest.isascii() and rest.isdigit() and len(rest) <= 10:
        place = public_place(int(rest))
        return ngsi_place(place_facts(place, place.district)) if place else None
    return None


def all_ngsi_entities(now: datetime) -> Iterable[dict]:
    """Every entity, for a push to a context broker: places first, so that relationships point at something."""
    yield from (ngsi_place(p) for p in places(now))  # one row per place, so a list is small
    offset = 0
    while True:
        batch = ngsi_entities("Event", offset, 500, now)
        yield from batch
        if len(batch) < 500:
            return
        offset += 500
