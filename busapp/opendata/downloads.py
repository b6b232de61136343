"""The downloads named in the catalogue: the whole selection in one file, streamed a batch at a time, with a version
that one statement reads without writing the file."""
from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Iterable

import sqlalchemy as sa

from ..core import csvexport
from ..core.extensions import db
from ..models import Place, Stop, Workshop
from .addresses import base_url
from .facts import stop_facts
from .lists import Filters, start_of_today, stop_conditions, with_details, workshop_match


CSV_COLUMNS = [
    # New columns go before "url", which stays last; texts in other languages are in the JSON's "translations".
    "stop_id", "stop_status", "status_reason", "district", "place", "street", "lat", "lon", "stop_starts_at",
    "stop_ends_at", "workshop_id", "title", "topic", "audience", "language", "workshop_starts_at", "workshop_ends_at",
    "workshop_status", "capacity", "seats_free", "level", "what_to_bring", "walk_ins", "accessibility", "url",
]
# Stops read per query while a download is written: memory stays flat however long the tour.
DOWNLOAD_BATCH = 200


def _csv_rows(s: dict) -> Iterable[list]:
    p = s["place"]
    head = [s["id"], s["status"], s["status_reason"] or "", s["district"], p["name"], p["street"] or "",
            p["lat"], p["lon"], s["starts_at"].isoformat(), s["ends_at"].isoformat()]
    for w in s["workshops"] or [None]:
        tail = ([w["id"], w["title"], w["topic"], w["audience"], w["language"], w["starts_at"].isoformat(),
                 w["ends_at"].isoformat(), w["status"], w["capacity"], w["seats_free"], w["level"],
                 w["what_to_bring"], "yes" if w["walk_ins"] else "no", w["accessibility"]] if w else [""] * 14)
        yield head + tail + [s["url"]]


def all_stops(f: Filters, now: datetime) -> Iterable[dict]:
    """Every stop the filters select, soonest first, read a batch at a time by keyset (no page limit)."""
    batch = replace(f, limit=DOWNLOAD_BATCH, after=None)
    while True:
        query = stop_conditions(sa.select(Stop), batch, now)
        if f.topic or f.language or f.free_seats:
            query = query.where(sa.exists().where(Workshop.stop_id == Stop.id, *workshop_match(f, now)))
        if batch.after is not None:
            when, last_id = batch.after
            query = query.where(sa.or_(Stop.starts_at > when, sa.and_(Stop.starts_at == when, Stop.id > last_id)))
        query = query.order_by(Stop.starts_at, Stop.id).limit(DOWNLOAD_BATCH)
        stops = list(db.session.scalars(with_details(query)).unique())
        for stop in stops:
            yield stop_facts(stop, now)
        if len(stops) < DOWNLOAD_BATCH:
            return
        batch = replace(batch, after=(stops[-1].starts_at, stops[-1].id))


def stops_csv(f: Filters, now: datetime) -> Iterable[str]:
    """The stops the filters select as CSV, one row per workshop (a stop without workshops gets one row of its own),
    written piece by piece as the batches are read."""
    out = io.StringIO()
    writer = csvexport.SafeWriter(out, delimiter=",")
    writer.writerow(CSV_COLUMNS)
    for stop in all_stops(f, now):
        writer.writerows(_csv_rows(stop))
        if out.tell() > 64 * 1024:
            yield out.getvalue()
            out.seek(0)
            out.truncate()
    yield out.getvalue()


def download_version(f: Filters, now: datetime) -> tuple[str, datetime]:
    """A weak ETag and Last-Modified for a download, from one statement that reads the latest change of any stop,
    workshop and place and how many stops the filters select, without writing the file.

    Seats shown as free become 0 when a workshop ends, without any row changing; workshops last hours, so the ones
    that started within the last day and have ended by now are counted in too."""
    selected = stop_conditions(sa.select(sa.func.count()).select_from(Stop), f, now)
    if f.topic or f.language or f.free_seats:
        selected = selected.where(sa.exists().where(Workshop.stop_id == Stop.id, *workshop_match(f, now)))
    row = db.session.execute(sa.select(
        sa.select(sa.func.max(Stop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Workshop.updated_at)).scalar_subquery(),
        sa.select(sa.func.max(Place.updated_at)).scalar_subquery(),
        selected.scalar_subquery(),
    )).one()
    recent = db.session.execute(
        sa.select(Workshop.starts_at, Workshop.duration_minutes)
        .where(Workshop.starts_at > now - timedelta(days=1), Workshop.starts_at <= now)
    ).all()
    ended = sum(1 for start, minutes in recent if start + timedelta(minutes=minutes) <= now)
    parts = ("csv", 1, base_url(), sorted(f.canonical().items()), *row, ended)
    etag = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    changed = [c for c in row[:3] if c is not None] + [start_of_today(now)]
    return etag, max(changed).astimezone(timezone.utc).replace(microsecond=0)
