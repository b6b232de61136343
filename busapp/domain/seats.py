"""Seats: the one place where a workshop's seats are locked, taken, given back and counted, for residents' bookings,
the waiting list, walk-ins at the door, tablets' seat shares and coordinators' changes alike.

Seats are never given twice
    `Workshop.seats_taken` changes only through conditional UPDATEs such as
    ``UPDATE workshop SET seats_taken = seats_taken + :n WHERE id = :id AND seats_taken + :n <= capacity``
    in the same transaction that inserts or changes the booking; when no row matches, there are no seats.
    Every write transaction that changes seats starts by locking the workshop's row with a no-op UPDATE (`lock`).
    On PostgreSQL that takes the row lock, so booking, cancelling, promoting, seating walk-ins and cancelling the
    workshop itself happen one after the other; on SQLite it takes the database's write lock as the transaction's
    first statement, which waits for busy_timeout instead of failing with SQLITE_BUSY_SNAPSHOT the way a
    read-then-write transaction can in WAL mode. The CHECK seats_taken BETWEEN 0 AND capacity on the table is the
    last line of defence.

Free and owed
    A workshop's free seats are its capacity minus the seats taken (`free`). Free seats are owed to a waiting party
    that has been passed over MAX_PASSED_OVER times (the waiting-list rule in busapp/booking/service.py): while one
    is (`owed`), a new party cannot take them (`take(..., unless_owed=True)`). The condition is the workshop's
    `seats_owed` column (busapp/models.py), loaded with the workshop so that pages need no query more.

Tablets' shares
    A registered tablet may hold a few seats of a workshop for walk-ins it seats offline (`SeatShare`; the rule of
    when is in busapp/checkin/service.py). It is put in line first (`line_up`, no seat held), and `hand_out` takes
    the seats for everyone in line at once. Held seats are counted in `seats_taken`, so nobody else can take them;
    `use_share` spends them, `return_share` gives the unused ones back, `drop_shares` forgets them when the
    workshop's seats are cleared.
"""
from __future__ import annotations

from datetime import datetime
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from ..core.extensions import db
from ..models import SeatShare, Stop, StopStatus, Workshop, WorkshopStatus


def _execute(stmt, params=None) -> int:
    return db.session.execute(stmt.execution_options(synchronize_session=False), params).rowcount


# The statements every booking runs are put together once, with bind parameters: building and keying a statement
# for SQLAlchemy's compiled cache costs more than a round trip to the database.

@lru_cache(maxsize=None)
def _lock_statement(bookable: bool) -> sa.Update:
    stmt = sa.update(Workshop).where(Workshop.id == sa.bindparam("wid")).values(seats_taken=Workshop.seats_taken)
    if bookable:
        stmt = stmt.where(
            Workshop.status == WorkshopStatus.PUBLISHED,
            Workshop.starts_at > sa.bindparam("after"),
            Workshop.stop_id.in_(sa.select(Stop.id).where(Stop.status == StopStatus.PUBLISHED)),
        )
    return stmt.execution_options(synchronize_session=False)


@lru_cache(maxsize=None)
def _take_statement(unless_owed: bool) -> sa.Update:
    stmt = (
        sa.update(Workshop)
        .where(Workshop.id == sa.bindparam("wid"), Workshop.seats_taken + sa.bindparam("n") <= Workshop.capacity)
        .values(seats_taken=Workshop.seats_taken + sa.bindparam("n"))
    )
    if unless_owed:
        stmt = stmt.where(~owed())
    return stmt.execution_options(synchronize_session=False)


def lock(workshop_id: int, *, bookable_after: datetime | None = None) -> bool:
    """Lock the workshop's row (a no-op UPDATE); with `bookable_after`, only if it can be booked until then."""
    params = {"wid": workshop_id} if bookable_after is None else {"wid": workshop_id, "after": bookable_after}
    return db.session.execute(_lock_statement(bookable_after is not None), params).rowcount == 1


def take(workshop_id: int, n: int, *, unless_owed: bool = False) -> bool:
    """The one conditional UPDATE that gives seats: True when there were n free seats and they are now taken.
    With `unless_owed`, not while the free seats are owed to a waiting party."""
    return db.session.execute(_take_statement(unless_owed), {"wid": workshop_id, "n": n}).rowcount == 1


def give_back(workshop_id: int, n: int) -> None:
    """Give n taken seats back (a cancellation, a smaller party, released no-shows); inside the workshop's lock."""
    if n:
        _execute(sa.update(Workshop).where(Workshop.id == workshop_id).values(seats_taken=Workshop.seats_taken - n))


def set_capacity(workshop_id: int, capacity: int) -> bool:
    """Change a workshop's capacity, never below the seats taken (one conditional UPDATE, which takes the row's
    lock); False when more seats are taken than the new capacity."""
    return _execute(sa.update(Workshop).where(Workshop.id == workshop_id, Workshop.seats_taken <= capacity)
                    .values(capacity=capacity)) == 1


def clear(workshop_id: int) -> None:
    """No seat of this workshop is taken any more (it is cancelled, its bookings with it), nor held by a tablet;
    inside the workshop's lock."""
    drop_shares(workshop_id)
    _execute(sa.update(Workshop).where(Workshop.id == workshop_id).values(seats_taken=0))


def free(workshop: Workshop) -> int:
    """Seats nobody has taken (the loaded workshop's capacity minus its seats taken, never below 0)."""
    return workshop.seats_free


def owed():
    """SQL condition on a workshop: its free seats are owed to a waiting party that may not be passed over again."""
    return Workshop.seats_owed


