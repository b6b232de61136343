"""Booking rules: seats, the waiting list, exactly-once submissions, cancelling and deleting personal data.

Seats
    Seats are locked, taken and given back only through busapp/domain/seats.py (one conditional UPDATE each, after
    the workshop's row lock that every booking, cancellation and promotion takes first); when no seats are taken,
    the party waits.

Waiting list (the rule)
    A party that does not get seats joins the waiting list. When seats become free (a cancellation, a party
    leaving the list), the list is walked in the order people joined: every party that fits the free seats is
    moved up, in that order; a party that does not fit is passed over, and each time a party behind it gets
    seats first, its `passed_over` count goes up. A party passed over MAX_PASSED_OVER times is not passed over
    again: nobody behind it is moved up, and new bookings join the list instead of taking free seats, until
    enough seats are free for it. So a party of two may let parties of one go first twice, then it is next.
    Parties bigger than the whole workshop never block anyone (they cannot be seated at all).

Seats per address
    One client must not book out the tour by opening a new session for each booking. Seats (not requests) are
    counted per address, IPv6 per /64: at most RATELIMIT_SEATS_ADDRESS seats per window (`ratelimit.claim_seats`,
    before anything is written), and in one workshop the bookings from one address hold at most
    BOOKING_ADDRESS_SHARE percent of its seats, seated or waiting, and never less than the biggest party
    (`address_share`, checked under the workshop's lock). The bus's own network (TRUSTED_NETWORKS), where a whole
    class books behind one router, has its own seat count and no share. Coordinators see bursts and cancel them
    (`busapp/planning/bursts.py`).

Mail
    The confirmation, the news of a seat from the waiting list and the reminder are queued in the mail outbox
    (busapp/mail/service.py) inside the transaction that makes the change: stored with it or not at all.

Exactly once
    Every submission carries an idempotency key made when the form was shown (UNIQUE in the table). A repeat
    with the same key returns the booking made the first time; when two requests with one key race, the
    loser's INSERT fails, its transaction (and the seats it took) is rolled back, and it returns the winner's.
    A repeat gets the booking back only for the same workshop and from the same sender: the visitor's session, or
    the outbox item's own secret (a random value the phone keeps with the queued submission). The booking keeps a
    keyed hash of that proof (`replay_proof`); a key that leaked (a shared screenshot, a proxy's log) opens nothing
    and is refused as "key_taken".
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..core import ratelimit
from ..domain import seats, town
from ..domain.offer import Offer, closes_at, offer, refusal  # noqa: F401  (the booking rule's public names)
from ..core.extensions import db
from ..mail import service as outbox
from . import notify
from .forms import PARTY_SIZES
from ..models import (
    MAX_PASSED_OVER, Booking, BookingStatus, Stop, StopStatus, Workshop, WorkshopStatus, audit, utcnow,
)

# No 0/O, 1/I/L: a code is read aloud over a counter and typed on a tablet.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 6
INSERT_ATTEMPTS = 4
# A booking made this shortly before its reminder would be due gets none: the person has just booked.
REMINDER_QUIET = timedelta(hours=6)


class Refused(Exception):
    """The workshop cannot be booked (or the booking changed); `reason` is a key of views.REFUSALS."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Created:
    """The result of a submission: the booking, and whether this request made it (False for a replay)."""

    booking: Booking
    created: bool


