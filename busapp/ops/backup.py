"""`flask backup create | restore | list`: the whole database in one file, and back.

A backup is a gzip'd tar archive `digitalbus-<UTC time>.tar.gz`, readable by its owner only, holding
    manifest.json        when, which database, schema revision, the rows of every table, what is not included
    database.sqlite3     SQLite: a consistent copy made with SQLite's online backup API while the app runs
    database.pgdump      PostgreSQL: `pg_dump --format=custom` inside the snapshot the row counts were taken in
    keys/                development only: the keys the app made itself in its instance folder
There are no uploaded files on disk: a tour file waiting for its confirmation lives in the table `tour_upload`.
In production the two keys (SECRET_KEY, TICKET_SIGNING_KEY) come from the environment file and are not in a backup;
the manifest names them, so that whoever restores knows to bring that file along.

Personal data in backups: `flask backup create` deletes the archives in its folder older than BACKUP_KEEP_DAYS, and
`flask purge` deletes personal data BACKUP_KEEP_DAYS earlier than PURGE_AFTER_DAYS, so a backup holds no booking's
personal data for longer than PURGE_AFTER_DAYS after its workshop. A restore runs the purge at once, so an older
copy never brings such data back.

Restore goes into an empty database only (a new one, or the old one dropped and created again): nothing already
there is overwritten, and the row counts of every table are compared with the manifest afterwards.
"""
from __future__ import annotations

import io
import json
import os
import re
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from ..core.extensions import db

FORMAT = 1
PREFIX = "digitalbus-"
SUFFIX = ".tar.gz"
NAME = re.compile(r"^digitalbus-(\d{8}T\d{6}Z)\.tar\.gz$")
# Keys the development profile makes in the instance folder (busapp/core/config.py); production reads them from the
# environment.
INSTANCE_KEYS = ("dev-secret-key", "ticket-signing-key")
NOT_INCLUDED = ("SECRET_KEY and TICKET_SIGNING_KEY are not in this backup when they come from the environment "
                "(/etc/digitalbus/digitalbus.env): keep a copy of that file apart from the backups. Without the "
                "ticket key, tickets already sent cannot be checked in.")

backup = AppGroup("backup", help="Back up the database into one file, and restore it.")


class BackupError(click.ClickException):
    """Something stopped a backup or restore; the message says what and what to do."""


@dataclass
class Summary:
    path: Path
    manifest: dict


def _utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def _dialect() -> str:
    name = db.engine.dialect.name
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups know SQLite and PostgreSQL, not {name}")
    return name


