"""SQLite writers wait in line (busapp/core/sqlitequeue.py): the line is taken before a transaction's first write,
let go when it ends, and never holds a writer longer than the busy timeout."""
from __future__ import annotations

import sqlite3
import threading
import time

import sqlalchemy as sa

from busapp.core import sqlitequeue


def _connect(path, timeout_s=5.0):
    return sqlite3.connect(path, factory=sqlitequeue.connection_class(str(path), timeout_s), check_same_thread=False)


def test_a_second_writer_waits_for_the_first_to_commit(tmp_path):
    path = tmp_path / "q.sqlite3"
    first, second = _connect(path), _connect(path)
    first.execute("CREATE TABLE t (n INTEGER)")
    first.commit()
    first.take_turn()
    first.execute("INSERT INTO t VALUES (1)")
    took = []

    def write():
        second.take_turn()
        took.append(time.monotonic())
        second.execute("INSERT INTO t VALUES (2)")
        second.commit()

    waiting = threading.Thread(target=write)
    waiting.start()
    time.sleep(0.2)
    assert not took  # still in line
    committed = time.monotonic()
    first.commit()
    waiting.join(5)
    assert took and took[0] >= committed and took[0] - committed < 0.1
    assert not first._holding and not second._holding
    assert [r[0] for r in first.execute("SELECT n FROM t ORDER BY n")] == [1, 2]


def test_rollback_and_close_let_go(tmp_path):
    path = tmp_path / "q.sqlite3"
    a, b = _connect(path), _connect(path, timeout_s=0.05)
    a.take_turn()
    a.rollback()
    b.take_turn()
    assert b._holding
    b.close()
    a.take_turn()
    assert a._holding


def test_a_writer_goes_on_after_the_busy_timeout(tmp_path):
    path = tmp_path / "q.sqlite3"
    a, b = _connect(path), _connect(path, timeout_s=0.1)
    a.take_turn()
    started = time.monotonic()
    b.take_turn()  # goes on to SQLite's own wait instead of waiting on
    assert not b._holding and time.monotonic() - started < 1


def test_the_app_engine_takes_the_line_for_writes_only(app):
    from busapp.core.extensions import db
    from busapp.models import District

    with app.app_context():
        raw = db.session.connection().connection.dbapi_connection
        if not hasattr(raw, "take_turn"):
            assert db.engine.dialect.name != "sqlite"  # PostgreSQL: no line
            return
        db.session.execute(sa.select(District.id)).all()
        assert not raw._holding
        db.session.add(District(number="99", name="Queue", slug="queue"))
        db.session.flush()
        assert raw._holding
        db.session.rollback()
        assert not raw._holding
