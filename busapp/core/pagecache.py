"""A few seconds' cache of the public pages as anonymous visitors get them, kept in each app process.

Most people read the schedule without a session, and every one of them gets the same bytes for the same address and
language: rendering those again for each visitor is most of the app's work. So the finished response (status,
headers, body) is kept for PAGE_CACHE_SECONDS (default 5; 0 switches the cache off) and handed out as it is.

What is kept: GET responses of the public pages (schedule.*, pages.*, pwa.offline, pwa.manifest) with status 200,
for a request that carries no session and no remember cookie, when the response sets no cookie, leaves the session
empty, was made for nobody signed in and does not call itself private or no-store.
A conditional request that a kept answer's ETag or Last-Modified satisfies gets its 304 from here too, as the view
would have answered it. The key: method, scheme, host, path and query, the language the page is in, and the htmx headers that choose
between page and fragment (HX-Request, HX-Boosted, HX-History-Restore-Request).

One refill at a time: when a kept page expires, the first request for it renders it anew while the requests that
arrive meanwhile get the copy that just expired, so a refill never makes a crowd wait behind it (nor render the same
page once per thread). A page nobody has kept yet is rendered by each request that asks for it until the first is kept.

Staleness: live status and free seats on these pages may lag the database by up to PAGE_CACHE_SECONDS, plus the time
one render takes while a refill runs (a refill that has not finished after REFILL_SECONDS is given up to the next
request). Forms, tickets
and staff pages never pass through here, and neither does a visitor with a session (someone who has opened a form,
booked, or chosen a language), so the one who just booked sees the new count at once.
Not state: each process keeps its own copy and losing it changes only speed, so any number of app processes stays
correct. Bounded: the least recently used pages go first once the kept bodies pass MAX_BYTES.

Shared caches: the same responses say `Cache-Control: public, max-age=0, s-maxage=<seconds>` and vary on Cookie,
Accept-Language and the htmx headers, so a reverse proxy may keep them as long; browsers still ask every time (the
service worker's network-first reading of pages is unchanged).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from flask import request, session
from flask_babel import get_locale
from flask_login import current_user
from werkzeug.http import parse_cookie, parse_date, parse_etags, unquote_etag

from .i18n import language_tag, locale_for_request_parts

CACHED_BLUEPRINTS = frozenset({"schedule", "pages"})
CACHED_ENDPOINTS = frozenset({"pwa.offline", "pwa.manifest"})
HTMX_HEADERS = ("HX-Request", "HX-Boosted", "HX-History-Restore-Request")
# All kept bodies together; a single page (the home page is about 20 kB) is far below it.
MAX_BYTES = 16 * 1024 * 1024
MAX_BODY = 1024 * 1024
# How long the copy that expired is handed out while one request renders the page anew.
REFILL_SECONDS = 10.0

_KEY = "busapp.core.pagecache.key"
_STORE = "busapp.core.pagecache.store"
_clock = time.monotonic


@dataclass(frozen=True)
class Entry:
    expires_at: float
    status: str
    headers: tuple[tuple[str, str], ...]
    body: bytes


class PageCache:
    """WSGI middleware: answers from the cache, or runs the app and keeps what its after_request hook approved."""

    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        self._entries: OrderedDict[tuple, Entry] = OrderedDict()
        self._bytes = 0
        self._refilling: dict[tuple, float] = {}  # key -> when the request rendering it anew started
        self._lock = threading.Lock()

    def __call__(self, environ, start_response):
        seconds = self.app.config["PAGE_CACHE_SECONDS"]
        key = self._key(environ) if seconds > 0 and environ.get("REQUEST_METHOD") == "GET" else None
        if key is None:
            return self.wsgi_app(environ, start_response)
        entry, refill = self._get(key)
        if entry is not None and refill is None:
            # Kept pages are public pages, whose paths hold no secret: the access log may name them (gunicorn.conf.py).
            environ.setdefault("busapp.route", environ.get("PATH_INFO", ""))
            if not_modified(environ, entry.headers):
                start_response("304 NOT MODIFIED", [(k, v) for k, v in entry.headers if k.lower() not in BODY_HEADERS])
                return [b""]
            start_response(entry.status, list(entry.headers))
            return [entry.body]

        try:
            return self._render(key, seconds, environ, start_response)
        finally:
            if refill is not None:
                self._refilled(key, refill)

    def _render(self, key, seconds, environ, start_response):
        environ[_KEY] = key
        sent: dict = {}

        def capture(status, headers, exc_info=None):
            sent["status"], sent["headers"] = status, headers
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        app_iter = self.wsgi_app(environ, capture)
        if not environ.get(_STORE):
            return app_iter
        try:
            body = b"".join(app_iter)
        finally:
            if hasattr(app_iter, "close"):
                app_iter.close()
        headers = tuple(sent.get("headers", ()))
        if (sent.get("status", "").startswith("200 ") and len(body) <= MAX_BODY
                and not any(name.lower() == "set-cookie" for name, _ in headers)):
            self._put(key, Entry(_clock() + seconds, sent["status"], headers, body))
        return [body]

    def _key(self, environ) -> tuple | None:
        """The cache key, or None for a request that must not be answered from the cache (it has a session)."""
        cookies = parse_cookie(environ.get("HTTP_COOKIE", ""))
        cfg = self.app.config
        if cfg["SESSION_COOKIE_NAME"] in cookies or cfg.get("REMEMBER_COOKIE_NAME", "remember_token") in cookies:
            return None
        locale = locale_for_request_parts(environ.get("QUERY_STRING", ""), None,
                                          environ.get("HTTP_ACCEPT_LANGUAGE"), cfg)
        return (
            locale, "GET", environ.get("wsgi.url_scheme"), environ.get("HTTP_HOST") or environ.get("SERVER_NAME"),
            environ.get("SCRIPT_NAME", ""), environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""),
            *(environ.get("HTTP_" + h.upper().replace("-", "_")) == "true" for h in HTMX_HEADERS),
        )

    def _get(self, key: tuple) -> tuple[Entry | None, float | None]:
        """(entry to answer with, None) for a kept page, fresh or (while another request refills it) just expired;
        (None or the expired entry, refill mark) when this request is to render the page: then it must call
        _refilled(key, mark) when done."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None, None
            now = _clock()
            if entry.expires_at > now:
                self._entries.move_to_end(key)
                return entry, None
            started = self._refilling.get(key)
            if started is not None and now - started < REFILL_SECONDS:
                self._entries.move_to_end(key)
                return entry, None
            self._refilling[key] = now
            return entry, now

    def _refilled(self, key: tuple, mark: float) -> None:
        """The request that took the refill is done (kept the new page or not): the next expiry starts a new one,
        and an expired copy that was not replaced goes."""
        with self._lock:
            if self._refilling.get(key) == mark:
                del self._refilling[key]
            entry = self._entries.get(key)
            if entry is not None and entry.expires_at <= _clock():
                self._drop(key)

    def _put(self, key: tuple, entry: Entry) -> None:
        with self._lock:
            if key in self._entries:
                self._drop(key)
            self._entries[key] = entry
            self._bytes += len(entry.body)
            while self._bytes > MAX_BYTES and self._entries:
                self._drop(next(iter(self._entries)))

    def _drop(self, key: tuple) -> None:
        self._bytes -= len(self._entries.pop(key).body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._refilling.clear()
            self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)


