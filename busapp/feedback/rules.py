"""When feedback is open, which stop the bus's permanent code points to, and the per-device soft limit."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app, request
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from ..core import ratelimit
from ..domain import town, tour
from ..core.extensions import db
from ..models import Feedback, Stop, StopStatus, Workshop, WorkshopStatus, utcnow

DEVICE_COOKIE = "fbdev"
DEVICE_COOKIE_DAYS = 400  # browsers cap cookie lifetimes at about 400 days


def now() -> datetime:
    """The current time; tests replace this to ask "what if it were Tuesday 11:00?"."""
    return utcnow()


day_start = town.day_start  # midnight in the town of the day `at` falls on


def open_days() -> int:
    return int(current_app.config["FEEDBACK_OPEN_DAYS"])


def device_limit() -> int:
    return int(current_app.config["FEEDBACK_DEVICE_LIMIT"])


def bus_stop(at: datetime, bus_id: int | None = None) -> Stop | None:
    """The stop the bus (this bus, when one is named) is at now, else the last stop it was at earlier the same day
    (busapp/domain/tour.py)."""
    return tour.last_today(at, bus_id)


def next_stops(at: datetime, limit: int = 3) -> list[Stop]:
    """The next published stops after `at`, with their districts loaded in the same query."""
    return list(db.session.scalars(
        sa.select(Stop).options(joinedload(Stop.district))
        .where(Stop.status == StopStatus.PUBLISHED, Stop.starts_at > at)
        .order_by(Stop.starts_at, Stop.id).limit(limit)
    ))


def closes_at(stop: Stop) -> datetime:
    return stop.ends_at + timedelta(days=open_days())


def closed_reason(stop: Stop, at: datetime) -> str | None:
    """Why feedback for this stop is not accepted at `at`, or None while it is open.

    Open for published stops from their start until some days after their end: people often answer on the
    way home, and a phone's outbox may send the answer only hours later."""
    if stop.status == StopStatus.DRAFT:
        return _("Feedback is not open for this stop.")
    if stop.status == StopStatus.CANCELLED:
        return _("This visit was cancelled, so there is nothing to rate.")
    if at < stop.starts_at:
        return _("Feedback opens when the visit begins.")
    if at >= closes_at(stop):
        return _("Feedback for this visit is closed.")
    return None


def workshops_for(stop: Stop) -> list[Workshop]:
    """The stop's workshops a person can rate: published ones, in time order."""
    return [w for w in stop.workshops if w.status == WorkshopStatus.PUBLISHED]


# --- the per-device soft limit ---------------------------------------------------------------------------


def device_token() -> tuple[str, bool]:
    """The device's random cookie value, and whether it is new (then it must be set on the response)."""
    token = request.cookies.get(DEVICE_COOKIE, "")
    if 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum():
        return token, False
    return secrets.token_urlsafe(32), True


def set_device_cookie(response, token: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE, token, max_age=int(timedelta(days=DEVICE_COOKIE_DAYS).total_seconds()),
        path="/f", httponly=True, samesite="Lax", secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")),
    )


def device_hash(token: str, at: datetime) -> str:
    """A keyed hash of the device cookie and the date in the town.

    Keyed, so the stored value does not reveal the cookie; dated, so two answers from one phone can be linked
    only within the same day, which is all the limit needs."""
    message = f"feedback-device|{token}|{town.day_of(at).isoformat()}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()


def origin_hash(at: datetime) -> str:
    """A keyed hash of the client's address (IPv6: its /64) and the date in the town, like device_hash; "" inside
    TRUSTED_NETWORKS (the bus's router), where answers are not told apart by address."""
    if ratelimit.trusted_network():
        return ""
    message = f"feedback-origin|{ratelimit.client_key()}|{town.day_of(at).isoformat()}".encode()
    return hmac.new(current_app.config["SECRET_KEY"].encode(), message, hashlib.sha256).hexdigest()


def address_allows(origin: str, stop: Stop, workshop: Workshop | None) -> bool:
    """Count one answer from this address for the stop (and workshop, or the visit as a whole) today; False once
    past FEEDBACK_ADDRESS_LIMIT. Counted atomically in the rate counters, so parallel answers cannot slip by."""
    if not origin:
        return True
    limit = int(current_app.config["FEEDBACK_ADDRESS_LIMIT"])
    return ratelimit.hit("feedback-origin", f"{origin}|{stop.id}|{workshop.id if workshop else '-'}",
                         f"{limit}/86400")


def device_count(hashed: str, stop: Stop, workshop: Workshop | None) -> int:
    """How many answers this device gave today for this stop (and this workshop, or the stop as a whole)."""
    same_target = Feedback.workshop_id == workshop.id if workshop else Feedback.workshop_id.is_(None)
    return db.session.scalar(
        sa.select(sa.func.count(Feedback.id)).where(
            Feedback.device_hash == hashed, Feedback.stop_id == stop.id, same_target
        )
    ) or 0
