"""Mitreden rules: when a consultation takes answers, how often, exactly once, what is flagged, moderation, support.

When
    A consultation takes answers from its start until its end (`closed_reason`), on a phone and at the station
    alike. Paper cards are filled in on the bus during the period and typed in later by staff (bus volunteers and
    coordinators, each card's audit entry naming who typed it): they are taken until PAPER_DAYS after the end
    (`taking_paper`). The time that counts is the arrival at the server.

Where
    A consultation runs at the stops chosen for it; with none chosen, at every stop in its districts; with neither,
    at every stop (`runs_at`). A stop's consultation is the running one that runs there, the most particular first
    (chosen stops, then districts, then everywhere), then the one ending soonest (`for_stop`). The bus's code
    (/mitreden/bus) opens the consultation of the stop the bus is at now, or was at earlier that day, a stop's code
    (/mitreden/halt/<stop>) that of its stop; either one, and the station and the paper card, record where an
    answer was given, but only a stop the consultation runs at (`stop_for`): never a stop typed in by hand.

Exactly once
    Every form carries a key made when it was shown (UNIQUE in the table). A repeat with the same key gets the first
    answer's result, even after the consultation closed, and is not counted against any limit: a phone that sends its
    answer again after losing reception is counted once. When two copies race, the loser's INSERT fails and it
    answers as for a repeat.

How often
    As for feedback: at most FEEDBACK_DEVICE_LIMIT answers per device and consultation and day in the town, counted
    from the stored answers (a keyed hash of a random cookie and the day, `day_hash`), so copies of one answer racing each other all pass this
    check and the UNIQUE key makes them one; and at most FEEDBACK_ADDRESS_LIMIT per address (IPv6: its /64) and
    consultation and day, counted atomically by the app's rate limiter (busapp/core/ratelimit.py), except from the bus's
    TRUSTED_NETWORKS. The form's POSTs also pass the limiter's per-request limit (RATELIMIT_FEEDBACK). Paper cards
    and the station are typed in by staff and count against neither.

Little data
    Answers are anonymous: no name, no contact, no link to a booking or to anyone's account (the tables hold no such
    column). The questions about the person (age group, district, internet use) are each optional. An idea whose
    text looks like a phone number, an email address or a street address is flagged for the coordinators
    (`flag_for`); like every idea it is shown to nobody until a coordinator publishes it.

How long
    Answers and published ideas are anonymous and stay: they are what the strategy and the board's report rest on.
    MITREDEN_KEEP_DAYS after a consultation has ended (`purge`, run by `flask purge`), what could still point to a
    person goes: the ideas that were never published (new, hidden, merged into another), the devices' marks of the
    supports (the counts stay) and of the answers.

Moderation and answers
    Every idea starts as new. A coordinator publishes it or hides it with one of the published reasons
    (HIDE_REASONS); only published ideas are public. Each idea has a public status: received, under review, taken
    into the strategy, or not possible, and the last needs an answer saying why (CHECK constraints hold both rules,
    whoever writes the row).

    The answer is written in German; for an idea written in another language it may be given in that language too,
    and residents reading in it see that one (`Idea.answer_in`). The report counts answers per language.

Merging and correcting
    Two ideas saying the same are merged: the duplicate is hidden as said before and points to the idea kept, its
    supports move there, a device that supported both counted once, and ideas merged into the duplicate before now
    point to the one kept (`merge`). A coordinator corrects an idea's text (spelling, a phone number left in it)
    only with a note saying what was corrected, shown with the idea (`correct`); the text as written is not kept.

Following an idea
    Whoever leaves an idea on a phone gets a private link to follow it (/mitreden/idee/<token>): its moderation,
    status and the city's answer, and where it went when it was merged. No account: the token is made from the
    form's key with the app's secret (`follow_token`), so a repeat of the same form gets the same link; only its
    hash is stored, so the table does not hold the link.

Support
    Residents support published ideas, one support per device and idea (UNIQUE on idea and device hash); a second
    tap changes nothing. The idea's count goes up in the same transaction, by an UPDATE that counts only while the
    idea is published, so parallel taps all count and a tap racing a hiding counts nowhere. A support for a merged
    idea (a page shown before the merge) counts for the idea it was merged into.

The station
    A staff tablet switched into the Mitmach-Station takes one person's answers after another without sign-in
    (channel "station"). Whoever starts it (staff or coordinator) sets the staff PIN, 4 to 8 digits, stored only
    as a hash (`set_station_pin`); the tablet leaves the station only with that PIN (`station_pin_ok`).

Paper cards without network
    Staff type the cards on a tablet that may have no network: it keeps each card in its outbox under the key its
    form was shown with, empties the form for the next card and sends them later; the key makes each card count
    once, and a card sent again is answered as saved already.

The station without network
    The station's form carries a signed ticket naming its consultation and the time the page was shown
    (`station_ticket`). Without network the tablet keeps each person's answers in its outbox under the key the form
    was shown with, clears the form for the next person and sends them later: a ticket younger than PAPER_DAYS
    lets an answer from a station page in even when the tablet has left the station since (its staff PIN was given
    before the answers got through), and an answer given on a page shown during the period is taken until
    PAPER_DAYS after the end, like a paper card. The key makes each answer count once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _, lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from ..core import ratelimit
from ..core.extensions import db
from ..domain import tour, town
from ..models import District, Stop, StopStatus, User, audit, utcnow
from .models import Channel, Choice, Consultation, Contribution, Idea, IdeaStatus, Moderation, Question, StationPin, Support

PAPER_DAYS = 14
IDEA_MAX = 2000

AGE_GROUPS = {
    "under_18": _l("under 18"), "18_29": _l("18 to 29"), "30_49": _l("30 to 49"), "50_64": _l("50 to 64"),
    "65_79": _l("65 to 79"), "80_plus": _l("80 or older"),
}
INTERNET = {"daily": _l("daily"), "rarely": _l("rarely"), "never": _l("never")}
CHANNELS = {Channel.PHONE: _l("Phone"), Channel.STATION: _l("Station on the bus"), Channel.PAPER: _l("Paper card")}
STATUSES = {
    IdeaStatus.RECEIVED: _l("Received"), IdeaStatus.REVIEW: _l("Under review"),
    IdeaStatus.TAKEN: _l("Taken into the strategy"), IdeaStatus.NOT_POSSIBLE: _l("Not possible"),
}
# The published rules for hiding an idea.
HIDE_REASONS = {
    "personal": _l("Contains personal data"), "insult": _l("Insulting or discriminating"),
    "advert": _l("Advertising"), "off_topic": _l("Not about this question"), "duplicate": _l("Said before"),
}

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_PHONE = re.compile(r"(?:\+|\b0)[\d /()-]{6,}\d")
_STREET = re.compile(
    r"\b[\wäöüß-]*(?:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm|chaussee|ufer|stieg)\s+\d{1,4}\s?[a-z]?\b",
    re.I)


@dataclass(frozen=True)
class Submission:
    """What one person gave, already checked by the form."""

    choices: dict[int, list[int]] = field(default_factory=dict)
    idea: str = ""
    topic: str = ""
    age_group: str = ""
    district_id: int | None = None
    internet: str = ""
    stop_id: int | None = None


@dataclass(frozen=True)
class Saved:
    contribution_id: int
    consultation_id: int
    replay: bool


class Refused(Exception):
    """The answer is not taken; `message` says why, in the person's language."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field  # the form field it is about, where there is one


