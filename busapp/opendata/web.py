"""How the API's addresses differ from the rest of the site: readable from any origin, errors always in JSON."""
from __future__ import annotations

from flask import request

from . import answers, service
from .answers import MadeAnswers, Validators
from .service import ApiError

# Only these answer other origins; the pages of the site keep their same-origin policy.
CORS_PREFIXES = ("/api/v1/", "/ngsi-ld/v1/")
# What a script on another site may send: NGSI-LD clients send Link (the @context of a JSON request) and NGSILD-Tenant.
ALLOWED_HEADERS = "Accept, Accept-Language, If-None-Match, If-Modified-Since, Link, NGSILD-Tenant"
# The calendar feeds named in the catalogue are read by scripts on other sites too (a town's event calendar).
CORS_ENDPOINTS = frozenset({"schedule.tour_ics", "schedule.district_ics", "schedule.stop_ics"})
EXPOSED_HEADERS = "ETag, Last-Modified, Link, Retry-After"


def is_api_path(path: str) -> bool:
    return path.startswith(CORS_PREFIXES)


def _without_sessions(interface):
    """The app's session interface, except that API addresses get no session: their answers are the same for every
    client, so they neither read a cookie nor say `Vary: Cookie`, which would keep shared caches from sharing them."""

    class PublicApiSessions(type(interface)):
        def open_session(self, app, request):
            if is_api_path(request.path):
                return self.make_null_session(app)
            return super().open_session(app, request)

    return PublicApiSessions()


def init_app(app) -> None:
    """Register the blueprints, the CORS headers, the JSON error answers and the `flask opendata` commands."""
    from . import bp, commands, ngsild_bp
    from ..core import errors

    app.extensions["opendata.validators"] = Validators()
    app.extensions["opendata.made"] = MadeAnswers()
    app.session_interface = _without_sessions(app.session_interface)
    app.register_blueprint(bp)
    app.register_blueprint(ngsild_bp)
    app.cli.add_command(commands.opendata)
    errors.register_json_errors(app, is_api_path, _error_answer)
    # Every stop page carries its workshops as schema.org events (a JSON-LD data block, which the CSP lets be).
    app.add_template_global(service.stop_jsonld, "stop_jsonld")

    @app.after_request
    def cors(response):
        if request.endpoint in CORS_ENDPOINTS:
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
        if is_api_path(request.path):
            h = response.headers
            h["Access-Control-Allow-Origin"] = "*"
            h["Access-Control-Expose-Headers"] = EXPOSED_HEADERS
            # Data meant for other sites: they may load it, which same-origin would forbid.
            h["Cross-Origin-Resource-Policy"] = "cross-origin"
            if request.method == "OPTIONS":
                h["Access-Control-Allow-Methods"] = "GET, HEAD, OPTIONS"
                h["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                h["Access-Control-Max-Age"] = "86400"
            response.vary.add("Accept-Language")
        return response


def _error_answer(code: int, title: str, message: str, headers):
    """Any HTTP error on an API address, as problem details (NGSI-LD addresses get NGSI-LD's error types)."""
    if request.path.startswith("/ngsi-ld/"):
        from .ngsild import ngsi_error

        response = ngsi_error(code, title, message)
    else:
        response = answers.problem(ApiError(code, str(message)))
    for name, value in headers or ():
        if name.lower() in ("allow", "retry-after"):
            response.headers[name] = value
    return response
