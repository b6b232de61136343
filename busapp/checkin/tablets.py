"""Tablets: asking to be set up, a coordinator's approval, revoking; their seat shares for offline walk-ins, and
the day's data they prepare (busapp/checkin/service.py states the pairing and seat-share rules)."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..core import tickets
from ..booking.service import promote
from ..domain import seats
from ..core.extensions import db
from ..domain.offer import closes_at
from ..models import (
    DEFAULT_BUS_NAME, AuditEvent, Booking, Bus, Device, Role, SeatShare, Stop, StopStatus, User, Workshop,
    WorkshopStatus, audit, utcnow,
)
from .outcomes import DEVICE_NAME_MAX, INVALID, Refused, _clean, _device_label
from .places import end_of_day, place_name, stops_of_day, workshops_of_day


def _hash(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


MAX_WAITING = 10  # tablets waiting for approval at once: enough for a new bus, too few to flood the list
TOO_MANY_WAITING = "too_many_waiting"  # a Refused reason: MAX_WAITING tablets wait for approval already
BUS_FULL = "bus_full"  # a Refused reason: the bus has TABLETS_PER_BUS approved tablets
GONE = "gone"  # a Refused reason: the request was approved, refused or revoked meanwhile


def register_device(name: str, user: User, bus_id: int | None = None) -> tuple[Device, str]:
    """A tablet asks to be set up (the pairing rule); returns it and its sync credential (shown once, stored only
    as a hash). A coordinator setting up a tablet themselves approves it at once, while the bus has room; else it
    waits for a coordinator's approval."""
    name = _clean(name, DEVICE_NAME_MAX)
    if not name:
        raise Refused(INVALID)
    if db.session.scalar(sa.select(sa.func.count()).select_from(Device).where(
            Device.approved_at.is_(None), Device.revoked_at.is_(None))) >= MAX_WAITING:
        raise Refused(TOO_MANY_WAITING)
    credential = secrets.token_urlsafe(32)
    device = Device(name=name, token_hash=_hash(credential), created_by_id=user.id, bus_id=bus_id)
    db.session.add(device)
    db.session.flush()
    audit("device-register", device, user=user, device=name, bus=bus_id)
    db.session.commit()
    if user.role == Role.COORDINATOR:
        try:
            approve_device(device, user)
        except Refused:
            pass  # the bus is full: the request waits, and the page says why
        db.session.refresh(device)
    return device, credential


def pairing_code(device: Device) -> str:
    """Six digits the tablet shows while it waits, so the coordinator approves the right one ("418 027")."""
    number = int(device.token_hash[:12], 16) % 1_000_000
    return f"{number // 1000:03d} {number % 1000:03d}"


def _lock_bus(bus_id: int | None) -> int | None:
    """Lock the tablet's bus (its own, or the first bus) for counting its tablets, as the transaction's first
    statement (a no-op UPDATE, like the seats' lock); returns the bus's id, or None when there is no bus yet."""
    first = sa.select(sa.func.min(Bus.id)).scalar_subquery()
    wanted = sa.func.coalesce(sa.bindparam("bid", type_=sa.Integer), first)
    db.session.execute(sa.update(Bus).where(Bus.id == wanted).values(name=Bus.name)
                       .execution_options(synchronize_session=False), {"bid": bus_id})
    return db.session.scalar(sa.select(Bus.id).where(Bus.id == sa.func.coalesce(
        sa.bindparam("bid", type_=sa.Integer), first)), {"bid": bus_id})


def _on_bus(bus_id: int):
    """SQL condition: a tablet travels in this bus (a tablet without a bus is the first bus's)."""
    first = sa.select(sa.func.min(Bus.id)).scalar_subquery()
    return sa.or_(Device.bus_id == bus_id, sa.and_(Device.bus_id.is_(None), first == bus_id))


