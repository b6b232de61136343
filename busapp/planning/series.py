"""Series: stops made together ("repeat this stop", or one line of an imported timetable with a repeat rule) keep
their link, as a series of appointments does in a calendar program. A coordinator changes or cancels "this one",
"this and all following" or "the whole series".

Which stops
    A change reaches the stops of the series that are neither cancelled nor over: "this and all following" those
    from this stop's start on, "the whole series" all of them; stops that are over stay as they were. On each date
    the same workshop is the one with the same series key (Workshop.series_key). A stop or workshop changed on its
    own stays in its series.

Changing stops of a series
    The change is read as what changed about this stop: its place and bus, its start and end time, and the number
    of days it moved. Every stop reached gets the same place, bus and times and moves by as many days, counted on
    the town's calendar (10:00 stays 10:00 across the change to summer time). Each stop must still pass the
    planning rules (planning.service.check_stop), against the bus's other stops and against each other, or nothing
    is saved and the answer names every date that cannot be used. As for one stop, the people booked on a stop that
    moves are told in the same transaction (the note on their tickets and a mail, planning.changes), and a move
    that reaches people needs that note. The coordinator sees the dry run first: each date before and after, and
    who is told.

Changing workshops of a series
    The workshop's texts, seats and time of day go to the same workshop on every date reached, each checked as one
    workshop is (planning.service.check_workshop). Seats change only under each workshop's seat lock and never
    below the seats taken there (domain.seats.set_capacity, through planning.service.write_workshop); raised seats
    move waiting parties up after the commit. All or nothing, naming the dates that cannot take the change.

Cancelling
    "This and all following" or the whole series is a cancellation of many (planning.changes.cancel_many), with its
    dry run.

Every write takes the planning lock first and checks again inside its transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask_babel import format_datetime, gettext as _

from ..booking import service as booking_service
from ..core.extensions import db
from ..models import Booking, Stop, StopStatus, User, Workshop, WorkshopStatus, utcnow
from . import changes, service
from .writes import Refused, lock as _planning_lock

SCOPES = ("one", "following", "all")


def scope_of(text: str | None) -> str:
    """A scope from a form: one of SCOPES, "one" for anything else."""
    return text if text in SCOPES else "one"


def members(stop: Stop, scope: str, now: datetime | None = None) -> list[Stop]:
    """The stops a change of `stop` reaches in this scope, by start: never cancelled ones nor ones that are over."""
    if scope == "one" or stop.series_id is None:
        return [stop]
    query = sa.select(Stop).where(Stop.series_id == stop.series_id, Stop.status != StopStatus.CANCELLED,
                                  Stop.ends_at > (now or utcnow()))
    if scope == "following":
        query = query.where(sa.or_(Stop.starts_at > stop.starts_at,
                                   sa.and_(Stop.starts_at == stop.starts_at, Stop.id >= stop.id)))
    found = list(db.session.scalars(query.order_by(Stop.starts_at, Stop.id)))
    return found if stop in found else [stop] + found


def reach(stop: Stop) -> dict[str, int]:
    """How many stops each scope reaches, for the coordinator's choice; {"one": 1} for a stop in no series."""
    if stop.series_id is None:
        return {"one": 1}
    following, whole = len(members(stop, "following")), len(members(stop, "all"))
    return {"one": 1, "following": following, "all": whole} if whole > 1 else {"one": 1}


def workshop_members(workshop: Workshop, scope: str, now: datetime | None = None) -> list[Workshop]:
    """The same workshop on every date the scope reaches (not cancelled), by start."""
    if scope == "one" or workshop.series_key is None or workshop.stop.series_id is None:
        return [workshop]
    stop_ids = [s.id for s in members(workshop.stop, scope, now)]
    found = list(db.session.scalars(
        sa.select(Workshop).join(Workshop.stop).where(
            Workshop.stop_id.in_(stop_ids), Workshop.series_key == workshop.series_key,
            Workshop.status != WorkshopStatus.CANCELLED).order_by(Stop.starts_at, Workshop.id)))
    return found if workshop in found else [workshop] + found


def workshop_reach(workshop: Workshop) -> dict[str, int]:
    """How many workshops each scope reaches; {"one": 1} for a workshop on one date only."""
    if workshop.series_key is None or workshop.stop.series_id is None:
        return {"one": 1}
    following, whole = len(workshop_members(workshop, "following")), len(workshop_members(workshop, "all"))
    return {"one": 1, "following": following, "all": whole} if whole > 1 else {"one": 1}


def _day(when: datetime) -> str:
    return format_datetime(when, "EEE dd.MM.yyyy")


# ---------------------------------------------------------------------------------------------------------------
# Stops

@dataclass
class Move:
    """One stop of the series before and after the change, with the rules the new time breaks."""

    stop: Stop
    draft: service.StopDraft
    # The rules the new time breaks, by the form field they are about ("start", "end", "day", "place").
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return [m for messages in self.errors.values() for m in messages]

    @property
    def changes(self) -> bool:
        return service.stop_moves(self.stop, self.draft) or bool(
            self.draft.bus_id and self.draft.bus_id != self.stop.bus_id)


