"""NGSI-LD: every entity valid against the Smart Data Models' official JSON Schemas and expanded by a JSON-LD processor
(pyld) with the official contexts (the Smart Data Models' in tests/vendor/smart-data-models, ETSI's core context in
tests/vendor/etsi-ngsi-ld, served only from those files), content negotiation, pages, and the push to a broker
that checks what it is given the way a real one does."""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import jsonschema_rs
import pytest
from pyld import jsonld

from busapp.core.extensions import db
from busapp.models import WorkshopStatus
from busapp.opendata import entities, service
from tests.live import free_port
from tests.opendata.test_opendata import get_json, tour  # noqa: F401 - the fixture tour

VENDOR = Path(__file__).parents[1] / "vendor" / "smart-data-models"
PUBLISHED = "https://smart-data-models.github.io/"
SCHEMAS = {"Event": "dataModel.TourismDestinations/Event/schema.json",
           "PointOfInterest": "dataModel.PointOfInterest/PointOfInterest/schema.json"}
CONTEXT_FILES = {service.SDM_CONTEXTS[0]: VENDOR / "dataModel.TourismDestinations/context.jsonld",
                 service.SDM_CONTEXTS[1]: VENDOR / "dataModel.PointOfInterest/context.jsonld"}
CORE_CONTEXT_FILE = Path(__file__).parents[1] / "vendor" / "etsi-ngsi-ld" / "ngsi-ld-core-context-v1.8.jsonld"
CORE_TERMS = {"id", "type", "@context"}
NGSI = "https://uri.etsi.org/ngsi-ld/"
DEFAULT_VOCAB = NGSI + "default-context/"
SDM = "https://smartdatamodels.org/"
EVENT = SDM + "dataModel.TourismDestinations/"
DCT = "http://purl.org/dc/terms/"
EXPECTED_TYPES = {"Event": EVENT + "Event", "PointOfInterest": SDM + "dataModel.PointOfInterest/PointOfInterest"}
# What each attribute the official models define expands to (read from the official contexts by hand once, so a
# processor or a context that says otherwise fails the test): the models' own IRIs, Dublin Core for title and
# description and NGSI-LD's location, which the core context, coming last and protected, keeps for itself.
MODEL_IRIS = {
    "Event": {
        "name": SDM + "name", "url": SDM + "url", "startDate": SDM + "startDate", "endDate": SDM + "endDate",
        "isAccessibleForFree": SDM + "isAccessibleForFree", "eventStatus": EVENT + "eventStatus",
        "thematic": EVENT + "thematic", "audience": EVENT + "audience", "language": EVENT + "language",
        "maximumAttendeeCapacity": EVENT + "maximumAttendeeCapacity", "refPointOfInterest": EVENT + "refPointOfInterest",
        "superEvent": EVENT + "superEvent", "title": DCT + "title", "description": DCT + "description",
        "location": NGSI + "location",
    },
    "PointOfInterest": {
        "name": SDM + "name", "address": SDM + "address", "category": SDM + "dataModel.PointOfInterest/category",
        "description": DCT + "description", "location": NGSI + "location",
    },
}
# Our own attributes, which the models do not have: NGSI-LD gives them its default vocabulary.
OWN_ATTRIBUTES = {
    "Event": {"previousStartDate", "statusReason", "liveStatus", "audienceGroup", "remainingAttendeeCapacity",
              "accessibility", "level", "whatToBring", "walkIns", "nameByLanguage", "descriptionByLanguage",
              "accessibilityByLanguage", "stop"},
    "PointOfInterest": {"nearestBusStop", "busLines", "stepFree", "seats", "toilet", "hearingLoop",
                        "descriptionByLanguage"},
}


def retrieve(uri: str):
    """The vendored copy of a schema the official schemas refer to; any other address is a test failure."""
    assert uri.startswith(PUBLISHED), uri
    return json.loads((VENDOR / uri[len(PUBLISHED):].split("#")[0]).read_text(encoding="utf-8"))


VALIDATORS = {kind: jsonschema_rs.validator_for(json.loads((VENDOR / path).read_text(encoding="utf-8")),
                                                retriever=retrieve, validate_formats=True)
              for kind, path in SCHEMAS.items()}

# Every address the JSON-LD processor asked for that is not vendored: a test fails on any (no request leaves).
REFUSED_CONTEXTS: list[str] = []