def approved_on(bus_id: int) -> int:
    """How many approved, not revoked tablets travel in this bus."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Device).where(
        Device.approved_at.is_not(None), Device.revoked_at.is_(None), _on_bus(bus_id)))


def approve_device(device: Device, user: User, now: datetime | None = None) -> Device:
    """A coordinator approves a waiting tablet (the pairing rule): at most TABLETS_PER_BUS per bus, also when two
    coordinators approve at once. Raises Refused(BUS_FULL) or Refused(GONE)."""
    now = now or utcnow()
    limit = current_app.config["TABLETS_PER_BUS"]
    device_id, wanted_bus = device.id, device.bus_id

    def work() -> Device:
        bus_id = _lock_bus(wanted_bus)
        if bus_id is None:  # no stop and no bus yet: the first bus is made here, as with the first stop
            bus = Bus(name=DEFAULT_BUS_NAME)
            db.session.add(bus)
            db.session.flush()
            bus_id = bus.id
        if approved_on(bus_id) >= limit:
            raise Refused(BUS_FULL)
        done = db.session.execute(
            sa.update(Device).where(Device.id == device_id, Device.approved_at.is_(None),
                                    Device.revoked_at.is_(None))
            .values(approved_at=now, approved_by_id=user.id, bus_id=bus_id)
            .execution_options(synchronize_session=False)).rowcount
        if not done:
            raise Refused(GONE)
        approved = db.session.get(Device, device_id)
        db.session.refresh(approved)
        audit("device-approve", approved, user=user, device=approved.name, bus=bus_id)
        return approved

    for attempt in range(2):
        try:
            return seats.transaction(work)
        except Refused:
            db.session.rollback()
            raise
        except IntegrityError:  # two coordinators made the first bus at once: the other one stands
            db.session.rollback()
            if attempt:
                raise
    raise AssertionError("unreachable")


def device_for(credential: str | None) -> Device | None:
    """The approved, not revoked tablet holding this credential, or None."""
    device = _holding(credential)
    return device if device is not None and device.is_approved else None


def waiting_device(credential: str | None) -> Device | None:
    """The tablet holding this credential while it waits for a coordinator's approval, or None."""
    device = _holding(credential)
    return device if device is not None and device.is_waiting else None


def _holding(credential: str | None) -> Device | None:
    if not credential or len(credential) > 100:
        return None
    return db.session.scalar(sa.select(Device).where(Device.token_hash == _hash(credential)))


def revoke_device(device: Device, user: User) -> None:
    """Revoke a tablet (or refuse one that waits): its credential stops working at once and its held walk-in seats
    go back."""
    if device.revoked_at is None:
        action = "device-refuse" if device.approved_at is None else "device-revoke"
        device.revoked_at = utcnow()
        device.revoked_by_id = user.id
        audit(action, device, user=user, device=device.name)
        db.session.commit()
    return_shares(device)


def devices() -> list[Device]:
    """All tablets: waiting for approval first, then the approved ones, then the revoked."""
    state = sa.case((Device.revoked_at.is_not(None), 2), (Device.approved_at.is_(None), 0), else_=1)
    return list(db.session.scalars(sa.select(Device).order_by(state, Device.name, Device.id)))


def _share_wanted(workshop: Workshop, now: datetime, until: datetime) -> bool:
    """Whether preparing now puts the tablet in line for a share of this workshop (the seat-share rule): published,
    not started, and starting before the day's data expires."""
    return (workshop.status == WorkshopStatus.PUBLISHED and workshop.stop.status == StopStatus.PUBLISHED
            and now < workshop.starts_at < until)


def shares_left(device: Device) -> dict[int, int]:
    """The seats each of this tablet's shares still holds, by workshop id: shares taken, not those in line."""
    return seats.shares_left(device.id)


def _line_up(device: Device, workshop: Workshop) -> None:
    """Put the tablet in line for a share of the workshop (once); no seat is held until booking closes."""
    device_id, workshop_id = device.id, workshop.id

    def work() -> bool:
        seats.lock(workshop_id)
        return seats.line_up(device_id, workshop_id)

    try:
        seats.transaction(work)
    except IntegrityError:  # the same tablet prepared twice at once: the other request put it in line
        db.session.rollback()


