"""The OpenAPI 3.1 document, made from the same schemas and parameter rules that build and check the answers."""
from __future__ import annotations

from flask import current_app

from . import schemas, service

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def _param(name: str, description: str, schema: dict, required: bool = False, where: str = "query") -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


# A date, or a date and time with an optional offset (without one it is the town's time): the pattern is what the API
# reads, the formats make it a real day and time (no 2026-02-30), so that every value the document allows is accepted.
WHEN = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
WHEN_SCHEMA = {"type": "string", "pattern": WHEN, "anyOf": [{"format": "date"}, {"format": "date-time"}]}

LIST_PARAMETERS = [
    # The district's schema is replaced by the districts there are (see list_parameters): a value the document allows
    # is then one the API accepts.
    _param("district", "Only stops in this district (its id, see /api/v1/districts).",
           {"type": "string", "pattern": "^[a-z0-9-]{1,80}$"}),
    _param("from", "Only what ends after this date (the whole day, in the town's time zone) or date and time. Without it, lists and "
                   "the download start today; give an early date for stops that are over.",
           {**WHEN_SCHEMA, "examples": ["2026-05-04", "2026-05-04T10:00:00+02:00"]}),
    _param("to", "Only what starts before this date (up to the end of that day) or date and time.",
           {**WHEN_SCHEMA, "examples": ["2026-05-31"]}),
    _param("topic", "Only workshops with this topic key (for stops: stops that have one).",
           {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,80}$"}),
    _param("language", "Only workshops in this language (for stops: stops that have one).",
           {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,80}$"}),
    _param("free_seats", "true: only what can still be booked with a free seat.",
           {"type": "string", "enum": ["true", "false"]}),
    _param("limit", f"Items per page, 1 to {service.MAX_LIMIT} (default {service.DEFAULT_LIMIT}).",
           {"type": "integer", "minimum": 1, "maximum": service.MAX_LIMIT}),
    _param("cursor", "Where the page starts: copy it from links.next of the page before.",
           {"type": "string", "maxLength": 1000}),
]


def list_parameters(districts: list[str], names: tuple[str, ...] = service.LIST_PARAMS) -> list[dict]:
    """The list parameters, with the district's values named (an empty enum is not allowed: no district, no enum)."""
    out = []
    for p in LIST_PARAMETERS:
        if p["name"] not in names:
            continue
        if p["name"] == "district" and districts:
            p = {**p, "schema": {"type": "string", "enum": districts}}
        out.append(p)
    return out


ID_PARAMETER = _param("id", "The id.", {"type": "string", "pattern": "^[0-9]{1,10}$"}, required=True, where="path")


def _json(schema: dict, description: str, media: str = "application/json") -> dict:
    return {"description": description, "content": {media: {"schema": schema}},
            "headers": {"ETag": {"schema": {"type": "string"}}, "Last-Modified": {"schema": {"type": "string"}},
                        "Link": {"schema": {"type": "string"}, "description": "The next page (lists only)."}}}


def _ref(schema: schemas.Schema) -> dict:
    return {"$ref": f"#/components/schemas/{schema.name}"}


def _responses(ok: dict, *, bad_request: bool = False, missing: bool = False, conditional: bool = True) -> dict:
    out = {"200": ok}
    if conditional:
        out["304"] = {"description": "Not modified: the ETag given in If-None-Match is still current."}
    if bad_request:
        out["400"] = {"description": "A parameter is not right; `parameter` names it.",
                      "content": {"application/problem+json": {"schema": PROBLEM_REF}}}
    if missing:
        out["404"] = {"description": "No such public object.",
                      "content": {"application/problem+json": {"schema": PROBLEM_REF}}}
    return out


def _op(op_id: str, summary: str, responses: dict, parameters: list | None = None, tag: str = "tour") -> dict:
    return {"get": {"operationId": op_id, "summary": summary, "tags": [tag], "parameters": parameters or [],
                    "responses": responses}}


NGSI_ENTITY = {"type": "object", "required": ["id", "type"],
               "properties": {"id": {"type": "string", "pattern": "^urn:ngsi-ld:"},
                              "type": {"type": "string", "enum": list(service.NGSI_TYPES)},
                              "@context": {"type": "array", "items": {"type": "string", "format": "uri"}}}}
NGSI_ERROR = {"type": "object", "required": ["type", "title"],
              "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "detail": {"type": "string"}}}
NGSI_TYPES_PATTERN = "^({0})(,({0}))*$".format("|".join(service.NGSI_TYPES))


def _ngsi_ok(schema: dict, description: str) -> dict:
    """200 as JSON-LD (@context in the body) or as JSON (@context in the Link header), as the Accept header asks."""
    answer = _json(schema, description, "application/ld+json")
    answer["content"]["application/json"] = {"schema": schema}
    answer["headers"]["NGSILD-Results-Count"] = {"schema": {"type": "string"},
                                                 "description": "How many entities there are (with count=true)."}
    return answer


def _ngsi_bad(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": NGSI_ERROR}}}


def document(base_url: str, districts: list[str] | None = None) -> dict:
    """The whole OpenAPI document for the API at base_url; `districts` are the ids a list accepts."""
    list_params = list_parameters(districts or [])
    time_zone = current_app.config["TIMEZONE"]
    download_params = list_parameters(districts or [], service.DOWNLOAD_PARAMS)
    paths = {
        "/api/v1/": _op("getIndex", "Where everything of this API is, as links",
                        _responses(_json(_ref(schemas.INDEX), "The API's addresses.")), tag="metadata"),
        "/api/v1/stops": _op("listStops", "Stops, soonest first, with their place and workshops",
                             _responses(_json(_ref(schemas.STOP_PAGE), "A page of stops."), bad_request=True),
                             list_params),
        "/api/v1/stops/{id}": _op("getStop", "One stop",
                                  _responses(_json(_ref(schemas.STOP), "The stop."), missing=True),
                                  [ID_PARAMETER]),
        "/api/v1/stops.csv": _op("listStopsCsv", "Every stop from today on (or as filtered) as CSV, one row per "
                                 "workshop, in one file",
                                 _responses(_json({"type": "string"}, "The stops as CSV, written while sent.",
                                                  "text/csv"), bad_request=True), download_params),
        "/api/v1/workshops": _op("listWorkshops", "Workshops, soonest first",
                                 _responses(_json(_ref(schemas.WORKSHOP_PAGE), "A page of workshops."),
                                            bad_request=True), list_params),
        "/api/v1/workshops/{id}": _op("getWorkshop", "One workshop",
                                      _responses(_json(_ref(schemas.WORKSHOP), "The workshop."), missing=True),
                                      [ID_PARAMETER]),
        "/api/v1/places": _op("listPlaces", "Every place the bus stops at",
                              _responses(_json(_ref(schemas.PLACE_LIST), "The places."))),
        "/api/v1/districts": _op("listDistricts", "The districts",
                                 _responses(_json(_ref(schemas.DISTRICT_LIST), "The districts."))),
        "/api/v1/catalog.jsonld": _op("getCatalog", "DCAT-AP.de description of this data for open-data portals",
                                      _responses(_json({"type": "object", "required": ["@context", "@graph"]},
                                                       "The catalogue.", "application/ld+json")), tag="metadata"),
        "/api/v1/openapi.json": _op("getOpenApi", "This document",
                                    _responses(_json({"type": "object", "required": ["openapi", "paths"]},
                                                     "The OpenAPI document.")), tag="metadata"),
        "/ngsi-ld/v1/entities": _op(
            "listEntities", "NGSI-LD entities of one type (read-only subset of the NGSI-LD API)",
            {"200": _ngsi_ok({"type": "array", "items": NGSI_ENTITY}, "The entities; Link rel=next names the next "
                                                                       "page."),
             "304": {"description": "Not modified."},
             "400": _ngsi_bad("A parameter is not right (NGSI-LD BadRequestData)."),
             "406": _ngsi_bad("Neither application/ld+json nor application/json is acceptable (NotAcceptable).")},
            [_param("type", "Entity types, separated by commas: PointOfInterest (the places), Event (the tour and "
                            "its workshops).", {"type": "string", "pattern": NGSI_TYPES_PATTERN,
                                                "maxLength": 100}, required=True),
             _param("limit", f"Entities per answer, 1 to {service.NGSI_MAX_LIMIT} (default 20).",
                    {"type": "integer", "minimum": 1, "maximum": service.NGSI_MAX_LIMIT}),
             _param("offset", "How many entities to skip.", {"type": "integer", "minimum": 0, "maximum": 10**7}),
             _param("count", "true: the total in the NGSILD-Results-Count header.",
                    {"type": "string", "enum": ["true", "false"]}),
             _param("options", "keyValues: each attribute as its bare value.",
                    {"type": "string", "enum": ["keyValues", "normalized"]})],
            tag="ngsi-ld"),
        "/ngsi-ld/v1/entities/{entityId}": _op(
            "getEntity", "One NGSI-LD entity",
            {"200": _ngsi_ok(NGSI_ENTITY, "The entity."),
             "304": {"description": "Not modified."},
             "400": _ngsi_bad("Not an entity id (NGSI-LD BadRequestData)."),
             "404": _ngsi_bad("No such entity (NGSI-LD ResourceNotFound)."),
             "406": _ngsi_bad("Neither application/ld+json nor application/json is acceptable (NotAcceptable).")},
            [_param("entityId", "The entity's URN.", {"type": "string", "pattern": "^urn:[A-Za-z0-9:._-]{1,190}$"},
                    required=True, where="path"),
             _param("options", "keyValues: each attribute as its bare value.",
                    {"type": "string", "enum": ["keyValues", "normalized"]})],
            tag="ngsi-ld"),
        "/ngsi-ld/v1/context.jsonld": _op(
            "getContext", "The @context of the entities: the Smart Data Models' contexts and NGSI-LD's core context",
            _responses(_json({"type": "object", "required": ["@context"]}, "The context.", "application/ld+json")),
            tag="ngsi-ld"),
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Digitalwerkstatt-Bus open data",
            "version": "1.0.0",
            "summary": "Where and when the digital workshop bus stops, and its free workshops.",
            "description": (
                "Read-only, no key needed, open to scripts on any web site (CORS). Lists are cut into pages: follow "
                "`links.next`. Send the ETag back in If-None-Match to get a cheap 304 when nothing changed. "
                f"Times are in {time_zone} with their offset. No personal data is ever part of an answer. "
                "Texts that people write (titles, descriptions, notes) come in the object's own `language`, and in "
                "every other language they exist in under `translations` ({\"en\": {\"title\": \"...\"}}), so one "
                "answer serves every language and can be cached as it is: answers do not depend on Accept-Language "
                "(only the wording of error messages does), and there is no `lang` parameter. Pick the visitor's "
                "language from `translations`, else use the own text and mark it with `language`."
            ),
            "license": {"name": "EUPL-1.2 (software)", "identifier": "EUPL-1.2"},
        },
        "servers": [{"url": base_url}],
        "paths": paths,
        "components": {"schemas": {s.name: s.json_schema() for s in schemas.ALL}},
    }
