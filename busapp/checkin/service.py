"""Check-in rules: who may come in, walk-ins, releasing no-shows, registered tablets and their offline queues.

What a scanned or typed code means (`decide`)
    A code is either a ticket token read from a QR code (DB2, signed with Ed25519; or DB1, the older HMAC tickets)
    or a booking code typed by hand ("K7M-Q4P" is read as "K7MQ4P"). A token whose signature does not hold is
    FORGED; so is a DB1 token once its workshop has passed (DB1 tickets are honoured only until then). A code that
    names no booking is UNKNOWN, and so is anything that is neither a token nor a code (a garbled scan). Then the
    booking decides, in this order: CANCELLED; on the waiting list (WAITING); for another workshop at this stop
    (OTHER_WORKSHOP, with its time) or at another stop or day (OTHER_STOP, with place and date); already checked in
    (AGAIN, with when, on which tablet and by whom); else VALID. The tablet's offline check applies the same order
    to the day's data (static/js/checkin.js), so online and offline answers agree.

Checking in
    Checking in sets how many of the party came (`arrived`, 1 to the party size; the whole party unless staff say
    "2 of 3 came") with one conditional UPDATE that only matches a confirmed booking nobody has checked in yet, so
    two tablets tapping the same person at once check them in once. The count can be changed afterwards, and a
    check-in can be undone. Each action carries a nonce made on the tablet when staff acted: the same nonce again
    (a double tap, a queue sent twice) gets the first answer back and changes nothing.

Walk-ins and no-shows
    Staff may seat people without a booking (a first name, a party of 1 to 4) in free seats, also after the start
    (residents may not book then). Seats come only through the booking service's conditional UPDATE, so walk-ins
    never exceed the capacity, however many tablets add them at once. From the workshop's start, staff can release
    the seats of confirmed bookings nobody has checked in for (one confirmation): those bookings are cancelled and
    their seats go to walk-ins and to waiting parties who are there ("seat now" on a waiting party).

Tablets and the offline queue
    A tablet is registered once by staff (a name, a sync credential shown to it once, stored hashed); a coordinator
    can revoke it, after which nothing it sends is accepted. The credential is not a sign-in: it outlives the
    12-hour staff sign-in, so check-ins made offline are never stranded by an expired session. "Prepare for today"
    gives the tablet the data of the day's stops (only what the door needs: code, name, party size, needs note,
    state), the public ticket keys and its seat shares (below); the data expires at the end of the day. Offline,
    the tablet decides by the same rules and queues each action with its device id, a per-device sequence number
    and the nonce. On sync, actions are applied in sequence order; a replayed nonce gets its stored answer, only
    from the tablet that sent it (another tablet's nonce is refused and tells nothing); a
    check-in of a booking another tablet has already checked in is stored once, counted once, and flagged as a
    CONFLICT for staff to look at. Gaps in the sequence are reported back. A walk-in from the queue is judged by
    when it was made (it was seated then); it uses the tablet's share first, then any free seat; if there is none
    it is refused and shown to staff, never dropped. Online, a walk-in takes a free seat first and the share only
    when none is left, so the share stays for when the network is gone.

Seat shares for offline walk-ins (the rule)
    A tablet without network cannot ask before it seats someone, so the seats it may give away offline are set
    aside while it may be offline, and not longer. Two promises: an offline walk-in never overbooks, and nobody is
    kept from a free seat longer than that.
    - Taking: preparing the day holds up to WALKIN_SHARE free seats of each of today's workshops that has not
      started, for this tablet (`SeatShare`, counted in `seats_taken`, so no resident and no other tablet can take
      them; preparing again holds nothing more). A workshop on another day gets none: the day's data ends at
      midnight, so the tablet could never use it.
    - Before the start the share stays: residents can book until then, and the tablet may be at the door without
      network (walk-ins come early), where only a seat held for it is safe.
    - From the start residents can no longer book, and a held seat only keeps people at the door (walk-ins on
      another tablet, waiting parties seated there) from a free seat. So a tablet that is online after the start
      gives its share of that workshop up: it stops using the share first (its own check refuses offline walk-ins
      for the workshop from then on), then sends its queue and the give-up in one request. The server applies the
      queue, then returns the unused seats only if it holds every action the tablet has numbered (no gap up to
      the sequence number sent with the give-up) and the workshop has started by the server's clock; otherwise the
      share stays until the next try. So every walk-in seated with the share is counted before its seats go back.
    - At the workshop's end walk-ins close, and shares still held go back without their tablet (at the next
      prepare or sync of any tablet). A walk-in seated offline before the end and sent later still gets a seat
      from these: after the end nobody else takes seats (residents stop at the start, the waiting list moves only
      before the start, staff seat people only until the end).
    - Signing out (after the queue is sent) and revoking the tablet give back all its unused seats at once.
    Seats that go back before the start go to the waiting list first, like any seat set free.
    Not chosen: giving the share back at every online sync (the tablet can lose the network a second later and
    seat a walk-in in a seat a resident has booked meanwhile), and holding it to the end of the stop (from the
    start it keeps people at the door from free seats for nothing).

Audit
    Every check-in, change of count, undo, walk-in, release, device registration and revocation is an AuditEvent
    with the user, the tablet's name and the time.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload, selectinload

from .. import tickets
from ..booking.service import new_code, normalize_code, promote
from ..domain import seats, town, tour
from ..domain.party import valid_party
from ..extensions import db
from ..forms import clean_text
from ..models import (
    AuditEvent, Booking, BookingStatus, CheckIn, Device, Role, SeatShare, Stop, StopStatus, User, Workshop, WorkshopStatus,
    audit,
    utcnow,
)

VALID = "valid"
AGAIN = "again"
OTHER_WORKSHOP = "other_workshop"
OTHER_STOP = "other_stop"
CANCELLED = "cancelled"
WAITING = "waiting"
UNKNOWN = "unknown"
FORGED = "forged"
# Outcomes of actions other than a check-in
DONE = "done"
FULL = "full"
CLOSED = "closed"
INVALID = "invalid"
NOT_TODAY = "not_today"  # an action online for a workshop of another day

OUTCOMES = (VALID, AGAIN, OTHER_WORKSHOP, OTHER_STOP, CANCELLED, WAITING, UNKNOWN, FORGED)
KINDS = ("checkin", "count", "undo", "walkin", "seat")
NAME_MAX = 40
DEVICE_NAME_MAX = 64  # what an audit event's device column holds
NONCE_MAX = 64
_NONCE = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_QUEUE = 1000


def _clean(text: str | None, limit: int) -> str:
    """Typed text as stored: no control characters (PostgreSQL refuses NUL), spaces collapsed, cut to `limit`."""
    return " ".join(clean_text(text or "").split())[:limit]


class Refused(Exception):
    """An action that cannot be done; `reason` names why (one of the outcome constants)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Decision:
    """What a code or an action came to: the outcome, the booking it concerns, and the record of the action."""

    outcome: str
    booking: Booking | None = None
    conflict: bool = False
    replay: bool = False
    record: CheckIn | None = None
    detail: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in (VALID, DONE)