def hand_out_shares(now: datetime | None = None) -> dict[int, dict[int, int]]:
    """Booking has closed: the tablets in line get their shares from the seats still free (the seat-share rule).
    Done at every prepare and sync of any tablet and before every walk-in, the first time after booking closed.
    Returns the seats each tablet got, by workshop id and device id."""
    now = now or utcnow()
    closes = timedelta(minutes=current_app.config["BOOKING_CLOSES_MINUTES"])
    # A plain read first: mostly nobody is in line, and then nothing is written.
    due = sorted(set(db.session.scalars(
        sa.select(SeatShare.workshop_id).join(Workshop, Workshop.id == SeatShare.workshop_id)
        .join(Stop, Stop.id == Workshop.stop_id)
        .where(SeatShare.taken_at.is_(None), Workshop.starts_at <= now + closes,
               Workshop.status == WorkshopStatus.PUBLISHED, Stop.status == StopStatus.PUBLISHED))))
    if not due:
        return {}
    wanted = current_app.config["WALKIN_SHARE"]

    def work() -> dict[int, dict[int, int]]:
        handed = {}
        for workshop_id in due:  # one order for every transaction: two of them cannot deadlock
            seats.lock(workshop_id)
            handed[workshop_id] = seats.hand_out(workshop_id, wanted, now)
            if handed[workshop_id]:
                db.session.add(AuditEvent(action="checkin-share-take", object_type="workshop",
                                          object_id=str(workshop_id), detail={
                                              "seats": {str(k): v for k, v in handed[workshop_id].items()}}))
        return handed

    return seats.transaction(work)


def shares_of_day(now: datetime | None = None) -> list[dict]:
    """For coordinators: every share of today's workshops, taken or in line, with its tablet and workshop."""
    now = now or utcnow()
    workshops = {w.id: w for w in workshops_of_day(now)}
    if not workshops:
        return []
    rows = db.session.execute(
        sa.select(SeatShare, Device.name).join(Device, Device.id == SeatShare.device_id)
        .where(SeatShare.workshop_id.in_(list(workshops))).order_by(SeatShare.workshop_id, Device.name)
    ).all()
    return [{"workshop": workshops[share.workshop_id], "tablet": name, "seats": share.seats, "used": share.used,
             "taken_at": share.taken_at, "closes_at": closes_at(workshops[share.workshop_id])}
            for share, name in rows]


def _give_back(device_id: int, workshop_id: int, now: datetime, *, keep: bool) -> int:
    """Return a share's unused seats, in the caller's transaction, which holds the workshop's lock; the waiting
    list gets them first (before the start). Returns how many seats went back."""
    back = seats.return_share(device_id, workshop_id, keep=keep)
    if back:
        promote(workshop_id, now)
    return back


def _audit_returned(device: Device | None, returned: dict[int, int], why: str) -> None:
    if returned:
        db.session.add(AuditEvent(action="checkin-share-return", object_type="device",
                                  object_id=str(device.id) if device is not None else "",
                                  device=_device_label(device),
                                  detail={"why": why, "seats": {str(k): v for k, v in returned.items()}}))


def return_shares(device: Device, now: datetime | None = None) -> int:
    """Sign-out or revocation: give back all of a tablet's unused held seats; returns how many."""
    now = now or utcnow()
    device_id = device.id

    def work() -> int:
        workshop_ids = sorted(db.session.scalars(
            sa.select(SeatShare.workshop_id).where(SeatShare.device_id == device_id)))
        returned = {}
        for workshop_id in workshop_ids:  # one order for every transaction: two of them cannot deadlock
            seats.lock(workshop_id)
            returned[workshop_id] = _give_back(device_id, workshop_id, now, keep=False)
        _audit_returned(db.session.get(Device, device_id), {k: v for k, v in returned.items() if v}, "sign-out")
        return sum(returned.values())

    return seats.transaction(work)


def give_up_shares(device: Device, workshop_ids, now: datetime | None = None) -> dict[int, int]:
    """A tablet online after the start gives up its shares of these workshops (the seat-share rule); the caller
    has checked that every action the tablet numbered is stored. Workshops not started yet keep their share.
    Returns the seats given back, by workshop id."""
    now = now or utcnow()
    device_id = device.id
    wanted = sorted({w for w in workshop_ids if isinstance(w, int) and not isinstance(w, bool)})[:100]

    def work() -> dict[int, int]:
        started = set(db.session.scalars(sa.select(SeatShare.workshop_id).join(
            Workshop, Workshop.id == SeatShare.workshop_id).where(
            SeatShare.device_id == device_id, SeatShare.workshop_id.in_(wanted), Workshop.starts_at <= now)))
        returned = {}
        for workshop_id in sorted(started):
            seats.lock(workshop_id)
            returned[workshop_id] = _give_back(device_id, workshop_id, now, keep=True)
        _audit_returned(db.session.get(Device, device_id), {k: v for k, v in returned.items() if v}, "given-up")
        return returned

    return seats.transaction(work) if wanted else {}


