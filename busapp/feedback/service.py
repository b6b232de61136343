"""Feedback rules: which stop an answer is for, when it is taken, how often from one phone, and exactly once.

Which stop
    An answer sent to a stop's form (`/f/<stop>`, `/f/w/<workshop>`) is for that stop. An answer sent to the bus's
    permanent code (`/f`) is for the stop the bus was at when the answer was given (`rules.bus_stop`): a phone without
    reception in the bus keeps the answer in its outbox together with the time it was given, and sends it later.
    That time is the phone's word; one in the future counts as now, one that is not a time is ignored (then the
    answer counts as given when it arrives). A workshop chosen on a saved copy of the form that does not belong to
    that stop is dropped: the answer still counts for the visit as a whole.

When
    Answers are taken from a published stop's start until FEEDBACK_OPEN_DAYS after its end (`rules.closed_reason`),
    measured when the answer arrives, so an outbox that sends it hours later still gets it in.

Exactly once
    Every form carries an idempotency key made when it was shown (UNIQUE in the table). A repeat with the same key
    gets the first answer's result, even after the stop closed for new answers; when two copies race, the loser's
    INSERT fails and it answers as for a repeat.

One phone, a few answers
    At most FEEDBACK_DEVICE_LIMIT answers per phone, stop and workshop (or the visit as a whole) and day, counted by a
    keyed hash of a random cookie that changes meaning every day (`rules.device_hash`). A soft limit against
    thoughtless repeats, not a defence against someone determined: the cookie can be deleted. So answers are also
    counted per address (IPv6: per /64): at most FEEDBACK_ADDRESS_LIMIT per stop and workshop (or visit) and day,
    whatever the cookie (`rules.address_allows`, an atomic counter), except from the bus's TRUSTED_NETWORKS. Each
    answer keeps a keyed, dated hash of its address (`rules.origin_hash`), so coordinators see bursts of answers
    from one address on /admin/bursts (`bursts`) without anyone's address being stored.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..core import ratelimit
from ..core.extensions import db
from ..models import Feedback, Stop, Workshop
from . import rules

# How far a phone's clock may run ahead before its time is not believed.
CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Answers:
    """What the person gave, already validated by the form."""

    rating: int
    learned: str = ""
    missing: str = ""
    wish_topic: str = ""
    wish_other: str = ""
    age_group: str = ""


@dataclass(frozen=True)
class Saved:
    """The result of a submission, taken from what was written (not read back after the commit)."""

    stop_id: int
    replay: bool


class Refused(Exception):
    """The answer is not taken; `message` says why, in the person's language."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class Gone(Exception):
    """The stop was deleted while the answer was on its way."""


def find(key: str) -> Saved | None:
    """The answer stored before under this idempotency key, as a replay."""
    stop_id = db.session.scalar(sa.select(Feedback.stop_id).where(Feedback.idempotency_key == key))
    return Saved(stop_id, replay=True) if stop_id is not None else None


def given_time(raw: str | None, at: datetime) -> datetime:
    """When the answer was given: the time the phone sent along (ISO 8601 with a zone), else `at` (arrival)."""
    text = (raw or "").strip()
    if not text or len(text) > 40:
        return at
    try:
        given = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return at
    if given.tzinfo is None or given > at + CLOCK_SKEW:
        return at
    return min(given, at)


def stop_for_bus(given_at: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop an answer to the bus's permanent code is for (see the module's rule)."""
    return rules.bus_stop(given_at, bus_id)


def workshop_choice(workshops: list[Workshop], raw: str | None) -> str:
    """The submitted workshop if it belongs to the stop, else "" (the visit as a whole); for the bus's code only."""
    text = (raw or "").strip()
    return text if any(str(w.id) == text for w in workshops) else ""


def save(stop: Stop, workshop: Workshop | None, answers: Answers, *, key: str, device_token: str,
         given_at: datetime, locale: str) -> Saved:
    """Store one answer exactly once per key; raises Refused (device limit) or Gone (stop deleted meanwhile)."""
    hashed = rules.device_hash(device_token, given_at)
    if rules.device_count(hashed, stop, workshop) >= rules.device_limit():
        raise Refused(_(
            "You can send at most %(limit)d answers a day for the same workshop from one phone. "
            "Thank you, we have your answers.", limit=rules.device_limit()
        ))
    origin = rules.origin_hash(given_at)
    if not rules.address_allows(origin, stop, workshop):
        raise Refused(_(
            "Many answers for this workshop have come from this internet connection today. "
            "Thank you, we have your answers."
        ))
    stop_id = stop.id
    db.session.add(Feedback(
        stop_id=stop_id,
        workshop_id=workshop.id if workshop else None,
        rating=answers.rating,
        learned=answers.learned,
        missing=answers.missing,
        wish_topic=answers.wish_topic,
        wish_other=answers.wish_other,
        age_group=answers.age_group,
        locale=locale[:8],
        idempotency_key=key,
        device_hash=hashed,
        origin=origin,
        given_at=given_at,
    ))
    try:
        db.session.commit()
    except IntegrityError:
        # Two copies of one answer arrived at once and the other one won: answer as for a replay.
        db.session.rollback()
        existing = find(key)
        if existing is not None:
            return existing
        if db.session.get(Stop, stop_id) is None:
            raise Gone() from None
        raise
    return Saved(stop_id, replay=False)


# --- bursts: many answers from one address ---------------------------------------------------------------------

BURST_GAP = timedelta(hours=1)
BURST_LOOKBACK = timedelta(days=30)


@dataclass
class Burst:
    """Answers from one address (on one day: the hash changes daily), each within BURST_GAP of the one before."""

    origin: str
    answers: list

    @property
    def label(self) -> str:
        return self.origin[:6].upper()

    @property
    def first_at(self) -> datetime:
        return self.answers[0].created_at

    @property
    def last_at(self) -> datetime:
        return self.answers[-1].created_at


def bursts(now: datetime | None = None, size: int | None = None) -> list[Burst]:
    """Runs of at least `size` (BURST_SIZE) answers from one address in the last 30 days, newest first."""
    now = now or rules.now()
    size = size or current_app.config["BURST_SIZE"]
    rows = db.session.scalars(
        sa.select(Feedback).where(Feedback.origin != "", Feedback.created_at >= now - BURST_LOOKBACK)
        .order_by(Feedback.origin, Feedback.created_at, Feedback.id)
        .options(joinedload(Feedback.stop), joinedload(Feedback.workshop))
    ).all()
    found = [Burst(run[0].origin, run) for run in ratelimit.runs(rows, size, BURST_GAP)]
    return sorted(found, key=lambda b: b.last_at, reverse=True)
