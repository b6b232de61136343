"""The call list of a stop (/admin/stops/<id>/calls): the people its last change reached who gave only a phone number,
with ticks for "called" and "reached" kept on the server, so that two coordinators can share the list and a
printed or reloaded list shows who is done.

The rules
    A tick belongs to a booking on the stop's call list (planning.changes.call_list); anything else is refused.
    "Reached" means "called" too: ticking it ticks both, and taking "called" back takes both back. A tick counts
    for the stop's latest change only: once the stop changes again (changed_at later than the tick), everybody
    has to be called again and the list shows them unticked. Each change of a tick is one short planning write
    (the planning lock, then the row written or updated) and is recorded in the audit log. Two coordinators ticking
    different people never undo each other: the page sends only the rows that changed since it was shown.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.orm import joinedload

from ..accounts.auth import role_required
from ..core.extensions import db
from ..core.forms import typed_id
from ..core.htmx import is_partial
from ..models import Booking, CallMark, Role, Stop, User, audit, utcnow
from . import bp, changes, writes


@dataclass(frozen=True)
class Tick:
    """Where the list stands for one person: called, reached, when last ticked and by whom."""

    called: bool = False
    reached: bool = False
    at: datetime | None = None
    by: str = ""


def _counts(stop: Stop, mark: CallMark | None) -> Tick:
    if mark is None:
        return Tick()
    since = stop.changed_at

    def valid(at: datetime | None) -> bool:
        return at is not None and (since is None or at >= since)

    called, reached = valid(mark.called_at), valid(mark.reached_at)
    if not (called or reached):
        return Tick()
    return Tick(called or reached, reached, mark.updated_at, mark.user.email if mark.user else "")


def ticks(stop: Stop, people: list[Booking]) -> dict[int, Tick]:
    """Each listed person's ticks that count for the stop's latest change, in one statement."""
    ids = [b.id for b in people]
    marks = {m.booking_id: m for m in db.session.scalars(
        sa.select(CallMark).where(CallMark.booking_id.in_(ids)).options(joinedload(CallMark.user)))} if ids else {}
    return {b.id: _counts(stop, marks.get(b.id)) for b in people}


class NotOnTheList(Exception):
    """The booking is not on this stop's call list (any more)."""


def mark(stop_id: int, booking_id: int, called: bool, reached: bool, user: User | None) -> Tick:
    """Set one person's ticks; "reached" implies "called". Raises NotOnTheList."""
    writes.lock()
    stop = db.session.get(Stop, stop_id)
    if stop is None or booking_id not in {b.id for b in changes.call_list(stop)}:
        db.session.rollback()
        raise NotOnTheList(booking_id)
    called = called or reached
    now = utcnow()
    row = db.session.get(CallMark, booking_id)
    if row is None:
        row = CallMark(booking_id=booking_id)
        db.session.add(row)
    before = _counts(stop, row) if row.updated_at is not None else Tick()
    row.called_at = (row.called_at if before.called and row.called_at else now) if called else None
    row.reached_at = (row.reached_at if before.reached and row.reached_at else now) if reached else None
    row.user = writes.user_in_session(user)
    row.updated_at = now
    audit("call-mark", db.session.get(Booking, booking_id), user=row.user, stop=stop_id, called=called,
          reached=reached)
    db.session.commit()
    return _counts(stop, row)


# ---------------------------------------------------------------------------------------------------------------
# The page

def _flag(name: str) -> bool:
    return request.form.get(name) in ("1", "on", "yes")


@bp.get("/stops/<int:stop_id>/calls")
@role_required(Role.COORDINATOR)
def calls(stop_id: int):
    """The printable call list with its ticks; opening it is recorded in the audit log."""
    stop = db.get_or_404(Stop, stop_id)
    people = changes.call_list(stop)
    audit("call-list", stop, user=current_user._get_current_object(), rows=len(people))
    db.session.commit()
    return render_template("planning/calls.html", stop=stop, people=people, ticks=ticks(stop, people))


@bp.post("/stops/<int:stop_id>/calls/ticks")
@role_required(Role.COORDINATOR)
def calls_save(stop_id: int):
    """Save the ticks that changed since the page was shown: one row (as it is ticked, htmx) or the whole form."""
    stop = db.get_or_404(Stop, stop_id)
    only = typed_id(request.form.get("only"))
    rows = [only] if only else [typed_id(v) for v in request.form.getlist("row")]
    user = current_user._get_current_object()
    saved: list[tuple[Booking, Tick]] = []
    refused = 0
    for booking_id in filter(None, rows):
        called, reached = _flag(f"called-{booking_id}"), _flag(f"reached-{booking_id}")
        was = (_flag(f"was-called-{booking_id}"), _flag(f"was-reached-{booking_id}"))
        if was[0] and not called:
            reached = False  # "called" taken back takes "reached" with it
        if (called or reached, reached) == was and not only:
            continue
        try:
            tick = mark(stop_id, booking_id, called, reached, user)
        except NotOnTheList:
            refused += 1
            continue
        saved.append((db.session.get(Booking, booking_id), tick))
    if only:
        if not saved:
            abort(409)
        booking, tick = saved[0]
        if is_partial():
            return render_template("planning/_call_row.html", stop=stop, b=booking, tick=tick, saved=True)
    if refused:
        flash(_("Some people are no longer on this list; their ticks were not saved."), "error")
    flash(_("The ticks are saved."), "success")
    return redirect(url_for("planning.calls", stop_id=stop.id), code=303)