# --- places, days and the stop of today ----------------------------------------------------------------------------

def place_name(stop: Stop) -> str:
    """A stop's place as text, whether the stop holds a name or a Place record."""
    place = stop.place
    return getattr(place, "name", place) or ""


def end_of_day(now: datetime) -> datetime:
    """Midnight after `now`, local time, as UTC: when the day's offline data expires."""
    local = now.astimezone(town.zone())
    midnight = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=town.zone())
    return midnight.astimezone(now.tzinfo)


def local_day(moment: datetime) -> date:
    """The city's calendar day of a moment."""
    return moment.astimezone(town.zone()).date()


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=town.zone())
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=town.zone())


def is_of_day(stop: Stop, day: date) -> bool:
    """True when the stop takes place (at least partly) on this local day."""
    start, end = _day_bounds(day)
    return stop.starts_at < end and stop.ends_at > start


def is_today(workshop: Workshop, now: datetime | None = None) -> bool:
    """Staff act at the door of today's workshops only (check-in, walk-in, seat, live status of its stop)."""
    return is_of_day(workshop.stop, local_day(now or utcnow()))


def stops_of_day(now: datetime) -> list[Stop]:
    """Today's public stops (local day), soonest first."""
    local = now.astimezone(town.zone())
    start = datetime.combine(local.date(), time(0), tzinfo=town.zone())
    return list(db.session.scalars(
        sa.select(Stop)
        .where(Stop.status != StopStatus.DRAFT, Stop.starts_at < end_of_day(now), Stop.ends_at > start)
        .order_by(Stop.starts_at, Stop.id)
        .options(joinedload(Stop.district), selectinload(Stop.workshops))
    ))