def now() -> datetime:
    """The current time; tests replace this."""
    return utcnow()


# --- when --------------------------------------------------------------------------------------------------------

def is_open(consultation: Consultation, at: datetime) -> bool:
    return consultation.starts_at <= at < consultation.ends_at


def closed_reason(consultation: Consultation, at: datetime, channel: Channel = Channel.PHONE,
                  shown_at: datetime | None = None) -> str | None:
    """Why an answer is not taken at `at`, or None. `shown_at`: when the station page it was given on was shown."""
    if at < consultation.starts_at:
        return _("This question opens on %(day)s.", day=_day(consultation.starts_at))
    late = channel == Channel.PAPER or (
        channel == Channel.STATION and shown_at is not None and shown_at < consultation.ends_at)
    end = consultation.ends_at + (timedelta(days=PAPER_DAYS) if late else timedelta(0))
    if at >= end:
        return _("This question is closed. Thank you for your interest.")
    return None


def _day(at: datetime) -> str:
    from flask_babel import format_date

    return format_date(at, "long")


def open_and_past(at: datetime) -> tuple[list[Consultation], list[Consultation]]:
    """Running consultations (ending soonest first) and finished ones (newest first); future ones are not shown."""
    rows = db.session.scalars(sa.select(Consultation).where(Consultation.starts_at <= at)
                              .order_by(Consultation.ends_at.desc(), Consultation.id.desc())).all()
    running = sorted((c for c in rows if c.ends_at > at), key=lambda c: c.ends_at)
    return running, [c for c in rows if c.ends_at <= at]


