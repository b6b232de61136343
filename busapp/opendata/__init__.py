"""Open data: the tour as a read-only JSON API (/api/v1) with its OpenAPI document, NGSI-LD entities for the city's
FIWARE platform (/ngsi-ld/v1), schema.org events in stop pages and a DCAT-AP.de catalogue."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("opendata", __name__)
ngsild_bp = Blueprint("ngsild", __name__, url_prefix="/ngsi-ld/v1")

# Imported after the blueprints exist: the modules attach their routes to them.
from . import ngsild, views  # noqa: E402,F401
from .web import init_app  # noqa: E402,F401