def vendored_only(url: str, options=None) -> dict:
    """pyld's document loader: the vendored copy of an official context, nothing from the network."""
    path = CONTEXT_FILES.get(url) or (CORE_CONTEXT_FILE if url == service.NGSI_CORE_CONTEXT else None)
    if path is None:
        REFUSED_CONTEXTS.append(url)
        raise jsonld.JsonLdError(f"not vendored: {url}", "jsonld.LoadDocumentError", code="loading document failed")
    return {"contextUrl": None, "documentUrl": url, "document": json.loads(path.read_text(encoding="utf-8"))}


def expanded(entity: dict) -> dict:
    """The entity expanded by a JSON-LD processor with the contexts it names (JSON-LD 1.1 expansion)."""
    [node] = jsonld.expand(entity, options={"documentLoader": vendored_only})
    return node


def expand(entity: dict) -> dict:
    """The entity's type and attribute names as the IRIs its @context gives them: the entity itself expanded for
    its type, and a probe with one marker per attribute for the names (a name's IRI is where its marker lands)."""
    [kind] = expanded(entity)["@type"]
    markers = {name: {"id": f"urn:probe:{name}"} for name in entity if name not in CORE_TERMS}
    probe = expanded({"@context": entity["@context"], "id": "urn:probe", **markers}) if markers else {}
    iris = {value[0]["@id"][len("urn:probe:"):]: iri for iri, value in probe.items() if iri != "@id"}
    return {"type": kind, "attributes": iris}


def all_entities(client, accept: str = "application/ld+json", options: str = "") -> list[dict]:
    found, url = [], f"/ngsi-ld/v1/entities?type=PointOfInterest,Event&limit=3{options}"
    while url:
        response = client.get(url, headers={"Accept": accept})
        assert response.status_code == 200, response.get_data(as_text=True)
        found += response.get_json(force=True)
        nxt = re.search(r'<([^>]+)>; rel="next"', response.headers.get("Link", ""))
        url = nxt and urlsplit(nxt.group(1)).path + "?" + urlsplit(nxt.group(1)).query
    return found


def test_every_entity_is_valid_against_the_official_schemas_and_expands_to_smart_data_models(client, tour):
    entities = all_entities(client)
    simple = {e["id"]: e for e in all_entities(client, options="&options=keyValues")}
    assert {e["type"] for e in entities} == {"Event", "PointOfInterest"} and len(entities) == len(simple) == 9
    for entity in entities:
        assert entity["@context"] == service.NGSI_CONTEXT
        names = expand(entity)
        assert names["type"] == EXPECTED_TYPES[entity["type"]], entity["id"]
        # The models' own attributes expand to their IRIs, not to NGSI-LD's default vocabulary; ours do.
        model, own = MODEL_IRIS[entity["type"]], OWN_ATTRIBUTES[entity["type"]]
        for name, iri in names["attributes"].items():
            assert iri == model[name] if name in model else (name in own and iri == DEFAULT_VOCAB + name), \
                (entity["id"], name, iri)
        assert set(names["attributes"]) == set(entity) - CORE_TERMS
        kv = simple[entity["id"]]
        errors = [f"{e.instance_path}: {e.message}" for e in VALIDATORS[entity["type"]].iter_errors(kv)]
        assert errors == [], (entity["id"], errors)
    # The validator does fail: a value outside the official list, as the entities had before.
    workshop = next(e for e in simple.values() if e["id"].endswith("workshop-" + str(tour["moved_workshop"].id)))
    assert workshop["eventStatus"] == ["rescheduled"] and workshop["audience"] == ["allPublic"]
    assert not VALIDATORS["Event"].is_valid({**workshop, "eventStatus": "moved"})
    assert not VALIDATORS["Event"].is_valid({**workshop, "refPointOfInterest": workshop["refPointOfInterest"][0]})
    assert not VALIDATORS["Event"].is_valid({**workshop, "audience": ["seniors"]})