def workshops_of_day(now: datetime) -> list[Workshop]:
    """Today's workshops at today's stops, in time order: the door's quick switch between them."""
    return [w for stop in stops_of_day(now) for w in sorted(stop.workshops, key=lambda w: (w.starts_at, w.id))
            if w.status != WorkshopStatus.DRAFT]


def current_stop(now: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop the bus (this bus, when one is named) is at or going to next (busapp/domain/tour.py)."""
    return tour.at_or_next(now, bus_id)


@dataclass
class Counts:
    """A workshop's numbers for the door: seats booked, people checked in, seats free, people waiting."""

    booked: int = 0
    checked_in: int = 0
    free: int = 0
    waiting: int = 0
    held: int = 0


def counts(workshops: list[Workshop]) -> dict[int, Counts]:
    """Counts per workshop id, in two queries whatever the number of workshops."""
    ids = [w.id for w in workshops]
    result = {w.id: Counts(free=w.seats_free) for w in workshops}
    if not ids:
        return result
    rows = db.session.execute(
        sa.select(Booking.workshop_id, Booking.status, sa.func.sum(Booking.party_size), sa.func.sum(Booking.arrived))
        .where(Booking.workshop_id.in_(ids), Booking.status != BookingStatus.CANCELLED)
        .group_by(Booking.workshop_id, Booking.status)
    )
    for workshop_id, status, people, arrived in rows:
        c = result[workshop_id]
        if status == BookingStatus.CONFIRMED:
            c.booked = int(people or 0)
            c.checked_in = int(arrived or 0)
        else:
            c.waiting = int(people or 0)
    for workshop_id, held in db.session.execute(
        sa.select(SeatShare.workshop_id, sa.func.sum(SeatShare.seats - SeatShare.used))
        .where(SeatShare.workshop_id.in_(ids)).group_by(SeatShare.workshop_id)
    ):
        result[workshop_id].held = int(held or 0)
    return result


# Letters that Unicode does not decompose into a base letter and a mark, as people type them without the mark.
_SPECIAL_LETTERS = {"ß": "ss", "ı": "i", "ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th"}


def fold(text: str) -> str:
    """A name as it is compared at the door: without accents and marks, lower case, special letters spelled out,
    and German ae/oe/ue read as a/o/u, so "yilmaz" finds "Yılmaz", "muller" and "mueller" find "Müller",
    "sorensen" finds "Sørensen". static/js/checkin.js folds the same way (tests/cases/checkin.json)."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    bare = "".join(ch for ch in decomposed if not unicodedata.category(ch).startswith("M")).lower()
    spelled = "".join(_SPECIAL_LETTERS.get(ch, ch) for ch in bare)
    for pair, letter in (("ae", "a"), ("oe", "o"), ("ue", "u")):
        spelled = spelled.replace(pair, letter)
    return " ".join(spelled.split())


def bookings_for(workshop: Workshop, query: str = "", missing: bool = False) -> list[Booking]:
    """The door list of a workshop: confirmed parties by name, then the waiting list in order, then cancelled ones;
    with `query`, only those whose name contains it or whose code starts with it; with `missing`, only confirmed
    parties nobody has checked in for yet."""
    stmt = sa.select(Booking).where(Booking.workshop_id == workshop.id).options(joinedload(Booking.checked_in_by))
    if missing:
        stmt = stmt.where(Booking.status == BookingStatus.CONFIRMED, Booking.arrived == 0)
    query = " ".join(clean_text(query).split())[:NAME_MAX]
    order = sa.case(
        (Booking.status == BookingStatus.CONFIRMED, 0), (Booking.status == BookingStatus.WAITING, 1), else_=2
    )
    stmt = stmt.order_by(order, sa.case((Booking.status == BookingStatus.WAITING, Booking.created_at), else_=None),
                         sa.func.lower(sa.func.coalesce(Booking.name, "")), Booking.id)
    rows = list(db.session.scalars(stmt))
    if not query:
        return rows
    # A door list is one workshop's parties: folded names are compared here, the same way on every database.
    wanted, code = fold(query), normalize_code(query)
    return [b for b in rows if (wanted and wanted in fold(b.name or "")) or (code and b.code.startswith(code))]


# --- deciding what a code means -----------------------------------------------------------------------------------

def _find(code: str) -> Booking | None:
    return db.session.scalar(
        sa.select(Booking).where(Booking.code == code)
        .options(joinedload(Booking.workshop).joinedload(Workshop.stop), joinedload(Booking.checked_in_by))
    )


def code_read(text: str) -> str:
    """The booking code a scan or a typed entry carries, as the door shows it back ("K7MQ4P"): a token's code
    field, or what was typed without spaces and dashes; "" when nothing like a code was read."""
    text = (text or "").strip()[:400]
    if text.upper().startswith(("DB1.", "DB2.")):
        parts = text.split(".")
        code = normalize_code(parts[1]) if len(parts) > 1 else ""
    else:
        code = normalize_code(text)
    return code[:12]


def decide(text: str, workshop: Workshop, now: datetime | None = None) -> Decision:
    """What a scanned token or typed code means at this workshop's door (the module's first rule); reads only."""
    now = now or utcnow()
    text = (text or "").strip()[:400]
    if text.upper().startswith(("DB1.", "DB2.")):
        payload = tickets.verify(text)
        if payload is None:
            return Decision(FORGED)
        booking = _find(payload.code)
        if booking is None:
            return Decision(UNKNOWN)
        if payload.legacy and now >= booking.workshop.ends_at:
            return Decision(FORGED, booking, detail={"legacy": True})
        return _by_booking(booking, workshop)
    code = normalize_code(text)
    if not 4 <= len(code) <= 12:
        return Decision(UNKNOWN)
    booking = _find(code)
    if booking is None:
        return Decision(UNKNOWN)
    return _by_booking(booking, workshop)


def _by_booking(booking: Booking, workshop: Workshop) -> Decision:
    if booking.status == BookingStatus.CANCELLED:
        return Decision(CANCELLED, booking)
    if booking.status == BookingStatus.WAITING:
        return Decision(WAITING, booking)
    if booking.workshop_id != workshop.id:
        same_stop = booking.workshop.stop_id == workshop.stop_id
        return Decision(OTHER_WORKSHOP if same_stop else OTHER_STOP, booking)
    if booking.arrived:
        return Decision(AGAIN, booking)
    return Decision(VALID, booking)


# --- actions -------------------------------------------------------------------------------------------------------

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


def _device_label(device: Device | None) -> str:
    return device.name if device is not None else ""


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


# --- tablets -------------------------------------------------------------------------------------------------------

def _hash(credential: str) -> str:
    return hashlib.sha256(credential.encode()).hexdigest()


def register_device(name: str, user: User) -> tuple[Device, str]:
    """Register a tablet; returns it and its sync credential (shown once, stored only as a hash)."""
    name = _clean(name, DEVICE_NAME_MAX)
    if not name:
        raise Refused(INVALID)
    credential = secrets.token_urlsafe(32)
    device = Device(name=name, token_hash=_hash(credential), created_by_id=user.id)
    db.session.add(device)
    db.session.flush()
    audit("device-register", device, user=user, device=name)
    db.session.commit()
    return device, credential


def device_for(credential: str | None) -> Device | None:
    """The registered, not revoked tablet holding this credential, or None."""
    if not credential or len(credential) > 100:
        return None
    device = db.session.scalar(sa.select(Device).where(Device.token_hash == _hash(credential)))
    if device is None or device.revoked_at is not None:
        return None
    return device


def revoke_device(device: Device, user: User) -> None:
    """Revoke a tablet: its credential stops working at once and its held walk-in seats go back."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        device.revoked_by_id = user.id
        audit("device-revoke", device, user=user, device=device.name)
        db.session.commit()
    return_shares(device)


