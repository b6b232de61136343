"""A read-only subset of the NGSI-LD API: the tour's places and workshops as entities for a FIWARE context broker."""
from __future__ import annotations

import json

from flask import Response, request
from flask_babel import gettext as _

from ..i18n import current_tag
from ..models import utcnow
from . import ngsild_bp as bp, service
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


@bp.get("/entities")
@ngsi_view
def entities():
    """Entities of one type: PointOfInterest (the places) or Event (the tour and its workshops)."""
    unknown = sorted(set(request.args) - {"type", "limit", "offset"})
    if unknown:
        raise NgsiError(400, _("Unknown parameter %(name)s. Known parameters: %(known)s.",
                               name=unknown[0][:80], known="type, limit, offset"))
    kind = request.args.get("type")
    if kind not in service.NGSI_TYPES:
        raise NgsiError(400, _("type must be one of: %(types)s.", types=", ".join(service.NGSI_TYPES)))
    limit = _int("limit", DEFAULT_LIMIT, 1, service.NGSI_MAX_LIMIT)
    offset = _int("offset", 0, 0, 10**7)
    return service.answer(service.ngsi_entities(kind, offset, limit, utcnow()), mimetype=MEDIA)


@bp.get("/entities/<path:entity_id>")
@ngsi_view
def entity(entity_id: str):
    """One entity by its id (a URN)."""
    if request.args:
        raise NgsiError(400, _("This address takes no parameters."))
    if not entity_id.startswith("urn:") or len(entity_id) > 200:
        raise NgsiError(400, _("An entity id is a URN like urn:ngsi-ld:Event:digitalbus:tour."))
    found = service.ngsi_entity(entity_id, utcnow())
    if found is None:
        raise NgsiError(404, _("There is no entity with this id."))
    return service.answer(found, mimetype=MEDIA)
