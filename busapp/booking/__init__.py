"""Booking a workshop seat without an account: form, ticket with QR code, cancel, waiting list, privacy."""
from flask import Blueprint

bp = Blueprint("booking", __name__)

# Imported after `bp` exists: the views attach their routes to it.
from . import views  # noqa: E402,F401


def init_app(app) -> None:
    from .commands import purge, remind

    app.register_blueprint(bp)
    app.cli.add_command(purge)
    app.cli.add_command(remind)