def devices() -> list[Device]:
    """All tablets, the active ones first."""
    return list(db.session.scalars(
        sa.select(Device).order_by(Device.revoked_at.is_not(None), Device.name, Device.id)
    ))


def _share_wanted(workshop: Workshop, now: datetime, until: datetime) -> bool:
    """Whether preparing now holds a share of this workshop (the seat-share rule): published, not started, and
    starting before the day's data expires."""
    return (workshop.status == WorkshopStatus.PUBLISHED and workshop.stop.status == StopStatus.PUBLISHED
            and now < workshop.starts_at < until)


def shares_left(device: Device) -> dict[int, int]:
    """The seats each of this tablet's shares still holds, by workshop id."""
    return seats.shares_left(device.id)


def _hold_share(device: Device, workshop: Workshop) -> int:
    """Hold up to WALKIN_SHARE free seats of the workshop for this tablet (once); returns the seats it holds."""
    wanted = current_app.config["WALKIN_SHARE"]
    device_id, workshop_id = device.id, workshop.id

    def work() -> int:
        seats.lock(workshop_id)
        return seats.hold_share(device_id, workshop_id, wanted)

    try:
        return seats.transaction(work)
    except IntegrityError:  # the same tablet prepared twice at once: the other request holds the share
        db.session.rollback()
        held = seats.share(device_id, workshop_id)
        return held[0] - held[1] if held else 0


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
    bookings (minimal fields), the public ticket keys, and the tablet's seat shares by the seat-share rule."""
    now = now or utcnow()
    expires = end_of_day(now)
    return_ended_shares(now)
    stops = stops_of_day(now)
    if stop is not None and all(s.id != stop.id for s in stops):
        stops.insert(0, stop)
    workshops = sorted((w for s in stops for w in s.workshops if w.status == WorkshopStatus.PUBLISHED),
                       key=lambda w: (w.starts_at, w.id))
    held = shares_left(device)
    shares = {}
    for workshop in workshops:
        if workshop.id in held or not _share_wanted(workshop, now, expires):
            shares[workshop.id] = held.get(workshop.id, 0)
        else:
            shares[workshop.id] = _hold_share(device, workshop)
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
             "ends_at": w.ends_at.isoformat(), "capacity": w.capacity, "share": shares.get(w.id, 0)}
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


