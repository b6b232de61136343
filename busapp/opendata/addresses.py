"""The addresses the open data names: absolute, from PUBLIC_BASE_URL, and quick to make by the hundred."""
from __future__ import annotations

from flask import g

from ..domain import links


def base_url() -> str:
    """The public address of the app (PUBLIC_BASE_URL, never the request's Host: busapp/domain/links.py)."""
    return links.base()


def link(endpoint: str, **values) -> str:
    return links.absolute_url(endpoint, **values)


# A stand-in id no object has: each address pattern is built once per request through url_for (so the routes stay
# the only place that spells them) and then filled in, since a page of stops needs hundreds of links.
_SLOT = 2**31 - 7


def id_link(endpoint: str, name: str, value: int) -> str:
    """link(endpoint, **{name: value}) for an integer id, with the pattern built once per request."""
    cache = g.setdefault("opendata_links", {})
    parts = cache.get(endpoint)
    if parts is None:
        head, _slot, tail = link(endpoint, **{name: _SLOT}).partition(str(_SLOT))
        parts = cache[endpoint] = (head, tail)
    return f"{parts[0]}{value}{parts[1]}"