def test_a_json_ld_processor_expands_event_and_its_attributes_to_smart_data_models_iris(client, tour):
    """Full JSON-LD 1.1 expansion (pyld) of every entity with the official contexts, loaded from the vendored files
    only: Event and PointOfInterest and their attributes become the Smart Data Models' IRIs, and the values keep
    their NGSI-LD meaning (properties, relationships to IRIs, typed times, language maps)."""
    REFUSED_CONTEXTS.clear()
    found = {e["id"]: expanded(e) for e in all_entities(client)}
    assert len(found) == 9 and REFUSED_CONTEXTS == []
    ids = set(found)
    workshop_id = f"urn:ngsi-ld:Event:digitalbus:workshop-{tour['moved_workshop'].id}"
    event = found[workshop_id]
    assert event["@id"] == workshop_id and event["@type"] == [EVENT + "Event"]
    for name in ("name", "startDate", "eventStatus", "audience", "thematic", "language", "maximumAttendeeCapacity",
                 "refPointOfInterest", "superEvent", "isAccessibleForFree", "url"):
        assert MODEL_IRIS["Event"][name].startswith(SDM) and MODEL_IRIS["Event"][name] in event, name
    prop, rel, value = NGSI + "Property", NGSI + "Relationship", NGSI + "hasValue"
    status = event[EVENT + "eventStatus"][0]
    assert status["@type"] == [prop] and status[value] == [{"@value": "rescheduled"}]
    assert event[EVENT + "audience"][0][value] == [{"@value": "allPublic"}]
    start = event[SDM + "startDate"][0][value][0]
    assert start["@type"] == NGSI + "DateTime" and datetime.fromisoformat(start["@value"]).tzinfo is not None
    place = event[EVENT + "refPointOfInterest"][0]
    assert place["@type"] == [rel]
    assert [o["@id"] for o in place[NGSI + "hasObject"]][0] in ids  # a relationship to an entity that exists
    assert event[EVENT + "superEvent"][0][NGSI + "hasObject"] == [{"@id": "urn:ngsi-ld:Event:digitalbus:tour"}]
    seats = event[DEFAULT_VOCAB + "remainingAttendeeCapacity"][0]
    assert seats[NGSI + "observedAt"][0]["@type"] == NGSI + "DateTime"
    names = event[DEFAULT_VOCAB + "nameByLanguage"][0]
    assert names["@type"] == [NGSI + "LanguageProperty"]
    assert {"@value": tour["moved_workshop"].title, "@language": "en"} in names[NGSI + "hasLanguageMap"]
    assert event[NGSI + "location"][0]["@type"] == [NGSI + "GeoProperty"]
    for entity_id, node in found.items():
        kind = "PointOfInterest" if ":PointOfInterest:" in entity_id else "Event"
        assert node["@type"] == [EXPECTED_TYPES[kind]], entity_id
        assert SDM + "name" in node, entity_id
    poi = next(node for i, node in found.items() if ":PointOfInterest:" in i)
    assert poi[SDM + "dataModel.PointOfInterest/category"][0][value] == [{"@value": "digital-workshop-bus-stop"}]
    assert poi[SDM + "address"][0][value][0]  # the address object, as the model's address
    # The processor does fail: with the core context alone, Event is NGSI-LD's default vocabulary, not the model's.
    alone = expanded({**get_json(client, "/ngsi-ld/v1/entities/" + workshop_id), "@context": service.NGSI_CORE_CONTEXT})
    assert alone["@type"] == [DEFAULT_VOCAB + "Event"] and EVENT + "eventStatus" not in alone
    # ... and nothing is fetched from elsewhere: an address that is not vendored is refused, not loaded.
    with pytest.raises(jsonld.JsonLdError):
        expanded({"@context": ["https://example.org/other.jsonld"], "id": "urn:x", "type": "Event"})
    assert REFUSED_CONTEXTS == ["https://example.org/other.jsonld"]


def test_free_seats_and_live_status_say_when_they_were_observed(client, tour):
    entity = get_json(client, f"/ngsi-ld/v1/entities/urn:ngsi-ld:Event:digitalbus:workshop-{tour['open'].id}")
    seats = entity["remainingAttendeeCapacity"]
    assert seats["value"] == 7
    assert datetime.fromisoformat(seats["observedAt"].replace("Z", "+00:00")) == \
        tour["open"].updated_at.replace(microsecond=0)
    assert entity["liveStatus"]["observedAt"].endswith("Z")


