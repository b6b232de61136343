"""How every planning write starts and fails: the planning lock, the refusal with messages per form field, and
the signed-in user as a row of the write's own session. Shared by the planning service, its changes that reach
booked people (changes.py) and the tour import, so none of them needs another's private names."""
from __future__ import annotations

import sqlalchemy as sa

from ..core.extensions import db
from ..models import User

_PLANNING_LOCK_KEY = 0x44574250  # "DWBP": one advisory lock for all planning writes on PostgreSQL


class Refused(Exception):
    """The change breaks a rule; `errors` maps form field names to messages for the person."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def lock() -> None:
    """Serialise planning writes: the overlap rule reads other rows, so two writers must not check at once."""
    session = db.session
    session.rollback()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PLANNING_LOCK_KEY})
    else:
        # A write as the transaction's first statement takes SQLite's database-wide write lock (see booking.service).
        session.execute(sa.text("UPDATE stop SET id = id WHERE id = -1"))


def user_in_session(user: User | None) -> User | None:
    """The signed-in user as a row of this transaction's session (for audit events), or None."""
    return db.session.get(User, user.id) if user is not None else None
