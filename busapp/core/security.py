"""Security headers on every response."""
from __future__ import annotations

from functools import wraps

from flask import current_app, g, request, session
from flask_login import current_user
from werkzeug.routing import IntegerConverter

# No 'unsafe-inline' and no 'unsafe-eval': scripts and styles come only as files from this host, so injected markup
# can neither run code nor restyle a page. htmx is configured to fit (see the htmx-config meta tag in base.html).
CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "manifest-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

PERMISSIONS = "accelerometer=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()"
HSTS = "max-age=31536000; includeSubDomains"
ROUTE_ENVIRON = "busapp.route"


def allow_camera(view):
    """Decorator for the page that scans tickets: it alone may ask for the camera."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.allow_camera = True
        return view(*args, **kwargs)

    wrapped.allows_camera = True
    return wrapped


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` for ids: a number no id column can hold (PostgreSQL's integer ends at 2**31 - 1) is not found,
    instead of reaching the database and failing there."""

    def __init__(self, map, fixed_digits=0, min=None, max=None, signed=False):  # noqa: A002 - werkzeug's names
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=2**31 - 1 if max is None else max,
                         signed=signed)


def _view():
    return current_app.view_functions.get(request.endpoint) if request.endpoint else None


def init_app(app) -> None:
    # Set before the feature blueprints add their routes (create_app registers them after this).
    app.url_map.converters["int"] = BoundedIntConverter

    @app.after_request
    def lasting_session(response):
        # A session once made (a form's token, a language choice) lasts PERMANENT_SESSION_LIFETIME, not until the
        # browser closes: a booking queued offline is sent days later with the token it was made with.
        # An empty session sets no cookie, so anonymous public pages stay cacheable.
        if session and not session.permanent:
            session.permanent = True
        return response

    @app.before_request
    def name_route():
        # For the access log (gunicorn.conf.py): the route, never the address, which for a ticket is its secret.
        rule = request.url_rule
        request.environ[ROUTE_ENVIRON] = rule.rule if rule is not None else "(no route)"

    @app.after_request
    def security_headers(response):
        h = response.headers
        view = _view()
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        h.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        # Read from the view itself, so the header is right on its redirects and error answers too.
        camera = "camera=(self)" if g.get("allow_camera") or getattr(view, "allows_camera", False) else "camera=()"
        h.setdefault("Permissions-Policy", f"{camera}, {PERMISSIONS}")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", HSTS)
        if "_user_id" in session and not getattr(view, "required_roles", None) and current_user.is_authenticated:
            # A public page rendered for someone signed in carries their name and sign-out form: no cache keeps
            # it (the service worker honours this too), so it cannot be shown to the next person on the device.
            h["Cache-Control"] = "no-store"
        elif getattr(view, "required_roles", None) or (request.endpoint or "").startswith("auth."):
            # Staff pages and the sign-in form stay out of every cache: the browser's, a proxy's, the back button's.
            # A view that hands out data meant for offline use sets its own Cache-Control.
            h.setdefault("Cache-Control", "no-store")
        return response
