"""The public tour schedule: where the bus is now and next, by district, with calendar feeds."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("schedule", __name__)

# Imported after `bp` exists: the modules attach their routes, template helpers and model hooks to it.
from . import calendar, views  # noqa: E402,F401


def init_app(app) -> None:
    app.register_blueprint(bp)