def upcoming(at: datetime, until: datetime) -> list[Consultation]:
    """Consultations that start after `at` and before `until` (their codes can be printed already)."""
    return list(db.session.scalars(sa.select(Consultation).where(Consultation.starts_at > at,
                                                                 Consultation.starts_at <= until)
                                   .order_by(Consultation.starts_at, Consultation.id)))


def taking_paper(at: datetime) -> list[Consultation]:
    """The consultations whose paper cards staff may type in now: started, and not closed for paper (until
    PAPER_DAYS after the end), ending soonest first."""
    rows = db.session.scalars(sa.select(Consultation).where(
        Consultation.starts_at <= at, Consultation.ends_at > at - timedelta(days=PAPER_DAYS))
        .order_by(Consultation.ends_at, Consultation.id))
    return [c for c in rows if closed_reason(c, at, Channel.PAPER) is None]


def is_public(consultation: Consultation, at: datetime) -> bool:
    return consultation.starts_at <= at


# --- where -------------------------------------------------------------------------------------------------------

def runs_at(consultation: Consultation, stop: Stop) -> bool:
    """Whether the consultation runs at this stop (its chosen stops, else its districts, else everywhere)."""
    if consultation.stop_ids:
        return stop.id in consultation.stop_ids
    if consultation.district_ids:
        return stop.district_id in consultation.district_ids
    return True


def _particular(consultation: Consultation) -> int:
    return 0 if consultation.stop_ids else 1 if consultation.district_ids else 2


def for_stop(stop: Stop | None, at: datetime) -> Consultation | None:
    """The running consultation of this stop (see Where), or None."""
    if stop is None:
        return None
    running, _past = open_and_past(at)
    here = [c for c in running if runs_at(c, stop)]
    return min(here, key=lambda c: (_particular(c), c.ends_at, c.id)) if here else None


def for_bus(at: datetime, bus_id: int | None = None) -> tuple[Consultation | None, Stop | None]:
    """The consultation the bus's code opens, and the stop to record: the one of the stop the bus is at (or was at
    earlier today), else the running one that runs everywhere, else the first running (no stop recorded)."""
    stop = tour.last_today(at, bus_id)
    found = for_stop(stop, at)
    if found is not None:
        return found, stop
    running, _past = open_and_past(at)
    if not running:
        return None, None
    return min(running, key=lambda c: (-_particular(c), c.ends_at, c.id)), None


def stop_for(consultation: Consultation, stop_id: object) -> int | None:
    """The stop id to record with an answer: a public stop the consultation runs at, else None."""
    try:
        wanted = int(stop_id)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not 0 < wanted < 2**31:
        return None
    stop = db.session.get(Stop, wanted)
    if stop is None or not tour.is_public(stop) or not runs_at(consultation, stop):
        return None
    return stop.id


def stop_label(stop: Stop) -> str:
    """A stop in a list or a report: day and time, district, place."""
    from flask_babel import format_datetime

    return f"{format_datetime(stop.starts_at, 'short')} · {stop.district.name}, {stop.place.name}"


STOP_CHOICE_PAST, STOP_CHOICE_AHEAD = timedelta(days=14), timedelta(weeks=26)


def stop_choices(at: datetime, chosen: list[int] | None = None) -> list[Stop]:
    """The stops a coordinator may choose for a consultation: those not cancelled from two weeks ago to half a
    year ahead, and those chosen before."""
    window = sa.and_(Stop.status != StopStatus.CANCELLED, Stop.ends_at >= at - STOP_CHOICE_PAST,
                     Stop.starts_at <= at + STOP_CHOICE_AHEAD)
    condition = sa.or_(window, Stop.id.in_(chosen)) if chosen else window
    return list(db.session.scalars(sa.select(Stop).where(condition).order_by(Stop.starts_at, Stop.id)))


