"""The DCAT-AP.de description of the tour data, for the city's open-data portal (GovData harvests it)."""
from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa
from flask import current_app

from ..core import districtfile
from ..core.extensions import db
from ..models import District, Place, Stop, Workshop, utcnow
from . import service

CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatde": "http://dcat-ap.de/def/dcatde/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "locn": "http://www.w3.org/ns/locn#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}
EU = "http://publications.europa.eu/resource/authority"
# The formats offered, each with the address that serves it: (key, title, media type, EU file type, path, whether
# the address is a download of the whole current tour in one file, and what it holds). The JSON API and NGSI-LD
# are read page by page through the data service, so they have an access URL and no download URL.
FORMATS = (
    ("json", "JSON", "application/json", "JSON", "/api/v1/stops", False,
     "JSON API: stops from today on with their workshops, page by page (follow links.next)."),
    ("csv", "CSV", "text/csv", "CSV", "/api/v1/stops.csv", True,
     "Every stop from today on with its workshops, one row per workshop, in one file."),
    ("ical", "iCalendar", "text/calendar", "ICS", "/tour.ics", True,
     "Calendar feed: the stops of the last {past} days and the next {future} days, at most {most}."),
    ("ngsi-ld", "NGSI-LD", "application/ld+json", "JSON_LD", "/ngsi-ld/v1/entities?type=Event", False,
     "NGSI-LD entities (Smart Data Models Event) for context brokers, page by page."),
)
# The EU language authority's codes (ISO 639-3 style) for the languages a town may offer; the dataset names the
# languages of its texts: every language in the LANGUAGES setting that has a code here (Leichte Sprache is German).
EU_LANGUAGES = {
    "ar": "ARA", "bg": "BUL", "cs": "CES", "da": "DAN", "de": "DEU", "el": "ELL", "en": "ENG", "es": "SPA",
    "et": "EST", "fa": "FAS", "fi": "FIN", "fr": "FRA", "he": "HEB", "hr": "HRV", "hu": "HUN", "it": "ITA",
    "ku": "KUR", "lt": "LIT", "lv": "LAV", "nl": "NLD", "no": "NOR", "nb": "NOB", "pl": "POL", "ps": "PUS",
    "pt": "POR", "ro": "RON", "ru": "RUS", "sk": "SLK", "sl": "SLV", "so": "SOM", "sq": "SQI", "sr": "SRP",
    "sv": "SWE", "ti": "TIR", "tr": "TUR", "uk": "UKR", "ur": "URD", "vi": "VIE", "zh": "ZHO",
}
# Degrees added around the districts' and places' points when no boundary or box says how far the town reaches.
POINT_MARGIN = 0.01


def _date(value: datetime | None) -> dict | None:
    return {"@value": value.date().isoformat(), "@type": "xsd:date"} if value else None


def _moment(value: datetime) -> dict:
    return {"@value": value.astimezone(timezone.utc).replace(microsecond=0).isoformat(), "@type": "xsd:dateTime"}


def _issued_and_modified() -> tuple[datetime, datetime]:
    """When the data first existed (the first public stop was made) and when any of it last changed; an empty tour
    counts as issued and modified at the start of the day."""
    first, *changes = db.session.execute(sa.select(
        sa.select(sa.func.min(Stop.created_at)).where(Stop.status.in_(service.PUBLIC_STATUSES)).scalar_subquery(),
        sa.select(sa.func.max(Stop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Workshop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Place.updated_at)).scalar_subquery(),
    )).one()
    today = service.start_of_today(utcnow())
    issued = first or today
    return issued, max([issued, *(c for c in changes if c is not None)])


def coverage() -> str | None:
    """The area the data covers as a WKT box: the town profile's bbox, else the box around the districts'
    boundaries, else around the districts' and places' points; None for a town without any of these."""
    box = current_app.config["TOWN_PROFILE"].bbox
    if box is None:
        boundaries = [b for b in db.session.scalars(sa.select(District.boundary)) if b]
        box = districtfile.bbox(boundaries)
    if box is None:
        points = [(lon, lat) for model in (District, Place)
                  for lat, lon in db.session.execute(sa.select(model.lat, model.lon)) if lat is not None and lon is not None]
        if not points:
            return None
        xs, ys = [p[0] for p in points], [p[1] for p in points]
        box = (min(xs) - POINT_MARGIN, min(ys) - POINT_MARGIN, max(xs) + POINT_MARGIN, max(ys) + POINT_MARGIN)
    w, s, e, n = (round(v, 6) for v in box)
    return f"POLYGON(({w} {s}, {e} {s}, {e} {n}, {w} {n}, {w} {s}))"


