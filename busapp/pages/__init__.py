"""Static information pages: the accessibility statement (Erklärung zur Barrierefreiheit).

The statement follows the model that public bodies in Germany publish under the EU Web Accessibility Directive
(2016/2102) as each federal state implements it: how far the app meets the requirements, what is known not to be
accessible, how to report a barrier, and where to turn when the answer is not satisfying. The town, its state, the
state's law, the contact and the complaints body come from the town profile (busapp/core/townprofile.py, [contact] and
[accessibility]); these environment variables win over it:

- ACCESSIBILITY_CONTACT         email address for reports of barriers
- ACCESSIBILITY_PHONE           optional telephone number for reports
- ACCESSIBILITY_STATEMENT_DATE  ISO date the statement was last reviewed (defaults to STATEMENT_DATE below)
- ACCESSIBILITY_ENFORCEMENT_NAME, ACCESSIBILITY_ENFORCEMENT_URL
                                the complaints body for the town's state
"""
from __future__ import annotations

from datetime import date

from flask import Blueprint, current_app, render_template
from markupsafe import Markup

bp = Blueprint("pages", __name__)

# The day this statement's content was last checked against the app; bump it when reviewing the statement again.
STATEMENT_DATE = date(2026, 11, 29)

DEFAULT_CONTACT = "barrierefreiheit@digitalbus.example"


def _setting(name: str, default: str = "") -> str:
    """A setting from the app config (read from the environment in busapp/core/config.py), else the default."""
    return str(current_app.config.get(name) or "").strip() or default


def statement_date() -> date:
    """When the statement was last reviewed; a malformed setting falls back to the built-in date."""
    raw = _setting("ACCESSIBILITY_STATEMENT_DATE")
    try:
        return date.fromisoformat(raw) if raw else STATEMENT_DATE
    except ValueError:
        current_app.logger.warning("ACCESSIBILITY_STATEMENT_DATE %r is not an ISO date; using %s", raw, STATEMENT_DATE)
        return STATEMENT_DATE


@bp.get("/barrierefreiheit")
def accessibility():
    """The accessibility statement: status, known limitations, how to report a barrier, the complaints body."""
    return render_template(
        "pages/accessibility.html",
        contact=_setting("ACCESSIBILITY_CONTACT", DEFAULT_CONTACT),
        phone=_setting("ACCESSIBILITY_PHONE"),
        statement_date=statement_date(),
        enforcement_name=_setting("ACCESSIBILITY_ENFORCEMENT_NAME"),
        enforcement_url=_setting("ACCESSIBILITY_ENFORCEMENT_URL"),
    )


@bp.app_template_global()
def team_phone() -> Markup:
    """"Questions? Call the bus team" with the configured number (TEAM_PHONE), or nothing when none is set."""
    phone = _setting("TEAM_PHONE")
    if not phone:
        return Markup("")
    dial = "".join(ch for ch in phone.split("(")[0] if ch.isdigit() or ch == "+")
    return Markup(render_template("pages/_team_phone.html", phone=phone, dial=dial))


def init_app(app) -> None:
    app.register_blueprint(bp)
