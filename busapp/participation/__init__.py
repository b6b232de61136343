"""Mitreden: residents' ideas and answers for the city's digital strategy, on a phone, at the bus or on paper, and
the coordinators' moderation and board report (/mitreden, /admin/mitreden)."""
from flask import Blueprint

bp = Blueprint("participation", __name__)

from . import models  # noqa: E402,F401  (the tables, before anything creates them)
from . import admin, codes, exports, moderation, paper, station, views  # noqa: E402,F401  (the views register themselves on bp)


def init_app(app) -> None:
    from ..checkin.views import keep_offline_too
    from ..opendata import dcat

    keep_offline_too(app, paper.offline_pages)

    app.register_blueprint(bp)
    dcat.register(app, exports.dataset)
