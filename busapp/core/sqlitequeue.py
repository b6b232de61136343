"""Writers to one SQLite file wait in line for each other instead of in SQLite's busy handler.

SQLite lets one transaction write at a time. A connection that finds the write lock taken waits in SQLite's busy
handler, which sleeps 1, 2, 5, 10, ... up to 100 ms between tries and is not woken when the lock is let go. Under
many concurrent bookings (three write transactions each: the two rate counters and the booking) most of a request's
time went to those sleeps while the lock was free (py-spy, wall clock: 80 % of the booking POST's time in
`execute` waiting for the lock, the CPU half idle).

So every connection to a database file opens a lock file beside it (`<file>-writers`) and takes an exclusive
`flock` on it before the first writing statement of a transaction, and lets it go when the transaction ends
(commit, rollback, close). A writer waiting for it tries again at least every millisecond, so it follows the one
before within about a millisecond instead of up to a hundred. The lock only mirrors SQLite's own write lock, which still decides: anything that writes without going through here
(another program, a migration) is waited for by SQLite as before, and a writer that has waited longer than the busy
timeout for the line goes ahead to SQLite's own wait instead of waiting on.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time

import sqlalchemy as sa

_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")


def connection_class(database: str, timeout_s: float) -> type[sqlite3.Connection]:
    """A sqlite3.Connection that lets its place in the writers' line go when its transaction ends."""
    path = database + "-writers"

    class QueuedConnection(sqlite3.Connection):
        _lock_fd: int | None = None
        _holding = False

        def take_turn(self) -> None:
            """Wait for this connection's turn to write (see the module); at most the busy timeout."""
            if self._holding:
                return
            if self._lock_fd is None:
                self._lock_fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
            deadline = time.monotonic() + timeout_s
            pause = 0.0001
            while True:
                try:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    self._holding = True
                    return
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        return  # SQLite's own busy handling decides from here
                    time.sleep(pause)
                    pause = min(pause * 2, 0.001)

        def _let_go(self) -> None:
            if self._holding:
                self._holding = False
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

        def commit(self) -> None:
            try:
                super().commit()
            finally:
                self._let_go()

        def rollback(self) -> None:
            try:
                super().rollback()
            finally:
                self._let_go()

        def close(self) -> None:
            try:
                super().close()
            finally:
                self._let_go()
                if self._lock_fd is not None:
                    os.close(self._lock_fd)
                    self._lock_fd = None

    return QueuedConnection


def install(engine: sa.Engine) -> None:
    """Take the writers' line before each writing statement on the engine's queued connections."""

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, executemany):
        raw = cursor.connection
        if getattr(raw, "take_turn", None) is not None and not raw._holding \
                and statement.lstrip()[:7].upper().startswith(_WRITES):
            raw.take_turn()

    @sa.event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, executemany):
        raw = cursor.connection
        if getattr(raw, "_holding", False) and not raw.in_transaction:
            raw._let_go()  # a write outside a transaction (autocommit) is done once it ran
