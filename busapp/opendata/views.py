"""The read-only JSON API under /api/v1 and its readable page at /api."""
from __future__ import annotations

from functools import wraps

from flask import Response, render_template, request, stream_with_context
from flask_babel import gettext as _

from ..models import utcnow
from . import answers, bp, dcat, openapi, schemas, service
from .service import ApiError


def api_view(view):
    """Answer a remembered ETag without a query, and turn an ApiError into a problem-details answer."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        cached = answers.fresh_not_modified()
        if cached is not None:
            return cached
        try:
            return view(*args, **kwargs)
        except ApiError as error:
            return answers.problem(error)

    return wrapped


def _no_params() -> None:
    if request.args:
        name = next(iter(request.args))
        raise service.bad(name[:80], _("This address takes no parameters."))


def _id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 10:
        raise service.not_found(_("No public object has this id."))
    return int(raw)


def _paged(body: dict):
    """The page's answer, with its next page also in a Link header, as HTTP clients that follow pages expect."""
    response = answers.answer(body)
    if body["links"]["next"] and response.status_code == 200:
        response.headers["Link"] = f'<{body["links"]["next"]}>; rel="next"'
    return response


@bp.get("/api/v1/")
@api_view
def index():
    """Where everything of the API is, as links to follow."""
    _no_params()
    links = {
        "stops": service.link("opendata.stops"),
        "workshops": service.link("opendata.workshops"),
        "stops_csv": service.link("opendata.stops_csv"),
        "places": service.link("opendata.places"),
        "districts": service.link("opendata.districts"),
        "calendar": service.link("schedule.tour_ics"),
        "catalog": service.link("opendata.catalog"),
        "openapi": service.link("opendata.openapi_document"),
        "ngsi_ld_places": service.link("ngsild.entities", type="PointOfInterest"),
        "ngsi_ld_events": service.link("ngsild.entities", type="Event"),
        "docs": service.link("opendata.docs"),
    }
    return answers.answer(schemas.INDEX.dump({"title": "Digitalwerkstatt-Bus open data", "links": links}))


@bp.get("/api/v1/stops")
@api_view
def stops():
    """A page of public stops with place and workshops, filtered and soonest first."""
    now = utcnow()
    filters = service.parse_filters(request.args, now)
    # The rows the page is made from are read each time; when they and the clock leave the page as it was last
    # made for this address, its bytes are answered again (answers.MadeAnswers).
    rows = service.stop_page_rows(filters, now)
    key = answers.address_key()
    made = answers.made_answers().get(key, rows, now)
    if made is None:
        page, until = service.stop_page_until(filters, now)
        data = answers.encode(schemas.STOP_PAGE.dump(page))
        made = answers.Made(rows, until, data, answers.etag_of(data), page["links"]["next"])
        answers.made_answers().put(key, made)
    response = answers.answer_bytes(made.data, made.etag)
    if made.next_link and response.status_code == 200:
        response.headers["Link"] = f'<{made.next_link}>; rel="next"'
    return response


@bp.get("/api/v1/stops.csv")
@api_view
def stops_csv():
    """Every stop from today on (or as filtered) as CSV, one row per workshop, written while it is sent."""
    now = utcnow()
    filters = service.parse_filters(request.args, now, known=service.DOWNLOAD_PARAMS)
    etag, last_modified = service.download_version(filters, now)
    if answers.unchanged(etag, last_modified):
        return answers.not_modified(etag, last_modified, weak=True)
    response = Response(stream_with_context(service.stops_csv(filters, now)), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="digitalbus-stops.csv"'
    answers.validate(response, etag, last_modified, weak=True)
    return response


@bp.get("/api/v1/stops/<item_id>")
@api_view
def stop(item_id: str):
    """One public stop."""
    _no_params()
    found = service.public_stop(_id(item_id))
    if found is None:
        raise service.not_found(_("No public stop has this id."))
    return answers.answer(schemas.STOP.dump(service.stop_facts(found, utcnow())))


@bp.get("/api/v1/workshops")
@api_view
def workshops():
    """A page of public workshops, filtered and soonest first."""
    filters = service.parse_filters(request.args, utcnow())
    return _paged(schemas.WORKSHOP_PAGE.dump(service.workshop_page(filters, utcnow())))


@bp.get("/api/v1/workshops/<item_id>")
@api_view
def workshop(item_id: str):
    """One public workshop."""
    _no_params()
    found = service.public_workshop(_id(item_id))
    if found is None:
        raise service.not_found(_("No public workshop has this id."))
    return answers.answer(schemas.WORKSHOP.dump(service.workshop_facts(found, utcnow())))


@bp.get("/api/v1/places")
@api_view
def places():
    """Every place the bus stops at."""
    _no_params()
    return answers.answer(schemas.PLACE_LIST.dump({"items": service.places(utcnow())}))


@bp.get("/api/v1/districts")
@api_view
def districts():
    """The districts in their official order."""
    _no_params()
    items = [service.district_facts(d) for d in service.all_districts()]
    return answers.answer(schemas.DISTRICT_LIST.dump({"items": items}))


@bp.get("/api/v1/catalog.jsonld")
@api_view
def catalog():
    """The DCAT-AP.de catalogue for open-data portals."""
    _no_params()
    return answers.answer(dcat.catalogue(), mimetype="application/ld+json")


@bp.get("/api/v1/openapi.json")
@api_view
def openapi_document():
    """The OpenAPI 3.1 document of this API."""
    _no_params()
    return answers.answer(openapi.document(service.base_url(), service.district_ids()))


@bp.get("/api")
def docs():
    """A readable page about the API, made from its OpenAPI document."""
    return render_template("opendata/docs.html", doc=openapi.document(service.base_url()),
                           schemas=schemas.ALL, base=service.base_url())
