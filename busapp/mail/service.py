"""The mail outbox: every message is written as a row in the transaction of the change that causes it, and a
worker (`flask mail send --loop`) sends it later. A slow or absent mail server never holds up or breaks a request.

The rules
    enqueue     Adds a row to the caller's transaction, nothing else: when that transaction rolls back, the message
                was never there; when it commits, the message is kept until it is sent or given up. Without
                MAIL_SERVER the message is queued all the same and waits; it goes once a server is set up.
    claim       A worker takes a due message with one conditional UPDATE (status waiting and due, or a claim whose
                lease has run out) that writes its own lease token; only the worker whose UPDATE matched may send.
                Two workers never send one message, whichever database, since the UPDATE is atomic on both.
    send        The worker sends outside any transaction, then marks the row sent, only while it still holds the
                lease. The lease (MAIL_LEASE_SECONDS, minutes) is far longer than an SMTP conversation can take
                (smtp.TIMEOUT_SECONDS per step), so it cannot run out while a message is on its way.
    retry       A failure puts the message back to waiting, due again after a backoff that doubles with each try
                (MAIL_RETRY_SECONDS, 2x, 4x ... at most MAX_BACKOFF).
    dead        After MAIL_MAX_ATTEMPTS tries, or at once when the server refuses it for good (5xx), the message
                is dead: shown to coordinators on /admin/mail, who can send it again (`retry`).
    crash       A worker that dies between the server's "accepted" and marking the row sent leaves a claim whose
                lease runs out; the message is then sent again with the same Message-ID, so mail programs can
                tell it is the same. This is the only case that can repeat a message.

The API other features call:
    enqueue(to=..., subject=..., body=..., locale=..., kind=..., booking=..., attachments=[(name, text, type)])
"""
from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from ..core.extensions import db
from ..models import Booking, MailStatus, OutgoingMail, audit, utcnow
from . import smtp

MAX_BACKOFF = timedelta(hours=6)
CLAIM_BATCH = 20


def enqueue(*, to: str, subject: str, body: str, locale: str = "de", kind: str = "",
            booking: Booking | None = None,
            attachments: Iterable[tuple[str, str, str]] = ()) -> OutgoingMail | None:
    """Queue a plain-text message in the current transaction (the caller commits); None without an address.

    Queued also while no mail server is set up: the message waits and is sent once one is.

    `attachments` are (filename, text, "text/subtype"), e.g. ("workshop.ics", ics_text, "text/calendar")."""
    if not to:
        return None
    mail = OutgoingMail(
        kind=kind, to_address=to, subject=subject[:300], body=body, locale=locale,
        booking_id=booking.id if booking is not None else None,
        attachments=[{"filename": f, "content": c, "mimetype": t} for f, c, t in attachments],
        message_id=smtp.new_message_id(), status=MailStatus.WAITING, attempts=0, next_attempt_at=utcnow(),
    )
    db.session.add(mail)
    return mail