def return_ended_shares(now: datetime | None = None) -> int:
    """Shares of workshops that are over go back, whichever tablet holds them (the seat-share rule)."""
    now = now or utcnow()
    # A plain read first: mostly there is nothing to do, and then nothing is written.
    candidates = db.session.execute(
        sa.select(SeatShare.device_id, SeatShare.workshop_id, Workshop.starts_at, Workshop.duration_minutes)
        .join(Workshop, Workshop.id == SeatShare.workshop_id).where(Workshop.starts_at < now)
    ).all()
    over = sorted((workshop_id, device_id) for device_id, workshop_id, starts_at, minutes in candidates
                  if starts_at + timedelta(minutes=minutes) <= now)
    if not over:
        return 0

    def work() -> int:
        returned = 0
        for workshop_id, device_id in over:
            seats.lock(workshop_id)
            back = _give_back(device_id, workshop_id, now, keep=False)
            if back:
                _audit_returned(db.session.get(Device, device_id), {workshop_id: back}, "workshop-over")
            returned += back
        return returned

    return seats.transaction(work)


def prepare(device: Device, stop: Stop | None, now: datetime | None = None) -> dict:
    """The day's data for a tablet: today's stops (and `stop`, if it is another day's) with their workshops and
    bookings (minimal fields), the public ticket keys, and the tablet's seat shares by the seat-share rule. Only for
    an approved tablet (the pairing rule): Refused(GONE) otherwise."""
    if not device.is_approved:
        raise Refused(GONE)
    now = now or utcnow()
    expires = end_of_day(now)
    return_ended_shares(now)
    stops = stops_of_day(now)
    if stop is not None and all(s.id != stop.id for s in stops):
        stops.insert(0, stop)
    workshops = sorted((w for s in stops for w in s.workshops if w.status == WorkshopStatus.PUBLISHED),
                       key=lambda w: (w.starts_at, w.id))
    device_id = device.id
    in_line = set(db.session.scalars(sa.select(SeatShare.workshop_id).where(SeatShare.device_id == device_id)))
    for workshop in workshops:
        if workshop.id not in in_line and _share_wanted(workshop, now, expires):
            _line_up(device, workshop)
    hand_out_shares(now)
    shares = seats.shares_left(device_id)
    bookings = db.session.scalars(
        sa.select(Booking).where(Booking.workshop_id.in_([w.id for w in workshops]))
        .order_by(Booking.workshop_id, Booking.id)
    ).all() if workshops else []
    device = db.session.get(Device, device.id)
    device.last_seen_at = now
    db.session.commit()
    first = stop or (stops[0] if stops else None)
    return {
        "version": 2,
        "prepared_at": now.isoformat(),
        "device": {"id": device.id, "name": device.name, "last_sequence": device.last_sequence},
        "stop": {"id": first.id, "place": place_name(first), "starts_at": first.starts_at.isoformat()}
        if first is not None else None,
        "stops": [{"id": s.id, "place": place_name(s), "starts_at": s.starts_at.isoformat(),
                   "ends_at": s.ends_at.isoformat()} for s in stops],
        "expires_at": expires.isoformat(),
        "keys": tickets.public_keys_for_devices(),
        "workshops": [
            {"id": w.id, "stop_id": w.stop_id, "title": w.title, "starts_at": w.starts_at.isoformat(),
             "ends_at": w.ends_at.isoformat(), "capacity": w.capacity, "share": shares.get(w.id, 0),
             # Whether the share is taken (booking has closed), and when that is: before, no seat is held.
             "share_taken": w.id in shares, "share_from": closes_at(w).isoformat()}
            for w in workshops
        ],
        "bookings": [
            {"id": b.id, "workshop_id": b.workshop_id, "code": b.code, "name": b.name or "",
             "party_size": b.party_size, "needs_note": b.needs_note or "", "status": b.status.value,
             "arrived": b.arrived, "checked_in_at": b.checked_in_at.isoformat() if b.checked_in_at else None,
             "checked_in_device": b.checked_in_device or "",
             "legacy": tickets.legacy_digest(b.code, b.workshop_id, b.party_size)}
            for b in bookings
        ],
    }


def audit_day_download(device: Device, user: User, data: dict) -> None:
    """Every download of a day's door lists is in the audit log: who, on which tablet, which stops, how many."""
    audit("staff-day-download", device, user=user, device=device.name[:DEVICE_NAME_MAX],
          stops=[s["id"] for s in data["stops"]], bookings=len(data["bookings"]))
    db.session.commit()
