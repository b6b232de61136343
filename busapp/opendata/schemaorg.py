"""schema.org JSON-LD for stop pages: each workshop an EducationEvent of the tour, at its place."""
from __future__ import annotations

import json
from datetime import datetime

from flask import current_app

from ..models import Stop
from .addresses import base_url
from .facts import COUNTRY, stop_facts, tour_facts


def schema_place(p: dict) -> dict:
    address = {"@type": "PostalAddress", "streetAddress": p["street"], "postalCode": p["postcode"],
               "addressLocality": p["locality"], "addressRegion": current_app.config["OPENDATA_REGION"],
               "addressCountry": COUNTRY}
    place: dict = {
        "@type": "Place",
        "@id": f"{base_url()}/api/v1/places#{p['id']}",
        "name": p["name"],
        # What is not known is left out, not given as null.
        "address": {k: v for k, v in address.items() if v},
    }
    if p["lat"] is not None and p["lon"] is not None:
        place["geo"] = {"@type": "GeoCoordinates", "latitude": p["lat"], "longitude": p["lon"]}
    return place


def schema_status(item: dict) -> dict:
    """eventStatus, with previousStartDate for a new time; a stop that only changed place keeps EventScheduled
    (schema.org's EventRescheduled means a new date), at the place it names now."""
    if item["status"] == "cancelled":
        return {"eventStatus": "https://schema.org/EventCancelled"}
    if item["previous_starts_at"] is not None:
        return {"eventStatus": "https://schema.org/EventRescheduled",
                "previousStartDate": item["previous_starts_at"].isoformat()}
    return {"eventStatus": "https://schema.org/EventScheduled"}


def schema_offer(w: dict, over: bool) -> dict:
    """A free seat; its availability only while it can still be taken: a cancelled or past workshop is not sold out,
    it is not on offer, so it says nothing about availability and when the offer ended."""
    offer = {"@type": "Offer", "price": 0, "priceCurrency": "EUR", "url": w["booking_url"] or w["url"]}
    if w["status"] == "cancelled" or over:
        offer["availabilityEnds"] = w["starts_at"].isoformat()
    else:
        offer["availability"] = "https://schema.org/" + ("InStock" if w["seats_free"] else "SoldOut")
    return offer


def schema_events(stop: dict, now: datetime) -> list[dict]:
    """The stop's workshops as schema.org Events (the stop itself when it has none), each part of the tour."""
    tour = tour_facts()
    super_event = {"@type": "EventSeries", "@id": tour["id"], "name": tour["name"], "url": tour["url"]}
    place = schema_place(stop["place"])
    events = []
    for w in stop["workshops"]:
        event = {
            "@context": "https://schema.org",
            # An EducationEvent, so that the level has its schema.org property (educationalLevel).
            "@type": "EducationEvent",
            "@id": w["url"],
            "identifier": w["id"],
            "name": w["title"],
            "description": w["description"],
            "url": w["url"],
            "startDate": w["starts_at"].isoformat(),
            "endDate": w["ends_at"].isoformat(),
            **schema_status(w),
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
            "location": place,
            "inLanguage": w["language"],
            "isAccessibleForFree": True,
            "maximumAttendeeCapacity": w["capacity"],
            "remainingAttendeeCapacity": w["seats_free"],
            "offers": schema_offer(w, w["ends_at"] <= now),
            "audience": {"@type": "Audience", "audienceType": w["audience"]},
            "about": w["topic"],
            "educationalLevel": w["level"],
            "superEvent": super_event,
            "organizer": {"@type": "Organization", "name": tour["name"], "url": tour["url"]},
        }
        events.append(event)
    if not events:
        events.append({
            "@context": "https://schema.org",
            "@type": "Event",
            "@id": stop["url"],
            "identifier": stop["id"],
            "name": tour["name"],
            "url": stop["url"],
            "startDate": stop["starts_at"].isoformat(),
            "endDate": stop["ends_at"].isoformat(),
            **schema_status(stop),
            "eventAttendanceMode": "https://schema.org/OfflineEventAttendanceMode",
            "location": place,
            "isAccessibleForFree": True,
            "superEvent": super_event,
            "organizer": {"@type": "Organization", "name": tour["name"], "url": tour["url"]},
        })
    return events


def stop_jsonld(stop: Stop, now: datetime) -> str:
    """The JSON-LD for a stop page, safe inside a script element (no "<", so no "</script>" can end it early)."""
    text = json.dumps(schema_events(stop_facts(stop, now), now), ensure_ascii=False, separators=(",", ":"))
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
