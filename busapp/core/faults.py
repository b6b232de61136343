"""Honest answers when the database goes away.

- Before a write is committed, a database that cannot be reached (connection lost or refused, SQLite locked beyond
  its busy timeout, the pool exhausted) is answered 503 with Retry-After: "try again", as JSON for the outbox and
  scripts, as a page for people. The outbox then sends the same submission again with the same idempotency key.
- After a write is committed, the answer is built from what was written; anything optional in it (alternatives,
  a waiting-list number, a confirmation mail) goes through `optional`, which gives less detail instead of an error.
- Ending a request never fails it: see `extensions.Database`, which swallows a failed rollback on a dead connection;
  the pool throws that connection away and checks the next one before use (`pool_pre_ping`).
"""
from __future__ import annotations

import logging
from typing import Callable, TypeVar

import sqlalchemy as sa
from flask import current_app, request

from .extensions import db

T = TypeVar("T")
# Seconds a client should wait before trying again; the outbox uses it as its next attempt's delay.
RETRY_AFTER_SECONDS = 5

log = logging.getLogger(__name__)

# Errors that mean "the database is away or too busy right now", not "this request is wrong".
UNAVAILABLE = (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError)


def unavailable(exc: BaseException) -> bool:
    """True for an error that a later try of the same request may not meet."""
    if isinstance(exc, UNAVAILABLE):
        return True
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def reset_session() -> None:
    """Roll the request's session back after a database error; never raises (the connection may be gone)."""
    try:
        db.session.rollback()
    except Exception:  # noqa: BLE001 - a dead connection fails in driver-specific ways; the pool discards it
        log.warning("rollback after a database error failed", exc_info=True)


def optional(work: Callable[[], T], default: T | None = None) -> T | None:
    """Run a read that only adds detail to an answer; on a database error, log it and return `default`.

    The session is rolled back on failure, which expires every object in it: read what the answer must have from
    those objects before calling this."""
    try:
        return work()
    except sa.exc.SQLAlchemyError:
        log.warning("optional part of an answer left out", exc_info=True)
        reset_session()
        return default


def init_app(app) -> None:
    from .errors import render_error

    def database_away(exc):
        reset_session()
        if not unavailable(exc):
            # Some other database error (a bug): logged in full and answered as any other failure.
            current_app.logger.exception("database error on %s", _where())
            return render_error(500)
        current_app.logger.warning("database unavailable on %s: %s", _where(), exc.__class__.__name__)
        return render_error(503, headers=[("Retry-After", str(RETRY_AFTER_SECONDS))])

    app.register_error_handler(sa.exc.DBAPIError, database_away)
    app.register_error_handler(sa.exc.TimeoutError, database_away)


def _where() -> str:
    # The route, not the path: manage links carry secret tokens that do not belong in a log.
    return f"{request.method} {request.url_rule.rule if request.url_rule else '?'}"
