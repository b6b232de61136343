"""Installable offline app: manifest, service worker, offline page (placeholder: routes fixed, views to come)."""
from flask import Blueprint, abort

bp = Blueprint("pwa", __name__)


@bp.get("/offline")
def offline():
    """The page shown when a page is not available offline."""
    abort(404)