# --- who acted: actions signed on the tablet while someone was signed in --------------------------------------------

# The fields of a queued action its signature covers, in this order (static/js/checkin.js signs the same text).
SIGNED_FIELDS = ("kind", "workshop_id", "booking_id", "people", "name", "party_size", "nonce", "sequence", "acted_at")
CLOCK_SKEW = timedelta(minutes=2)  # a tablet's clock may run this much ahead of the server's


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signing_key(device: Device, user: User, day: date) -> dict:
    """The key a tablet signs its queued actions with, issued while `user` is signed in on it, for one day.

    Derived from the app's secret, the tablet, the person and the day, so the server keeps nothing and can tell
    from a signature alone who acted, on which tablet and for which day. Without a sign-in the tablet gets no new
    key: its credential alone can only send what was signed while someone was signed in."""
    secret = current_app.config["SECRET_KEY"].encode()
    raw = hmac.new(secret, f"action-key\n{device.id}\n{user.id}\n{day.isoformat()}".encode(), hashlib.sha256).digest()
    return {"id": f"{user.id}.{day.isoformat()}", "key": _b64(raw), "user_id": user.id, "day": day.isoformat()}


def signed_text(item: dict) -> str:
    """The text a queued action's signature covers."""
    values = []
    for name in SIGNED_FIELDS:
        value = item.get(name)
        values.append("" if value is None else str(value))
    return "\n".join(values)


