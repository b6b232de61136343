"""The public tour schedule: where the bus is now and next, by district."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint

from .extensions import db
from .htmx import render
from .models import District

bp = Blueprint("schedule", __name__)


@bp.get("/")
def index():
    """Home: where the bus is now or next, then upcoming stops by day."""
    districts = db.session.scalars(sa.select(District).order_by(District.number)).all()
    return render("schedule/index.html", "schedule/_stops.html", districts=districts)
