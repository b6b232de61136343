"""Check-in rules: who may come in, walk-ins, releasing no-shows, registered tablets and their offline queues.

What a scanned or typed code means (`decide`)
    A code is either a ticket token read from a QR code (DB2, signed with Ed25519; or DB1, the older HMAC tickets)
    or a booking code typed by hand ("K7M-Q4P" is read as "K7MQ4P"). A token whose signature does not hold is
    FORGED; so is a DB1 token once its workshop has passed (DB1 tickets are honoured only until then). A code that
    names no booking is UNKNOWN, and so is anything that is neither a token nor a code (a garbled scan). Then the
    booking decides, in this order: CANCELLED; on the waiting list (WAITING); for another workshop at this stop
    (OTHER_WORKSHOP, with its time) or at another stop or day (OTHER_STOP, with place and date); already checked in
    (AGAIN, with when, on which tablet and by whom); else VALID. The tablet's offline check applies the same order
    to the day's data (static/js/checkin.js), so online and offline answers agree.

Checking in
    Checking in sets how many of the party came (`arrived`, 1 to the party size; the whole party unless staff say
    "2 of 3 came") with one conditional UPDATE that only matches a confirmed booking nobody has checked in yet, so
    two tablets tapping the same person at once check them in once. The count can be changed afterwards, and a
    check-in can be undone. Each action carries a nonce made on the tablet when staff acted: the same nonce again
    (a double tap, a queue sent twice) gets the first answer back and changes nothing.

Walk-ins and no-shows
    Staff may seat people without a booking (a first name, a party of 1 to 4) in free seats, also after the start
    (residents may not book then). Seats come only through the booking service's conditional UPDATE, so walk-ins
    never exceed the capacity, however many tablets add them at once. From the workshop's start, staff can release
    the seats of confirmed bookings nobody has checked in for (one confirmation): those bookings are cancelled and
    their seats go to walk-ins and to waiting parties who are there ("seat now" on a waiting party).

Setting up a tablet (the pairing rule)
    A tablet that holds a credential can send check-ins without anyone signed in, so no tablet works on one staff
    member's word. A staff member asks on the tablet (a name; with several buses, its bus): the tablet gets its
    sync credential (shown to it once, stored hashed) and six digits derived from it (`pairing_code`), and waits.
    A coordinator approves it under /admin/tablets, recognising it by name and digits, or refuses it. A coordinator
    setting up a tablet themselves approves it at once. Each bus has at most TABLETS_PER_BUS approved tablets (not
    revoked): approving locks the bus's row first, so two coordinators approving at once cannot pass the limit; a
    lost tablet is revoked to make room. At most MAX_WAITING tablets wait at once. A waiting tablet gets nothing:
    no day data, no seat share, no signing key, its queue is not taken; its pages say plainly that it waits for a
    coordinator's approval. Revoking (or refusing) stops its credential at once.

Tablets and the offline queue
    An approved tablet keeps its credential until a coordinator revokes it, after which nothing it sends is
    accepted. The credential is not a sign-in: it outlives the
    12-hour staff sign-in, so check-ins made offline are never stranded by an expired session. "Prepare for today"
    gives the tablet the data of the day's stops (only what the door needs: code, name, party size, needs note,
    state), the public ticket keys and its seat shares (below); the data expires at the end of the day. Offline,
    the tablet decides by the same rules and queues each action with its device id, a per-device sequence number
    and the nonce. On sync, actions are applied in sequence order; a replayed nonce gets its stored answer, only
    from the tablet that sent it (another tablet's nonce is refused and tells nothing); a
    check-in of a booking another tablet has already checked in is stored once, counted once, and flagged as a
    CONFLICT for staff to look at. Gaps in the sequence are reported back. A walk-in from the queue is judged by
    when it was made (it was seated then); it uses the tablet's share first, then any free seat; if there is none
    it goes onto the waiting list as a walk-in (WAITING), for staff to seat when a seat is free, never dropped.
    Online, a walk-in takes a free seat first and the share only when none is left, so the share stays for when
    the network is gone; when none is free it is refused (FULL) and the volunteer decides at once.

Seat shares for offline walk-ins (the rule)
    A tablet without network cannot ask before it seats someone, so some seats are set aside for it, but never
    while residents can still book them. Three promises: an offline walk-in never overbooks, no seat is held for a
    tablet while a resident could have it, and nobody is kept from a free seat longer than needed.
    - In line: preparing the day puts the tablet in line for a share of each of today's workshops that has not
      started (`SeatShare` with no seat and no `taken_at`); a workshop on another day gets none, since the day's
      data ends at midnight. While booking is open (until the start minus BOOKING_CLOSES_MINUTES) nothing is held.
    - Taking: once booking has closed, every tablet in line gets up to WALKIN_SHARE of the seats still free then,
      one seat each in turn (`hand_out_shares`; counted in `seats_taken`, so nobody else can take them). It is
      done at every prepare and sync of any tablet and before every walk-in, the first time after booking closed,
      so the shares come from the seats free at that moment, whichever tablet is online. Coordinators see each
      tablet's share, in line or taken, on /admin/tablets.
    - Waiting for a seat: offline, the tablet seats walk-ins within the share it knows; one beyond it (before
      booking closed the tablet knows of no share) is kept on the tablet as "waiting for a seat" and decided at
      sync: the tablet's share if the server handed it one meanwhile, else any free seat, else the waiting list
      (see above). The tablet shows the volunteer what was decided.
    - From the start a held seat only keeps people at the door (walk-ins on another tablet, waiting parties seated
      there) from a free seat. So a tablet that is online after the start gives its share of that workshop up: it
      stops using the share first (its own check keeps further offline walk-ins as waiting for a seat), then sends
      its queue and the give-up in one request. The server applies the queue, then returns the unused seats only
      if it holds every action the tablet has numbered (no gap up to the sequence number sent with the give-up)
      and the workshop has started by the server's clock; otherwise the share stays until the next try. So every
      walk-in seated with the share is counted before its seats go back.
    - At the workshop's end walk-ins close, and shares still held go back without their tablet (at the next
      prepare or sync of any tablet). A walk-in seated offline before the end and sent later still gets a seat
      from these: after the end nobody else takes seats (residents stop at the start, the waiting list moves only
      before the start, staff seat people only until the end).
    - Signing out (after the queue is sent) and revoking the tablet give back all its unused seats at once.
    Seats that go back before the start go to the waiting list first, like any seat set free.
    Not chosen: holding shares from the morning's prepare (four tablets held two seats each of every workshop, so
    residents were put on the waiting list while seats stood empty); giving the share back at every online sync
    (the tablet can lose the network a second later); holding it to the end of the stop (from the start it keeps
    people at the door from free seats for nothing).

Where the rules live
    This module is the feature's interface: views and other features use the names below. The rules are written
    in places.py (today's stops, counts, the door list), decide.py (what a code means), actions.py (check-in,
    walk-in, release, conflicts), tablets.py (registration, seat shares, the day's data) and signing.py (who acted,
    applying a tablet's queue); outcomes.py holds the outcomes every part shares.

Audit
    Every check-in, change of count, undo, walk-in, release, device registration and revocation is an AuditEvent
    with the user, the tablet's name and the time.
"""
from __future__ import annotations