def plan_moves(stop: Stop, scope: str, draft: service.StopDraft) -> list[Move]:
    """What the change of `stop` to `draft` does to every stop the scope reaches, each checked; writes nothing."""
    zone = service.tz()
    first, last = draft.starts_at.astimezone(zone), draft.ends_at.astimezone(zone)
    days = (first.date() - service.local_day(stop.starts_at)).days
    overnight = (last.date() - first.date()).days  # a stop into the night ends on the next day on every date
    moves = []
    for member in members(stop, scope):
        day = service.local_day(member.starts_at) + timedelta(days=days)
        moves.append(Move(member, service.StopDraft(
            place_id=draft.place_id, starts_at=service.local(day, first.time()),
            ends_at=service.local(day + timedelta(days=overnight), last.time()), bus_id=draft.bus_id)))
    ignore = {m.stop.id for m in moves}
    for move in moves:
        if move.changes:
            move.errors = service.check_stop(move.draft, move.stop, ignore=ignore)
    # The moved stops against each other: one bus is at one stop at a time.
    ordered = sorted(moves, key=lambda m: (m.draft.bus_id or m.stop.bus_id, m.draft.starts_at))
    for before, after in zip(ordered, ordered[1:]):
        if (before.draft.bus_id or before.stop.bus_id) == (after.draft.bus_id or after.stop.bus_id) \
                and after.draft.starts_at < before.draft.ends_at:
            after.errors.setdefault("start", []).append(_("The bus is at another stop of this series then: %(when)s.",
                                                          when=_day(before.draft.starts_at)))
    return moves


def _dated(changes_with_errors) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for when, errors in changes_with_errors:
        for name, messages in errors.items():
            found.setdefault(name, []).extend(f"{_day(when)}: {m}" for m in messages)
    return found


def problems(moves: list[Move]) -> dict[str, list[str]]:
    """Each date that cannot take the change, with why, by the form field it is about."""
    return _dated((m.stop.starts_at, m.errors) for m in moves)


def dry_run(moves: list[Move]) -> changes.Impact:
    """Who the change reaches: the people booked on the stops that move."""
    return changes.impact_of(stop_ids=[m.stop.id for m in moves if m.changes])


def save_moves(stop_id: int, scope: str, draft: service.StopDraft, user: User | None, note: str = "",
               notes: dict[str, str] | None = None) -> list[Move]:
    """Change the stop and, by scope, the following ones or the whole series, all or nothing; raises Refused naming
    each date that cannot be used, or asking for the note when people are booked on a stop that moves."""
    _planning_lock()
    stop = db.session.get(Stop, stop_id)
    if stop is None or stop.status == StopStatus.CANCELLED:
        db.session.rollback()
        raise Refused({"": [_("This stop no longer exists.")]})
    moves = plan_moves(stop, scope, draft)
    found = problems(moves)
    if found:
        db.session.rollback()
        raise Refused({"": [_("Nothing was saved.")], **found})
    moving = [m for m in moves if m.changes]
    if not note and any(service.active_bookings(m.stop) for m in moving if service.stop_moves(m.stop, m.draft)):
        db.session.rollback()
        raise Refused({"note": [_("People have booked: please say what changed and why. They will read it.")]})
    for move in moving:
        service.write_stop(move.stop, move.draft, user, note, notes, series=scope)
    db.session.commit()
    return moves


# ---------------------------------------------------------------------------------------------------------------
# Workshops

@dataclass
class WorkshopChange:
    """The same workshop on one date before and after the change, with the rules the change breaks there."""

    workshop: Workshop
    draft: service.WorkshopDraft
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> list[str]:
        return [m for messages in self.errors.values() for m in messages]

    @property
    def moves(self) -> bool:
        return service.workshop_moved(self.workshop, self.draft)

    @property
    def changes(self) -> bool:
        """The dry run's "new time" column: shown where the workshop gets another time."""
        return self.moves


def plan_workshops(workshop: Workshop, scope: str, draft: service.WorkshopDraft) -> list[WorkshopChange]:
    """What the change does to the same workshop on every date the scope reaches, each checked; writes nothing."""
    at = draft.starts_at.astimezone(service.tz()).time()
    planned = []
    for member in workshop_members(workshop, scope):
        mine = replace(draft, starts_at=service.local(service.local_day(member.stop.starts_at), at))
        planned.append(WorkshopChange(member, mine, service.check_workshop(member.stop, mine, member)))
    return planned


def workshop_problems(planned: list[WorkshopChange]) -> dict[str, list[str]]:
    """Each date that cannot take the change, with why, by the form field it is about."""
    return _dated((c.workshop.stop.starts_at, c.errors) for c in planned)


def workshop_dry_run(planned: list[WorkshopChange]) -> changes.Impact:
    """Who the change reaches: the people booked in the workshops that get another time."""
    return changes.impact_of(workshop_ids=[c.workshop.id for c in planned if c.moves])


def save_workshops(workshop_id: int, scope: str, draft: service.WorkshopDraft, user: User | None,
                   note: str = "", notes: dict[str, str] | None = None) -> tuple[list[Workshop], list[Booking]]:
    """Change the workshop and, by scope, the same workshop on the following dates or in the whole series, all or
    nothing; returns them and the parties moved up. Raises Refused naming the dates that cannot take it."""
    _planning_lock()
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status == WorkshopStatus.CANCELLED:
        db.session.rollback()
        raise Refused({"": [_("This workshop no longer exists.")]})
    planned = plan_workshops(workshop, scope, draft)
    found = workshop_problems(planned)
    if found:
        db.session.rollback()
        raise Refused({"": [_("Nothing was saved.")], **found})
    if not note and any(c.moves and service.workshop_bookings(c.workshop) for c in planned):
        db.session.rollback()
        raise Refused({"note": [_("People have booked: please say what changed and why. They will read it.")]})
    raised = []
    # In workshop order, as every writer that locks several workshops' seats does (planning.changes).
    for change in sorted(planned, key=lambda c: c.workshop.id):
        written, more = service.write_workshop(change.workshop.stop, change.workshop, change.draft, user, note,
                                               notes, series=scope)
        if more:
            raised.append(written.id)
    ids = [c.workshop.id for c in planned]
    db.session.commit()
    promoted = [b for wid in raised for b in booking_service.fill_from_waiting_list(wid)]
    return [db.session.get(Workshop, i) for i in ids], promoted