def outside(stop_ids: list[int], starts_at: datetime, ends_at: datetime) -> list[Stop]:
    """The chosen stops that do not fall in the period (a consultation cannot run there)."""
    if not stop_ids:
        return []
    return list(db.session.scalars(sa.select(Stop).where(
        Stop.id.in_(stop_ids), sa.or_(Stop.ends_at <= starts_at, Stop.starts_at >= ends_at))
        .order_by(Stop.starts_at)))


def stops_of(consultation: Consultation) -> list[Stop]:
    """The public stops during the consultation's period where it runs, in time order (for the paper card and
    the codes)."""
    rows = db.session.scalars(
        sa.select(Stop).where(tour.public_stop(), Stop.status != StopStatus.CANCELLED,
                              Stop.starts_at < consultation.ends_at, Stop.ends_at > consultation.starts_at)
        .order_by(Stop.starts_at, Stop.id)).all()
    return [stop for stop in rows if runs_at(consultation, stop)]


# --- flagging ----------------------------------------------------------------------------------------------------

def flag_for(text: str) -> str:
    """"email", "phone" or "address" when the text looks like it holds one, else ""."""
    if _EMAIL.search(text):
        return "email"
    if _PHONE.search(text):
        return "phone"
    if _STREET.search(text):
        return "address"
    return ""


# --- devices -----------------------------------------------------------------------------------------------------

def device_hash(token: str) -> str:
    """A keyed hash of the device's random cookie: tells devices apart without storing the cookie (supports)."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"mitreden-device|{token}".encode(), hashlib.sha256).hexdigest()


def day_hash(token: str, at: datetime) -> str:
    """A keyed hash of the device's cookie and the day in the town, stored with an answer: two answers of one phone
    can be linked only within the same day, which is all the daily limit needs."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"mitreden-answer|{token}|{town.day_of(at).isoformat()}".encode(),
                    hashlib.sha256).hexdigest()


# --- answers -----------------------------------------------------------------------------------------------------

def find(key: str) -> Saved | None:
    row = db.session.execute(sa.select(Contribution.id, Contribution.consultation_id)
                             .where(Contribution.idempotency_key == key)).first()
    return Saved(row[0], row[1], replay=True) if row else None


def follow_token(key: str) -> str:
    """The private link's token for the idea left with the form of this key (the same for every repeat)."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"mitreden-follow|{key}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def _follow_hash(token: str) -> str:
    return hashlib.sha256(f"mitreden-follow|{token}".encode()).hexdigest()


def followed(token: str) -> Idea | None:
    """The idea this private link follows, or None."""
    if not token or len(token) > 64:
        return None
    return db.session.scalar(sa.select(Idea).where(Idea.follow_hash == _follow_hash(token)))


def follow_link_token(key: str) -> str | None:
    """The token of the private link for the idea left with this form's key, if one was left."""
    token = follow_token(key)
    return token if followed(token) is not None else None


def _within_limits(consultation: Consultation, hashed: str, at: datetime) -> None:
    cfg = current_app.config
    day = 86400
    from ..feedback.rules import day_start

    given = db.session.scalar(sa.select(sa.func.count(Contribution.id)).where(
        Contribution.consultation_id == consultation.id, Contribution.device_hash == hashed,
        Contribution.created_at >= day_start(at))) or 0
    if given >= int(cfg["FEEDBACK_DEVICE_LIMIT"]):
        raise Refused(_("You have already answered this question several times today. Thank you!"))
    if not ratelimit.trusted_network() and not ratelimit.hit(
            "mitreden-address", f"{ratelimit.client_key()}|{consultation.id}",
            f"{int(cfg['FEEDBACK_ADDRESS_LIMIT'])}/{day}"):
        raise Refused(_("Many answers have come from this internet connection today. Thank you!"))