from .actions import Action, booking_of, conflicts, mark_conflict_seen, new_nonce, perform, release, summary
from .decide import code_read, decide
from .outcomes import (
    AGAIN, CANCELLED, CLOSED, DEVICE_NAME_MAX, DONE, FORGED, FULL, INVALID, KINDS, MAX_QUEUE, NAME_MAX, NONCE_MAX,
    NOT_TODAY, OTHER_STOP, OTHER_WORKSHOP, OUTCOMES, UNKNOWN, VALID, WAITING, Decision, Refused,
)
from .places import (
    Counts, bookings_for, counts, current_stop, end_of_day, fold, is_of_day, is_today, local_day, place_name,
    stops_of_day, workshops_of_day,
)
from .signing import CLOCK_SKEW, SIGNED_FIELDS, action_from, out_of_day, signed_text, signer, signing_key, sync
from .tablets import (
    BUS_FULL, GONE, MAX_WAITING, TOO_MANY_WAITING, approve_device, approved_on, audit_day_download,
    device_for, devices, give_up_shares, hand_out_shares, pairing_code, prepare, register_device,
    return_ended_shares, return_shares, revoke_device, shares_left, shares_of_day, waiting_device,
)

__all__ = [
    "AGAIN", "BUS_FULL", "CANCELLED", "CLOCK_SKEW", "CLOSED", "DEVICE_NAME_MAX", "DONE", "FORGED", "FULL", "GONE",
    "INVALID", "KINDS", "MAX_QUEUE", "MAX_WAITING", "NAME_MAX", "NONCE_MAX", "NOT_TODAY", "OTHER_STOP",
    "OTHER_WORKSHOP", "OUTCOMES", "SIGNED_FIELDS", "TOO_MANY_WAITING", "UNKNOWN", "VALID", "WAITING",
    "Action", "Counts", "Decision", "Refused",
    "action_from", "approve_device", "approved_on", "audit_day_download", "booking_of", "bookings_for", "code_read",
    "conflicts", "counts", "current_stop", "decide", "device_for", "devices", "end_of_day", "fold",
    "give_up_shares", "hand_out_shares", "is_of_day", "is_today", "local_day", "mark_conflict_seen", "new_nonce",
    "out_of_day", "pairing_code", "perform", "place_name", "prepare", "register_device", "release",
    "return_ended_shares", "return_shares", "revoke_device", "shares_left", "shares_of_day", "signed_text",
    "signer", "signing_key", "stops_of_day", "summary", "sync", "waiting_device", "workshops_of_day",
]