def transaction(work, attempts: int = 2, *, keep_loaded: bool = False):
    """Run `work` as one transaction that starts with a write (`lock`); retry once when the database says it is
    busy or chose this transaction as a deadlock victim.

    With `keep_loaded`, the object `work` returns keeps the values it was just written with, instead of being
    expired by the commit and read back in another round trip (it is taken out of the session for the commit)."""
    session = db.session
    if session.get_bind().dialect.name == "postgresql" and not (session.new or session.dirty or session.deleted):
        # PostgreSQL's READ COMMITTED gives every statement a fresh snapshot and the conditional UPDATEs re-check the
        # rows they lock, so the request's earlier reads may share this transaction (saving a rollback, a new
        # connection check-out and a BEGIN). Objects read before are expired, so that what `work` reads through them
        # comes from after the lock, as it did after the rollback.
        session.expire_all()
    else:
        # SQLite: end any read transaction first, the write must come first (see module docstring); and nothing a
        # caller left unsaved is written along with `work`.
        session.rollback()
    for attempt in range(attempts):
        try:
            result = work()
            if keep_loaded:
                db.session.expunge(result)
            db.session.commit()
            if keep_loaded:
                db.session.add(result)
            return result
        except OperationalError:
            db.session.rollback()
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")


# --- tablets' shares -------------------------------------------------------------------------------------------------

def share(device_id: int, workshop_id: int) -> tuple[int, int] | None:
    """(seats held, seats used) of one tablet's share of a workshop, or None; read as plain values, not through the
    session's identity map, so that after the workshop's lock it is current."""
    row = db.session.execute(sa.select(SeatShare.seats, SeatShare.used).where(
        SeatShare.device_id == device_id, SeatShare.workshop_id == workshop_id)).one_or_none()
    return (row[0], row[1]) if row is not None else None


def shares_left(device_id: int) -> dict[int, int]:
    """The seats each of this tablet's shares still holds, by workshop id (shares taken, not those still in line)."""
    return {workshop_id: seats - used for workshop_id, seats, used in db.session.execute(
        sa.select(SeatShare.workshop_id, SeatShare.seats, SeatShare.used).where(
            SeatShare.device_id == device_id, SeatShare.taken_at.is_not(None)))}


def line_up(device_id: int, workshop_id: int) -> bool:
    """Inside the workshop's lock: put this tablet in line for a share of the workshop, holding no seat yet (once;
    a share it already has, in line or taken, stays as it is). True when it was put in line now."""
    if share(device_id, workshop_id) is not None:
        return False
    db.session.add(SeatShare(device_id=device_id, workshop_id=workshop_id, seats=0, used=0, taken_at=None))
    db.session.flush()
    return True


def hand_out(workshop_id: int, wanted: int, now: datetime) -> dict[int, int]:
    """Inside the workshop's lock: every tablet in line for this workshop gets up to `wanted` of the seats free now,
    one seat each in turn (two tablets and two free seats: one each), and its share is taken. Returns the seats
    each tablet got, by device id."""
    line = list(db.session.scalars(sa.select(SeatShare.device_id).where(
        SeatShare.workshop_id == workshop_id, SeatShare.taken_at.is_(None)).order_by(SeatShare.device_id)))
    if not line:
        return {}
    capacity, taken = db.session.execute(
        sa.select(Workshop.capacity, Workshop.seats_taken).where(Workshop.id == workshop_id)).one()
    free = max(0, capacity - taken)
    got = dict.fromkeys(line, 0)
    while free and any(n < wanted for n in got.values()):
        for device_id in line:
            if free and got[device_id] < wanted:
                got[device_id] += 1
                free -= 1
    if sum(got.values()) and not take(workshop_id, sum(got.values())):
        got = dict.fromkeys(line, 0)  # the count changed under us (it cannot while we hold the lock; never overbook)
    for device_id, n in got.items():
        _execute(sa.update(SeatShare).where(SeatShare.device_id == device_id, SeatShare.workshop_id == workshop_id,
                                            SeatShare.taken_at.is_(None)).values(seats=n, taken_at=now))
    return got


def use_share(device_id: int, workshop_id: int, n: int) -> bool:
    """Spend n seats of the tablet's share on a walk-in; False when the share does not hold that many."""
    return _execute(
        sa.update(SeatShare)
        .where(SeatShare.device_id == device_id, SeatShare.workshop_id == workshop_id,
               SeatShare.used + n <= SeatShare.seats)
        .values(used=SeatShare.used + n)
    ) == 1


def return_share(device_id: int, workshop_id: int, *, keep: bool) -> int:
    """Inside the workshop's lock: give a share's unused seats back to the workshop. `keep` leaves the share in
    place, emptied, so preparing again does not hold new seats. Returns how many seats went back (the caller hands
    them on to the waiting list)."""
    held = share(device_id, workshop_id)
    if held is None:
        return 0
    seats, used = held
    where = (SeatShare.device_id == device_id, SeatShare.workshop_id == workshop_id, SeatShare.seats == seats,
             SeatShare.used == used)
    statement = sa.update(SeatShare).where(*where).values(seats=used) if keep else sa.delete(SeatShare).where(*where)
    if not _execute(statement):
        return 0
    give_back(workshop_id, seats - used)
    return seats - used


def drop_shares(workshop_id: int) -> None:
    """Forget every tablet's share of this workshop without giving seats back (the caller clears them)."""
    _execute(sa.delete(SeatShare).where(SeatShare.workshop_id == workshop_id))