def new_code() -> str:
    """A random booking code such as 'K7MQ4P'."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalize_code(text: str) -> str:
    """What a person typed ('k7m-q4p ') as a stored code ('K7MQ4P')."""
    return "".join(ch for ch in (text or "").upper() if ch.isalnum())


def open_seats(workshop: Workshop) -> int:
    """Seats a new party can take now: the free seats, or 0 while a party that waited long is owed them."""
    return offer(workshop).seats_free


def _execute(stmt) -> int:
    return db.session.execute(stmt.execution_options(synchronize_session=False)).rowcount


@lru_cache(maxsize=None)
def _pass_over_statement() -> sa.Update:
    return (
        sa.update(Booking)
        .where(Booking.workshop_id == sa.bindparam("wid"), Booking.status == BookingStatus.WAITING)
        .values(passed_over=Booking.passed_over + 1)
        .execution_options(synchronize_session=False)
    )


_BY_KEY = sa.select(Booking).where(Booking.idempotency_key == sa.bindparam("key"))
# Every page behind a manage link shows the workshop, its stop and district: one query, not four.
_BY_TOKEN = (
    sa.select(Booking).where(Booking.manage_token == sa.bindparam("token"))
    .options(joinedload(Booking.workshop).joinedload(Workshop.stop).joinedload(Stop.district))
)


def find_by_key(key: str) -> Booking | None:
    return db.session.scalar(_BY_KEY, {"key": key})


OUTBOX_SECRET = re.compile(r"^[A-Za-z0-9_-]{16,128}$")


def _proof(kind: str, value: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"booking-replay\n{kind}\n{value}".encode(), hashlib.sha256).hexdigest()


def replay_proofs(session_marker: str | None, outbox_secret: str | None) -> tuple[str, ...]:
    """What this submission can show of its sender, strongest first: the outbox item's secret, the session."""
    proofs = []
    if outbox_secret and OUTBOX_SECRET.match(outbox_secret):
        proofs.append(_proof("outbox", outbox_secret))
    if session_marker:
        proofs.append(_proof("session", str(session_marker)))
    return tuple(proofs)


def may_replay(booking: Booking, workshop_id: int, proofs: tuple[str, ...]) -> bool:
    """Whether a repeat of this booking's key may see the booking: same workshop, same sender."""
    return (booking.workshop_id == workshop_id and booking.replay_proof is not None
            and any(hmac.compare_digest(booking.replay_proof, p) for p in proofs))


def find_by_token(token: str) -> Booking | None:
    """The booking behind a manage link, with its workshop, stop and district."""
    return db.session.scalar(_BY_TOKEN, {"token": token})


