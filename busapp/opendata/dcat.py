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


def catalogue() -> dict:
    """The catalogue: one dataset with a distribution per format, and the API as a data service."""
    cfg = current_app.config
    base = service.base_url()
    licence = {"@id": cfg["OPENDATA_LICENSE"]}
    first, last = db.session.execute(
        sa.select(sa.func.min(Stop.starts_at), sa.func.max(Stop.ends_at)).where(
            Stop.status.in_(service.PUBLIC_STATUSES))
    ).one()
    issued, modified = _issued_and_modified()
    spoken = [{"@id": f"{EU}/language/{code}"} for code in languages(cfg["LANGUAGES"])]
    dataset_id = f"{base}/api/v1/catalog.jsonld#dataset"
    service_id = f"{base}/api/v1/catalog.jsonld#api"
    publisher = {"@type": "foaf:Organization", "foaf:name": cfg["OPENDATA_PUBLISHER"]}
    # A town that has not named its municipality key or its area yet leaves these out rather than state them wrong.
    key = cfg["OPENDATA_MUNICIPALITY_KEY"]
    geocoding = {
        "dcatde:politicalGeocodingLevelURI": {"@id": "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"},
        "dcatde:politicalGeocodingURI": {"@id": f"http://dcat-ap.de/def/politicalGeocoding/municipalityKey/{key}"},
    } if key else {}
    box = coverage()
    spatial = {"dct:spatial": {"@type": "dct:Location", "locn:geometry": {"@value": box, "@type": "gsp:wktLiteral"},
                               "dcat:bbox": {"@value": box, "@type": "gsp:wktLiteral"}}} if box else {}
    distributions = [
        {
            "@id": f"{base}/api/v1/catalog.jsonld#distribution-{key}",
            "@type": "dcat:Distribution",
            "dct:title": title,
            "dct:description": about.format(past=cfg["FEED_PAST_DAYS"], future=cfg["FEED_FUTURE_DAYS"],
                                            most=cfg["FEED_MAX_EVENTS"]),
            "dcat:accessURL": {"@id": base + path},
            **({"dcat:downloadURL": {"@id": base + path}} if download else {}),
            "dcat:mediaType": {"@id": f"https://www.iana.org/assignments/media-types/{media}"},
            "dct:format": {"@id": f"{EU}/file-type/{eu}"},
            "dct:license": licence,
            "dcatde:licenseAttributionByText": cfg["OPENDATA_PUBLISHER"],
            "dct:language": spoken,
            "dct:issued": _moment(issued),
            "dct:modified": _moment(modified),
            **({"dcat:accessService": {"@id": service_id}} if key in ("json", "ngsi-ld") else {}),
        }
        for key, title, media, eu, path, download, about in FORMATS
    ]
    temporal = {k: v for k, v in {"@type": "dct:PeriodOfTime", "dcat:startDate": _date(first),
                                  "dcat:endDate": _date(last)}.items() if v is not None}
    dataset = {
        "@id": dataset_id,
        "@type": "dcat:Dataset",
        "dct:identifier": dataset_id,
        # Named after the town's bus (SITE_NAME): a portal such as GovData lists every town's.
        "dct:title": [{"@value": f"{cfg['SITE_NAME']}: Haltestellen und Kurse", "@language": "de"},
                      {"@value": f"{cfg['SITE_NAME']}: stops and workshops", "@language": "en"}],
        "dct:description": [
            {"@value": "Wann und wo der Digitalwerkstatt-Bus in den Stadtteilen hält, mit seinen kostenlosen Kursen, "
                       "freien Plätzen, Sprache, Zielgruppe, Barrierefreiheit und aktuellem Status. Ohne "
                       "personenbezogene Daten.", "@language": "de"},
            {"@value": "When and where the digital workshop bus stops in the districts, with its free workshops, "
                       "free seats, language, audience, accessibility and live status. No personal data.",
             "@language": "en"},
        ],
        "dct:publisher": publisher,
        "dcatde:maintainer": publisher,
        "dcat:contactPoint": {"@type": "vcard:Organization", "vcard:fn": cfg["OPENDATA_PUBLISHER"],
                              "vcard:hasEmail": {"@id": f"mailto:{cfg['OPENDATA_CONTACT_EMAIL']}"}},
        "dcat:keyword": ["Digitalisierung", "Bildung", "Weiterbildung", "Senioren", "Teilhabe", "Bus",
                         "Stadtteile", "Veranstaltungen", "digital workshop"],
        "dcat:theme": [{"@id": f"{EU}/data-theme/EDUC"}, {"@id": f"{EU}/data-theme/SOCI"}],
        "dct:language": spoken,
        "dct:issued": _moment(issued),
        "dct:modified": _moment(modified),
        # Who delivers the catalogue to GovData, from its contributor list (Konvention 12 of DCAT-AP.de).
        **({"dcatde:contributorID": {"@id": cfg["OPENDATA_CONTRIBUTOR_ID"]}} if cfg["OPENDATA_CONTRIBUTOR_ID"] else {}),
        **geocoding,
        **spatial,
        "dct:temporal": temporal,
        "dct:accrualPeriodicity": {"@id": f"{EU}/frequency/CONT"},
        "dct:license": licence,
        "dcat:landingPage": {"@id": base + "/api"},
        "dcat:distribution": [{"@id": d["@id"]} for d in distributions],
    }
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
        "dct:modified": _moment(modified),
        "dct:license": licence,
        "dcat:dataset": {"@id": dataset_id},
        "dcat:service": {"@id": service_id},
        "foaf:homepage": {"@id": base + "/"},
    }
    return {"@context": {**CONTEXT, "gsp": "http://www.opengis.net/ont/geosparql#"},
            "@graph": [catalog, dataset, *distributions, data_service]}
