"""The open data's rules and its public interface: what is public, how each object reads as JSON, schema.org JSON-LD
and NGSI-LD, how list pages are cut and their cursors signed, and when a conditional request is answered without
asking the database. The views, the commands and other features call the names here; each concern has its module:

    problems.py    the refusals (ApiError, 400, 404)
    addresses.py   absolute links
    facts.py       the one mapping (below)
    lists.py       queries, filters, cursors, pages
    downloads.py   the whole selection as one streamed CSV file
    schemaorg.py   schema.org JSON-LD in stop pages
    entities.py    NGSI-LD entities
    answers.py     HTTP answers: ETag, Last-Modified, 304, problem details (used by the views, not re-exported here)

What is public
    Districts; stops that are published or cancelled (never drafts) with their place; their workshops that are not
    drafts. Nothing of a booking ever: no names, contacts, notes, codes or tokens, and no counts per person; only the
    seats taken as a number per workshop, which every stop page shows too.

One mapping
    `place_facts`, `stop_facts`, `workshop_facts` and `district_facts` turn model objects into plain facts. Every
    format (the JSON API, the JSON-LD in stop pages, the NGSI-LD entities, the CSV) is made from these facts, so they
    cannot disagree, and a change of the data model (a Place table, texts per language) changes these functions only.

Statuses
    A stop is "cancelled" when cancelled, "moved" when it was published and then got another time or place
    (Stop.moved_at), else "scheduled". A workshop is cancelled when it or its stop is; otherwise it has its stop's status.

Pages and cursors
    Lists are ordered by start and id and cut by keyset: the cursor names the last item of the page before, the
    filters it was made for, and is signed with the app's secret key, so a cursor that was changed or used with other
    filters is refused with a 400 instead of silently skipping or repeating items.

Conditional requests that cost no query
    Free seats and live status change at any moment and are written by other features through plain UPDATEs, so a
    version that tells whether anything changed would need a query (or a channel between processes that the app does
    not have: it keeps no state of its own). The public pages already accept a lag of PAGE_CACHE_SECONDS for the same
    facts. The API does the same: each process remembers, for each address, the ETag and Last-Modified of the answer
    it last made, for OPENDATA_FRESH_SECONDS (default 5). A request whose If-None-Match names that ETag within that
    time gets its 304 without a query; after it, the answer is made again and still answered 304 when its bytes are
    the same. The ETag is a hash of the answer's bytes, so it is the same in every process; Last-Modified is when this
    process first made those bytes for the address.

A page of stops made once, answered from its rows
    Loading a page of stops as objects, their facts and JSON is most of a list's time; the rows it is made from are
    cheap to read. So every request for /api/v1/stops reads the page's rows in one light statement (stop_page_rows:
    the stops' ids and when each stop, its place and its workshops last changed, and how many workshops it has);
    when they are the rows the process last made the page for that address from, and the clock has not passed a
    time at which the page reads differently (next_change: a workshop closes, starts or ends, a stop starts or ends,
    the day turns), the same bytes go out again (answers.MadeAnswers). Never out of date: a changed row is a
    different page.
"""
from __future__ import annotations

from ..domain.tour import PUBLIC_STATUSES
from .addresses import base_url, id_link, link
from .downloads import CSV_COLUMNS, DOWNLOAD_BATCH, all_stops, download_version, stops_csv
from .entities import (
    NGSI_CONTEXT, NGSI_CORE_CONTEXT, NGSI_MAX_LIMIT, NGSI_PREFIX, NGSI_TYPES, SDM_AUDIENCE, SDM_CONTEXTS,
    SDM_EVENT_STATUS, TOUR_ID, all_ngsi_entities, key_values, ngsi_count, ngsi_entities, ngsi_entity, ngsi_id,
    ngsi_page, ngsi_place, ngsi_tour, ngsi_workshop,
)
from .facts import (
    COUNTRY, TRANSLATED, district_facts, local, place_facts, previous_start, public_workshops, stop_facts,
    stop_place, stop_status, tour_facts, translations, workshop_facts,
)
from .lists import (
    DEFAULT_LIMIT, DOWNLOAD_PARAMS, EARLIEST, LATEST, LIST_PARAMS, MAX_LIMIT, MAX_TEXT_PARAM, Filters, all_districts,
    district_ids, make_cursor, parse_filters, places, public_place, public_places, public_stop, public_workshop,
    read_cursor, start_of_today, stop_page, stop_page_rows, stop_page_until, workshop_page,
)
from .problems import ApiError, bad, not_found, status_phrase
from .schemaorg import schema_events, schema_offer, schema_place, schema_status, stop_jsonld

__all__ = [
    "PUBLIC_STATUSES",
    "base_url", "id_link", "link",
    "CSV_COLUMNS", "DOWNLOAD_BATCH", "all_stops", "download_version", "stops_csv",
    "NGSI_CONTEXT", "NGSI_CORE_CONTEXT", "NGSI_MAX_LIMIT", "NGSI_PREFIX", "NGSI_TYPES", "SDM_AUDIENCE", "SDM_CONTEXTS",
    "SDM_EVENT_STATUS", "TOUR_ID", "all_ngsi_entities", "key_values", "ngsi_count", "ngsi_entities", "ngsi_entity",
    "ngsi_id", "ngsi_page", "ngsi_place", "ngsi_tour", "ngsi_workshop",
    "COUNTRY", "TRANSLATED", "district_facts", "local", "place_facts", "previous_start",
    "public_workshops", "stop_facts", "stop_place", "stop_status", "tour_facts", "translations", "workshop_facts",
    "DEFAULT_LIMIT", "DOWNLOAD_PARAMS", "EARLIEST", "LATEST", "LIST_PARAMS", "MAX_LIMIT", "MAX_TEXT_PARAM", "Filters",
    "all_districts", "district_ids", "make_cursor", "parse_filters", "places", "public_place", "public_places",
    "public_stop", "public_workshop", "read_cursor", "start_of_today", "stop_page", "stop_page_rows",
    "stop_page_until", "workshop_page",
    "ApiError", "bad", "not_found", "status_phrase",
    "schema_events", "schema_offer", "schema_place", "schema_status", "stop_jsonld",
]
