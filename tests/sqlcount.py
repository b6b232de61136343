"""Record the SQL statements the app sends inside a block, for query budgets (counts and N+1, never exact SQL)."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from busapp.core.extensions import db


@contextmanager
def statements():
    """Yield a list that fills with each statement sent to the database inside the block, whitespace folded."""
    seen: list[str] = []

    def before(conn, cursor, statement, params, context, executemany):
        seen.append(" ".join(statement.split()))

    sa.event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", before)