def save(consultation: Consultation, submission: Submission, *, key: str, channel: Channel, locale: str = "de",
         device_token: str = "", user: User | None = None, at: datetime | None = None,
         shown_at: datetime | None = None) -> Saved:
    """Store one person's answers exactly once per key; raises Refused (closed, limit)."""
    existing = find(key)
    if existing is not None:
        return existing
    at = at or now()
    reason = closed_reason(consultation, at, channel, shown_at)
    if reason:
        raise Refused(reason)
    hashed = day_hash(device_token, at) if device_token else ""
    if channel == Channel.PHONE:
        _within_limits(consultation, hashed, at)
    consultation_id = consultation.id
    questions = {q.id: q for q in consultation.questions}
    contribution = Contribution(
        consultation_id=consultation_id, channel=channel, age_group=submission.age_group,
        district_id=submission.district_id, internet=submission.internet, locale=locale[:8],
        stop_id=stop_for(consultation, submission.stop_id),
        idempotency_key=key, device_hash=hashed,
    )
    for question_id, values in submission.choices.items():
        if question_id in questions:
            contribution.choices.extend(Choice(question_id=question_id, value=v) for v in values)
    db.session.add(contribution)
    text = submission.idea.strip()[:IDEA_MAX]
    if text:
        topic = submission.topic if submission.topic in (consultation.topics or []) else ""
        db.session.add(Idea(consultation_id=consultation_id, contribution=contribution, text=text, topic=topic,
                            locale=locale[:8], flag=flag_for(text), follow_hash=_follow_hash(follow_token(key))))
    try:
        if user is not None:
            db.session.flush()  # the card's id, for the audit entry naming who typed it
            audit("mitreden-paper", contribution, user=user, consultation=consultation_id)
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = find(key)
        if existing is not None:
            return existing
        raise
    return Saved(contribution.id, consultation_id, replay=False)


# --- support -----------------------------------------------------------------------------------------------------

def supported_idea(idea: Idea) -> Idea:
    """The idea a support for `idea` counts for: the one it was merged into, if it was."""
    if idea.merged_into_id is not None:
        return db.session.get(Idea, idea.merged_into_id) or idea
    return idea


def support(idea: Idea, device_token: str, _again: bool = True) -> bool:
    """Count this device's support for a published idea once (for the idea it was merged into, if it was); False
    when it had supported it before (or the idea is not public)."""
    idea = supported_idea(idea)
    if idea.moderation != Moderation.PUBLISHED:
        return False
    idea_id = idea.id
    db.session.add(Support(idea_id=idea_id, device_hash=device_hash(device_token)))
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        return False
    counted = db.session.execute(sa.update(Idea).where(Idea.id == idea_id, Idea.moderation == Moderation.PUBLISHED)
                                 .values(supports=Idea.supports + 1))
    if counted.rowcount != 1:  # hidden or merged meanwhile
        db.session.rollback()
        merged_into = db.session.scalar(sa.select(Idea.merged_into_id).where(Idea.id == idea_id))
        if merged_into is not None and _again:
            return support(db.session.get(Idea, merged_into), device_token, _again=False)
        return False
    db.session.commit()
    return True


def supported(device_token: str, idea_ids: list[int]) -> set[int]:
    if not device_token or not idea_ids:
        return set()
    return set(db.session.scalars(sa.select(Support.idea_id).where(
        Support.device_hash == device_hash(device_token), Support.idea_id.in_(idea_ids))))


# --- moderation --------------------------------------------------------------------------------------------------

def publish(idea: Idea, user: User | None = None) -> None:
    if idea.merged_into_id is not None:
        raise Refused(_("This idea was merged into another one."))
    idea.moderation, idea.hidden_reason = Moderation.PUBLISHED, ""
    audit("mitreden-publish", idea, user=user)
    db.session.commit()


def hide(idea: Idea, reason: str, user: User | None = None) -> None:
    if reason not in HIDE_REASONS:
        raise Refused(_("Please choose a reason."))
    idea.moderation, idea.hidden_reason = Moderation.HIDDEN, reason
    audit("mitreden-hide", idea, user=user, reason=reason)
    db.session.commit()


