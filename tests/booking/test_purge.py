"""`flask purge`: personal data of bookings goes some days after the workshop; the counts stay."""
from __future__ import annotations

import itertools
from datetime import timedelta

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import AuditEvent, Booking, BookingStatus

_n = itertools.count(1)


def booking(workshop, status=BookingStatus.CONFIRMED, size=1, checked_in=None) -> Booking:
    n = next(_n)
    row = Booking(workshop=workshop, party_size=size, name=f"Person {n}", contact=f"p{n}@example.org",
                  needs_note="Rollstuhl", status=status, code=f"PRG{n:03d}", manage_token=f"purge-token-{n}",
                  idempotency_key=f"purge-key-{n:012d}", checked_in_at=checked_in)
    db.session.add(row)
    db.session.commit()
    return row


def test_purge_deletes_personal_data_and_keeps_counts(runner, make_workshop, make_stop, now):
    old = make_workshop(stop=make_stop(starts_at=now - timedelta(days=40)), capacity=8)
    recent = make_workshop(stop=make_stop(starts_at=now - timedelta(days=10)))
    upcoming = make_workshop()
    came = booking(old, size=2, checked_in=old.starts_at + timedelta(minutes=5))
    waited = booking(old, status=BookingStatus.WAITING)
    cancelled = booking(old, status=BookingStatus.CANCELLED, size=3)
    keep = [booking(recent), booking(upcoming)]

    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert "3 bookings in 1 workshop that ended" in result.output

    db.session.expire_all()
    for row, size, status in ((came, 2, "confirmed"), (waited, 1, "waiting"), (cancelled, 3, "cancelled")):
        row = db.session.get(Booking, row.id)
        assert (row.name, row.contact, row.needs_note) == (None, None, None)
        assert row.purged_at is not None
        assert (row.party_size, row.status.value) == (size, status)
    assert db.session.get(Booking, came.id).checked_in_at is not None
    for row in keep:
        row = db.session.get(Booking, row.id)
        assert row.name and row.contact and row.needs_note and row.purged_at is None
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "booking-purge"))
    assert event.detail["bookings"] == 3 and event.user_id is None


def test_purge_is_idempotent(runner, make_workshop, make_stop, now):
    old = make_workshop(stop=make_stop(starts_at=now - timedelta(days=40)))
    row = booking(old)
    assert "1 booking in 1 workshop" in runner.invoke(args=["purge"]).output
    db.session.expire_all()
    first = db.session.get(Booking, row.id).purged_at
    again = runner.invoke(args=["purge"])
    assert again.exit_code == 0 and "Nothing to delete" in again.output
    db.session.expire_all()
    assert db.session.get(Booking, row.id).purged_at == first
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "booking-purge")) == 1


def test_purge_counts_from_the_end_of_the_workshop(runner, app, make_workshop, make_stop, now):
    app.config["PURGE_AFTER_DAYS"] = 30
    # Started 30 days and 30 minutes ago, but ran for 60 minutes: it ended less than 30 days ago.
    workshop = make_workshop(stop=make_stop(starts_at=now - timedelta(days=30, minutes=30)), duration_minutes=60)
    row = booking(workshop)
    assert "Nothing to delete" in runner.invoke(args=["purge"]).output
    assert "1 booking in 1 workshop" in runner.invoke(args=["purge", "--days", "29"]).output
    db.session.expire_all()
    assert db.session.get(Booking, row.id).name is None


def test_purge_days_from_configuration(runner, app, make_workshop, make_stop, now):
    app.config["PURGE_AFTER_DAYS"] = 7
    row = booking(make_workshop(stop=make_stop(starts_at=now - timedelta(days=8))))
    result = runner.invoke(args=["purge"])
    assert "1 booking in 1 workshop" in result.output and "7 days ago" in result.output
    db.session.expire_all()
    assert db.session.get(Booking, row.id).contact is None
