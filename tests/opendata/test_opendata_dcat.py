"""The DCAT-AP.de catalogue checked with GovData's own SHACL shapes (DCAT-AP.de 2.0, vendored in
tests/vendor/dcat-ap-de-2.0 with their licence), in both of its profiles, by pySHACL."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import Graph

from tests.opendata.test_opendata import tour  # noqa: F401 - the fixture tour

# rdflib's JSON-LD parser still builds a ConjunctiveGraph inside; its warning is about rdflib, not about the app.
pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")
SHAPES = Path(__file__).parents[1] / "vendor" / "dcat-ap-de-2.0"
# The files of each profile, as the release's shacl/README.md lists them.
SPECIFICATION = ["dcat-ap-de-imports", "dcat-ap-spec-german-messages", "dcat-ap-spec-german-additions",
                 "dcat-ap-de-deprecated", "dcat-ap_2.1.1_shacl_shapes"]
PROFILES = {
    "Spezifikation": SPECIFICATION,
    "Spezifikation + Konventionen": SPECIFICATION[:4] + ["dcat-ap-konventionen"] + SPECIFICATION[4:],
}


def shapes(profile: str) -> Graph:
    graph = Graph()
    for name in PROFILES[profile]:
        graph.parse(SHAPES / f"{name}.ttl", format="turtle")
    return graph


def check(catalogue: dict, profile: str) -> tuple[bool, str]:
    """Validate as GovData's validator does: the catalogue with the vocabulary entries its imports would bring."""
    data = Graph().parse(data=json.dumps(catalogue), format="json-ld")
    data.parse(SHAPES / "vocabulary-excerpt.ttl", format="turtle")
    conforms, _graph, text = validate(data, shacl_graph=shapes(profile), inference="rdfs", allow_warnings=True)
    return conforms, text


@pytest.mark.parametrize("profile", list(PROFILES))
def test_the_catalogue_passes_the_official_shapes(client, tour, profile):  # noqa: F811
    catalogue = client.get("/api/v1/catalog.jsonld").get_json(force=True)
    conforms, report = check(catalogue, profile)
    assert conforms, report


def test_the_shapes_catch_what_the_conventions_require(client, tour):  # noqa: F811
    """Without dcatde:contributorID the specification holds and the conventions fail: the check can fail."""
    catalogue = client.get("/api/v1/catalog.jsonld").get_json(force=True)
    for node in catalogue["@graph"]:
        node.pop("dcatde:contributorID", None)
    assert check(catalogue, "Spezifikation")[0]
    conforms, report = check(catalogue, "Spezifikation + Konventionen")
    assert not conforms and "contributorID" in report


def test_issued_modified_languages_and_contributor(app, client, tour):  # noqa: F811
    graph = client.get("/api/v1/catalog.jsonld").get_json(force=True)["@graph"]
    [catalog] = [n for n in graph if n["@type"] == "dcat:Catalog"]
    [dataset] = [n for n in graph if n["@type"] == "dcat:Dataset"]
    assert dataset["dcatde:contributorID"] == {"@id": "http://dcat-ap.de/def/contributors/schleswigHolstein"}
    issued = datetime.fromisoformat(dataset["dct:issued"]["@value"])
    modified = datetime.fromisoformat(dataset["dct:modified"]["@value"])
    assert issued <= modified and dataset["dct:modified"]["@type"] == "xsd:dateTime"
    assert modified.replace(microsecond=0) >= tour["moved"].updated_at.replace(microsecond=0)
    # Every language the app serves (Leichte Sprache is German), on the catalogue as on the dataset.
    codes = {lang["@id"].rsplit("/", 1)[1] for lang in catalog["dct:language"]}
    assert codes == {"DEU", "ENG", "TUR", "UKR", "ARA", "POL", "RUS", "FAS"}
    assert catalog["dct:language"] == dataset["dct:language"]
    app.config["OPENDATA_CONTRIBUTOR_ID"] = "http://dcat-ap.de/def/contributors/stadtLuebeck"
    graph = client.get("/api/v1/catalog.jsonld").get_json(force=True)["@graph"]
    [dataset] = [n for n in graph if n["@type"] == "dcat:Dataset"]
    assert dataset["dcatde:contributorID"]["@id"].endswith("/stadtLuebeck")