def address_share(capacity: int) -> int:
    """The most seats bookings from one address may hold in a workshop of this capacity (the seats-per-address
    rule): BOOKING_ADDRESS_SHARE percent, rounded up, and never less than the biggest party."""
    percent = current_app.config["BOOKING_ADDRESS_SHARE"]
    return max(max(PARTY_SIZES), -(-capacity * percent // 100))


def _held_from(workshop_id: int, origin: str):
    """Seats booked or waited for in a workshop by bookings from this origin (a query)."""
    return sa.select(sa.func.coalesce(sa.func.sum(Booking.party_size), 0)).where(
        Booking.workshop_id == workshop_id, Booking.origin == origin, Booking.status != BookingStatus.CANCELLED)


@lru_cache(maxsize=None)
def _share_statement() -> sa.Select:
    held = _held_from(sa.bindparam("wid"), sa.bindparam("origin")).scalar_subquery()
    return sa.select(Workshop.capacity, held).where(Workshop.id == sa.bindparam("wid"))


def _share_exceeded(workshop_id: int, origin: str, party_size: int) -> bool:
    """Would this party take the origin past its address_share()? One statement: capacity and seats held."""
    capacity, held = db.session.execute(_share_statement(), {"wid": workshop_id, "origin": origin}).one()
    return (held or 0) + party_size > address_share(capacity)


def create(workshop_id: int, *, party_size: int, name: str, contact: str | None, needs_note: str | None,
           idempotency_key: str, locale: str, key_checked: bool = False, proofs: tuple[str, ...] = (),
           origin: str | None = None) -> Created:
    """Book seats, or a place on the waiting list, exactly once per idempotency key; raises Refused.

    `origin`: ratelimit.origin() of the sender; bookings from one origin hold at most address_share() seats of
    the workshop, seated or waiting ("address_share" otherwise; checked under the workshop's lock, so exact).

    `proofs`: replay_proofs() of this submission; the first is kept with the booking, and a repeat of the key
    gets the booking only with one of them ("key_taken" otherwise).
    `key_checked`: the caller has just looked the key up and found nothing, so the lookup is not repeated (a
    replay racing this one is still caught by the key's UNIQUE constraint, below)."""

    def replayed(existing: Booking) -> Created:
        if not may_replay(existing, workshop_id, proofs):
            raise Refused("key_taken")
        return Created(existing, False)

    existing = None if key_checked else find_by_key(idempotency_key)
    if existing is not None:
        return replayed(existing)

    def insert() -> Booking:
        now = utcnow()
        cutoff = now + timedelta(minutes=current_app.config["BOOKING_CLOSES_MINUTES"])
        if not seats.lock(workshop_id, bookable_after=cutoff):
            raise Refused("unavailable")
        if origin is not None and current_app.config.get("RATELIMIT_ENABLED", True):
            if _share_exceeded(workshop_id, origin, party_size):
                raise Refused("address_share")
        got = seats.take(workshop_id, party_size, unless_owed=True)
        booking = Booking(
            workshop_id=workshop_id, party_size=party_size, name=name, contact=contact or None,
            needs_note=needs_note or None, status=BookingStatus.CONFIRMED if got else BookingStatus.WAITING,
            code=new_code(), manage_token=secrets.token_urlsafe(32), idempotency_key=idempotency_key,
            locale=locale, created_at=now, confirmed_at=now if got else None,
            replay_proof=proofs[0] if proofs else None, origin=origin,
        )
        db.session.add(booking)
        db.session.flush()
        if got:
            # Everyone still waiting has just seen a later party get seats first.
            db.session.execute(_pass_over_statement(), {"wid": workshop_id})
        if notify.wants_mail(booking):
            notify.confirmation(booking, None if got else waiting_position(booking))
        return booking

    for _ in range(INSERT_ATTEMPTS):
        try:
            return Created(seats.transaction(insert, keep_loaded=True), True)
        except IntegrityError:
            db.session.rollback()
            existing = find_by_key(idempotency_key)
            if existing is not None:
                return replayed(existing)
            # Otherwise the random code or token collided with another booking's: draw new ones.
        except Refused as exc:
            db.session.rollback()
            if exc.reason in ("key_taken", "address_share"):
                raise
            raise Refused(refusal(db.session.get(Workshop, workshop_id)) or "unavailable") from None
    raise RuntimeError("could not store the booking")


def promote(workshop_id: int, now: datetime | None = None) -> list[Booking]:
    """Move waiting parties up into free seats by the module's rule; call inside a transaction that holds
    `seats.lock(workshop_id)`. Returns the promoted bookings."""
    now = now or utcnow()
    workshop = db.session.execute(
        sa.select(Workshop.capacity, Workshop.seats_taken, Workshop.starts_at, Workshop.status, Stop.status)
        .join(Stop, Stop.id == Workshop.stop_id)
        .where(Workshop.id == workshop_id)
    ).one_or_none()
    if workshop is None:
        return []
    capacity, taken, starts_at, status, stop_status = workshop
    if status != WorkshopStatus.PUBLISHED or stop_status != StopStatus.PUBLISHED or now >= starts_at:
        return []
    free = capacity - taken
    waiting = db.session.scalars(
        sa.select(Booking)
        .where(Booking.workshop_id == workshop_id, Booking.status == BookingStatus.WAITING)
        .order_by(Booking.created_at, Booking.id)
    ).all()
    promoted: list[Booking] = []
    passed: list[Booking] = []
    for party in waiting:
        if free <= 0:
            break
        if party.party_size > capacity:
            continue  # can never be seated; must not hold up the others
        if party.party_size > free:
            if party.passed_over >= MAX_PASSED_OVER:
                break
            passed.append(party)
            continue
        if not seats.take(workshop_id, party.party_size):
            break  # the count changed under us (it cannot while we hold the lock, but never overbook)
        claimed = _execute(
            sa.update(Booking)
            .where(Booking.id == party.id, Booking.status == BookingStatus.WAITING)
            .values(status=BookingStatus.CONFIRMED, confirmed_at=now)
        )
        if not claimed:
            seats.give_back(workshop_id, party.party_size)
            continue
        free -= party.party_size
        promoted.append(party)
        audit("booking-promote", party, workshop=workshop_id, party_size=party.party_size,
              passed_over=party.passed_over)
        # The parties passed over on the way here have seen a later party get seats first (once per run).
        for earlier in passed:
            earlier.passed_over += 1
        passed = []
    for party in promoted:
        db.session.refresh(party)
        notify.promotion(party)
    return promoted


def fill_from_waiting_list(workshop_id: int) -> list[Booking]:
    """Give free seats to waiting parties now, for changes made elsewhere (a coordinator raising the capacity);
    each promoted party's mail is queued in the same transaction."""

    def work():
        seats.lock(workshop_id)
        return promote(workshop_id)

    return seats.transaction(work)


def _cancel_in_transaction(booking_id: int, workshop_id: int, party_size: int, now: datetime,
                           action: str) -> tuple[bool, list[Booking]]:
    """Cancel one booking (confirmed or waiting) and hand its seats on; True when this call cancelled it."""
    seats.lock(workshop_id)
    was_confirmed = _execute(
        sa.update(Booking)
        .where(Booking.id == booking_id, Booking.status == BookingStatus.CONFIRMED)
        .values(status=BookingStatus.CANCELLED, cancelled_at=now)
    )
    was_waiting = 0
    if was_confirmed:
        seats.give_back(workshop_id, party_size)
    else:
        was_waiting = _execute(
            sa.update(Booking)
            .where(Booking.id == booking_id, Booking.status == BookingStatus.WAITING)
            .values(status=BookingStatus.CANCELLED, cancelled_at=now)
        )
    if not (was_confirmed or was_waiting):
        return False, []
    audit(action, db.session.get(Booking, booking_id), workshop=workshop_id, party_size=party_size,
          was="confirmed" if was_confirmed else "waiting")
    # A party leaving the list can unblock the ones behind it, so promote after either kind of cancel.
    return True, promote(workshop_id, now)


def can_cancel(booking: Booking, now: datetime | None = None) -> bool:
    """A booking can be cancelled (or the list left) until the workshop starts."""
    return booking.status != BookingStatus.CANCELLED and (now or utcnow()) < booking.workshop.starts_at


def cancel(booking: Booking) -> list[Booking]:
    """Cancel a booking or leave the waiting list; the seats are free at once. Returns promoted bookings."""
    if booking.status == BookingStatus.CANCELLED:
        return []
    if not can_cancel(booking):
        raise Refused("past")
    ids = booking.id, booking.workshop_id, booking.party_size

    def work():
        return _cancel_in_transaction(*ids, utcnow(), "booking-cancel")[1]

    return seats.transaction(work)


def forget(booking: Booking) -> list[Booking]:
    """Delete the person's own data from a booking; a booking still to come is cancelled with it."""
    ids = booking.id, booking.workshop_id, booking.party_size
    upcoming = can_cancel(booking)

    def work():
        now = utcnow()
        promoted = _cancel_in_transaction(*ids, now, "booking-cancel")[1] if upcoming else []
        _execute(
            sa.update(Booking).where(Booking.id == ids[0])
            .values(name=None, contact=None, needs_note=None, origin=None, purged_at=now)
        )
        outbox.forget_booking(ids[0])  # queued or sent mails carry the address too
        audit("booking-forget", db.session.get(Booking, ids[0]))
        return promoted

    return seats.transaction(work)


def waiting_position(booking: Booking) -> int | None:
    """1 for the first party on the waiting list; None when the booking is not waiting."""
    if booking.status != BookingStatus.WAITING:
        return None
    ahead = db.session.scalar(
        sa.select(sa.func.count()).select_from(Booking).where(
            Booking.workshop_id == booking.workshop_id,
            Booking.status == BookingStatus.WAITING,
            sa.or_(
                Booking.created_at < booking.created_at,
                sa.and_(Booking.created_at == booking.created_at, Booking.id < booking.id),
            ),
        )
    )
    return ahead + 1


def alternatives(workshop: Workshop, limit: int = 3) -> list[Workshop]:
    """Other workshops that can be booked now with free seats: the same topic first, then nearby dates."""
    now = utcnow()
    cutoff = now + timedelta(minutes=current_app.config["BOOKING_CLOSES_MINUTES"])
    bookable = (
        sa.select(Workshop)
        .join(Stop, Stop.id == Workshop.stop_id)
        .where(
            Workshop.id != workshop.id,
            Workshop.status == WorkshopStatus.PUBLISHED,
            Stop.status == StopStatus.PUBLISHED,
            Workshop.starts_at > cutoff,
            Workshop.seats_taken < Workshop.capacity,
            ~seats.owed(),
        )
    )
    same_topic = db.session.scalars(
        bookable.where(Workshop.topic == workshop.topic).order_by(Workshop.starts_at).limit(limit)
    ).all()
    found = list(same_topic)
    if len(found) < limit:
        around = max(workshop.starts_at, now)
        nearby = db.session.scalars(
            bookable.where(
                Workshop.topic != workshop.topic,
                Workshop.starts_at.between(around - timedelta(days=7), around + timedelta(days=7)),
            ).order_by(Workshop.starts_at).limit(50)
        ).all()
        nearby.sort(key=lambda w: abs((w.starts_at - around).total_seconds()))
        found += nearby[: limit - len(found)]
    return found


def purge(now: datetime | None = None, days: int | None = None) -> tuple[int, int, datetime]:
    """Empty names, contacts and notes of bookings whose workshop ended more than `days` ago (default
    PURGE_AFTER_DAYS); counts, party sizes, states and check-in times stay. Returns (bookings, workshops,
    cutoff). Running it again changes nothing."""
    now = now or utcnow()
    days = current_app.config["PURGE_AFTER_DAYS"] if days is None else days
    cutoff = now - timedelta(days=days)
    candidates = db.session.scalars(
        sa.select(Workshop).where(
            Workshop.starts_at < cutoff,
            Workshop.id.in_(sa.select(Booking.workshop_id).where(Booking.purged_at.is_(None))),
        )
    ).all()
    ended = [w.id for w in candidates if w.ends_at <= cutoff]

    def work() -> int:
        purged = 0
        for start in range(0, len(ended), 500):
            purged += _execute(
                sa.update(Booking)
                .where(Booking.workshop_id.in_(ended[start:start + 500]), Booking.purged_at.is_(None))
                .values(name=None, contact=None, needs_note=None, origin=None, purged_at=now)
            )
        if purged:
            audit("booking-purge", None, bookings=purged, workshops=len(ended), before=cutoff.isoformat())
        return purged

    purged = seats.transaction(work) if ended else 0
    return purged, len(ended), cutoff


def reduce_party(booking: Booking, party_size: int) -> list[Booking]:
    """Give back seats of a party without cancelling it (3 -> 2, 2 -> 1); the seats go to the waiting list at once.
    Returns the parties that moved up; raises Refused when the booking can no longer change."""
    if not can_cancel(booking):
        raise Refused("past")
    if not 1 <= party_size < booking.party_size:
        raise Refused("unavailable")
    booking_id, workshop_id, before = booking.id, booking.workshop_id, booking.party_size

    def work():
        seats.lock(workshop_id)
        changed = _execute(
            sa.update(Booking)
            .where(Booking.id == booking_id, Booking.party_size == before,
                   Booking.status.in_((BookingStatus.CONFIRMED, BookingStatus.WAITING)))
            .values(party_size=party_size)
        )
        if not changed:
            raise Refused("unavailable")  # changed meanwhile (cancelled, or reduced in another tab)
        status = db.session.scalar(sa.select(Booking.status).where(Booking.id == booking_id))
        if status == BookingStatus.CONFIRMED:
            seats.give_back(workshop_id, before - party_size)
        audit("booking-reduce", db.session.get(Booking, booking_id), workshop=workshop_id, before=before,
              after=party_size)
        # Fewer seats free up places for others, and a smaller waiting party may fit now.
        return promote(workshop_id)

    try:
        return seats.transaction(work)
    except Refused:
        db.session.rollback()
        raise


def find_by_code_and_name(code: str, name: str) -> Booking | None:
    """The booking with this code whose name matches (ignoring case and spaces around it); None for every miss,
    including bookings whose personal data is deleted."""
    code = normalize_code(code)
    wanted = " ".join((name or "").split()).casefold()
    if len(code) != CODE_LENGTH or not wanted:
        return None
    booking = db.session.scalar(sa.select(Booking).where(Booking.code == code))
    if booking is None or booking.name is None:
        return None
    if not secrets.compare_digest(" ".join(booking.name.split()).casefold().encode(), wanted.encode()):
        return None
    return booking


def due_reminders(now: datetime | None = None) -> list[int]:
    """Bookings to remind now: confirmed, with a contact, not reminded yet, whose workshop is tomorrow (in the
    city's time) and that were not made in the last few hours (those people know)."""
    now = now or utcnow()
    start = town.midnight(town.day_of(now) + timedelta(days=1))
    end = start + timedelta(days=1)
    return list(db.session.scalars(
        sa.select(Booking.id).join(Workshop, Workshop.id == Booking.workshop_id).join(Stop, Stop.id == Workshop.stop_id)
        .where(
            Booking.status == BookingStatus.CONFIRMED, Booking.reminded_at.is_(None), Booking.contact.is_not(None),
            Booking.created_at < now - REMINDER_QUIET,
            Workshop.status == WorkshopStatus.PUBLISHED, Stop.status == StopStatus.PUBLISHED,
            Workshop.starts_at >= start, Workshop.starts_at < end,
        ).order_by(Booking.id)
    ))


def remind(now: datetime | None = None) -> int:
    """Queue the reminder mail of the day before, once per booking (each marked and queued in one transaction).
    Returns how many were queued."""
    now = now or utcnow()
    queued = 0
    for booking_id in due_reminders(now):
        def work(booking_id=booking_id):
            marked = _execute(sa.update(Booking).where(Booking.id == booking_id, Booking.reminded_at.is_(None))
                              .values(reminded_at=now))
            if not marked:
                return False  # another run took it
            booking = db.session.get(Booking, booking_id)
            return notify.reminder(booking) is not None

        queued += bool(seats.transaction(work))
    return queued


# --- bursts: many bookings from one address --------------------------------------------------------------------

BURST_GAP = timedelta(hours=1)
BURST_LOOKBACK = timedelta(days=14)


@dataclass
class Burst:
    """Bookings from one address, each made within BURST_GAP of the one before, for workshops still to come."""

    origin: str
    bookings: list[Booking]

    @property
    def label(self) -> str:
        # Enough to tell two bursts apart; the address itself is never stored.
        return self.origin[:6].upper()

    @property
    def seats(self) -> int:
        return sum(b.party_size for b in self.bookings)

    @property
    def first_at(self) -> datetime:
        return self.bookings[0].created_at

    @property
    def last_at(self) -> datetime:
        return self.bookings[-1].created_at


def bursts(now: datetime | None = None, size: int | None = None) -> list[Burst]:
    """Unusual bursts for coordinators: at least `size` (BURST_SIZE) bookings still standing from one address,
    each within an hour of the one before, for workshops that have not started; the newest burst first."""
    now = now or utcnow()
    size = size or current_app.config["BURST_SIZE"]
    rows = db.session.scalars(
        sa.select(Booking).join(Workshop, Workshop.id == Booking.workshop_id)
        .where(Booking.origin.is_not(None), Booking.status != BookingStatus.CANCELLED,
               Booking.created_at >= now - BURST_LOOKBACK, Workshop.starts_at > now)
        .order_by(Booking.origin, Booking.created_at, Booking.id)
        .options(joinedload(Booking.workshop).joinedload(Workshop.stop))
    ).all()
    found = [Burst(run[0].origin, run) for run in ratelimit.runs(rows, size, BURST_GAP)]
    return sorted(found, key=lambda b: b.last_at, reverse=True)


def cancel_many(booking_ids: list[int], user) -> int:
    """A coordinator cancels bookings of a burst (seated or waiting, workshops not started); the seats go to the
    waiting lists at once. Returns how many were cancelled; the rest had been cancelled or started already."""
    now = utcnow()
    wanted = sorted({i for i in booking_ids if isinstance(i, int) and 1 <= i <= 2**31 - 1})[:500]
    rows = db.session.execute(
        sa.select(Booking.id, Booking.workshop_id, Booking.party_size).join(Workshop, Workshop.id == Booking.workshop_id)
        .where(Booking.id.in_(wanted), Booking.status != BookingStatus.CANCELLED, Workshop.starts_at > now)
        .order_by(Booking.workshop_id, Booking.id)
    ).all() if wanted else []
    def work() -> int:
        done = 0
        for booking_id, workshop_id, party_size in rows:  # in workshop order: two of these cannot deadlock
            cancelled, _promoted = _cancel_in_transaction(booking_id, workshop_id, party_size, now,
                                                          "booking-cancel-burst")
            done += cancelled
        if done:
            audit("bookings-cancel-burst", None, user=user, bookings=done)
        return done

    return seats.transaction(work) if rows else 0
