"""Absolute links (mails, calendars, QR codes, open data, language alternates): always on PUBLIC_BASE_URL, the
address people reach from outside, never on the request's Host header. A forged Host must not put someone's
private link on another site. The setting is required in production (busapp/core/config.py)."""
from __future__ import annotations

from flask import current_app, has_request_context, url_for


def base() -> str:
    """The public address, scheme and host only, without a trailing slash."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def absolute(path: str) -> str:
    """A path of this app ("/s/12") as an absolute link on the public address."""
    return base() + path


def absolute_url(endpoint: str, **values) -> str:
    """The absolute link of an endpoint, also outside a request (the mail worker, the command line)."""
    if has_request_context():
        return absolute(url_for(endpoint, **values))
    adapter = current_app.url_map.bind("localhost", script_name=current_app.config.get("APPLICATION_ROOT") or "/")
    return absolute(adapter.build(endpoint, values))