# Headers that describe a body, left out of a 304 (RFC 9110 15.4.5 keeps the validators, Cache-Control and Vary).
BODY_HEADERS = frozenset({"content-length", "content-type", "content-disposition", "content-encoding"})


def not_modified(environ, headers) -> bool:
    """Whether a kept answer's validators tell the client its copy is current, as the view itself would have decided
    (RFC 9110 13.2.2: If-None-Match, compared weakly, when sent; else If-Modified-Since)."""
    kept = {k.lower(): v for k, v in headers}
    if_none_match = environ.get("HTTP_IF_NONE_MATCH")
    if if_none_match:
        etag = kept.get("etag")
        return etag is not None and parse_etags(if_none_match).contains_weak(unquote_etag(etag)[0])
    since, modified = parse_date(environ.get("HTTP_IF_MODIFIED_SINCE")), parse_date(kept.get("last-modified"))
    return since is not None and modified is not None and modified <= since


def cacheable(response) -> bool:
    """Whether this response is the same for every anonymous visitor who asks for this address in this language."""
    endpoint = request.endpoint or ""
    if endpoint not in CACHED_ENDPOINTS and endpoint.partition(".")[0] not in CACHED_BLUEPRINTS:
        return False
    if request.method != "GET" or response.status_code != 200 or response.is_streamed:
        return False
    if session or session.modified or "Set-Cookie" in response.headers:
        return False
    control = response.headers.get("Cache-Control", "")
    if "private" in control or "no-store" in control:
        return False
    return not current_user.is_authenticated


def init_app(app) -> None:
    """Wrap the app in the cache; call before anything else registers an after_request hook (see below)."""
    app.wsgi_app = PageCache(app, app.wsgi_app)

    # Registered first, so it runs after every other after_request hook and sees the finished headers.
    @app.after_request
    def mark_cacheable(response):
        seconds = app.config["PAGE_CACHE_SECONDS"]
        if seconds <= 0 or not cacheable(response):
            return response
        response.headers.setdefault("Cache-Control", f"public, max-age=0, s-maxage={seconds}")
        response.vary.update(("Cookie", "Accept-Language", *HTMX_HEADERS))
        key = request.environ.get(_KEY)
        # The key's language comes from the raw request; keep the page only when the app chose the same one.
        if key is not None and key[0] == language_tag(get_locale()):
            request.environ[_STORE] = True
        return response


def cache_of(app) -> PageCache | None:
    """The app's page cache (for tests and operators' shells), wherever it sits in the WSGI stack."""
    wsgi = app.wsgi_app
    while wsgi is not None and not isinstance(wsgi, PageCache):
        wsgi = getattr(wsgi, "app", None) or getattr(wsgi, "wsgi_app", None)
    return wsgi
