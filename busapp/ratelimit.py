"""Fixed-window rate limits kept in the database, so every app process sees the same counts."""
from __future__ import annotations

import hashlib
import time
from functools import wraps

import sqlalchemy as sa
from flask import abort, current_app, request
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db
from .models import RateCounter


def parse(limit: str) -> tuple[int, int]:
    """'10/900' -> (10 hits, 900 seconds)."""
    count, _, seconds = limit.partition("/")
    return int(count), int(seconds)


def client_key() -> str:
    """A short hash of the client address: enough to tell clients apart, not kept as an address."""
    addr = request.remote_addr or "unknown"
    return hashlib.sha256(addr.encode()).hexdigest()[:24]


def hit(scope: str, key: str, limit: str) -> bool:
    """Count one hit for (scope, key); True while the count stays within the limit.

    One atomic INSERT ... ON CONFLICT DO UPDATE ... RETURNING, in its own transaction so a later
    rollback of the request's work does not undo the count.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return True
    allowed, seconds = parse(limit)
    window = int(time.time()) // seconds * seconds
    full_key = f"{scope}:{key}"[:120]
    dialect = db.engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(RateCounter)
        .values(key=full_key, window_start=window, count=1)
        .on_conflict_do_update(
            index_elements=[RateCounter.key, RateCounter.window_start],
            set_={"count": RateCounter.count + 1},
        )
        .returning(RateCounter.count)
    )
    with db.engine.begin() as conn:
        count = conn.execute(stmt).scalar_one()
        if count == 1:
            # First hit of a new window: drop this key's old windows so the table stays small.
            conn.execute(
                sa.delete(RateCounter).where(RateCounter.key == full_key, RateCounter.window_start < window)
            )
    return count <= allowed


def limit(scope: str, config_key: str, methods: tuple[str, ...] = ("POST",)):
    """Decorator: answer 429 when the client exceeds the configured limit for this view."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if request.method in methods and not hit(scope, client_key(), current_app.config[config_key]):
                abort(429)
            return view(*args, **kwargs)

        return wrapped

    return decorator