def answer(idea: Idea, status: IdeaStatus, text: str, user: User | None = None, *, own: str = "",
           topic: str | None = None) -> None:
    """Set the idea's public status and the city's answer (German, and `own` in the idea's language where that is
    another); `topic`, when given, tags it with one of the consultation's topics ("" for none)."""
    text, own = (text or "").strip(), (own or "").strip()
    if status == IdeaStatus.NOT_POSSIBLE and not text:
        raise Refused(_("Please say why it is not possible."))
    if own and not text:
        raise Refused(_("Please write the answer in German too."))
    idea.status, idea.answer = status, text
    idea.answer_texts = {idea.locale: own} if own and idea.locale != "de" else {}
    if topic is not None:
        idea.topic = topic if topic in (idea.consultation.topics or []) else ""
    audit("mitreden-answer", idea, user=user, status=status.value)
    db.session.commit()


def merge(duplicate: Idea, keep: Idea, user: User | None = None) -> int:
    """Merge `duplicate` into `keep` (see Merging); returns the number of supports moved."""
    if duplicate.id == keep.id or duplicate.consultation_id != keep.consultation_id:
        raise Refused(_("Please choose another idea of this consultation."))
    if keep.merged_into_id is not None:
        raise Refused(_("That idea was merged into another one itself. Please choose the one it was merged into."))
    duplicate_id, keep_id = duplicate.id, keep.id
    # Hiding the duplicate first takes its row: a support arriving meanwhile waits, then finds it hidden.
    hidden = db.session.execute(sa.update(Idea).where(Idea.id == duplicate_id, Idea.merged_into_id.is_(None)).values(
        moderation=Moderation.HIDDEN, hidden_reason="duplicate", merged_into_id=keep_id))
    if hidden.rowcount != 1:
        db.session.rollback()
        raise Refused(_("This idea was merged already."))
    supports = db.session.scalar(sa.select(Idea.supports).where(Idea.id == duplicate_id)) or 0
    kept_devices = sa.select(Support.device_hash).where(Support.idea_id == keep_id).scalar_subquery()
    both = db.session.scalar(sa.select(sa.func.count(Support.id)).where(
        Support.idea_id == duplicate_id, Support.device_hash.in_(kept_devices))) or 0
    moved = max(0, supports - both)
    try:
        db.session.execute(sa.delete(Support).where(Support.idea_id == duplicate_id,
                                                    Support.device_hash.in_(kept_devices)))
        db.session.execute(sa.update(Support).where(Support.idea_id == duplicate_id).values(idea_id=keep_id))
        db.session.execute(sa.update(Idea).where(Idea.id == keep_id).values(supports=Idea.supports + moved))
        db.session.execute(sa.update(Idea).where(Idea.id == duplicate_id).values(supports=0))
        db.session.execute(sa.update(Idea).where(Idea.merged_into_id == duplicate_id).values(merged_into_id=keep_id))
        audit("mitreden-merge", duplicate, user=user, into=keep_id, supports=moved)
        db.session.commit()
    except IntegrityError:  # a device supported the kept idea at this very moment: nothing was changed
        db.session.rollback()
        raise Refused(_("Someone supported one of the ideas just now. Please try again.")) from None
    db.session.expire_all()
    return moved


def correct(idea: Idea, text: str, note: str, user: User | None = None) -> None:
    """Change an idea's text, only with a note saying what was corrected (shown with the idea)."""
    text, note = (text or "").strip()[:IDEA_MAX], " ".join((note or "").split())
    if not text:
        raise Refused(_("The idea cannot be empty."), "text")
    if not note:
        raise Refused(_("Please say what you corrected. The note is shown with the idea."), "note")
    if text == idea.text:
        raise Refused(_("The text is unchanged."), "text")
    idea.text, idea.correction_note, idea.corrected_at = text, note[:300], now()
    idea.flag = flag_for(text)
    # The note only: the text as written may hold what the correction took out (a phone number, an address).
    audit("mitreden-correct", idea, user=user, reason=note[:300])
    db.session.commit()


def merged_counts(idea_ids: list[int]) -> dict[int, int]:
    """How many ideas were merged into each of these."""
    if not idea_ids:
        return {}
    return dict(db.session.execute(sa.select(Idea.merged_into_id, sa.func.count(Idea.id))
                                   .where(Idea.merged_into_id.in_(idea_ids)).group_by(Idea.merged_into_id)).all())


def published_ideas(consultation_ids: list[int] | None = None) -> list[Idea]:
    query = sa.select(Idea).where(Idea.moderation == Moderation.PUBLISHED)
    if consultation_ids is not None:
        query = query.where(Idea.consultation_id.in_(consultation_ids))
    return list(db.session.scalars(query.order_by(Idea.topic, Idea.supports.desc(), Idea.id)))


