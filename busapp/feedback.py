"""Feedback by QR code on the bus (placeholder: routes fixed, views to come)."""
from flask import Blueprint, abort

bp = Blueprint("feedback", __name__)


@bp.route("/f", methods=["GET"])
def bus():
    """The bus's permanent QR code: feedback for the stop the bus is at now."""
    abort(404)


@bp.route("/f/<int:stop_id>", methods=["GET", "POST"])
def stop(stop_id: int):
    """Feedback form for one stop."""
    abort(404)
