"""Friendly error pages in the visitor's language, or JSON for clients that ask for it."""
from __future__ import annotations

from flask import jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: (_l("Something in the request was not right"), _l("Please go back and try again.")),
    403: (_l("No access"), _l("Your account may not open this page.")),
    404: (_l("Page not found"), _l("This page does not exist or has moved.")),
    405: (_l("Not possible here"), _l("This page cannot be used that way.")),
    413: (_l("Too much text"), _l("What you sent is too long. Please shorten it and send it again.")),
    429: (_l("Too many tries"), _l("Please wait a few minutes, then try again.")),
    500: (_l("Something went wrong on our side"), _l("Please try again later. Nothing you sent was saved twice.")),
    503: (_l("Not available right now"), _l("Please try again in a few minutes.")),
}


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(code: int, title=None, message=None):
    default_title, default_message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    title, message = title or default_title, message or default_message
    if wants_json():
        return jsonify(ok=False, error=code, title=str(title), message=str(message)), code
    return render_template("errors/error.html", code=code, title=title, message=message), code


def init_app(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return render_error(
            400,
            _l("This form has expired"),
            _l("For your safety the form must be loaded again. Please go back, reload the page and send it again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if exc.code is None or exc.code < 400:
            return exc
        return render_error(exc.code)

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        app.logger.exception("unhandled error on %s %s", request.method, request.path)
        from .extensions import db

        db.session.rollback()
        return render_error(InternalServerError.code)
