"""Where the bus stands for a stop, in words: the statuses staff and coordinators set, the one "minutes late"
rule, and the status line a visitor reads (pages, open data). The rule for setting it is in
busapp/schedule/service.py; the words are here, once, for the tablet, the office and the public pages."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _, lazy_gettext as _l

from ..models import LiveStatus, Stop, StopStatus

MIN_MINUTES_LATE = 1
MAX_MINUTES_LATE = 600

# What staff and coordinators can set, and what they read for it (in the order the office's list shows them).
LABELS = {
    LiveStatus.SCHEDULED.value: _l("As planned"),
    LiveStatus.ON_THE_WAY.value: _l("On the way"),
    LiveStatus.HERE.value: _l("Here now"),
    LiveStatus.LATE.value: _l("Running late"),
    LiveStatus.LEFT.value: _l("Has left"),
}


def minutes_ok(minutes: object) -> bool:
    """Whether a number of minutes late can be shown: a whole number from 1 to 600."""
    try:
        value = int(minutes)
    except (TypeError, ValueError):
        return False
    return MIN_MINUTES_LATE <= value <= MAX_MINUTES_LATE


# The answer to minutes late outside the rule, in the reader's language.
MINUTES_MESSAGE = _l("Please give how many minutes late: %(min)d to %(max)d.", min=MIN_MINUTES_LATE,
                     max=MAX_MINUTES_LATE)


@dataclass(frozen=True)
class LiveState:
    """What to tell a visitor about where the bus stands for one stop."""

    key: str
    label: str
    tone: str  # badge colour: "ok", "warn", "bad" or "" (neutral)


# Every key public_state() can answer (the open data's enum).
PUBLIC_STATES = ("scheduled", "on_the_way", "here", "late", "due", "left", "over", "cancelled")


def public_state(stop: Stop, now: datetime) -> LiveState:
    """The one status line a visitor needs: cancelled and over win over what the staff last set."""
    if stop.status == StopStatus.CANCELLED:
        return LiveState("cancelled", _("Cancelled"), "bad")
    if stop.is_over(now):
        return LiveState("over", _("This visit is over"), "")
    if stop.live_status == LiveStatus.LEFT:
        return LiveState("left", _("The bus has left"), "")
    if stop.live_status == LiveStatus.HERE:
        return LiveState("here", _("Here now"), "ok")
    if stop.live_status == LiveStatus.LATE:
        return LiveState("late", _("Running late"), "warn")
    if stop.live_status == LiveStatus.ON_THE_WAY:
        return LiveState("on_the_way", _("On the way"), "ok")
    if stop.starts_at <= now:
        return LiveState("due", _("Open now"), "ok")
    return LiveState("scheduled", _("Planned"), "")
