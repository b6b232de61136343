"""Coordinators plan the tour under /admin: stops, workshops, courses, series, import and export, reports, people."""
from flask import Blueprint
from flask_babel import lazy_gettext as _l
from flask_login import current_user

bp = Blueprint("planning", __name__, url_prefix="/admin")

# The coordinators' menu, defined here once and drawn by base.html on every page a coordinator sees. MENU stands in
# the menu bar; MORE opens from its last entry ("More"), so that the bar takes one line on a 1280 px office screen.
MENU = (
    ("planning.index", _l("Week")),
    ("planning.month", _l("Month list")),
    ("planning.places", _l("Places")),
    ("planning.courses", _l("Courses")),
    ("planning.transfer", _l("Import and export")),
    ("planning.reports", _l("Reports")),
    ("feedback.posters", _l("QR posters")),
    ("participation.admin_index", _l("Have your say")),
)
MORE = (
    ("planning.translations", _l("Languages")),
    ("feedback.results", _l("Feedback results")),
    ("mail.index", _l("Outgoing mail")),
    ("planning.bursts", _l("Bursts")),
    ("planning.people", _l("People")),
    ("planning.tablets", _l("Tablets")),
    ("planning.audit_log", _l("Audit log")),
    ("planning.calendar_link", _l("Calendar subscription")),
    ("checkin.index", _l("Today on the bus")),
    ("schedule.index", _l("Public tour schedule")),
)


@bp.app_context_processor
def _coordinator_menu():
    """The menu entries for a signed-in coordinator, else none."""
    from ..models import Role

    show = current_user.is_authenticated and current_user.role == Role.COORDINATOR
    return {"coordinator_menu": MENU if show else (), "coordinator_more": MORE if show else ()}


STATUS_LABELS = {"draft": _l("Draft"), "published": _l("Published"), "cancelled": _l("Cancelled")}


@bp.context_processor
def _labels():
    return {"status_label": lambda value: str(STATUS_LABELS.get(value, value))}


from . import audit_log, batches, bookings, bulk_views, bursts, buses, calls, coordinator_calendar, districts, people, repeat_total, reports, search, tablets, transfer, views  # noqa: E402,F401,E501  (the views register themselves on bp)


def init_app(app) -> None:
    from .transfer import tour_cli

    app.register_blueprint(bp)
    app.register_blueprint(coordinator_calendar.feed_bp)  # the calendar feed's secret address, outside /admin
    app.cli.add_command(tour_cli)
