"""Mitreden's open data beyond the plain lists: the published ideas in the columns Decidim's "import proposals from a
file" reads (CSV and JSON, as Decidim's readers and its ProposalsVerifier take them), and their own dataset in the
DCAT-AP.de catalogue, checked with GovData's shapes."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.participation import service
from busapp.participation.models import Consultation, Idea, IdeaStatus, Moderation

pytestmark = pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning")


@pytest.fixture
def ideas(app, now):
    c = Consultation(title="Digitales Lübeck", idea_question="Was?", starts_at=now - timedelta(days=3),
                     ends_at=now + timedelta(days=10), topics=["Bildung"])
    other = Consultation(title="Andere Frage", idea_question="Was?", starts_at=now - timedelta(days=3),
                         ends_at=now + timedelta(days=10))
    db.session.add_all([c, other])
    db.session.flush()
    rows = {
        "german": Idea(consultation_id=c.id, text="Mehr WLAN im Bus\nund an den Haltestellen", topic="Bildung",
                       moderation=Moderation.PUBLISHED, status=IdeaStatus.REVIEW, answer="Wir prüfen das.",
                       supports=4),
        "turkish": Idea(consultation_id=c.id, text="Türkçe formlar", locale="tr", moderation=Moderation.PUBLISHED,
                        status=IdeaStatus.TAKEN, answer="Kommt in die Strategie.",
                        answer_texts={"tr": "Stratejiye alındı."}),
        "long": Idea(consultation_id=c.id, text="=" + "sehr lange Idee " * 20, moderation=Moderation.PUBLISHED),
        "new": Idea(consultation_id=c.id, text="Noch nicht gelesen 0451 123456"),
        "hidden": Idea(consultation_id=c.id, text="Werbung", moderation=Moderation.HIDDEN, hidden_reason="advert"),
        "elsewhere": Idea(consultation_id=other.id, text="Andere Idee", moderation=Moderation.PUBLISHED),
    }
    db.session.add_all(rows.values())
    db.session.commit()
    return c, rows


def _csv(client, query: str = "") -> tuple[str, list[dict]]:
    response = client.get("/mitreden/decidim.csv" + query)
    text = response.get_data(as_text=True)
    assert response.mimetype == "text/csv"
    return text, list(csv.DictReader(io.StringIO(text), delimiter=";"))


def test_decidim_reads_title_and_body_in_its_default_language(client, ideas):
    c, rows = ideas
    text, records = _csv(client)
    assert not text.startswith("\ufeff")  # Decidim's CSV reader would take a byte-order mark into the first header
    header = text.splitlines()[0].split(";")
    assert header == ["id", "title/de", "title/tr", "body/de", "body/tr"]
    # What Decidim's ProposalsVerifier requires for a German organisation, and no header twice.
    assert {"title/de", "body/de"} <= set(header) and len(set(header)) == len(header)
    by_id = {int(r["id"]): r for r in records}
    assert set(by_id) == {rows["german"].id, rows["turkish"].id, rows["long"].id, rows["elsewhere"].id}
    german = by_id[rows["german"].id]
    assert german["title/de"] == "Mehr WLAN im Bus" and german["title/tr"] == "" and german["body/tr"] == ""
    assert german["body/de"].startswith("Mehr WLAN im Bus\nund an den Haltestellen")
    assert "Thema: Bildung" in german["body/de"] and "Wird geprüft – Wir prüfen das." in german["body/de"]
    assert "Unterstützungen auf der Seite des Busses: 4" in german["body/de"]
    turkish = by_id[rows["turkish"].id]
    assert turkish["title/de"] == turkish["title/tr"] == "Türkçe formlar"
    assert "Geschrieben auf: Türkçe" in turkish["body/de"] and "Kommt in die Strategie." in turkish["body/de"]
    assert "Stratejiye alındı." in turkish["body/tr"] and "Kommt in die Strategie." not in turkish["body/tr"]
    long = by_id[rows["long"].id]
    assert len(long["title/de"]) <= 150 and long["title/de"].endswith("…") and long["title/de"].startswith("sehr")
    for private in ("0451", "Werbung", "Noch nicht gelesen"):
        assert private not in text


def test_one_consultation_and_the_json_decidim_reads(client, ideas):
    c, rows = ideas
    _text, records = _csv(client, f"?consultation={c.id}")
    assert rows["elsewhere"].id not in {int(r["id"]) for r in records} and len(records) == 3
    data = client.get(f"/mitreden/decidim.json?consultation={c.id}").get_json()
    assert isinstance(data, list) and all(isinstance(v, str) for row in data for v in row.values())
    assert {frozenset(row) for row in data} == {frozenset(["id", "title/de", "title/tr", "body/de", "body/tr"])}
    assert sorted(r["id"] for r in data) == sorted(r["id"] for r in records)


def test_the_catalogue_has_a_mitreden_dataset_that_passes_the_shapes(app, client, ideas):
    from tests.opendata.test_opendata_dcat import PROFILES, check

    app.config["OPENDATA_CONTRIBUTOR_ID"] = "http://dcat-ap.de/def/contributors/schleswigHolstein"
    catalogue = client.get("/api/v1/catalog.jsonld").get_json(force=True)
    graph = catalogue["@graph"]
    datasets = {n["@id"].rsplit("#", 1)[1]: n for n in graph if n["@type"] == "dcat:Dataset"}
    assert set(datasets) == {"dataset", "mitreden"}
    mitreden = datasets["mitreden"]
    downloads = {n["dcat:downloadURL"]["@id"].split("/", 3)[3] for n in graph if n["@type"] == "dcat:Distribution"
                 and {"@id": n["@id"]} in mitreden["dcat:distribution"]}
    assert downloads == {"mitreden/ideen.json", "mitreden/ideen.csv", "mitreden/decidim.csv", "mitreden/decidim.json",
                         "mitreden/zahlen.json", "mitreden/zahlen.csv"}
    [catalog] = [n for n in graph if n["@type"] == "dcat:Catalog"]
    assert {d["@id"] for d in catalog["dcat:dataset"]} == {d["@id"] for d in datasets.values()}
    for profile in PROFILES:
        conforms, report = check(catalogue, profile)
        assert conforms, report


def test_no_consultation_no_dataset(client):
    graph = client.get("/api/v1/catalog.jsonld").get_json(force=True)["@graph"]
    assert [n["@id"].rsplit("#", 1)[1] for n in graph if n["@type"] == "dcat:Dataset"] == ["dataset"]
    assert db.session.scalar(sa.select(sa.func.count(Idea.id))) == 0 and service.published_ideas() == []


def test_each_consultations_figures_are_open_data_counts_only(client, ideas, make_district, make_stop, now):
    """The board report's figures for every consultation that has started, as JSON and CSV: the same counts the
    report shows (hand-counted here), in German whatever the visitor's language, and nothing anyone wrote."""
    from busapp.participation.models import Channel, Contribution

    c, _rows = ideas
    moisling = make_district(name="Moisling")
    stop = make_stop(district=moisling, starts_at=now - timedelta(days=1), place="Marktplatz")
    later = Consultation(title="Noch nicht begonnen", idea_question="Was?", starts_at=now + timedelta(days=5),
                         ends_at=now + timedelta(days=20))
    db.session.add(later)
    db.session.add_all([
        Contribution(consultation_id=c.id, idempotency_key="fig-0001", channel=Channel.PHONE, locale="tr",
                     district_id=moisling.id, age_group="65_79", internet="rarely"),
        Contribution(consultation_id=c.id, idempotency_key="fig-0002", channel=Channel.PAPER, locale="de",
                     stop_id=stop.id, internet="never"),
        Contribution(consultation_id=c.id, idempotency_key="fig-0003", channel=Channel.PAPER, locale="de"),
    ])
    db.session.commit()
    body = client.get("/mitreden/zahlen.json?lang=en").get_json()
    assert [x["consultation"] for x in body["consultations"]] == ["Digitales Lübeck", "Andere Frage"]
    mine = {(f["section"], f["answer"]): f["count"] for f in body["consultations"][0]["figures"]}
    assert mine[("Gesamt", "")] == 3 and mine[("Altersgruppe", "65 bis 79")] == 1
    assert mine[("Weg", "Papierkarte")] == 2 and mine[("Weg", "Telefon")] == 1
    assert mine[("Stadtteil", "Moisling")] == 1 and mine[("Stadtteil", "keine Angabe")] == 2
    assert mine[("Internetnutzung", "keine Angabe")] == 1
    assert sum(n for (section, _a), n in mine.items() if section == "Sprache") == 3
    text = client.get("/mitreden/zahlen.csv").get_data(as_text=True)
    assert text.lstrip("\ufeff").startswith("consultation_id;consultation;section;answer;count")
    assert "Noch nicht begonnen" not in text and "Noch nicht begonnen" not in str(body)
    for secret in ("Noch nicht gelesen", "0451 123456", "Werbung", "fig-0001", "65_79", "rarely"):
        assert secret not in text and secret not in str(body), secret