def _libpq(url: sa.engine.URL) -> tuple[str, dict]:
    """The database URL as pg_dump and pg_restore take it, with the password in their environment instead."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tables(conn) -> list[str]:
    return sorted(sa.inspect(conn).get_table_names())


def _counts(conn) -> dict[str, int]:
    prep = conn.dialect.identifier_preparer
    return {t: conn.execute(sa.text(f"SELECT count(*) FROM {prep.quote(t)}")).scalar_one() for t in _tables(conn)}


def _revision(counts: dict, conn) -> str | None:
    if "alembic_version" not in counts:
        return None
    return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def _run(command: list[str], env: dict, what: str) -> None:
    try:
        run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=3600)
    except FileNotFoundError as exc:
        raise BackupError(f"{command[0]} is not installed: apt install postgresql-client") from exc
    if run.returncode:
        raise BackupError(f"{what} failed ({command[0]} exit code {run.returncode}): {run.stderr.strip()[-2000:]}")


def _dump_sqlite(target: Path) -> dict[str, int]:
    raw = db.engine.raw_connection()
    try:
        copy = sqlite3.connect(target)
        try:
            raw.driver_connection.backup(copy)
        finally:
            copy.close()
    finally:
        raw.close()
    engine = sa.create_engine(f"sqlite:///{target}")
    try:
        with engine.connect() as conn:
            counts = _counts(conn)
            return {"counts": counts, "revision": _revision(counts, conn)}
    finally:
        engine.dispose()


def _dump_postgresql(target: Path) -> dict:
    url, env = _libpq(db.engine.url)
    # Count the rows and dump in one snapshot, so the manifest describes exactly what the dump holds.
    with db.engine.connect().execution_options(isolation_level="REPEATABLE READ") as conn:
        with conn.begin():
            snapshot = conn.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            counts = _counts(conn)
            revision = _revision(counts, conn)
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}",
                  f"--file={target}", f"--dbname={url}"], env, "pg_dump")
    return {"counts": counts, "revision": revision}


def create(folder: Path, now: datetime | None = None) -> Summary:
    """Write a backup archive into `folder` and return where it is and what it holds."""
    now = now or _utcnow()
    dialect = _dialect()
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / f"{PREFIX}{now:%Y%m%dT%H%M%SZ}{SUFFIX}"
    if path.exists():
        raise BackupError(f"{path} exists already; wait a second and try again")
    with tempfile.TemporaryDirectory(dir=folder, prefix=".backup-") as work:
        dump = Path(work) / ("database.sqlite3" if dialect == "sqlite" else "database.pgdump")
        found = _dump_sqlite(dump) if dialect == "sqlite" else _dump_postgresql(dump)
        instance = Path(current_app.instance_path)
        keys = [name for name in INSTANCE_KEYS if (instance / name).is_file()]
        manifest = {
            "format": FORMAT,
            "created_at": now.isoformat(),
            "database": dialect,
            "schema_revision": found["revision"],
            "tables": found["counts"],
            "keys_included": keys,
            "not_included": NOT_INCLUDED,
            "uploaded_files": "none on disk: tour files waiting for confirmation are in the table tour_upload",
        }
        partial = Path(work) / "archive"
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode(), now)
            tar.add(dump, arcname=dump.name)
            for name in keys:
                _add_bytes(tar, f"keys/{name}", (instance / name).read_bytes(), now)
        os.replace(partial, path)
    return Summary(path, manifest)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes, now: datetime) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o600
    info.mtime = int(now.timestamp())
    tar.addfile(info, io.BytesIO(data))


def _read(path: Path) -> tuple[dict, tarfile.TarFile]:
    try:
        tar = tarfile.open(path, mode="r:gz")
        member = tar.extractfile("manifest.json")
        manifest = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, ValueError) as exc:
        raise BackupError(f"{path} is not a backup made by `flask backup create`: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise BackupError(f"{path}: unknown backup format {manifest.get('format') if manifest else None!r}")
    return manifest, tar


def restore(path: Path) -> dict:
    """Restore the archive at `path` into the app's database, which must be empty; returns the manifest."""
    dialect = _dialect()
    manifest, tar = _read(path)
    with tar:
        if manifest["database"] != dialect:
            raise BackupError(f"this backup is of a {manifest['database']} database; the app is set up for "
                              f"{dialect} (DATABASE_URL)")
        with db.engine.connect() as conn:
            there = _tables(conn)
        if there:
            raise BackupError(f"the database is not empty ({len(there)} tables, e.g. {there[0]}): restore into a "
                              "new, empty database (for PostgreSQL: dropdb and createdb), nothing is overwritten")
        name = "database.sqlite3" if dialect == "sqlite" else "database.pgdump"
        with tempfile.TemporaryDirectory(prefix="busapp-restore-") as work:
            dump = Path(work) / name
            member = tar.extractfile(name)
            if member is None:
                raise BackupError(f"{path} holds no {name}")
            with open(dump, "wb") as out:
                while chunk := member.read(1 << 20):
                    out.write(chunk)
            if dialect == "sqlite":
                _restore_sqlite(dump)
            else:
                url, env = _libpq(db.engine.url)
                _run(["pg_restore", "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
                      f"--dbname={url}", str(dump)], env, "pg_restore")
        db.engine.dispose()  # pooled connections may know the empty schema
        _restore_keys(tar, manifest)
    with db.engine.connect() as conn:
        counts = _counts(conn)
    if counts != manifest["tables"]:
        differ = sorted(t for t in set(counts) | set(manifest["tables"])
                        if counts.get(t) != manifest["tables"].get(t))
        raise BackupError(f"the restored database differs from the backup's manifest in {', '.join(differ)}")
    return manifest


