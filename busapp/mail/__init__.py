"""Outgoing mail: a durable outbox (service.py has the rules), the worker command (`flask mail send`) and the
coordinators' page of messages that wait or were given up (/admin/mail)."""
from flask import Blueprint

bp = Blueprint("mail", __name__)

# Imported after `bp` exists: the views attach their routes to it.
from . import views  # noqa: E402,F401
from .smtp import enabled  # noqa: E402,F401


def init_app(app) -> None:
    from .commands import mail

    app.register_blueprint(bp)
    app.cli.add_command(mail)
