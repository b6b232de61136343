"""Bus staff on the tablet: today's stop and its live status, the door list, scanning tickets, walk-ins, offline."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("checkin", __name__, url_prefix="/staff")

# Imported after `bp` exists: the views attach their routes to it.
from . import views  # noqa: E402,F401


def init_app(app) -> None:
    app.register_blueprint(bp)
