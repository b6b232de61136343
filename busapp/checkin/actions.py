"""Staff actions at the door, each done exactly once per nonce: check-in, count, undo, walk-in, seating a waiting
party, releasing no-shows; and the double check-ins staff look at (busapp/checkin/service.py states the rules)."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..booking.service import new_code
from ..domain import seats
from ..domain.party import valid_party
from ..core.extensions import db
from ..models import (
    AuditEvent, Booking, BookingStatus, CheckIn, Device, Stop, StopStatus, User, Workshop, WorkshopStatus, audit,
    utcnow,
)
from .outcomes import (
    AGAIN, CANCELLED, CLOSED, DONE, FULL, INVALID, NAME_MAX, UNKNOWN, VALID, WAITING, _NONCE, Decision, Refused,
    _clean, _device_label,
)
from .tablets import hand_out_shares


@dataclass
class Action:
    """One staff action as a tablet sends it (online at once, or later from its queue)."""

    kind: str
    workshop_id: int
    nonce: str
    booking_id: int | None = None
    people: int | None = None
    name: str = ""
    party_size: int = 1
    sequence: int | None = None
    acted_at: datetime | None = None
    from_queue: bool = False
    user_id: int | None = None  # who acted, from the action's signature (an action from a tablet's queue)


def new_nonce() -> str:
    """A nonce for an action offered on a page (the tablet's script makes its own)."""
    return secrets.token_urlsafe(18)


def _same_device(device: Device | None):
    # Nonces are answered per tablet (None: staff pages on a device not registered): another tablet's nonce opens
    # nothing, not even whom its action concerned.
    return CheckIn.device_id == device.id if device is not None else CheckIn.device_id.is_(None)


def _stored(nonce: str, device: Device | None) -> CheckIn | None:
    return db.session.scalar(sa.select(CheckIn).where(CheckIn.nonce == nonce, _same_device(device))
                             .options(joinedload(CheckIn.booking)))


def summary(booking: Booking | None) -> dict | None:
    """What a tablet needs to know about the booking an action concerned."""
    if booking is None:
        return None
    return {"id": booking.id, "code": booking.code, "name": booking.name or "", "status": booking.status.value,
            "arrived": booking.arrived, "party_size": booking.party_size, "workshop_id": booking.workshop_id}


def _replayed(earlier: CheckIn) -> Decision:
    return Decision(earlier.outcome, earlier.booking, conflict=earlier.conflict, replay=True, record=earlier,
                    detail={"summary": summary(earlier.booking)})


def _record_action(action: Action, user_id: int | None, device: Device | None, now: datetime) -> Decision:
    """Apply one action and store it with its audit event, in the caller's transaction."""
    decision = _APPLY[action.kind](action, user_id, device, now)
    record = CheckIn(
        nonce=action.nonce, device_id=device.id if device is not None else None, sequence=action.sequence,
        kind=action.kind, workshop_id=action.workshop_id,
        booking_id=decision.booking.id if decision.booking is not None else None,
        people=decision.detail.get("people", action.people or 0), user_id=user_id,
        acted_at=min(action.acted_at or now, now), received_at=now, outcome=decision.outcome,
        conflict=decision.conflict,
    )
    db.session.add(record)
    # The event by hand rather than through audit(): it takes the user's id, so the user is not loaded.
    db.session.add(AuditEvent(
        action=f"checkin-{action.kind}", object_type="booking" if decision.booking is not None else "",
        object_id=str(decision.booking.id) if decision.booking is not None else "", user_id=user_id,
        device=_device_label(device), detail={
            "outcome": decision.outcome, "workshop": action.workshop_id, "nonce": action.nonce,
            "sequence": action.sequence, "conflict": decision.conflict, "people": record.people}))
    db.session.flush()
    decision.record = record
    decision.detail["summary"] = summary(decision.booking)
    return decision


def perform(action: Action, user: User | None = None, device: Device | None = None,
            now: datetime | None = None, nonce_checked: bool = False) -> Decision:
    """Do one action exactly once per nonce, by the module's rules; never raises for a refusal.

    `nonce_checked`: the caller has just looked the nonce up and found nothing (a racing replay is still caught by
    the nonce's UNIQUE constraint)."""
    if not isinstance(action.nonce, str) or not _NONCE.match(action.nonce):
        return Decision(INVALID)
    earlier = None if nonce_checked else _stored(action.nonce, device)
    if earlier is not None:
        return _replayed(earlier)
    user_id = action.user_id if action.user_id is not None else (user.id if user is not None else None)
    when = now
    if action.kind in ("walkin", "seat") and not action.from_queue:
        # Booking may have closed since anyone looked: the tablets in line get their shares before this takes a seat.
        hand_out_shares(now)

    def work() -> Decision:
        return _record_action(action, user_id, device, when or utcnow())

    try:
        decision = seats.transaction(work)
    except IntegrityError:
        # The same nonce arrived twice at once, or a sequence number was used twice: the first one stands.
        db.session.rollback()
        earlier = _stored(action.nonce, device)
        if earlier is None:
            return Decision(INVALID, detail={"sequence_reused": True})
        return _replayed(earlier)
    return decision


def booking_of(booking_id: int, workshop: Workshop) -> Booking | None:
    """A booking of this workshop by its id, or None."""
    return _booking(booking_id, workshop.id)


def _booking(booking_id: int | None, workshop_id: int) -> Booking | None:
    if booking_id is None:
        return None
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.workshop_id != workshop_id:
        return None
    return booking


# The whole party unless a number is given; only a confirmed booking of this workshop nobody has checked in yet.
_PEOPLE = sa.func.coalesce(sa.bindparam("people", type_=sa.Integer), Booking.party_size)
_CHECK_IN = (
    sa.update(Booking)
    .where(Booking.id == sa.bindparam("bid"), Booking.workshop_id == sa.bindparam("wid"),
           Booking.status == BookingStatus.CONFIRMED, Booking.arrived == 0, _PEOPLE <= Booking.party_size)
    .values(arrived=_PEOPLE, checked_in_at=sa.bindparam("at"),
            checked_in_device=sa.bindparam("device"), checked_in_by_id=sa.bindparam("uid"))
    .execution_options(synchronize_session=False)
)


def _apply_checkin(action: Action, user_id: int | None, device: Device | None, now: datetime) -> Decision:
    # The conditional UPDATE comes first: it decides on its own (no workshop lock needed), and on SQLite a
    # transaction must begin with its write.
    done = db.session.execute(_CHECK_IN, {"bid": action.booking_id, "wid": action.workshop_id,
                                          "people": action.people, "at": action.acted_at or now,
                                          "device": _device_label(device)[:64], "uid": user_id}).rowcount
    booking = _booking(action.booking_id, action.workshop_id)
    if booking is None:
        return Decision(UNKNOWN)
    if done:
        return Decision(VALID, booking, detail={"people": booking.arrived})
    if action.people is not None and not 1 <= action.people <= booking.party_size:
        return Decision(INVALID, booking)
    if booking.status == BookingStatus.CANCELLED:
        return Decision(CANCELLED, booking)
    if booking.status == BookingStatus.WAITING:
        return Decision(WAITING, booking)
    # Already checked in. From an offline queue, by someone else, this is the double check-in to look at.
    other_hand = booking.checked_in_device != _device_label(device) or booking.checked_in_by_id != user_id
    return Decision(AGAIN, booking, conflict=action.from_queue and other_hand, detail={"people": 0})


def _apply_count(action: Action, user_id: int | None, device: Device | None, now: datetime) -> Decision:
    seats.lock(action.workshop_id)
    booking = _booking(action.booking_id, action.workshop_id)
    if booking is None:
        return Decision(UNKNOWN)
    people = action.people or 0
    if not 1 <= people <= booking.party_size or booking.status != BookingStatus.CONFIRMED or not booking.arrived:
        return Decision(INVALID, booking)
    booking.arrived = people
    return Decision(DONE, booking, detail={"people": people})


def _apply_undo(action: Action, user_id: int | None, device: Device | None, now: datetime) -> Decision:
    seats.lock(action.workshop_id)
    booking = _booking(action.booking_id, action.workshop_id)
    if booking is None:
        return Decision(UNKNOWN)
    if not booking.arrived:
        return Decision(DONE, booking, detail={"people": 0})
    booking.arrived = 0
    booking.checked_in_at = None
    booking.checked_in_device = None
    booking.checked_in_by_id = None
    return Decision(DONE, booking, detail={"people": 0})


def _open_for_walk_ins(workshop_id: int, now: datetime) -> bool:
    row = db.session.execute(
        sa.select(Workshop.status, Workshop.starts_at, Workshop.duration_minutes, Stop.status)
        .join(Stop, Stop.id == Workshop.stop_id).where(Workshop.id == workshop_id)
    ).one_or_none()
    if row is None:
        return False
    status, starts_at, minutes, stop_status = row
    return (status == WorkshopStatus.PUBLISHED and stop_status == StopStatus.PUBLISHED
            and now < starts_at + timedelta(minutes=minutes))


def _welcomes_walk_ins(workshop_id: int) -> bool:
    """Whether the workshop takes people who just come by (set by the coordinator; "only with a booking" if not)."""
    return bool(db.session.scalar(sa.select(Workshop.walk_ins).where(Workshop.id == workshop_id)))


def _use_share(device: Device | None, workshop_id: int, n: int) -> bool:
    return device is not None and seats.use_share(device.id, workshop_id, n)


def _seat(action: Action, device: Device | None, n: int) -> bool:
    """Take n seats for a walk-in or a waiting party: from the queue the tablet's share first (it seated them
    against it), online a free seat first (the share stays for when the network is gone)."""
    if action.from_queue:
        return _use_share(device, action.workshop_id, n) or seats.take(action.workshop_id, n)
    return seats.take(action.workshop_id, n) or _use_share(device, action.workshop_id, n)


def _acted(action: Action, now: datetime) -> datetime:
    """When an action happened: for a queued one the tablet's time of it (never later than now), else now."""
    if action.from_queue and action.acted_at is not None:
        return min(action.acted_at, now)
    return now


def _apply_walkin(action: Action, user_id: int | None, device: Device | None, now: datetime) -> Decision:
    seats.lock(action.workshop_id)
    name = _clean(action.name, NAME_MAX)
    n = action.party_size
    if not name or not valid_party(n):
        return Decision(INVALID)
    if not _open_for_walk_ins(action.workshop_id, _acted(action, now)) or not _welcomes_walk_ins(action.workshop_id):
        return Decision(CLOSED)
    if not _seat(action, device, n):
        if action.from_queue:
            return _waiting_walk_in(action, name, now)
        return Decision(FULL, detail={"people": 0})
    booking = Booking(
        workshop_id=action.workshop_id, party_size=n, name=name, status=BookingStatus.CONFIRMED, code=new_code(),
        manage_token=secrets.token_urlsafe(32),
        idempotency_key="walkin-" + hashlib.sha256(action.nonce.encode()).hexdigest()[:40], locale="de",
        created_at=now, confirmed_at=now, walk_in=True, arrived=n, checked_in_at=action.acted_at or now,
        checked_in_device=_device_label(device)[:64] or None, checked_in_by_id=user_id,
    )
    db.session.add(booking)
    db.session.flush()
    return Decision(VALID, booking, detail={"people": n})


def _waiting_walk_in(action: Action, name: str, now: datetime) -> Decision:
    """A walk-in seated offline beyond the tablet's share ("waiting for a seat" on the tablet) for whom no seat is
    free now: kept on the waiting list, in the order they came, for staff to seat when a seat is free."""
    booking = Booking(
        workshop_id=action.workshop_id, party_size=action.party_size, name=name, status=BookingStatus.WAITING,
        code=new_code(), manage_token=secrets.token_urlsafe(32),
        idempotency_key="walkin-" + hashlib.sha256(action.nonce.encode()).hexdigest()[:40], locale="de",
        created_at=_acted(action, now), walk_in=True, arrived=0,
    )
    db.session.add(booking)
    db.session.flush()
    return Decision(WAITING, booking, detail={"people": 0})


def _apply_seat(action: Action, user_id: int | None, device: Device | None, now: datetime) -> Decision:
    """A waiting party that is here gets seats (after seats were released) and is checked in."""
    seats.lock(action.workshop_id)
    booking = _booking(action.booking_id, action.workshop_id)
    if booking is None:
        return Decision(UNKNOWN)
    if booking.status != BookingStatus.WAITING:
        return _apply_checkin(action, user_id, device, now)
    if not _open_for_walk_ins(action.workshop_id, _acted(action, now)):
        return Decision(CLOSED, booking)
    n = booking.party_size
    if not _seat(action, device, n):
        return Decision(FULL, booking, detail={"people": 0})
    people = action.people if action.people and 1 <= action.people <= n else n
    booking.status = BookingStatus.CONFIRMED
    booking.confirmed_at = now
    booking.arrived = people
    booking.checked_in_at = action.acted_at or now
    booking.checked_in_device = _device_label(device)[:64] or None
    booking.checked_in_by_id = user_id
    return Decision(VALID, booking, detail={"people": people})


_APPLY = {"checkin": _apply_checkin, "count": _apply_count, "undo": _apply_undo, "walkin": _apply_walkin,
          "seat": _apply_seat}


def release(workshop: Workshop, user: User | None = None, device: Device | None = None,
            now: datetime | None = None) -> int:
    """From the workshop's start: cancel confirmed bookings nobody checked in for; returns the seats set free."""
    now = now or utcnow()
    if now < workshop.starts_at:
        raise Refused("not_started")
    workshop_id = workshop.id

    def work() -> int:
        seats.lock(workshop_id)
        absent = db.session.execute(
            sa.select(Booking.id, Booking.party_size, Booking.code).where(
                Booking.workshop_id == workshop_id, Booking.status == BookingStatus.CONFIRMED, Booking.arrived == 0)
        ).all()
        freed = 0
        codes = []
        for booking_id, party_size, code in absent:
            gone = db.session.execute(
                sa.update(Booking)
                .where(Booking.id == booking_id, Booking.status == BookingStatus.CONFIRMED, Booking.arrived == 0)
                .values(status=BookingStatus.CANCELLED, cancelled_at=now)
                .execution_options(synchronize_session=False)
            ).rowcount
            if gone:
                seats.give_back(workshop_id, party_size)
                freed += party_size
                codes.append(code)
        audit("checkin-release", db.session.get(Workshop, workshop_id), user=user, device=_device_label(device),
              seats=freed, bookings=codes)
        return freed

    return seats.transaction(work)


def conflicts(stop: Stop | None = None, *, stops: list[Stop] | None = None,
              workshop: Workshop | None = None) -> list[CheckIn]:
    """Double check-ins from offline tablets that nobody has looked at yet: at this stop, at these stops (the
    day's), or of this workshop. They stay on every tablet's pages until a staff member marks them seen."""
    if workshop is not None:
        where = CheckIn.workshop_id == workshop.id
    else:
        where = Workshop.stop_id.in_([s.id for s in (stops if stops is not None else [stop])])
    return list(db.session.scalars(
        sa.select(CheckIn)
        .join(Workshop, Workshop.id == CheckIn.workshop_id)
        .where(where, CheckIn.conflict.is_(True), CheckIn.conflict_seen_at.is_(None))
        .order_by(CheckIn.received_at)
        .options(joinedload(CheckIn.booking), joinedload(CheckIn.device), joinedload(CheckIn.user))
    ))


def mark_conflict_seen(record: CheckIn, user: User) -> None:
    """Staff have looked at a double check-in."""
    if record.conflict_seen_at is None:
        record.conflict_seen_at = utcnow()
        audit("checkin-conflict-seen", record.booking, user=user, check_in=record.id)
        db.session.commit()