def _restore_sqlite(dump: Path) -> None:
    source = sqlite3.connect(dump)
    raw = db.engine.raw_connection()
    try:
        source.backup(raw.driver_connection)
    finally:
        raw.close()
        source.close()


def _restore_keys(tar: tarfile.TarFile, manifest: dict) -> None:
    instance = Path(current_app.instance_path)
    for name in manifest.get("keys_included", []):
        if name not in INSTANCE_KEYS or (instance / name).exists():
            continue
        member = tar.extractfile(f"keys/{name}")
        if member is not None:
            fd = os.open(instance / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(member.read())


def archives(folder: Path) -> list[tuple[datetime, Path]]:
    """The backups in `folder`, oldest first, with the time each was made (from its name)."""
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = NAME.match(path.name)
            if match and path.is_file():
                when = datetime.strptime(match.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
                found.append((when, path))
    return sorted(found)


def prune(folder: Path, keep_days: int, now: datetime | None = None) -> list[Path]:
    """Delete the backups in `folder` made more than `keep_days` days ago; never the newest one."""
    now = now or _utcnow()
    found = archives(folder)
    old = [path for when, path in found[:-1] if when < now - timedelta(days=keep_days)]
    for path in old:
        path.unlink()
    return old


def _folder(to: str | None) -> Path:
    return Path(to or current_app.config["BACKUP_DIR"] or Path(current_app.instance_path) / "backups")


@backup.command("create")
@click.option("--to", "to", type=click.Path(file_okay=False), default=None,
              help="Folder for the archive (default: BACKUP_DIR, else backups/ in the instance folder).")
def create_command(to: str | None) -> None:
    """Back up the whole database into one archive, then delete archives there older than BACKUP_KEEP_DAYS."""
    folder = _folder(to)
    summary = create(folder)
    rows = sum(summary.manifest["tables"].values())
    click.echo(f"Backed up {len(summary.manifest['tables'])} tables ({rows} rows) to {summary.path}")
    if not summary.manifest["keys_included"]:
        click.echo(f"Note: {NOT_INCLUDED}")
    keep = current_app.config["BACKUP_KEEP_DAYS"]
    deleted = prune(folder, keep) if keep else []
    for path in deleted:
        click.echo(f"Deleted {path.name} (older than {keep} days).")
    from ..models import record_job

    record_job("backup", archive=summary.path.name, rows=rows, deleted=len(deleted))
    if not keep:
        click.echo("BACKUP_KEEP_DAYS is not set: no old backup was deleted. Personal data in backups outlives "
                   "PURGE_AFTER_DAYS until you delete them (README, \"Backing up\").")


@backup.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
def restore_command(archive: str) -> None:
    """Restore a backup into the app's database, which must be empty; then purge what is past PURGE_AFTER_DAYS."""
    manifest = restore(Path(archive))
    rows = sum(manifest["tables"].values())
    click.echo(f"Restored {len(manifest['tables'])} tables ({rows} rows, every table's count checked) from the "
               f"backup of {manifest['created_at']}.")
    if not manifest["keys_included"]:
        click.echo(f"Note: {NOT_INCLUDED}")
    from ..booking.commands import purge

    click.get_current_context().invoke(purge)


@backup.command("list")
@click.argument("folder", required=False, type=click.Path(file_okay=False))
def list_command(folder: str | None) -> None:
    """List the backups in a folder (default: BACKUP_DIR), oldest first."""
    place = _folder(folder)
    found = archives(place)
    if not found:
        click.echo(f"No backups in {place}.")
    for when, path in found:
        click.echo(f"{path}\t{when.isoformat()}\t{path.stat().st_size} bytes")