def by_topic(ideas: list[Idea]) -> list[tuple[str, list[Idea]]]:
    groups: dict[str, list[Idea]] = {}
    for idea in ideas:
        groups.setdefault(idea.topic, []).append(idea)
    return sorted(groups.items(), key=lambda item: (item[0] == "", item[0]))


# --- the board's report ------------------------------------------------------------------------------------------

@dataclass
class Report:
    consultation: Consultation
    total: int
    by_channel: list[tuple[str, int]]
    by_district: list[tuple[str, int]]
    by_stop: list[tuple[str, int]]
    by_language: list[tuple[str, int]]
    by_age: list[tuple[str, int]]
    by_internet: list[tuple[str, int]]
    questions: list[tuple[Question, list[tuple[str, int]]]]
    ideas: list[Idea]


def report(consultation: Consultation, lang: str = "de") -> Report:
    """Answers counted by channel, district, age group and internet use, and each choice question's table.

    "not given" counts the answers that skipped a question about the person."""
    rows = db.session.execute(sa.select(Contribution.channel, Contribution.district_id, Contribution.age_group,
                                        Contribution.internet, Contribution.stop_id, Contribution.locale)
                              .where(Contribution.consultation_id == consultation.id)).all()
    not_given = _("not given")
    names = dict(db.session.execute(sa.select(District.id, District.name)).all())
    channels = Counter(r[0] for r in rows)
    districts = Counter(r[1] for r in rows)
    ages = Counter(r[2] for r in rows)
    internet = Counter(r[3] for r in rows)

    def table(counter: Counter, labels: dict) -> list[tuple[str, int]]:
        out = [(str(label), counter.get(key, 0)) for key, label in labels.items()]
        empty = sum(n for key, n in counter.items() if key not in labels)
        return out + [(not_given, empty)]

    district_rows = sorted(((names.get(k, not_given), n) for k, n in districts.items() if k is not None))
    district_rows.append((not_given, districts.get(None, 0)))
    stops = Counter(r[4] for r in rows)
    stop_rows = [(stop_label(stop), stops[stop.id]) for stop in db.session.scalars(
        sa.select(Stop).where(Stop.id.in_([k for k in stops if k is not None])).order_by(Stop.starts_at, Stop.id))]
    stop_rows.append((not_given, stops.get(None, 0)))
    choice_counts = Counter(db.session.execute(
        sa.select(Choice.question_id, Choice.value).join(Contribution)
        .where(Contribution.consultation_id == consultation.id)).all())
    questions = []
    for q in consultation.questions:
        labels = q.option_labels(lang)
        values = range(1, 6) if q.kind.value == "scale" else range(len(labels))
        questions.append((q, [(labels[i - 1] if q.kind.value == "scale" else labels[i], choice_counts.get((q.id, i), 0))
                              for i in values]))
    ideas = list(db.session.scalars(sa.select(Idea).where(Idea.consultation_id == consultation.id)
                                    .order_by(Idea.topic, Idea.supports.desc(), Idea.id)))
    return Report(
        consultation=consultation, total=len(rows),
        by_channel=[(str(label), channels.get(key, 0)) for key, label in CHANNELS.items()],
        by_district=district_rows, by_stop=stop_rows, by_language=_by_language(Counter(r[5] for r in rows)),
        by_age=table(ages, AGE_GROUPS), by_internet=table(internet, INTERNET),
        questions=questions, ideas=ideas,
    )


def figure_rows(r: Report) -> list[tuple[str, str, int]]:
    """The report's figures as rows (section, answer, count), the total first: the board's CSV and the open data."""
    rows = [(_("Total"), "", r.total)]
    for section, table in ((_("Channel"), r.by_channel), (_("District"), r.by_district), (_("Stop"), r.by_stop),
                           (_("Language"), r.by_language), (_("Age group"), r.by_age),
                           (_("Internet use"), r.by_internet)):
        rows += [(section, label, n) for label, n in table]
    for q, table in r.questions:
        rows += [(q.text, label, n) for label, n in table]
    return rows


def language_name(tag: str) -> str:
    """A language as the app offers it, named in itself ("Türkçe"); the tag itself when it offers none such."""
    return current_app.config["LANGUAGES"].get(tag, tag)


