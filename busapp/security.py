"""Security headers on every response."""
from __future__ import annotations

from functools import wraps

from flask import g, request

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


def allow_camera(view):
    """Decorator for the one page that scans tickets: it alone may ask for the camera."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        g.allow_camera = True
        return view(*args, **kwargs)

    wrapped.allows_camera = True
    return wrapped


def init_app(app) -> None:
    @app.after_request
    def security_headers(response):
        h = response.headers
        h.setdefault("Content-Security-Policy", CSP)
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "same-origin")
        h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        camera = "camera=(self)" if g.get("allow_camera") else "camera=()"
        h.setdefault("Permissions-Policy", f"{camera}, {PERMISSIONS}")
        if request.is_secure:
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
