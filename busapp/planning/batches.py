"""Tour imports as batches: what one confirmed file wrote can be looked at, published, and removed whole.

Removing a batch
    The stops and workshops of one import are deleted together, with the places, districts and buses the import
    made when nothing else uses them any more, in one transaction under the planning lock. It is refused while any
    of its stops has a booking (also a cancelled one), feedback or a check-in: the answer names those stops, and they
    can be cancelled instead, so that the people booked are told. The removal is shown first (a dry run: how many
    stops, workshops, places, districts and buses would go), then done on confirmation.

Publishing and deleting drafts
    A batch's draft stops can be published at once (with their draft workshops; stops that are over stay drafts),
    and its drafts deleted at once (drafts have no bookings: a booked stop is never a draft). A single draft stop can
    be deleted from its page.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from ..accounts.auth import role_required
from ..core.extensions import db
from ..models import (
    Booking, Bus, CheckIn, District, Feedback, ImportBatch, Place, Role, SeatShare, Stop, StopSeries, StopStatus, User,
    Workshop, WorkshopStatus, audit, utcnow,
)
from . import bp, service

coordinator = role_required(Role.COORDINATOR)


@dataclass
class Removal:
    """What removing a batch would delete, or the stops that keep it."""

    stops: int
    workshops: int
    places: list[int]
    districts: list[int]
    buses: list[int]
    blocking: list[Stop]


def _stop_ids(batch_id: int, only_drafts: bool = False) -> list[int]:
    query = sa.select(Stop.id).where(Stop.batch_id == batch_id)
    if only_drafts:
        query = query.where(Stop.status == StopStatus.DRAFT)
    return list(db.session.scalars(query))


def _blocking(stop_ids: list[int]) -> list[Stop]:
    """The stops among these that have bookings, feedback or check-ins: they cannot simply be deleted."""
    if not stop_ids:
        return []
    workshops = sa.select(Workshop.id).where(Workshop.stop_id.in_(stop_ids))
    held = sa.union(
        sa.select(Workshop.stop_id).join(Booking, Booking.workshop_id == Workshop.id).where(
            Workshop.stop_id.in_(stop_ids)),
        sa.select(Feedback.stop_id).where(Feedback.stop_id.in_(stop_ids)),
        sa.select(Workshop.stop_id).join(CheckIn, CheckIn.workshop_id == Workshop.id).where(
            Workshop.id.in_(workshops)),
    ).subquery()
    return list(db.session.scalars(sa.select(Stop).where(Stop.id.in_(sa.select(held.c[0])))
                                   .order_by(Stop.starts_at)))


def _unused(model, ids: list[int], still: sa.Select) -> list[int]:
    if not ids:
        return []
    used = set(db.session.scalars(still))
    return [i for i in ids if i not in used]


def plan_removal(batch: ImportBatch) -> Removal:
    stop_ids = _stop_ids(batch.id)
    workshops = db.session.scalar(sa.select(sa.func.count(Workshop.id)).where(Workshop.stop_id.in_(stop_ids))) or 0
    created = batch.created or {}
    others = sa.select(Stop.id).where(Stop.batch_id.is_distinct_from(batch.id))
    places = _unused(Place, created.get("places", []),
                     sa.select(Stop.place_id).where(Stop.id.in_(others), Stop.place_id.in_(created.get("places", []))))
    districts = _unused(District, created.get("districts", []), sa.union(
        sa.select(Stop.district_id).where(Stop.id.in_(others)),
        sa.select(Place.district_id).where(Place.id.not_in(places or [-1]))))
    buses = _unused(Bus, created.get("buses", []), sa.select(Stop.bus_id).where(Stop.id.in_(others)))
    return Removal(len(stop_ids), workshops, places, districts, buses, _blocking(stop_ids))


def _delete_stops(stop_ids: list[int]) -> None:
    series: set[int] = set()
    for start in range(0, len(stop_ids), 500):
        chunk = stop_ids[start:start + 500]
        series |= set(db.session.scalars(sa.select(Stop.series_id).where(Stop.id.in_(chunk),
                                                                         Stop.series_id.is_not(None))))
        workshops = sa.select(Workshop.id).where(Workshop.stop_id.in_(chunk))
        db.session.execute(sa.delete(SeatShare).where(SeatShare.workshop_id.in_(workshops)))
        db.session.execute(sa.delete(Workshop).where(Workshop.stop_id.in_(chunk)))
        db.session.execute(sa.delete(Stop).where(Stop.id.in_(chunk)))
    # A series none of whose stops is left goes with them.
    ids = sorted(series)
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(sa.delete(StopSeries).where(
            StopSeries.id.in_(chunk), ~sa.exists().where(Stop.series_id == StopSeries.id)))


def remove(batch_id: int, user: User | None) -> Removal:
    """Delete the batch whole; raises service.Refused naming the stops that have bookings, feedback or check-ins."""
    service._planning_lock()
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        db.session.rollback()
        raise service.Refused({"": [_("This import was removed already.")]})
    removal = plan_removal(batch)
    if removal.blocking:
        db.session.rollback()
        raise service.Refused({"": [blocking_message(removal.blocking)]})
    _delete_stops(_stop_ids(batch.id))
    if removal.places:
        db.session.execute(sa.delete(Place).where(Place.id.in_(removal.places)))
    if removal.districts:
        db.session.execute(sa.delete(District).where(District.id.in_(removal.districts)))
    if removal.buses:
        db.session.execute(sa.delete(Bus).where(Bus.id.in_(removal.buses)))
    db.session.delete(batch)
    audit("tour-import-remove", None, user=service._user(user), batch=batch_id, stops=removal.stops,
          workshops=removal.workshops, places=len(removal.places), districts=len(removal.districts),
          buses=len(removal.buses))
    db.session.commit()
    return removal


def blocking_message(stops: list[Stop]) -> str:
    named = ", ".join(f"{s.place.name} ({s.starts_at.astimezone(service.tz()):%d.%m.%Y %H:%M})" for s in stops[:10])
    more = len(stops) - 10
    text = ngettext("%(num)d stop has bookings, feedback or check-ins, so nothing was removed: %(stops)s.",
                    "%(num)d stops have bookings, feedback or check-ins, so nothing was removed: %(stops)s.",
                    len(stops), stops=named)
    if more > 0:
        text += " " + ngettext("And %(num)d more.", "And %(num)d more.", more)
    return text + " " + _("Cancel those stops instead, so that the people booked are told.")


def publish_drafts(batch_id: int | None, user: User | None, *, starts: datetime | None = None,
                   ends: datetime | None = None, stop_ids: list[int] | None = None) -> int:
    """Publish the draft stops of a batch (or of a time span, such as a week, or these stops) that are still ahead,
    with their draft workshops; returns how many."""
    service._planning_lock()
    where = [Stop.status == StopStatus.DRAFT, Stop.ends_at > utcnow()]
    if batch_id is not None:
        where.append(Stop.batch_id == batch_id)
    if starts is not None:
        where += [Stop.starts_at >= starts, Stop.starts_at < ends]
    if stop_ids is not None:
        where.append(Stop.id.in_(stop_ids or [-1]))
    ids = list(db.session.scalars(sa.select(Stop.id).where(*where)))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        db.session.execute(sa.update(Workshop).where(Workshop.stop_id.in_(chunk),
                                                     Workshop.status == WorkshopStatus.DRAFT)
                           .values(status=WorkshopStatus.PUBLISHED, updated_at=utcnow()))
        db.session.execute(sa.update(Stop).where(Stop.id.in_(chunk))
                           .values(status=StopStatus.PUBLISHED, sequence=Stop.sequence + 1, updated_at=utcnow()))
    audit("stops-publish", None, user=service._user(user), batch=batch_id,
          span=[starts.isoformat(), ends.isoformat()] if starts else None, stops=len(ids),
          **({"ticked": len(stop_ids)} if stop_ids is not None else {}))
    db.session.commit()
    return len(ids)


def delete_drafts(stop_ids: list[int], user: User | None, batch_id: int | None = None) -> int:
    """Delete these stops where they are drafts without bookings (a draft never has any); returns how many."""
    service._planning_lock()
    drafts = list(db.session.scalars(sa.select(Stop.id).where(Stop.id.in_(stop_ids or [-1]),
                                                              Stop.status == StopStatus.DRAFT)))
    blocked = {s.id for s in _blocking(drafts)}
    drafts = [i for i in drafts if i not in blocked]
    _delete_stops(drafts)
    audit("stop-delete-drafts", None, user=service._user(user), batch=batch_id, stops=len(drafts))
    db.session.commit()
    return len(drafts)


# ---------------------------------------------------------------------------------------------------------------
# Pages

@bp.get("/imports")
@coordinator
def imports():
    """Every confirmed import with what is left of it: stops by status, and what can be done with them."""
    counts = {}
    for batch_id, status, n in db.session.execute(
            sa.select(Stop.batch_id, Stop.status, sa.func.count(Stop.id)).where(Stop.batch_id.is_not(None))
            .group_by(Stop.batch_id, Stop.status)):
        counts.setdefault(batch_id, {})[status.value] = n
    batches = list(db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.created_at.desc())))
    return render_template("planning/imports.html", batches=batches, counts=counts, removal=None, chosen=None,
                           blocking_message=blocking_message)


def _batch(batch_id: int) -> ImportBatch:
    batch = db.session.get(ImportBatch, batch_id)
    if batch is None:
        flash(_("This import was removed already."), "error")
        abort(redirect(url_for("planning.imports"), code=303))
    return batch


@bp.post("/imports/<int:batch_id>/remove")
@coordinator
def import_remove(batch_id: int):
    """First the dry run (what would go, or which stops keep it), then, confirmed, the removal."""
    batch = _batch(batch_id)
    user = current_user._get_current_object()
    if request.form.get("confirm") != "yes":
        removal = plan_removal(batch)
        return render_template("planning/imports.html", batches=[batch], counts={}, removal=removal, chosen=batch,
                               blocking_message=blocking_message)
    try:
        removal = remove(batch_id, user)
    except service.Refused as refused:
        flash(refused.errors[""][0], "error")
        return redirect(url_for("planning.imports"), code=303)
    flash(ngettext("The import is removed: %(num)d stop deleted.", "The import is removed: %(num)d stops deleted.",
                   removal.stops), "success")
    return redirect(url_for("planning.imports"), code=303)


@bp.post("/imports/<int:batch_id>/publish")
@coordinator
def import_publish(batch_id: int):
    _batch(batch_id)
    n = publish_drafts(batch_id, current_user._get_current_object())
    flash(ngettext("%(num)d stop is published.", "%(num)d stops are published.", n), "success")
    return redirect(url_for("planning.imports"), code=303)


@bp.post("/imports/<int:batch_id>/delete-drafts")
@coordinator
def import_delete_drafts(batch_id: int):
    _batch(batch_id)
    n = delete_drafts(_stop_ids(batch_id, only_drafts=True), current_user._get_current_object(), batch_id)
    flash(ngettext("%(num)d draft stop is deleted.", "%(num)d draft stops are deleted.", n), "success")
    return redirect(url_for("planning.imports"), code=303)


@bp.post("/stops/<int:stop_id>/delete")
@coordinator
def stop_delete(stop_id: int):
    """Delete one draft stop (with its draft workshops)."""
    n = delete_drafts([stop_id], current_user._get_current_object())
    if n:
        flash(_("The draft stop is deleted."), "success")
        return redirect(url_for("planning.index"), code=303)
    flash(_("Only a draft stop can be deleted. Cancel a published stop instead."), "error")
    return redirect(url_for("planning.stop", stop_id=stop_id), code=303)


def _week(text: str | None):
    """The Monday and the Monday after of the week a ?week= date falls in, as local times."""
    day = service.parse_date(text or "")
    if day is None:
        abort(400)
    monday = service.week_of(day)
    return monday, service.local(monday, time(0)), service.local(monday + timedelta(days=7), time(0))


@bp.post("/week/publish")
@coordinator
def week_publish():
    """Publish every draft stop of one week that is still ahead."""
    monday, starts, ends = _week(request.form.get("week"))
    n = publish_drafts(None, current_user._get_current_object(), starts=starts, ends=ends)
    flash(ngettext("%(num)d stop is published.", "%(num)d stops are published.", n), "success")
    return redirect(url_for("planning.index", week=monday.isoformat()), code=303)


@bp.post("/week/delete-drafts")
@coordinator
def week_delete_drafts():
    """Delete every draft stop of one week."""
    monday, starts, ends = _week(request.form.get("week"))
    ids = list(db.session.scalars(sa.select(Stop.id).where(Stop.status == StopStatus.DRAFT, Stop.starts_at >= starts,
                                                           Stop.starts_at < ends)))
    n = delete_drafts(ids, current_user._get_current_object())
    flash(ngettext("%(num)d draft stop is deleted.", "%(num)d draft stops are deleted.", n), "success")
    return redirect(url_for("planning.index", week=monday.isoformat()), code=303)
