"""Schedule rules that staff and coordinators change: the live status of a stop.

Live status (the rule)
    Staff on the bus and coordinators in the office set a stop's live status: on the way, here now, running late
    (by a number of minutes, 1 to 600: busapp/domain/live.py), left, or back to scheduled; or they cancel the visit with a reason that
    residents read. A cancelled or draft stop gets no live status: a cancelled stop stays cancelled until a
    coordinator publishes it again, and a draft is not public. Cancelling needs a reason. Every change records who,
    on which device and when (an audit event with the state before and after), stamps `live_updated_at`, and a
    cancellation bumps the stop's calendar SEQUENCE so subscribed calendars show it. The public pages read the stop
    row, so they show the change within the page cache's lag (PAGE_CACHE_SECONDS).
"""
from __future__ import annotations

from ..core.content import set_texts_of
from ..domain import live
from ..core.extensions import db
from ..core.forms import clean_text
from ..models import LiveStatus, Stop, StopStatus, User, audit, utcnow

CANCELLED = "cancelled"
# What staff can choose; "cancelled" changes the stop's status rather than its live status.
CHOICES = (LiveStatus.ON_THE_WAY.value, LiveStatus.HERE.value, LiveStatus.LATE.value, LiveStatus.LEFT.value,
           LiveStatus.SCHEDULED.value, CANCELLED)
REASON_MAX = 200


class LiveStatusRefused(ValueError):
    """The change cannot be made; `reason` is one of: unknown, not_public, cancelled, minutes, reason."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def set_live_status(stop: Stop, status: str, minutes_late: int | None = None, reason: str = "",
                    user: User | None = None, device: str = "", texts: dict[str, str] | None = None) -> Stop:
    """Change a stop's live status by the module's rule and commit; raises LiveStatusRefused.

    `texts` is the note (or the reason for a cancellation) in other languages, {tag: text}. Without it, a note that
    changed loses the translations of the one before, which no longer say the same."""
    status = getattr(status, "value", status)
    if status not in CHOICES:
        raise LiveStatusRefused("unknown")
    if stop.status == StopStatus.DRAFT:
        raise LiveStatusRefused("not_public")
    if stop.status == StopStatus.CANCELLED:
        raise LiveStatusRefused("cancelled")
    reason = " ".join(clean_text(reason or "").split())[:REASON_MAX]
    before = {"status": stop.status.value, "live_status": stop.live_status.value,
              "minutes_late": stop.live_minutes_late, "note": stop.live_note, "texts": stop.texts}
    now = utcnow()
    if status == CANCELLED:
        if not reason:
            raise LiveStatusRefused("reason")
        stop.status = StopStatus.CANCELLED
        if texts is not None or reason != stop.cancel_reason:
            set_texts_of(stop, "cancel_reason", texts)
        stop.cancel_reason = reason
        stop.sequence += 1
    else:
        if status == LiveStatus.LATE.value:
            if not live.minutes_ok(minutes_late):
                raise LiveStatusRefused("minutes")
            stop.live_minutes_late = int(minutes_late)
        else:
            stop.live_minutes_late = None
        stop.live_status = LiveStatus(status)
        if texts is not None or reason != stop.live_note:
            set_texts_of(stop, "live_note", texts if reason else None)
        stop.live_note = reason
    stop.live_updated_at = now
    after = {"status": stop.status.value, "live_status": stop.live_status.value,
             "minutes_late": stop.live_minutes_late, "note": stop.live_note, "texts": stop.texts}
    audit("stop-live-status", stop, user=user, device=device, before=before, after=after)
    db.session.commit()
    return stop
