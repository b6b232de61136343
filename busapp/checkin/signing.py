"""Who acted: actions signed on the tablet while someone was signed in, and applying a tablet's queue
(busapp/checkin/service.py states the rules)."""
from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import joinedload

from ..core.extensions import db
from ..models import CheckIn, Device, Role, User, Workshop, utcnow
from .actions import Action, _record_action, _replayed, _same_device, perform
from .outcomes import INVALID, KINDS, MAX_QUEUE, NAME_MAX, _NONCE, Decision, Refused
from .places import _day_bounds, is_of_day, local_day
from .tablets import GONE, give_up_shares, hand_out_shares, return_ended_shares, shares_left


# The fields of a queued action its signature covers, in this order (static/js/checkin.js signs the same text).
SIGNED_FIELDS = ("kind", "workshop_id", "booking_id", "people", "name", "party_size", "nonce", "sequence", "acted_at")
CLOCK_SKEW = timedelta(minutes=2)  # a tablet's clock may run this much ahead of the server's


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signing_key(device: Device, user: User, day: date) -> dict:
    """The key a tablet signs its queued actions with, issued while `user` is signed in on it, for one day.

    Derived from the app's secret, the tablet, the person and the day, so the server keeps nothing and can tell
    from a signature alone who acted, on which tablet and for which day. Without a sign-in the tablet gets no new
    key: its credential alone can only send what was signed while someone was signed in."""
    secret = current_app.config["SECRET_KEY"].encode()
    raw = hmac.new(secret, f"action-key\n{device.id}\n{user.id}\n{day.isoformat()}".encode(), hashlib.sha256).digest()
    return {"id": f"{user.id}.{day.isoformat()}", "key": _b64(raw), "user_id": user.id, "day": day.isoformat()}


def signed_text(item: dict) -> str:
    """The text a queued action's signature covers."""
    values = []
    for name in SIGNED_FIELDS:
        value = item.get(name)
        values.append("" if value is None else str(value))
    return "\n".join(values)


def signer(device: Device, item: dict) -> tuple[User, date] | None:
    """Who signed this queued action on this tablet, and for which day; None when it is unsigned or forged."""
    key_id, signature = item.get("key"), item.get("sig")
    if not isinstance(key_id, str) or not isinstance(signature, str) or len(key_id) > 40 or len(signature) > 100:
        return None
    user_part, _, day_part = key_id.partition(".")
    try:
        user_id, day = int(user_part), date.fromisoformat(day_part)
    except ValueError:
        return None
    user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None or not user.active or not user.has_role(Role.STAFF):
        return None
    key = base64.urlsafe_b64decode(signing_key(device, user, day)["key"] + "=")
    expected = _b64(hmac.new(key, signed_text(item).encode(), hashlib.sha256).digest())
    return (user, day) if hmac.compare_digest(expected, signature) else None


def out_of_day(action: Action, day: date, now: datetime) -> str | None:
    """Why a queued action cannot be for this day: its time (missing, outside the day, in the future) or its
    workshop (none, or at a stop of another day). None when it may be applied."""
    start, end = _day_bounds(day)
    if action.acted_at is None or not start <= action.acted_at < end or action.acted_at > now + CLOCK_SKEW:
        return "acted_at"
    workshop = db.session.get(Workshop, action.workshop_id)
    if workshop is None or not is_of_day(workshop.stop, day):
        return "other_day"
    return None


def _parse_time(value) -> datetime | None:
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else None


