"""HTTP answers of the open data: ETag and Last-Modified, 304 for a client that has the bytes already, and problem
details. A remembered ETag answers a conditional request without a query (the rule is at the top of service.py)."""
from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from typing import Any

from flask import Response, current_app, request

from ..core.i18n import current_tag
from . import schemas
from .problems import ApiError


@dataclass(frozen=True)
class Seen:
    etag: str
    last_modified: datetime
    until: float


class Validators:
    """Per process: the ETag and Last-Modified of the last answer for each address, kept a few seconds."""

    MAX = 2048

    def __init__(self) -> None:
        self._seen: OrderedDict[str, Seen] = OrderedDict()
        self._lock = threading.Lock()

    def fresh(self, key: str) -> Seen | None:
        with self._lock:
            seen = self._seen.get(key)
            return seen if seen is not None and seen.until > time.monotonic() else None

    def record(self, key: str, etag: str, seconds: int) -> Seen:
        now = datetime.now(timezone.utc).replace(microsecond=0)
        with self._lock:
            old = self._seen.pop(key, None)
            if old is not None and old.etag == etag:
                last_modified = old.last_modified
            else:
                # Never the same second as the answer before it, so If-Modified-Since cannot mistake the two.
                last_modified = max(now, old.last_modified + timedelta(seconds=1)) if old else now
            seen = Seen(etag, last_modified, time.monotonic() + seconds)
            self._seen[key] = seen
            while len(self._seen) > self.MAX:
                self._seen.popitem(last=False)
            return seen

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()


@dataclass(frozen=True)
class Made:
    """An answer made for an address: its bytes and ETag, the rows it was made from and until when the clock leaves
    it right, and its next page's link."""

    rows: tuple
    until: datetime
    data: bytes
    etag: str
    next_link: str | None


class MadeAnswers:
    """Per process: the last answer made for each address, handed out again while the rows it was made from are
    the same and the clock has not passed its `until`: the rows are read anew for every request, so it is never
    out of date, only spared the making (loading objects, their facts, JSON) that is most of a list's time."""

    MAX = 256
    # Bounded by bytes as well, whatever addresses (filters, page sizes) are asked for: the least recently used go.
    MAX_BYTES = 16 * 1024 * 1024

    def __init__(self) -> None:
        self._made: OrderedDict[str, Made] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: str, rows: tuple, now: datetime) -> Made | None:
        with self._lock:
            made = self._made.get(key)
            if made is None or made.rows != rows or now >= made.until:
                return None
            self._made.move_to_end(key)
            return made

    def put(self, key: str, made: Made) -> None:
        with self._lock:
            old = self._made.pop(key, None)
            if old is not None:
                self._bytes -= len(old.data)
            self._made[key] = made
            self._bytes += len(made.data)
            while self._made and (len(self._made) > self.MAX or self._bytes > self.MAX_BYTES):
                self._bytes -= len(self._made.popitem(last=False)[1].data)

    def clear(self) -> None:
        with self._lock:
            self._made.clear()
            self._bytes = 0


def made_answers() -> MadeAnswers:
    return current_app.extensions["opendata.made"]


def address_key() -> str:
    return _key()


def _key() -> str:
    # NGSI-LD answers differ by Accept (the @context in the body or in a Link header).
    return "\x1f".join([request.host, request.path, request.query_string.decode("latin-1"),
                        request.headers.get("Accept-Language", ""), request.headers.get("Accept", "")])


def validators() -> Validators:
    return current_app.extensions["opendata.validators"]


def fresh_not_modified() -> Response | None:
    """A 304 from what this process remembers, without a query; None when the request must be answered in full."""
    seconds = current_app.config["OPENDATA_FRESH_SECONDS"]
    if seconds <= 0 or not request.if_none_match:
        return None
    seen = validators().fresh(_key())
    if seen is None or not request.if_none_match.contains_weak(seen.etag):
        return None
    return not_modified(seen.etag, seen.last_modified)


def unchanged(etag: str, last_modified: datetime) -> bool:
    """Whether the client has this answer already (RFC 9110 13.2.2): If-None-Match decides when it is sent, compared
    weakly (13.1.2: a proxy that compresses an answer marks its ETag weak, W/"..."); If-Modified-Since only without."""
    if request.if_none_match:
        return request.if_none_match.contains_weak(etag)
    since = request.if_modified_since
    return since is not None and last_modified <= since


def validate(response: Response, etag: str, last_modified: datetime, weak: bool = False) -> Response:
    """Put the validators and the cache rule on an answer."""
    response.set_etag(etag, weak=weak)
    response.headers["Last-Modified"] = format_datetime(last_modified, usegmt=True)
    response.headers["Cache-Control"] = cache_control()
    return response


def not_modified(etag: str, last_modified: datetime, weak: bool = False) -> Response:
    return validate(Response(status=304), etag, last_modified, weak)


def cache_control() -> str:
    return "public, no-cache"


def answer(body: Any, mimetype: str = "application/json") -> Response:
    """The full answer with ETag and Last-Modified, or a 304 when the client already has these bytes."""
    data = encode(body)
    return answer_bytes(data, etag_of(data), mimetype)


def etag_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def encode(body: Any) -> bytes:
    if isinstance(body, str):
        return body.encode()
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), default=_json_default).encode()


def answer_bytes(data: bytes, etag: str, mimetype: str = "application/json") -> Response:
    """answer() for bytes already made, with their ETag (the hash of the bytes)."""
    seen = validators().record(_key(), etag, current_app.config["OPENDATA_FRESH_SECONDS"])
    if unchanged(etag, seen.last_modified):
        return not_modified(etag, seen.last_modified)
    return validate(Response(data, mimetype=mimetype), etag, seen.last_modified)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def problem(error: ApiError) -> Response:
    body = json.dumps(schemas.PROBLEM.dump(error.facts()), ensure_ascii=False)
    response = Response(body, status=error.status, mimetype="application/problem+json")
    response.headers["Content-Language"] = current_tag()
    return response
