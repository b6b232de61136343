"""A read-only subset of the NGSI-LD API: the tour's places and workshops as entities for a FIWARE context broker."""
from __future__ import annotations

import json

from flask import Response, request
from flask_babel import gettext as _

from ..core.i18n import current_tag
from ..models import utcnow
from . import answers, ngsild_bp as bp, service
from .views import api_view

MEDIA = "application/ld+json"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
ERROR_TYPES = {400: "BadRequestData", 404: "ResourceNotFound", 405: "OperationNotSupported",
               406: "NotAcceptable", 429: "TooManyRequests"}
DEFAULT_LIMIT = 20


class NgsiError(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def ngsi_error(status: int, title, detail) -> Response:
    """An error in NGSI-LD's shape (ETSI GS CIM 009, problem details with NGSI-LD error types)."""
    kind = ERROR_TYPES.get(status, "InternalError" if status >= 500 else "BadRequestData")
    body = {"type": ERRORS + kind, "title": service.status_phrase(status), "detail": str(detail)}
    response = Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")
    response.headers["Content-Language"] = current_tag()
    return response


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or not low <= int(raw) <= high:
        raise NgsiError(400, _("%(name)s must be a whole number from %(low)d to %(high)d.",
                               name=name, low=low, high=high))
    return int(raw)


def ngsi_view(view):
    @api_view
    def wrapped(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except NgsiError as error:
            return ngsi_error(error.status, None, error.detail)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return wrapped


# NGSI-LD 6.3.6: JSON-LD with the @context in the body, or plain JSON with the @context named in a Link header
# (also when the client accepts anything or says nothing); anything else is a 406.
JSON = "application/json"
CONTEXT_REL = 'rel="http://www.w3.org/ns/json-ld#context"; type="application/ld+json"'
OPTIONS = ("keyValues", "normalized")


def _media() -> str:
    accept = request.accept_mimetypes
    if not accept or accept.best == "*/*":
        return JSON
    best = accept.best_match([MEDIA, JSON])
    if best is None:
        raise NgsiError(406, _("This address answers application/ld+json or application/json."))
    return best


def _shape(entity: dict, media: str, simplified: bool) -> dict:
    entity = service.key_values(entity) if simplified else dict(entity)
    if media == JSON:
        entity.pop("@context", None)
    return entity


def _simplified() -> bool:
    raw = request.args.get("options")
    if raw is None:
        return False
    options = raw.split(",")
    if any(o not in OPTIONS for o in options):
        raise NgsiError(400, _("options may be keyValues or normalized."))
    return "keyValues" in options


def _answer(body, media: str, links: list[str] | None = None):
    response = answers.answer(body, mimetype=media)
    links = list(links or [])
    if media == JSON:
        links.insert(0, f"<{service.link('ngsild.context')}>; {CONTEXT_REL}")
    if links and response.status_code in (200, 304):
        response.headers["Link"] = ", ".join(links)
    response.vary.add("Accept")
    return response


@bp.get("/entities")
@ngsi_view
def entities():
    """Entities of one or more types: PointOfInterest (the places), Event (the tour and its workshops)."""
    known = ("type", "limit", "offset", "count", "options")
    unknown = sorted(set(request.args) - set(known))
    if unknown:
        raise NgsiError(400, _("Unknown parameter %(name)s. Known parameters: %(known)s.",
                               name=unknown[0][:80], known=", ".join(known)))
    media = _media()
    kinds = list(dict.fromkeys((request.args.get("type") or "").split(",")))
    if not all(kind in service.NGSI_TYPES for kind in kinds):
        raise NgsiError(400, _("type must be one of: %(types)s.", types=", ".join(service.NGSI_TYPES)))
    limit = _int("limit", DEFAULT_LIMIT, 1, service.NGSI_MAX_LIMIT)
    offset = _int("offset", 0, 0, 10**7)
    count = request.args.get("count")
    if count not in (None, "true", "false"):
        raise NgsiError(400, _("count must be true or false."))
    simplified = _simplified()
    found, total = service.ngsi_page(kinds, offset, limit, utcnow())
    links = []
    if offset + len(found) < total:
        args = {**request.args.to_dict(), "offset": str(offset + limit), "limit": str(limit)}
        links.append(f'<{service.link("ngsild.entities", **args)}>; rel="next"')
    response = _answer([_shape(e, media, simplified) for e in found], media, links)
    if count == "true":
        response.headers["NGSILD-Results-Count"] = str(total)
    return response


@bp.get("/entities/<path:entity_id>")
@ngsi_view
def entity(entity_id: str):
    """One entity by its id (a URN)."""
    unknown = sorted(set(request.args) - {"options"})
    if unknown:
        raise NgsiError(400, _("This address takes no parameters."))
    media = _media()
    if not entity_id.startswith("urn:") or len(entity_id) > 200:
        raise NgsiError(400, _("An entity id is a URN like urn:ngsi-ld:Event:digitalbus:tour."))
    simplified = _simplified()
    found = service.ngsi_entity(entity_id, utcnow())
    if found is None:
        raise NgsiError(404, _("There is no entity with this id."))
    return _answer(_shape(found, media, simplified), media)


@bp.get("/context.jsonld")
@ngsi_view
def context():
    """The @context of every entity here: the Smart Data Models' contexts, then NGSI-LD's core context."""
    if request.args:
        raise NgsiError(400, _("This address takes no parameters."))
    return answers.answer({"@context": service.NGSI_CONTEXT}, mimetype=MEDIA)