def _small_int(value, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return None
    return value


def action_from(item: dict) -> Action | None:
    """An Action from one queued item as the tablet sent it, or None when it is malformed."""
    if not isinstance(item, dict):
        return None
    kind, nonce = item.get("kind"), item.get("nonce")
    workshop_id = _small_int(item.get("workshop_id"), 1, 2**31 - 1)
    sequence = _small_int(item.get("sequence"), 1, 2**31 - 1)
    if kind not in KINDS or not isinstance(nonce, str) or not _NONCE.match(nonce) or not workshop_id \
            or sequence is None:
        return None
    booking_id = item.get("booking_id")
    if booking_id is not None and _small_int(booking_id, 1, 2**31 - 1) is None:
        return None
    if kind != "walkin" and booking_id is None:
        return None
    people = item.get("people")
    if people is not None and _small_int(people, 1, 4) is None:
        return None
    name = item.get("name") or ""
    party_size = item.get("party_size", 1)
    if not isinstance(name, str) or _small_int(party_size, 1, 4) is None:
        return None
    return Action(kind=kind, workshop_id=workshop_id, nonce=nonce, booking_id=booking_id, people=people,
                  name="".join(ch for ch in name if ch.isprintable())[:NAME_MAX], party_size=party_size,
                  sequence=sequence, acted_at=_parse_time(item.get("acted_at")), from_queue=True)


BATCH = 50


def _apply_batched(actions: list[Action], user: User | None, device: Device,
                   now: datetime | None = None) -> dict[str, Decision]:
    """On PostgreSQL: apply a queue BATCH actions per transaction, each in its own savepoint, so a queue of 200
    costs 4 commits instead of 200. Whatever a batch could not settle (a nonce or sequence number that collides,
    a deadlock with another tablet's batch) is left out of the answer and done one by one by `perform`.
    SQLite keeps one transaction per action: there a transaction must begin with its write."""
    if db.session.get_bind().dialect.name != "postgresql":
        return {}
    user_id = user.id if user is not None else None
    done: dict[str, Decision] = {}
    for start in range(0, len(actions), BATCH):
        chunk = actions[start:start + BATCH]
        db.session.rollback()
        settled: dict[str, Decision] = {}
        try:
            for action in chunk:
                try:
                    with db.session.begin_nested():
                        acted_by = action.user_id if action.user_id is not None else user_id
                        settled[action.nonce] = _record_action(action, acted_by, device, now or utcnow())
                except IntegrityError:
                    continue
            db.session.commit()
        except OperationalError:
            db.session.rollback()
            continue
        done.update(settled)
    return done


def sync(device: Device, items: list, user: User | None = None, *, give_up=(), sequence: int | None = None,
         now: datetime | None = None) -> dict:
    """Apply a tablet's queued actions in sequence order (the module's rule); then, if it asks, return its shares
    of started workshops (the seat-share rule: only when every action up to `sequence` is stored). Returns each
    action's answer, the sequence numbers still missing, and the seats the tablet's shares still hold. Only for an
    approved tablet (the pairing rule): Refused(GONE) otherwise."""
    if not device.is_approved:
        raise Refused(GONE)
    results = []
    actions = []
    now = now or utcnow()
    hand_out_shares(now)  # booking may have closed: the queue's walk-ins use the tablet's share first
    for item in items[:MAX_QUEUE]:
        action = action_from(item)
        nonce = item.get("nonce") if isinstance(item, dict) else None
        if action is None:
            results.append({"nonce": nonce if isinstance(nonce, str) else None, "outcome": INVALID})
            continue
        # Who acted comes from the action's signature, made while they were signed in on this tablet; an unsigned
        # action only from the person signed in now, for today. Never from what the request says.
        signed = signer(device, item)
        if signed is not None:
            acted_by, day = signed
        elif user is not None:
            acted_by, day = user, local_day(now)
        else:
            results.append({"nonce": action.nonce, "sequence": action.sequence, "outcome": INVALID,
                            "reason": "unsigned"})
            continue
        why = out_of_day(action, day, now)
        if why is not None:
            results.append({"nonce": action.nonce, "sequence": action.sequence, "outcome": INVALID, "reason": why})
            continue
        action.user_id = acted_by.id
        actions.append(action)
    device_id = device.id
    # Replays are answered from one query; new actions then skip their own look-up.
    known = {record.nonce: record for record in db.session.scalars(
        sa.select(CheckIn).where(CheckIn.nonce.in_([a.nonce for a in actions]), _same_device(device))
        .options(joinedload(CheckIn.booking))
    )} if actions else {}
    ordered = sorted(actions, key=lambda a: a.sequence)
    batched = _apply_batched([a for a in ordered if a.nonce not in known], user, device, now)
    for action in ordered:
        earlier = known.get(action.nonce)
        if earlier is not None:
            decision = _replayed(earlier)
        else:
            decision = batched.get(action.nonce) or perform(action, user=user, device=device, now=now,
                                                            nonce_checked=True)
        results.append({
            "nonce": action.nonce, "sequence": action.sequence, "kind": action.kind, "outcome": decision.outcome,
            "conflict": decision.conflict, "replay": decision.replay, "booking": decision.detail.get("summary"),
        })
    seen = set(db.session.scalars(sa.select(CheckIn.sequence).where(CheckIn.device_id == device_id,
                                                                    CheckIn.sequence.is_not(None))))
    highest = max(seen, default=0)
    device = db.session.get(Device, device_id)
    device.last_sequence = max(device.last_sequence, highest)
    device.last_seen_at = now or utcnow()
    db.session.commit()
    gaps = [n for n in range(1, highest + 1) if n not in seen][:100]
    complete = isinstance(sequence, int) and 0 <= sequence <= highest and not any(n not in seen
                                                                                   for n in range(1, sequence + 1))
    returned = give_up_shares(device, give_up, now) if give_up and complete else {}
    return_ended_shares(now)
    device = db.session.get(Device, device_id)
    return {"results": results, "last_sequence": device.last_sequence, "gaps": gaps,
            "given_up": returned, "shares": shares_left(device)}
