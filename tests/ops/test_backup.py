"""`flask backup create` and `flask backup restore`: every table comes back as it was, on SQLite and PostgreSQL
(tests/pg_run.py runs this file against PostgreSQL), into an empty database only; old backups are deleted and the
purge makes room for them, so that no backup keeps personal data past PURGE_AFTER_DAYS."""
from __future__ import annotations

import json
import stat
import tarfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa

from busapp.ops import backup
from busapp import create_app
from busapp.dev import demo
from busapp.core.extensions import db
from busapp.models import Booking, OutgoingMail, TourUpload, audit
from tests.conftest import _driver, _postgres_admin
from tests.booking.test_booking import book
from tests.booking.test_purge import booking


def every_row(engine) -> dict[str, list[tuple]]:
    """Each table of the app, its rows in primary-key order, as SQLAlchemy reads them back (typed values)."""
    with engine.connect() as conn:
        return {table.name: [tuple(r) for r in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}


@pytest.fixture
def empty_database(database_url, tmp_path):
    """A second, empty database beside the test database: a SQLite file, or a new PostgreSQL database."""
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        yield f"sqlite:///{tmp_path / 'restored.sqlite3'}"
        return
    target = url.set(database=f"{url.database}_restore")
    with _postgres_admin(database_url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{target.database}"')
    try:
        yield target.render_as_string(hide_password=False)
    finally:
        with _postgres_admin(database_url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')


@pytest.fixture
def filled(app, client):
    """The demo tour and accounts, bookings with their mails (names with umlauts, an empty contact), an audit
    event and a tour file with every byte value: something in most tables, and values of every column type."""
    app.config["MAIL_SERVER"] = "mail.invalid"
    demo.load(with_users=True)
    future = db.session.scalars(
        sa.select(demo.Workshop).where(demo.Workshop.starts_at > datetime.now(timezone.utc) + timedelta(days=1))
        .order_by(demo.Workshop.starts_at).limit(2)).all()
    for workshop, name, contact in zip(future, ("Jörg Müßig", "Ayşe"), ("joerg@example.org", "")):
        assert book(client, workshop.id, name=name, contact=contact, party_size="2").status_code == 303
    db.session.add(TourUpload(token="t" * 40, user_id=demo_user_id(), data=bytes(range(256))))
    audit("backup-test", None, note="ä\nö")
    db.session.commit()
    return app


def demo_user_id() -> int:
    return db.session.scalar(sa.select(demo.User.id).limit(1))


def test_a_backup_restores_into_an_empty_database_with_every_table_as_it_was(filled, runner, tmp_path,
                                                                              empty_database):
    before = every_row(db.engine)
    filled_tables = [name for name, rows in before.items() if rows]
    assert {"booking", "outgoing_mail", "tour_upload", "audit_event", "workshop", "user"} <= set(filled_tables)
    assert len(filled_tables) >= 10

    made = runner.invoke(args=["backup", "create", "--to", str(tmp_path / "backups")])
    assert made.exit_code == 0, made.output
    (archive,) = (tmp_path / "backups").iterdir()
    assert backup.NAME.match(archive.name)
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600  # it holds personal data
    with tarfile.open(archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert manifest["database"] == db.engine.dialect.name
    assert manifest["tables"]["booking"] == len(before["booking"]) == 2
    assert "TICKET_SIGNING_KEY" in manifest["not_included"]  # named, so whoever restores brings the key along

    target = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(empty_database)})
    with target.app_context():  # the command runs in the app whose context is current
        restored = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert restored.exit_code == 0, restored.output
        assert "every table's count checked" in restored.output
        after = every_row(db.engine)
        db.engine.dispose()
    # The restore ran the purge, which notes its run; that note is the only row the backup did not have.
    action = [c.name for c in db.metadata.tables["audit_event"].columns].index("action")
    assert [r[action] for r in after["audit_event"][len(before["audit_event"]):]] == ["job-purge"]
    del after["audit_event"][len(before["audit_event"]):]
    assert after == before


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(filled, runner, tmp_path):
    assert runner.invoke(args=["backup", "create", "--to", str(tmp_path)]).exit_code == 0
    (archive,) = tmp_path.glob("digitalbus-*.tar.gz")
    db.session.execute(sa.delete(OutgoingMail))
    db.session.execute(sa.delete(Booking))
    db.session.commit()
    before = every_row(db.engine)
    result = runner.invoke(args=["backup", "restore", str(archive)])
    assert result.exit_code != 0 and "not empty" in result.output
    assert every_row(db.engine) == before


def test_restore_refuses_what_is_not_a_backup(app, runner, tmp_path):
    junk = tmp_path / "digitalbus-20260101T000000Z.tar.gz"
    junk.write_bytes(b"not an archive")
    result = runner.invoke(args=["backup", "restore", str(junk)])
    assert result.exit_code != 0 and "is not a backup" in result.output


def test_a_restore_purges_what_is_past_its_days_at_once(app, runner, client, tmp_path, empty_database,
                                                      make_workshop, make_stop, now):
    booking(make_workshop(stop=make_stop(starts_at=now - timedelta(days=40))))
    assert runner.invoke(args=["backup", "create", "--to", str(tmp_path)]).exit_code == 0
    (archive,) = tmp_path.glob("digitalbus-*.tar.gz")

    target = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(empty_database)})
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert result.exit_code == 0, result.output
        assert "Deleted names, contacts and notes of 1 booking" in result.output
        restored = db.session.scalar(sa.select(Booking))
        assert (restored.name, restored.contact, restored.purged_at is not None) == (None, None, True)
        db.session.remove()
        db.engine.dispose()


