"""The shapes of the API's answers, written once: they build every answer and the OpenAPI document both.

A `Schema` lists its fields in order. `Schema.dump(facts)` turns a facts mapping (made by the service's mapping
functions) into the JSON object, taking exactly the listed fields, so an answer cannot carry a field the document does
not describe, nor miss one it promises. `Schema.json_schema()` is what the OpenAPI document says about the same object.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from ..core.choices import LEVELS
from ..domain.live import PUBLIC_STATES

LIVE_STATES = PUBLIC_STATES  # every key busapp/domain/live.py can answer
STOP_STATES = ("scheduled", "moved", "cancelled")


@dataclass(frozen=True)
class Field:
    """One member of an object: its JSON type (a JSON Schema fragment or another Schema) and what it means."""

    name: str
    kind: Any
    description: str
    nullable: bool = False
    many: bool = False

    def json_schema(self) -> dict:
        if isinstance(self.kind, Schema):
            item: dict = {"$ref": f"#/components/schemas/{self.kind.name}"}
        else:
            item = dict(self.kind)
        if self.many:
            item = {"type": "array", "items": item}
        if self.nullable:
            item = {"oneOf": [item, {"type": "null"}]}
        return {**item, "description": self.description}

    def dump(self, value: Any) -> Any:
        if value is None:
            if not self.nullable:
                raise ValueError(f"{self.name} may not be empty")
            return None
        if self.many:
            return [self._one(v) for v in value]
        return self._one(value)

    def _one(self, value: Any) -> Any:
        if isinstance(self.kind, Schema):
            return self.kind.dump(value)
        if isinstance(value, datetime):
            return value.isoformat()
        return value


@dataclass(frozen=True)
class Schema:
    """A named JSON object with a fixed list of fields."""

    name: str
    description: str
    fields: tuple[Field, ...] = field(default_factory=tuple)

    def dump(self, facts: Mapping[str, Any]) -> dict:
        return {f.name: f.dump(facts[f.name]) for f in self.fields}

    def json_schema(self) -> dict:
        return {
            "type": "object",
            "description": self.description,
            "required": [f.name for f in self.fields],
            "additionalProperties": False,
            "properties": {f.name: f.json_schema() for f in self.fields},
        }


# JSON Schema fragments
STRING = {"type": "string"}
TEXT = {"type": "string", "maxLength": 5000}
URL = {"type": "string", "format": "uri"}
DATETIME = {"type": "string", "format": "date-time"}
INTEGER = {"type": "integer", "minimum": 0}
NUMBER = {"type": "number"}
BOOLEAN = {"type": "boolean"}
# A GeoJSON Polygon or MultiPolygon (RFC 7946): rings of [longitude, latitude] positions.
_RING = {"type": "array", "minItems": 4, "items": {"type": "array", "minItems": 2, "maxItems": 2,
                                                   "items": {"type": "number"}}}
GEOMETRY = {"oneOf": [
    {"type": "object", "required": ["type", "coordinates"], "additionalProperties": False,
     "properties": {"type": {"const": "Polygon"}, "coordinates": {"type": "array", "minItems": 1, "items": _RING}}},
    {"type": "object", "required": ["type", "coordinates"], "additionalProperties": False,
     "properties": {"type": {"const": "MultiPolygon"},
                    "coordinates": {"type": "array", "minItems": 1,
                                    "items": {"type": "array", "minItems": 1, "items": _RING}}}},
]}
LANGUAGE_PATTERN = "^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*$"
LANGUAGE = {"type": "string", "pattern": LANGUAGE_PATTERN}


def is_language(tag: str) -> bool:
    """Whether a stored language key may go out as one (the documents promise this pattern for the keys)."""
    return isinstance(tag, str) and len(tag) <= 35 and re.fullmatch(LANGUAGE_PATTERN, tag) is not None


def translated(names: dict[str, str]) -> dict:
    """A `translations` object: per language tag, the texts that exist in it (each field may be missing)."""
    return {
        "type": "object",
        "propertyNames": {"pattern": LANGUAGE_PATTERN, "maxLength": 35},
        "additionalProperties": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {name: {"type": "string", "minLength": 1, "maxLength": 5000, "description": text}
                           for name, text in names.items()},
        },
    }


def enum(values: tuple[str, ...]) -> dict:
    return {"type": "string", "enum": list(values)}


OTHER_LANGUAGES = ("%s in other languages than `language`, by language tag (BCP 47), for example "
                   "{\"en\": {\"%s\": \"...\"}}. A text missing there exists only in `language`; {} when none.")


DISTRICT = Schema("District", "A Stadtteil of the city that the bus visits.", (
    Field("id", STRING, "Stable id: the district's short name in addresses."),
    Field("number", STRING, "The town's official number of the district."),
    Field("name", STRING, "Name of the district."),
    Field("lat", NUMBER, "Latitude of the district's centre (WGS 84).", nullable=True),
    Field("lon", NUMBER, "Longitude of the district's centre (WGS 84).", nullable=True),
    Field("boundary", GEOMETRY, "The district's boundary from the town's official list (GeoJSON, WGS 84); null "
          "when the list gives none.", nullable=True),
    Field("url", URL, "The district's page with its dates."),
))

PLACE = Schema("Place", "Where the bus parks: a place it visits, possibly many times.", (
    Field("id", STRING, "Stable id of the place."),
    Field("name", STRING, "Name of the place."),
    Field("street", STRING, "Street address.", nullable=True),
    Field("postcode", STRING, "Postcode.", nullable=True),
    Field("locality", STRING, "Town."),
    Field("district", STRING, "Id of the district."),
    Field("lat", NUMBER, "Latitude (WGS 84).", nullable=True),
    Field("lon", NUMBER, "Longitude (WGS 84).", nullable=True),
    Field("nearest_bus_stop", STRING, "The nearest stop of the city's buses.", nullable=True),
    Field("bus_lines", STRING, "City bus lines that call at the nearest bus stop.", many=True),
    Field("step_free", BOOLEAN, "Whether the place and the bus can be reached without steps; null: not known.",
          nullable=True),
    Field("seats", BOOLEAN, "Whether there are seats for waiting; null: not known.", nullable=True),
    Field("toilet", BOOLEAN, "Whether a toilet is near; null: not known.", nullable=True),
    Field("hearing_loop", BOOLEAN, "Whether a hearing loop is available; null: not known.", nullable=True),
    Field("note", TEXT, "How to find the bus there, in `language`.", nullable=True),
    Field("language", LANGUAGE, "Language of note (BCP 47)."),
    Field("translations", translated({"note": "How to find the bus there."}), OTHER_LANGUAGES % ("note", "note")),
))

WORKSHOP = Schema("Workshop", "A free workshop held in the bus at one stop.", (
    Field("id", STRING, "Stable id of the workshop."),
    Field("url", URL, "The stop page that shows this workshop."),
    Field("booking_url", URL, "Where to book a seat; null when it can no longer be booked.", nullable=True),
    Field("stop", STRING, "Id of the stop."),
    Field("place", STRING, "Id of the place."),
    Field("district", STRING, "Id of the district."),
    Field("title", STRING, "Title, in the workshop's language."),
    Field("description", TEXT, "What the workshop is about, in the workshop's language."),
    Field("topic", STRING, "Topic key, for example smartphone_basics."),
    Field("audience", STRING, "Who it is for, for example seniors, families or everyone."),
    Field("language", LANGUAGE, "Language the workshop is held in (BCP 47), and of its title, description and "
                                "accessibility."),
    Field("level", enum(tuple(LEVELS)), "How much one should know already: first_steps (no experience needed) "
                                            "or some_experience (already uses a phone or computer)."),
    Field("what_to_bring", TEXT, "What to bring; null: nothing named.", nullable=True),
    Field("walk_ins", BOOLEAN, "Whether people without a booking are welcome (a booking makes the seat certain)."),
    Field("accessibility", TEXT, "Notes on accessibility; null: none given.", nullable=True),
    Field("starts_at", DATETIME, "Start (with time zone offset)."),
    Field("ends_at", DATETIME, "End (with time zone offset)."),
    Field("previous_starts_at", DATETIME, "The start first announced, when the stop was given another time; null "
                                          "otherwise.", nullable=True),
    Field("duration_minutes", {"type": "integer", "minimum": 1}, "Length in minutes."),
    Field("status", enum(STOP_STATES), "scheduled, moved (another time or place than first announced) or cancelled."),
    Field("capacity", INTEGER, "Seats in total."),
    Field("seats_free", INTEGER, "Seats free now; 0 when full, cancelled or over."),
    Field("bookable", BOOLEAN, "Whether a seat (or a waiting-list place) can be booked now."),
    Field("translations", translated({"title": "Title.", "description": "What the workshop is about.",
                                      "accessibility": "Notes on accessibility."}),
          OTHER_LANGUAGES % ("title, description and accessibility", "title")),
))

STOP = Schema("Stop", "One visit of the bus at a place, with its workshops.", (
    Field("id", STRING, "Stable id of the stop."),
    Field("url", URL, "The stop's page."),
    Field("calendar_url", URL, "The stop as an iCalendar file."),
    Field("district", STRING, "Id of the district."),
    Field("place", PLACE, "Where the bus parks."),
    Field("starts_at", DATETIME, "When the bus opens (with time zone offset)."),
    Field("ends_at", DATETIME, "When the bus leaves (with time zone offset)."),
    Field("previous_starts_at", DATETIME, "The start first announced, when the stop was given another time; null "
                                          "otherwise.", nullable=True),
    Field("status", enum(STOP_STATES), "scheduled, moved (another time or place than first announced) or cancelled."),
    Field("status_reason", TEXT, "Why the stop is cancelled, in `language`; null otherwise.", nullable=True),
    Field("live_status", enum(LIVE_STATES), "Where the bus stands now for this stop."),
    Field("live_note", TEXT, "The bus team's latest word about this stop, in `language`; null: none.",
          nullable=True),
    Field("seats_free", INTEGER, "Free seats over the stop's workshops that still take bookings."),
    Field("workshops", WORKSHOP, "The stop's workshops, in order of time.", many=True),
    Field("updated_at", DATETIME, "When the stop itself last changed (seat counts change without it)."),
    Field("language", LANGUAGE, "Language of status_reason and live_note (BCP 47)."),
    Field("translations", translated({"status_reason": "Why the stop is cancelled.",
                                      "live_note": "The bus team's latest word."}),
          OTHER_LANGUAGES % ("status_reason (only when cancelled) and live_note (only when not)", "live_note")),
))

LINKS = Schema("Links", "Where to go on.", (
    Field("self", URL, "This page."),
    Field("next", URL, "The next page; null on the last page.", nullable=True),
))


def page_of(item: Schema, description: str) -> Schema:
    """A list answer: one page of items and the link to the next page."""
    return Schema(f"{item.name}Page", description, (
        Field("items", item, "This page's items.", many=True),
        Field("links", LINKS, "Links to this page and the next."),
    ))


def list_of(item: Schema, description: str) -> Schema:
    return Schema(f"{item.name}List", description, (Field("items", item, "All items.", many=True),))


STOP_PAGE = page_of(STOP, "A page of stops, soonest first.")
WORKSHOP_PAGE = page_of(WORKSHOP, "A page of workshops, soonest first.")
PLACE_LIST = list_of(PLACE, "The places of the public stops.")
DISTRICT_LIST = list_of(DISTRICT, "Every district in its official order.")

INDEX_LINKS = (
    ("stops", "Stops from today on, page by page."),
    ("workshops", "Workshops from today on, page by page."),
    ("stops_csv", "Every stop from today on as one CSV file."),
    ("places", "Every place the bus stops at."),
    ("districts", "The districts."),
    ("calendar", "The whole tour as an iCalendar feed."),
    ("catalog", "The DCAT-AP.de description of this data."),
    ("openapi", "The OpenAPI document of this API."),
    ("ngsi_ld_places", "The places as NGSI-LD entities."),
    ("ngsi_ld_events", "The workshops as NGSI-LD entities."),
    ("docs", "This API described for people."),
)
INDEX = Schema("Index", "Where everything of this API is.", (
    Field("title", STRING, "The API's name."),
    Field("links", Schema("IndexLinks", "The API's addresses.",
                          tuple(Field(name, URL, text) for name, text in INDEX_LINKS)), "The API's addresses."),
))

PROBLEM = Schema("Problem", "What was wrong with the request (RFC 9457 problem details).", (
    Field("type", STRING, "about:blank"),
    Field("title", STRING, "The HTTP status code's phrase (Bad Request, Not Found ...), the same every time."),
    Field("status", {"type": "integer", "minimum": 400, "maximum": 599}, "The HTTP status code."),
    Field("detail", STRING, "What to change, in the language named by Content-Language."),
    Field("parameter", STRING, "The query parameter that was not right; null when it is none.", nullable=True),
))

ALL = (DISTRICT, PLACE, WORKSHOP, STOP, LINKS, STOP_PAGE, WORKSHOP_PAGE, PLACE_LIST, DISTRICT_LIST, INDEX,
       INDEX.fields[1].kind, PROBLEM)
