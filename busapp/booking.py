"""Booking a workshop seat without an account (placeholder: routes fixed, views to come)."""
from flask import Blueprint, abort

bp = Blueprint("booking", __name__)


@bp.route("/workshops/<int:workshop_id>/book", methods=["GET", "POST"])
def new(workshop_id: int):
    """Booking form for one workshop."""
    abort(404)
