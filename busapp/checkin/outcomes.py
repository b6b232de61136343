"""What check-in actions come to: the outcomes, a refusal, a decision, and the small helpers every part of the
feature shares (busapp/checkin/service.py states the rules)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..core.forms import clean_text
from ..models import Booking, CheckIn, Device

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


def _device_label(device: Device | None) -> str:
    return device.name if device is not None else ""
