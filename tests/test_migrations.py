"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""
from __future__ import annotations

import os
import secrets

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from busapp import create_app
from busapp.core.config import database_url
from busapp.core.extensions import db


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with no tables: a new SQLite file, or a new PostgreSQL database when the suite runs there."""
    server = os.environ.get("TEST_DATABASE_URL", "")
    if not server.startswith("postgres"):
        yield f"sqlite:///{tmp_path / 'migrations.sqlite3'}"
        return
    base, _, _ = server.rpartition("/")
    name = f"busapp_mig_{secrets.token_hex(4)}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield f"{base}/{name}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_migrations_match_models_and_downgrade(empty_database_url):
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url(empty_database_url)})
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), db.metadata)
        assert diff == [], f"models and migrations differ; run `flask db migrate`: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as conn:
            remaining = set(db.inspect(conn).get_table_names()) - {"alembic_version"}
        assert remaining == set()
        db.engine.dispose()


def test_stops_keep_their_places_through_the_upgrade_and_back(empty_database_url):
    """Existing stops' place, address and coordinates move into places (one per distinct place) and back."""
    import sqlalchemy as sa

    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": database_url(empty_database_url)})
    with app.app_context():
        upgrade(revision="0001")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO district (id, number, name, slug) VALUES (1, '07', 'St. Gertrud', 'st-gertrud')"))
            for i, (place, address, lat) in enumerate([("Marli-Forum", "Elisabeth-Haseloff-Straße 1", 53.88),
                                                       ("Marli-Forum", "Elisabeth-Haseloff-Straße 1", 53.88),
                                                       ("Wochenmarkt", "", None)], start=1):
                conn.execute(sa.text(
                    "INSERT INTO stop (id, district_id, place, address, lat, lon, starts_at, ends_at, status, "
                    "cancel_reason, live_status, live_note, sequence, created_at, updated_at) VALUES (:id, 1, :place, "
                    ":address, :lat, :lat, :start, :end, 'published', '', 'scheduled', '', 0, :start, :start)"),
                    {"id": i, "place": place, "address": address, "lat": lat,
                     "start": f"2026-12-0{i} 09:00:00", "end": f"2026-12-0{i} 12:00:00"})
        upgrade(revision="0002_journey")
        with db.engine.connect() as conn:
            places = conn.execute(sa.text("SELECT id, name, address, lat FROM place ORDER BY id")).all()
            stops = conn.execute(sa.text("SELECT id, place_id FROM stop ORDER BY id")).all()
        assert [(p.name, p.address, p.lat) for p in places] == [
            ("Marli-Forum", "Elisabeth-Haseloff-Straße 1", 53.88), ("Wochenmarkt", "", None)]
        assert [s.place_id for s in stops] == [places[0].id, places[0].id, places[1].id]
        downgrade(revision="0001")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT place, address, lat FROM stop ORDER BY id")).all()
        assert [tuple(r) for r in back] == [("Marli-Forum", "Elisabeth-Haseloff-Straße 1", 53.88),
                                            ("Marli-Forum", "Elisabeth-Haseloff-Straße 1", 53.88),
                                            ("Wochenmarkt", "", None)]
        downgrade(revision="base")
        db.engine.dispose()


def test_migrations_run_in_the_order_of_their_names_and_import_no_app_code():
    """One chain from the first migration to the head, its files named in running order, and no migration
    importing busapp (a migration must keep working when the models change)."""
    import ast
    from pathlib import Path

    folder = Path(__file__).resolve().parent.parent / "migrations" / "versions"
    revisions = {}
    for path in sorted(folder.glob("*.py")):
        tree = ast.parse(path.read_text())
        values = {t.id: n.value.value for n in tree.body if isinstance(n, ast.Assign)
                  for t in n.targets if isinstance(t, ast.Name) and isinstance(n.value, ast.Constant)}
        revisions[values["revision"]] = (path.name, values.get("down_revision"))
        imported = [a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names]
        imported += [n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]
        assert not [m for m in imported if m.split(".")[0] == "busapp"], path.name
    children = {}
    for revision, (_name, down) in revisions.items():
        assert down not in children, f"two migrations revise {down}"
        children[down] = revision
    chain, current = [], children.get(None)
    while current is not None:
        chain.append(revisions[current][0])
        current = children.get(current)
    assert len(chain) == len(revisions), "every migration is on the one chain"
    assert chain == sorted(chain), "file names sort in running order"