def _by_language(counts: Counter) -> list[tuple[str, int]]:
    """Answers per language of the form, each language named in itself, in the order the app offers them."""
    names = current_app.config["LANGUAGES"]
    rows = [(f"{name} ({tag})", counts.get(tag, 0)) for tag, name in names.items()]
    other = sum(n for tag, n in counts.items() if tag not in names)
    return rows + ([(_("other"), other)] if other else [])


# --- the station -------------------------------------------------------------------------------------------------

PIN_PATTERN = re.compile(r"[0-9]{4,8}")


def set_station_pin(pin: str, user: User | None = None) -> None:
    """Store the station's staff PIN as a hash (one row, replaced); ValueError unless it is 4 to 8 digits."""
    if not PIN_PATTERN.fullmatch(pin or ""):
        raise ValueError("a station PIN is 4 to 8 digits")
    row = db.session.scalars(sa.select(StationPin).order_by(StationPin.id)).first() or StationPin()
    row.pin_hash = generate_password_hash(pin)
    row.set_by_id = user.id if user is not None else None
    row.set_at = now()
    db.session.add(row)
    db.session.flush()
    if user is not None:
        audit("mitreden-station-pin", row, user=user)
    db.session.commit()


def station_pin_ok(pin: str) -> bool:
    """Whether `pin` is the station's staff PIN (False while none is set)."""
    row = db.session.scalars(sa.select(StationPin).order_by(StationPin.id)).first()
    return bool(row and PIN_PATTERN.fullmatch(pin or "") and check_password_hash(row.pin_hash, pin))


def _ticket_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="mitreden-station")


def station_ticket(consultation: Consultation, stop_id: int | None = None) -> str:
    """The signed ticket a station page carries: its consultation and stop, and the time it was shown."""
    return _ticket_signer().dumps({"c": consultation.id, "s": stop_id})


@dataclass(frozen=True)
class StationTicket:
    consultation_id: int
    shown_at: datetime
    stop_id: int | None = None


def read_station_ticket(raw: str | None) -> StationTicket | None:
    """The ticket's consultation and time, or None when it is missing, forged or older than PAPER_DAYS."""
    if not raw or len(raw) > 200:
        return None
    try:
        data, signed_at = _ticket_signer().loads(raw, max_age=PAPER_DAYS * 86400, return_timestamp=True)
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("c"), int):
        return None
    stop_id = data.get("s")
    return StationTicket(data["c"], signed_at, stop_id if isinstance(stop_id, int) else None)


# --- how long ----------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Purged:
    consultations: int
    ideas: int
    supports: int


def purge(at: datetime | None = None, days: int | None = None) -> Purged:
    """Delete what could point to a person in consultations that ended more than `days` (MITREDEN_KEEP_DAYS) ago:
    unpublished ideas, the supports' device marks (the counts stay) and the answers' device marks."""
    at = at or now()
    days = current_app.config["MITREDEN_KEEP_DAYS"] if days is None else days
    ended = sa.select(Consultation.id).where(Consultation.ends_at < at - timedelta(days=days))
    consultation_ids = list(db.session.scalars(ended))
    if not consultation_ids:
        return Purged(0, 0, 0)
    their_ideas = sa.select(Idea.id).where(Idea.consultation_id.in_(consultation_ids)).scalar_subquery()
    supports = db.session.execute(sa.delete(Support).where(Support.idea_id.in_(their_ideas))).rowcount
    unpublished = [Idea.consultation_id.in_(consultation_ids), Idea.moderation != Moderation.PUBLISHED]
    # Ideas merged into one that goes now point nowhere; the kept one's count already holds their supporters.
    gone = sa.select(Idea.id).where(*unpublished).scalar_subquery()
    db.session.execute(sa.update(Idea).where(Idea.merged_into_id.in_(gone)).values(merged_into_id=None))
    ideas = db.session.execute(sa.delete(Idea).where(*unpublished)).rowcount
    db.session.execute(sa.update(Contribution).where(Contribution.consultation_id.in_(consultation_ids),
                                                     Contribution.device_hash != "").values(device_hash=""))
    db.session.commit()
    return Purged(len(consultation_ids), ideas, supports)
