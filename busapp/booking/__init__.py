"""Booking a workshop seat without an account: form, ticket with QR code, cancel, waiting list, privacy."""
from flask import Blueprint

bp = Blueprint("booking", __name__)

# Imported after `bp` exists: the views attach their routes to it.
from . import views  # noqa: E402,F401
