"""Links to other features' pages, and the public URLs printed on posters."""
from __future__ import annotations

from flask import request, url_for
from werkzeug.routing import BuildError

from ..domain import links


def stop_page(stop_id: int) -> str:
    """Path of the public stop page (the schedule feature's /s/<id>)."""
    try:
        return url_for("schedule.stop", stop_id=stop_id)
    except BuildError:
        # The schedule's stop page has this stable short path, printed on posters; keep it even if the
        # endpoint is renamed.
        return f"{request.script_root}/s/{stop_id}"


def district_page(slug: str) -> str | None:
    try:
        return url_for("schedule.district", slug=slug)
    except BuildError:
        return None


def public(path: str) -> str:
    """The absolute URL a printed code must carry: on PUBLIC_BASE_URL, the address people reach from outside."""
    return links.absolute(path)


def public_url(endpoint: str, **values) -> str:
    return public(url_for(endpoint, **values))


def short(url: str) -> str:
    """The URL as people type it under a code: without "https://", which browsers add themselves."""
    return url.removeprefix("https://")