def test_accept_decides_where_the_context_goes(client, tour):
    url = "/ngsi-ld/v1/entities/urn:ngsi-ld:Event:digitalbus:tour"
    ld = client.get(url, headers={"Accept": "application/ld+json"})
    assert ld.mimetype == "application/ld+json" and ld.get_json(force=True)["@context"] == service.NGSI_CONTEXT
    for accept in ("application/json", "*/*", None):
        plain = client.get(url, headers={"Accept": accept} if accept else {})
        assert plain.status_code == 200 and plain.mimetype == "application/json", accept
        assert "@context" not in plain.get_json()
        link = plain.headers["Link"]
        assert 'rel="http://www.w3.org/ns/json-ld#context"' in link and "/ngsi-ld/v1/context.jsonld" in link
        assert "Accept" in plain.headers["Vary"]
    context = get_json(client, "/ngsi-ld/v1/context.jsonld")
    assert context["@context"] == service.NGSI_CONTEXT
    for accept in ("text/html", "application/geo+json", "text/csv"):
        refused = client.get(url, headers={"Accept": accept})
        assert refused.status_code == 406, accept
        assert refused.get_json(force=True)["type"].endswith("/NotAcceptable")
    # The same address in two shapes: two ETags, so no cache hands one for the other.
    assert ld.headers["ETag"] != client.get(url, headers={"Accept": "application/json"}).headers["ETag"]


def test_pages_link_on_count_and_several_types(client, tour):
    first = client.get("/ngsi-ld/v1/entities?type=Event&limit=2&count=true")
    assert first.headers["NGSILD-Results-Count"] == "6"  # the tour and five public workshops
    nxt = re.search(r'<([^>]+)>; rel="next"', first.headers["Link"]).group(1)
    assert parse_qs(urlsplit(nxt).query)["offset"] == ["2"]
    last = client.get("/ngsi-ld/v1/entities?type=Event&limit=2&offset=4")
    assert 'rel="next"' not in last.headers.get("Link", "") and len(last.get_json()) == 2
    both = get_json(client, "/ngsi-ld/v1/entities?type=PointOfInterest,Event&limit=1000")
    kinds = [e["type"] for e in both]
    assert kinds == ["PointOfInterest"] * 3 + ["Event"] * 6  # three places in use, the tour, five workshops
    counted = client.get("/ngsi-ld/v1/entities?type=Event,PointOfInterest&count=true&limit=1")
    assert counted.headers["NGSILD-Results-Count"] == "9"
    simple = get_json(client, "/ngsi-ld/v1/entities?type=Event&limit=1&options=keyValues")[0]
    assert simple["name"] == "Digitalwerkstatt-Bus Lübeck" and simple["isAccessibleForFree"] is True
    for bad in ("type=Event&count=yes", "type=Event&options=concise", "type=Event,Car"):
        assert client.get(f"/ngsi-ld/v1/entities?{bad}").status_code == 400, bad


# ------------------------------------------------------------------------------------------------ broker push

class StandInBroker:
    """A small NGSI-LD context broker: it checks each entity's @context, expands its type and attributes with the
    official contexts, keeps the good ones by their expanded type, answers 207 with NGSI-LD's BatchOperationResult
    when a batch holds a bad one, lists entities by type IRI and id pattern, and deletes in batches."""

    def __init__(self):
        self.entities: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        broker = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, body=None):
                self.send_response(status)
                data = b"" if body is None else json.dumps(body).encode()
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):  # noqa: N802 - http.server's name
                parts = urlsplit(self.path)
                broker.requests.append(("GET", parts.path))
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                types = set(query.get("type", "").split(","))
                pattern = re.compile(query.get("idPattern", ".*"))
                found = [e for e in broker.entities.values()
                         if expand(e)["type"] in types and pattern.search(e["id"])]
                offset, limit = int(query.get("offset", 0)), int(query.get("limit", 20))
                self._send(200, [{"id": e["id"], "type": e["type"]} for e in found[offset:offset + limit]])

            def do_POST(self):  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                broker.requests.append(("POST", self.path))
                if self.path == "/ngsi-ld/v1/entityOperations/delete":
                    missing = [i for i in body if i not in broker.entities]
                    for i in body:
                        broker.entities.pop(i, None)
                    if missing:
                        return self._send(207, {"success": [i for i in body if i not in missing], "errors": [
                            {"entityId": i, "error": {"type": "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound",
                                                      "title": "Entity not found"}} for i in missing]})
                    return self._send(204)
                if self.path != "/ngsi-ld/v1/entityOperations/upsert" or \
                        self.headers.get("Content-Type") != "application/ld+json":
                    return self._send(400, {"type": "https://uri.etsi.org/ngsi-ld/errors/BadRequestData"})
                success, errors = [], []
                for entity in body:
                    problems = check_entity(entity)
                    if problems:
                        errors.append({"entityId": entity.get("id"), "error": {
                            "type": "https://uri.etsi.org/ngsi-ld/errors/BadRequestData", "title": problems[0]}})
                    else:
                        broker.entities[entity["id"]] = entity
                        success.append(entity["id"])
                if errors:
                    return self._send(207, {"success": success, "errors": errors})
                self._send(204)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