def signer(device: Device, item: dict) -> tuple[User, date] | None:
    """Who signed this queued action on this tablet, and for which day; None when it is unsigned or forged."""
    key_id, signature = item.get("key"), item.get("sig")
    if not isinstance(key_id, str) or not isinstance(signature, str) or len(key_id) > 40 or len(signature) > 100:
        return None
    user_part, _, day_part = key_id.partition(".")
    try:
        user_id, day = int(user_part), date.fromisoformat(day_part)
    except ValueError:
        return None
    user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None or not user.active or not user.has_role(Role.STAFF):
        return None
    key = base64.urlsafe_b64decode(signing_key(device, user, day)["key"] + "=")
    expected = _b64(hmac.new(key, signed_text(item).encode(), hashlib.sha256).digest())
    return (user, day) if hmac.compare_digest(expected, signature) else None


def out_of_day(action: Action, day: date, now: datetime) -> str | None:
    """Why a queued action cannot be for this day: its time (missing, outside the day, in the future) or its
    workshop (none, or at a stop of another day). None when it may be applied."""
    start, end = _day_bounds(day)
    if action.acted_at is None or not start <= action.acted_at < end or action.acted_at > now + CLOCK_SKEW:
        return "acted_at"
    workshop = db.session.get(Workshop, action.workshop_id)
    if workshop is None or not is_of_day(workshop.stop, day):
        return "other_day"
    return None


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _small_int(value, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def action_from(item: dict) -> Action | None:
    """An Action from one queued item as the tablet sent it, or None when it is malformed."""
    if not isinstance(item, dict):
        return None
    kind, nonce = item.get("kind"), item.get("nonce")
    workshop_id = _small_int(item.get("workshop_id"), 1, 2**31 - 1)
    sequence = _small_int(item.get("sequence"), 1, 2**31 - 1)
    if kind not in KINDS or not isinstance(nonce, str) or not _NONCE.match(nonce) or not workshop_id \
            or sequence is None:
        return None
    booking_id = item.get("booking_id")
    if booking_id is not None and _small_int(booking_id, 1, 2**31 - 1) is None:
        return None
    if kind != "walkin" and booking_id is None:
        return None
    people = item.get("people")
    if people is not None and _small_int(people, 1, 4) is None:
        return None
    name = item.get("name") or ""
    party_size = item.get("party_size", 1)
    if not isinstance(name, str) or _small_int(party_size, 1, 4) is None:
        return None
    return Action(kind=kind, workshop_id=workshop_id, nonce=nonce, booking_id=booking_id, people=people,
                  name="".join(ch for ch in name if ch.isprintable())[:NAME_MAX], party_size=party_size,
                  sequence=sequence, acted_at=_parse_time(item.get("acted_at")), from_queue=True)


BATCH = 50


def _apply_batched(actions: list[Action], user: User | None, device: Device,
                   now: datetime | None = None) -> dict[str, Decision]:
    """On PostgreSQL: apply a queue BATCH actions per transaction, each in its own savepoint, so a queue of 200
    costs 4 commits instead of 200. Whatever a batch could not settle (a nonce or sequence number that collides,
    a deadlock with another tablet's batch) is left out of the answer and done one by one by `perform`.
    SQLite keeps one transaction per action: there a transaction must begin with its write."""
    if db.session.get_bind().dialect.name != "postgresql":
        return {}
    user_id = user.id if user is not None else None
    done: dict[str, Decision] = {}
    for start in range(0, len(actions), BATCH):
        chunk = actions[start:start + BATCH]
        db.session.rollback()
        settled: dict[str, Decision] = {}
        try:
            for action in chunk:
                try:
                    with db.session.begin_nested():
                        acted_by = action.user_id if action.user_id is not None else user_id
                        settled[action.nonce] = _record_action(action, acted_by, device, now or utcnow())
                except IntegrityError:
                    continue
            db.session.commit()
        except OperationalError:
            db.session.rollback()
            continue
        done.update(settled)
    return done


def sync(device: Device, items: list, user: User | None = None, *, give_up=(), sequence: int | None = None,
         now: datetime | None = None) -> dict:
    """Apply a tablet's queued actions in sequence order (the module's rule); then, if it asks, return its shares
    of started workshops (the seat-share rule: only when every action up to `sequence` is stored). Returns each
    action's answer, the sequence numbers still missing, and the seats the tablet's shares still hold."""
    results = []
    actions = []
    now = now or utcnow()
    for item in items[:MAX_QUEUE]:
        action = action_from(item)
        nonce = item.get("nonce") if isinstance(item, dict) else None
        if action is None:
            results.append({"nonce": nonce if isinstance(nonce, str) else None, "outcome": INVALID})
            continue
        # Who acted comes from the action's signature, made while they were signed in on this tablet; an unsigned
        # action only from the person signed in now, for today. Never from what the request says.
        signed = signer(device, item)
        if signed is not None:
            acted_by, day = signed
        elif user is not None:
            acted_by, day = user, local_day(now)
        else:
            results.append({"nonce": action.nonce, "sequence": action.sequence, "outcome": INVALID,
                            "reason": "unsigned"})
            continue
        why = out_of_day(action, day, now)
        if why is not None:
            results.append({"nonce": action.nonce, "sequence": action.sequence, "outcome": INVALID, "reason": why})
            continue
        action.user_id = acted_by.id
        actions.append(action)
    device_id = device.id
    # Replays are answered from one query; new actions then skip their own look-up.
    known = {record.nonce: record for record in db.session.scalars(
        sa.select(CheckIn).where(CheckIn.nonce.in_([a.nonce for a in actions]), _same_device(device))
        .options(joinedload(CheckIn.booking))
    )} if actions else {}
    ordered = sorted(actions, key=lambda a: a.sequence)
    batched = _apply_batched([a for a in ordered if a.nonce not in known], user, device, now)
    for action in ordered:
        earlier = known.get(action.nonce)
        if earlier is not None:
            decision = _replayed(earlier)
        else:
            decision = batched.get(action.nonce) or perform(action, user=user, device=device, now=now,
                                                            nonce_checked=True)
        results.append({
            "nonce": action.nonce, "sequence": action.sequence, "outcome": decision.outcome,
            "conflict": decision.conflict, "replay": decision.replay, "booking": decision.detail.get("summary"),
        })
    seen = set(db.session.scalars(sa.select(CheckIn.sequence).where(CheckIn.device_id == device_id,
                                                                    CheckIn.sequence.is_not(None))))
    highest = max(seen, default=0)
    device = db.session.get(Device, device_id)
    device.last_sequence = max(device.last_sequence, highest)
    device.last_seen_at = now or utcnow()
    db.session.commit()
    gaps = [n for n in range(1, highest + 1) if n not in seen][:100]
    complete = isinstance(sequence, int) and 0 <= sequence <= highest and not any(n not in seen
                                                                                   for n in range(1, sequence + 1))
    returned = give_up_shares(device, give_up, now) if give_up and complete else {}
    return_ended_shares(now)
    device = db.session.get(Device, device_id)
    return {"results": results, "last_sequence": device.last_sequence, "gaps": gaps,
            "given_up": returned, "shares": shares_left(device)}


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
