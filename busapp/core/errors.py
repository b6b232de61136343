"""Friendly error pages in the visitor's language, or JSON for clients that ask for it. Never a stack trace."""
from __future__ import annotations

from flask import Response, current_app, jsonify, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from werkzeug.exceptions import HTTPException, InternalServerError

MESSAGES = {
    400: (_l("Something in the request was not right"), _l("Please go back and try again.")),
    401: (_l("Please sign in"), _l("This page is for the bus team and the coordinators.")),
    403: (_l("No access"), _l("Your account may not open this page.")),
    404: (_l("Page not found"), _l("This page does not exist or has moved.")),
    405: (_l("Not possible here"), _l("This page cannot be used that way.")),
    413: (_l("Too much text"), _l("What you sent is too long. Please shorten it and send it again.")),
    429: (_l("Too many tries"), _l("Please wait a few minutes, then try again.")),
    500: (_l("Something went wrong on our side"), _l("Please try again later.")),
    503: (_l("Not available right now"), _l("Please try again in a few minutes.")),
}

# Headers of an HTTP error that belong on the friendly answer too (Allow on 405, Retry-After on 429 ...).
KEEP_HEADERS = {"allow", "retry-after", "www-authenticate", "content-range"}


def wants_json() -> bool:
    """True for clients that prefer JSON to HTML, or that sent JSON and did not ask for HTML in particular."""
    accept = request.accept_mimetypes
    json_q, html_q = accept["application/json"], accept["text/html"]
    if json_q > html_q:
        return True
    return json_q == html_q and request.is_json


def render_error(code: int, title=None, message=None, headers=None) -> Response:
    """The error answer: JSON or the error page, with the status code and the error's own headers."""
    default_title, default_message = MESSAGES.get(code, MESSAGES[500] if code >= 500 else MESSAGES[400])
    title, message = title or default_title, message or default_message
    for matches, renderer in current_app.extensions.get("errors.json_renderers", ()):
        if matches(request.path):
            return renderer(code, title, message, headers)
    if wants_json():
        response = jsonify(ok=False, error=code, title=str(title), message=str(message))
    else:
        try:
            response = Response(render_template("errors/error.html", code=code, title=title, message=message))
        except Exception:  # the page itself failed (the database is down, say): a plain page, still friendly
            current_app.logger.exception("error page for %s could not be rendered", code)
            body = f"<!doctype html><title>{escape(title)}</title><h1>{escape(title)}</h1><p>{escape(message)}</p>"
            response = Response(body, mimetype="text/html")
    response.status_code = code
    for name, value in headers or ():
        if name.lower() in KEEP_HEADERS:
            response.headers[name] = value
    response.vary.add("Accept")
    return response


def register_json_errors(app, matches, renderer) -> None:
    """Let a feature answer every error on its own addresses in its own JSON shape (the open data API does)."""
    app.extensions.setdefault("errors.json_renderers", []).append((matches, renderer))


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
        return render_error(exc.code, headers=exc.get_headers())

    @app.errorhandler(Exception)
    def unhandled(exc: Exception):
        # The route, not the address: a ticket's address is its private manage link.
        app.logger.exception("unhandled error on %s %s", request.method,
                             request.url_rule.rule if request.url_rule else "(no route)")
        from .extensions import db

        try:
            db.session.rollback()
        except Exception:  # the connection itself may be what failed
            app.logger.warning("rollback after an error failed", exc_info=True)
        return render_error(InternalServerError.code)
