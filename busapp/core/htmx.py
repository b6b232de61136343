"""One URL serves a full page and its htmx fragment."""
from __future__ import annotations

from typing import Any

from flask import render_template, request


def is_partial() -> bool:
    """True when htmx asks for a fragment (not for boosted navigation or a history restore)."""
    h = request.headers
    return (
        h.get("HX-Request") == "true"
        and h.get("HX-Boosted") != "true"
        and h.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, partial: str, **context: Any) -> str:
    """Render the fragment for htmx requests and the whole page otherwise."""
    return render_template(partial if is_partial() else page, **context)


def init_app(app) -> None:
    @app.after_request
    def vary_on_htmx(response):
        # Caches (the browser's, the service worker's, a proxy's) must keep pages and fragments apart.
        response.vary.add("HX-Request")
        return response
