"""The live status of a stop (on the way, here now, running late by N minutes, left), set by coordinators on the
planning pages and by staff on the tablet.

The rules
    Only a published stop that is not over has a live status; a cancelled stop says so through its cancellation
    (planning), not here. "Running late" carries the minutes (1 to MAX_DELAY_MINUTES); the other states clear
    them. A note (at most 200 characters) may say more ("we stand behind the church today"). The live status is
    not part of the appointment, so it does not raise the calendar SEQUENCE. Every change is audited; the public
    pages show it within the page cache's lifetime (PAGE_CACHE_SECONDS).
"""
from __future__ import annotations

from ..extensions import db
from ..models import LiveStatus, Stop, StopStatus, User, audit, utcnow

MAX_DELAY_MINUTES = 240
NOTE_MAX = 200


class LiveRefused(Exception):
    """The live status cannot be set; `reason` says why (a key: gone, not_published, over, minutes, note)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def set_live_status(stop_id: int, status: LiveStatus, *, minutes_late: int | None = None, note: str = "",
                    user: User | None = None, device: str = "") -> Stop:
    """Set a stop's live status now; raises LiveRefused."""
    stop = db.session.get(Stop, stop_id)
    if stop is None:
        raise LiveRefused("gone")
    if stop.status != StopStatus.PUBLISHED:
        raise LiveRefused("not_published")
    if stop.is_over():
        raise LiveRefused("over")
    if status == LiveStatus.LATE:
        if minutes_late is None or not 1 <= minutes_late <= MAX_DELAY_MINUTES:
            raise LiveRefused("minutes")
    else:
        minutes_late = None
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise LiveRefused("note")
    before = {"live_status": stop.live_status.value, "minutes": stop.live_delay_minutes, "note": stop.live_note}
    stop.live_status = status
    stop.live_delay_minutes = minutes_late
    stop.live_note = note
    stop.live_updated_at = utcnow()
    audit("stop-live", stop, user=db.session.get(User, user.id) if user is not None else None, device=device,
          before=before, after={"live_status": status.value, "minutes": minutes_late, "note": note})
    db.session.commit()
    return stop