def languages(tags) -> list[str]:
    """The EU codes of the configured languages, each once, in the setting's order."""
    codes = [EU_LANGUAGES.get(tag.split("-")[0].lower()) for tag in tags]
    return list(dict.fromkeys(c for c in codes if c))


def _texts(values: dict[str, str]) -> list[dict]:
    return [{"@value": text, "@language": lang} for lang, text in values.items()]


def _dataset(spec: dict, base: str, common: dict) -> list[dict]:
    """A dataset and its distributions from a feature's description of its data (`spec`, see catalogue())."""
    cfg = current_app.config
    dataset_id = f"{base}/api/v1/catalog.jsonld#{spec['key']}"
    issued, modified = spec["issued"], spec["modified"]
    distributions = [
        {
            "@id": f"{base}/api/v1/catalog.jsonld#distribution-{key}",
            "@type": "dcat:Distribution",
            "dct:title": title,
            "dct:description": about,
            "dcat:accessURL": {"@id": base + path},
            **({"dcat:downloadURL": {"@id": base + path}} if download else {}),
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{media}"},
            "dct:format": {"@id": f"{EU}/file-type/{eu}"},
            "dct:license": common["licence"],
            "dcatde:licenseAttributionByText": cfg["OPENDATA_PUBLISHER"],
            "dct:language": common["spoken"],
            "dct:issued": _moment(issued),
            "dct:modified": _moment(modified),
            **({"dcat:accessService": {"@id": common["service_id"]}} if key in spec.get("served", ()) else {}),
        }
        for key, title, media, eu, path, download, about in spec["formats"]
    ]
    first, last = spec.get("temporal") or (None, None)
    temporal = {k: v for k, v in {"@type": "dct:PeriodOfTime", "dcat:startDate": _date(first),
                                  "dcat:endDate": _date(last)}.items() if v is not None}
    publisher = common["publisher"]
    dataset = {
        "@id": dataset_id,
        "@type": "dcat:Dataset",
        "dct:identifier": dataset_id,
        "dct:title": _texts(spec["title"]),
        "dct:description": _texts(spec["description"]),
        "dct:publisher": publisher,
        "dcatde:maintainer": publisher,
        "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": cfg["OPENDATA_PUBLISHER"],
                              "vcard:hasEmail": {"@id": f"mailto:{cfg['OPENDATA_CONTACT_EMAIL']}"}},
        "dcat:keyword": spec["keywords"],
        "dcat:theme": [{"@id": f"{EU}/data-theme/{theme}"} for theme in spec["themes"]],
        "dct:language": common["spoken"],
        "dct:issued": _moment(issued),
        "dct:modified": _moment(modified),
        # Who delivers the catalogue to GovData, from its contributor list (Konvention 12 of DCAT-AP.de).
        **({"dcatde:contributorID": {"@id": cfg["OPENDATA_CONTRIBUTOR_ID"]}} if cfg["OPENDATA_CONTRIBUTOR_ID"] else {}),
        **common["geocoding"],
        **common["spatial"],
        # A period needs a start or an end (DCAT-AP.de): a dataset without any dates yet names none.
        **({"dct:temporal": temporal} if len(temporal) > 1 else {}),
        "dct:accrualPeriodicity": {"@id": f"{EU}/frequency/CONT"},
        "dct:license": common["licence"],
        "dcat:landingPage": {"@id": base + spec["landing"]},
        "dcat:distribution": [{"@id": d["@id"]} for d in distributions],
    }
    return [dataset, *distributions]


def register(app, describe) -> None:
    """Let a feature add a dataset of its own: `describe()` returns its description (see catalogue()) or None.
    Called from the feature's init_app, so that this module names no other feature."""
    app.extensions.setdefault("opendata.datasets", []).append(describe)