def backoff(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed try."""
    base = current_app.config["MAIL_RETRY_SECONDS"]
    return min(timedelta(seconds=base * 2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def _due(now: datetime):
    return sa.or_(
        sa.and_(OutgoingMail.status == MailStatus.WAITING, OutgoingMail.next_attempt_at <= now),
        sa.and_(OutgoingMail.status == MailStatus.SENDING, OutgoingMail.lease_until < now),
    )


def claim(now: datetime | None = None, limit: int = CLAIM_BATCH) -> list[tuple[int, str]]:
    """Claim up to `limit` due messages for this worker: [(id, lease token)]. Each claim is its own commit."""
    now = now or utcnow()
    lease = timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])
    candidates = db.session.scalars(
        sa.select(OutgoingMail.id).where(_due(now)).order_by(OutgoingMail.next_attempt_at, OutgoingMail.id)
        .limit(limit)
    ).all()
    db.session.rollback()
    claimed = []
    for mail_id in candidates:
        token = secrets.token_hex(16)
        won = db.session.execute(
            sa.update(OutgoingMail)
            .where(OutgoingMail.id == mail_id, _due(now))
            .values(status=MailStatus.SENDING, lease_token=token, lease_until=now + lease,
                    attempts=OutgoingMail.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount == 1
        db.session.commit()
        if won:
            claimed.append((mail_id, token))
    return claimed


def _finish(mail_id: int, token: str, **values) -> bool:
    done = db.session.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.id == mail_id, OutgoingMail.lease_token == token,
               OutgoingMail.status == MailStatus.SENDING)
        .values(lease_token=None, lease_until=None, **values)
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    db.session.commit()
    return done


def send_one(mail_id: int, token: str, now: datetime | None = None) -> MailStatus | None:
    """Send a claimed message and record what happened; returns its new status (None if the claim was lost)."""
    mail = db.session.get(OutgoingMail, mail_id)
    if mail is None or mail.lease_token != token:
        db.session.rollback()
        return None
    message = smtp.build(mail)
    attempts = mail.attempts
    db.session.rollback()  # no transaction stays open while the server is talked to
    try:
        smtp.deliver(message)
    except smtp.PermanentFailure as exc:
        _finish(mail_id, token, status=MailStatus.DEAD, last_error=str(exc)[:300])
        _log_failure(mail_id, exc)
        return MailStatus.DEAD
    except Exception as exc:  # noqa: BLE001 - any failure of the server or network means "try again later"
        now = now or utcnow()
        if attempts >= current_app.config["MAIL_MAX_ATTEMPTS"]:
            _finish(mail_id, token, status=MailStatus.DEAD, last_error=_describe(exc))
            status = MailStatus.DEAD
        else:
            _finish(mail_id, token, status=MailStatus.WAITING, last_error=_describe(exc),
                    next_attempt_at=now + backoff(attempts))
            status = MailStatus.WAITING
        _log_failure(mail_id, exc)
        return status
    _finish(mail_id, token, status=MailStatus.SENT, sent_at=utcnow(), last_error="")
    return MailStatus.SENT


def _describe(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _log_failure(mail_id: int, exc: Exception) -> None:
    # The message's number and the server, never the address: the log outlives the purge of personal data.
    cfg = current_app.config
    current_app.logger.warning("sending mail %s via %s:%s failed: %s", mail_id, cfg["MAIL_SERVER"],
                               cfg["MAIL_PORT"], _describe(exc))


@dataclass
class Round:
    """What one pass of the worker did."""

    sent: int = 0
    waiting: int = 0
    dead: int = 0

    @property
    def handled(self) -> int:
        return self.sent + self.waiting + self.dead


def send_due(now: datetime | None = None, limit: int = CLAIM_BATCH) -> Round:
    """Claim and send the messages that are due; one pass of the worker."""
    result = Round()
    if not smtp.enabled():
        return result
    for mail_id, token in claim(now, limit):
        status = send_one(mail_id, token, now)
        if status == MailStatus.SENT:
            result.sent += 1
        elif status == MailStatus.WAITING:
            result.waiting += 1
        elif status == MailStatus.DEAD:
            result.dead += 1
    return result


def retry(mail: OutgoingMail, user=None) -> bool:
    """Send a dead message again, from the first try; False when it is not dead (any more)."""
    done = db.session.execute(
        sa.update(OutgoingMail)
        .where(OutgoingMail.id == mail.id, OutgoingMail.status == MailStatus.DEAD)
        .values(status=MailStatus.WAITING, attempts=0, next_attempt_at=utcnow(), last_error="")
        .execution_options(synchronize_session=False)
    ).rowcount == 1
    if done:
        audit("mail-retry", mail, user=user, kind=mail.kind)
    db.session.commit()
    return done


def unsent(limit: int = 200) -> list[OutgoingMail]:
    """Messages not sent yet, dead ones first, then by when they are due: for the coordinators' page."""
    order = sa.case((OutgoingMail.status == MailStatus.DEAD, 0), else_=1)
    return list(db.session.scalars(
        sa.select(OutgoingMail).where(OutgoingMail.status != MailStatus.SENT)
        .order_by(order, OutgoingMail.next_attempt_at, OutgoingMail.id).limit(limit)
    ))


def counts() -> dict[str, int]:
    """How many messages are in each state."""
    rows = db.session.execute(
        sa.select(OutgoingMail.status, sa.func.count()).group_by(OutgoingMail.status)
    ).all()
    found = {status.value: n for status, n in rows}
    return {status.value: found.get(status.value, 0) for status in MailStatus}


def forget_booking(booking_id: int) -> int:
    """Delete every message of a booking (in the caller's transaction): its address goes with the booking's data."""
    return db.session.execute(
        sa.delete(OutgoingMail).where(OutgoingMail.booking_id == booking_id)
        .execution_options(synchronize_session=False)
    ).rowcount


def purge(now: datetime | None = None, days: int | None = None) -> int:
    """Delete messages sent more than MAIL_KEEP_DAYS ago, and any message of a booking whose data was purged."""
    now = now or utcnow()
    days = current_app.config["MAIL_KEEP_DAYS"] if days is None else days
    deleted = db.session.execute(
        sa.delete(OutgoingMail).where(sa.or_(
            sa.and_(OutgoingMail.status == MailStatus.SENT, OutgoingMail.sent_at < now - timedelta(days=days)),
            OutgoingMail.booking_id.in_(sa.select(Booking.id).where(Booking.purged_at.is_not(None))),
        )).execution_options(synchronize_session=False)
    ).rowcount
    db.session.commit()
    return deleted
