"""NGSI-LD: every entity valid against the Smart Data Models' official JSON Schemas and expanded with their official
contexts (both vendored in tests/vendor/smart-data-models), content negotiation, pages, and the push to a broker
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

from busapp.extensions import db
from busapp.models import WorkshopStatus
from busapp.opendata import entities, service
from tests.live import free_port
from tests.test_opendata import get_json, tour  # noqa: F401 - the fixture tour

VENDOR = Path(__file__).parent / "vendor" / "smart-data-models"
PUBLISHED = "https://smart-data-models.github.io/"
SCHEMAS = {"Event": "dataModel.TourismDestinations/Event/schema.json",
           "PointOfInterest": "dataModel.PointOfInterest/PointOfInterest/schema.json"}
CONTEXT_FILES = {service.SDM_CONTEXTS[0]: "dataModel.TourismDestinations/context.jsonld",
                 service.SDM_CONTEXTS[1]: "dataModel.PointOfInterest/context.jsonld"}
CORE_TERMS = {"id", "type", "@context"}
DEFAULT_VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"
EXPECTED_TYPES = {"Event": "https://smartdatamodels.org/dataModel.TourismDestinations/Event",
                  "PointOfInterest": "https://smartdatamodels.org/dataModel.PointOfInterest/PointOfInterest"}


def retrieve(uri: str):
    """The vendored copy of a schema the official schemas refer to; any other address is a test failure."""
    assert uri.startswith(PUBLISHED), uri
    return json.loads((VENDOR / uri[len(PUBLISHED):].split("#")[0]).read_text(encoding="utf-8"))


VALIDATORS = {kind: jsonschema_rs.validator_for(json.loads((VENDOR / path).read_text(encoding="utf-8")),
                                                retriever=retrieve, validate_formats=True)
              for kind, path in SCHEMAS.items()}


def term_map(contexts: list) -> dict[str, str]:
    """What the vendored official contexts make of each term, in the order given (a later context wins)."""
    terms: dict[str, str] = {}
    for url in contexts:
        if url == service.NGSI_CORE_CONTEXT:
            continue  # the core context defines NGSI-LD's own words (value, object, observedAt ...), not ours
        assert url in CONTEXT_FILES, f"an @context that is not a Smart Data Models one: {url}"
        context = json.loads((VENDOR / CONTEXT_FILES[url]).read_text(encoding="utf-8"))["@context"]
        terms.update({k: v for k, v in context.items() if isinstance(v, str)})
    return terms


def expand(entity: dict) -> dict:
    """The entity's type and attribute names as the IRIs its @context gives them (JSON-LD term expansion)."""
    terms = term_map(entity["@context"])
    return {"type": terms.get(entity["type"], DEFAULT_VOCAB + entity["type"]),
            "attributes": {name: terms.get(name, DEFAULT_VOCAB + name) for name in entity if name not in CORE_TERMS}}


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
        expanded = expand(entity)
        assert expanded["type"] == EXPECTED_TYPES[entity["type"]], entity["id"]
        # The Smart Data Models' own attributes expand to their IRIs, not to NGSI-LD's default vocabulary.
        for name in ("name", "address", "startDate", "eventStatus", "audience", "refPointOfInterest", "thematic",
                     "maximumAttendeeCapacity", "language", "category"):
            if name in entity:
                assert expanded["attributes"][name].startswith("https://smartdatamodels.org/"), (entity["id"], name)
        kv = simple[entity["id"]]
        errors = [f"{e.instance_path}: {e.message}" for e in VALIDATORS[entity["type"]].iter_errors(kv)]
        assert errors == [], (entity["id"], errors)
    # The validator does fail: a value outside the official list, as the entities had before.
    workshop = next(e for e in simple.values() if e["id"].endswith("workshop-" + str(tour["moved_workshop"].id)))
    assert workshop["eventStatus"] == ["rescheduled"] and workshop["audience"] == ["allPublic"]
    assert not VALIDATORS["Event"].is_valid({**workshop, "eventStatus": "moved"})
    assert not VALIDATORS["Event"].is_valid({**workshop, "refPointOfInterest": workshop["refPointOfInterest"][0]})
    assert not VALIDATORS["Event"].is_valid({**workshop, "audience": ["seniors"]})


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