def catalogue() -> dict:
    """The catalogue: the tour's dataset with a distribution per format, the API as a data service, and the
    datasets other features describe (register()).

    A description is a dict: key (the dataset's fragment), title and description ({language: text}), keywords,
    themes (EU data themes), issued and modified (datetimes), temporal ((first, last) or None), landing (a path),
    formats ((key, title, media type, EU file type, path, whether it is a download, what it holds), ...) and served
    (the format keys the API serves)."""
    cfg = current_app.config
    base = service.base_url()
    first, last = db.session.execute(
        sa.select(sa.func.min(Stop.starts_at), sa.func.max(Stop.ends_at)).where(
            Stop.status.in_(service.PUBLIC_STATUSES))
    ).one()
    issued, modified = _issued_and_modified()
    spoken = [{"@id": f"{EU}/language/{code}"} for code in languages(cfg["LANGUAGES"])]
    dataset_id = f"{base}/api/v1/catalog.jsonld#dataset"
    service_id = f"{base}/api/v1/catalog.jsonld#api"
    publisher = {"@type": "foaf:Organization", "foaf:name": cfg["OPENDATA_PUBLISHER"]}
    licence = {"@id": cfg["OPENDATA_LICENSE"]}
    # A town that has not named its municipality key or its area yet leaves these out rather than state them wrong.
    key = cfg["OPENDATA_MUNICIPALITY_KEY"]
    geocoding = {
        "dcatde:politicalGeocodingLevelURI": {"@id": "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"},
        "dcatde:politicalGeocodingURI": {"@id": f"http://dcat-ap.de/def/politicalGeocoding/municipalityKey/{key}"},
    } if key else {}
    box = coverage()
    spatial = {"dct:spatial": {"@type": "dct:Location", "locn:geometry": {"@value": box, "@type": "gsp:wktLiteral"},
                               "dcat:bbox": {"@value": box, "@type": "gsp:wktLiteral"}}} if box else {}
    common = {"spoken": spoken, "publisher": publisher, "licence": licence, "geocoding": geocoding,
              "spatial": spatial, "service_id": service_id}
    tour = {
        "key": "dataset",
        # Named after the town's bus (SITE_NAME): a portal such as GovData lists every town's.
        "title": {"de": f"{cfg['SITE_NAME']}: Haltestellen und Kurse", "en": f"{cfg['SITE_NAME']}: stops and workshops"},
        "description": {
            "de": "Wann und wo der Digitalwerkstatt-Bus in den Stadtteilen hält, mit seinen kostenlosen Kursen, "
                  "freien Plätzen, Sprache, Zielgruppe, Barrierefreiheit und aktuellem Status. Ohne "
                  "personenbezogene Daten.",
            "en": "When and where the digital workshop bus stops in the districts, with its free workshops, "
                  "free seats, language, audience, accessibility and live status. No personal data.",
        },
        "keywords": ["Digitalisierung", "Bildung", "Weiterbildung", "Senioren", "Teilhabe", "Bus", "Stadtteile",
                     "Veranstaltungen", "digital workshop"],
        "themes": ["EDUC", "SOCI"],
        "issued": issued, "modified": modified, "temporal": (first, last), "landing": "/api",
        "formats": [(k, t, m, e, p, d, about.format(past=cfg["FEED_PAST_DAYS"], future=cfg["FEED_FUTURE_DAYS"],
                                                    most=cfg["FEED_MAX_EVENTS"]))
                    for k, t, m, e, p, d, about in FORMATS],
        "served": ("json", "ngsi-ld"),
    }
    specs = [tour] + [spec for describe in current_app.extensions.get("opendata.datasets", ())
                      if (spec := describe()) is not None]
    nodes = [node for spec in specs for node in _dataset(spec, base, common)]
    datasets = [{"@id": n["@id"]} for n in nodes if n["@type"] == "dcat:Dataset"]
    data_service = {
        "@id": service_id,
        "@type": "dcat:DataService",
        "dct:title": "Digitalwerkstatt-Bus open data API",
        "dcat:endpointURL": {"@id": base + "/api/v1/"},
        "dcat:endpointDescription": {"@id": base + "/api/v1/openapi.json"},
        "dcat:servesDataset": {"@id": dataset_id},
        "dct:license": licence,
        "dct:publisher": publisher,
    }
    catalog = {
        "@id": f"{base}/api/v1/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": "Digitalwerkstatt-Bus",
        "dct:description": "Open data of the digital workshop bus.",
        "dct:publisher": publisher,
        "dct:language": spoken,
        "dct:issued": _moment(issued),
        "dct:modified": _moment(max([modified, *(spec["modified"] for spec in specs)])),
        "dct:license": licence,
        "dcat:dataset": datasets[0] if len(datasets) == 1 else datasets,
        "dcat:service": {"@id": service_id},
        "foaf:homepage": {"@id": base + "/"},
    }
    return {"@context": {**CONTEXT, "gsp": "http://www.opengis.net/ont/geosparql#"},
            "@graph": [catalog, *nodes, data_service]}