def check_entity(entity: dict) -> list[str]:
    """What a broker would refuse in one entity: a bad id, a @context it cannot use, a type the Smart Data Models do
    not define, an attribute without a value."""
    problems = []
    if not re.fullmatch(r"urn:ngsi-ld:(PointOfInterest|Event):digitalbus:[\w-]+", entity.get("id", "")):
        problems.append(f"bad id {entity.get('id')}")
    context = entity.get("@context")
    if not isinstance(context, list) or context[-1:] != [service.NGSI_CORE_CONTEXT] \
            or not all(url in CONTEXT_FILES for url in context[:-1]):
        return problems + ["@context is not the Smart Data Models' contexts and the core context"]
    if expand(entity)["type"] not in EXPECTED_TYPES.values():
        problems.append(f"type {entity.get('type')} is not a Smart Data Models type")
    for name, attr in entity.items():
        if name in CORE_TERMS:
            continue
        kind = attr.get("type") if isinstance(attr, dict) else None
        if kind == "Property" and attr.get("value") is None or kind == "Relationship" and not attr.get("object"):
            problems.append(f"{name}: no value")
        elif kind == "LanguageProperty" and not attr.get("languageMap"):
            problems.append(f"{name}: no language map")
        elif kind not in ("Property", "Relationship", "GeoProperty", "LanguageProperty"):
            problems.append(f"{name}: not an attribute")
    return problems


def test_push_brings_the_broker_up_to_date_and_deletes_what_left(app, runner, tour, client):
    with StandInBroker() as broker:
        # Another publisher's entity in the same broker is never touched.
        foreign = {"id": "urn:ngsi-ld:Event:elsewhere:1", "type": "Event", "@context": service.NGSI_CONTEXT}
        broker.entities[foreign["id"]] = foreign
        result = runner.invoke(args=["opendata", "push", "--broker", broker.url, "--batch-size", "3"])
        assert result.exit_code == 0, result.output
        expected = {e["id"] for e in get_json(client, "/ngsi-ld/v1/entities?type=PointOfInterest,Event&limit=1000")}
        assert set(broker.entities) == expected | {foreign["id"]}
        for e in broker.entities.values():
            for target in e.get("refPointOfInterest", {}).get("object", []):
                assert target in broker.entities
        # A workshop goes back to draft: the next push deletes it from the broker.
        tour["open"].status = WorkshopStatus.DRAFT
        db.session.commit()
        gone = service.ngsi_id("Event", f"workshop-{tour['open'].id}")
        again = runner.invoke(args=["opendata", "push", "--broker", broker.url + "/"])
        assert again.exit_code == 0, again.output
        assert "deleted 1" in again.output
        assert gone not in broker.entities and foreign["id"] in broker.entities
        assert ("POST", "/ngsi-ld/v1/entityOperations/delete") in broker.requests
    text = json.dumps(broker.entities).casefold()
    assert not any(s.casefold() in text for s in tour["secrets"])


def test_push_reports_the_entities_a_broker_refused(runner, tour, monkeypatch):
    core_only = service.ngsi_tour

    def tour_with_core_context_only():
        entity = core_only()
        entity["@context"] = service.NGSI_CORE_CONTEXT  # Event would expand to NGSI-LD's default vocabulary
        return entity

    monkeypatch.setattr(entities, "ngsi_tour", tour_with_core_context_only)
    with StandInBroker() as broker:
        result = runner.invoke(args=["opendata", "push", "--broker", broker.url])
    assert result.exit_code != 0 and "only part of a batch" in result.output
    assert "urn:ngsi-ld:Event:digitalbus:tour" in result.output and "@context" in result.output
    result = runner.invoke(args=["opendata", "push", "--broker", "ftp://x"])
    assert result.exit_code != 0 and "http" in result.output