def test_backups_older_than_their_days_are_deleted_but_never_the_newest(tmp_path):
    now = datetime(2026, 12, 7, 3, 30, tzinfo=timezone.utc)
    for days in (0, 6, 8, 30):
        (tmp_path / f"digitalbus-{now - timedelta(days=days):%Y%m%dT%H%M%SZ}.tar.gz").write_bytes(b"x")
    (tmp_path / "other.tar.gz").write_bytes(b"x")
    deleted = backup.prune(tmp_path, keep_days=7, now=now)
    assert sorted(p.name for p in deleted) == ["digitalbus-20261107T033000Z.tar.gz",
                                               "digitalbus-20261129T033000Z.tar.gz"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["digitalbus-20261201T033000Z.tar.gz",
                                                          "digitalbus-20261207T033000Z.tar.gz", "other.tar.gz"]
    # Only old ones left: the newest stays, whatever its age.
    assert [p.name for p in backup.prune(tmp_path, keep_days=0, now=now + timedelta(days=99))] == [
        "digitalbus-20261201T033000Z.tar.gz"]


def test_create_deletes_backups_older_than_backup_keep_days(app, runner, tmp_path):
    app.config["BACKUP_KEEP_DAYS"] = 7
    stale = tmp_path / "digitalbus-20200101T000000Z.tar.gz"
    stale.write_bytes(b"old")
    result = runner.invoke(args=["backup", "create", "--to", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert not stale.exists() and "Deleted digitalbus-20200101T000000Z.tar.gz" in result.output
    assert len(list(tmp_path.glob("digitalbus-*.tar.gz"))) == 1


def test_the_purge_runs_early_by_the_days_backups_are_kept(app, runner, make_workshop, make_stop, now):
    """PURGE_AFTER_DAYS 30 with backups kept 7 days: the purge deletes at 23 days, and the last backup holding a
    booking's data is deleted at 30."""
    app.config.update(PURGE_AFTER_DAYS=30, BACKUP_KEEP_DAYS=7)
    booking(make_workshop(stop=make_stop(starts_at=now - timedelta(days=24))))
    result = runner.invoke(args=["purge"])
    assert "1 booking in 1 workshop" in result.output and "23 days ago" in result.output


@pytest.mark.parametrize("keep", ["-1", "31"])
def test_backup_days_beyond_the_purge_days_refuse_to_start(monkeypatch, keep):
    from busapp.core.config import ConfigError

    monkeypatch.setenv("BACKUP_KEEP_DAYS", keep)
    with pytest.raises(ConfigError, match="BACKUP_KEEP_DAYS"):
        create_app({"APP_ENV": "testing"})


def test_keys_the_app_made_itself_travel_with_the_backup(tmp_path, monkeypatch, empty_database):
    """Development keeps its keys in the instance folder: a backup takes them along, and a restore puts them back
    where none are; production's keys come from the environment and are only named."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "old"))
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "ticket-signing-key").write_text("the old key")
    source = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(empty_database)})
    with source.app_context():
        db.create_all()
        result = source.test_cli_runner().invoke(args=["backup", "create", "--to", str(tmp_path / "b")])
        assert result.exit_code == 0, result.output
        assert "Note:" not in result.output
        db.drop_all()
        db.engine.dispose()
    (archive,) = (tmp_path / "b").glob("digitalbus-*.tar.gz")
    with tarfile.open(archive) as tar:
        assert json.loads(tar.extractfile("manifest.json").read())["keys_included"] == ["ticket-signing-key"]
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "new"))
    target = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(empty_database)})
    with target.app_context():
        result = target.test_cli_runner().invoke(args=["backup", "restore", str(archive)])
        assert result.exit_code == 0, result.output
        db.engine.dispose()
    key = tmp_path / "new" / "ticket-signing-key"
    assert key.read_text() == "the old key" and stat.S_IMODE(key.stat().st_mode) == 0o600
