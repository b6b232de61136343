"""The audit log as people read it: one sentence per event, in the city's time, with a link to what it is about.

Every event the app records (busapp.models.audit) has a sentence here, keyed by its action; a test finds the
actions in the source and fails for one without (tests/test_audit_text.py). A sentence names who did it (the
account, else the tablet, else the person who booked for what residents do on their ticket page, else the app
itself), the object as a link to its page (a stop, a workshop's stop, a place, a course template, the people page,
a booking in its workshop's list, a tablet, a district, a bus, an import) and the facts that matter (the reason of a
cancellation, how many bookings it reached). A change lists its fields before and after in words; whatever else the
event carries stays readable under "Details". The objects of a page of events are loaded with one statement per
kind, however many events there are.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from flask import url_for
from flask_babel import gettext as _, lazy_gettext as _l, ngettext
from markupsafe import Markup, escape
from sqlalchemy.orm import joinedload

from ..core.choices import AUDIENCES, TOPICS, language_label
from ..domain import live
from ..core.extensions import db
from ..core.i18n import date_filter, time_filter
from ..models import (
    AuditEvent, Booking, Bus, Course, Device, District, ImportBatch, OutgoingMail, Place, Stop, User, Workshop,
)


def _mark(name: str) -> str:
    return f"\x00{name}\x00"


# The values a sentence may name; each sentence below is translated with these markers in place of its values, and
# the values go in afterwards, escaped, so that a link stays a link and a typed reason stays text.
NAMES = ("who", "object", "reason", "status", "format", "role", "before", "after", "source", "job", "action", "name")
MARKS = {name: _mark(name) for name in NAMES}


def _count(detail: dict, key: str) -> int:
    value = detail.get(key)
    if isinstance(value, (list, tuple, dict)):
        return len(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


Sentence = Callable[[dict, dict], str]

SENTENCES: dict[str, Sentence] = {
    # Stops
    "stop-create": lambda d, m: _("%(who)s planned the stop %(object)s.", **m),
    "stop-update": lambda d, m: ngettext(
        "%(who)s changed the stop %(object)s and told the %(num)d party booked.",
        "%(who)s changed the stop %(object)s and told the %(num)d parties booked.", _count(d, "told"), **m)
    if _count(d, "told") else _("%(who)s changed the stop %(object)s.", **m),
    "stop-publish": lambda d, m: _("%(who)s published the stop %(object)s.", **m),
    "stop-unpublish": lambda d, m: _("%(who)s took the stop %(object)s back to draft.", **m),
    "stop-cancel": lambda d, m: ngettext(
        "%(who)s cancelled the stop %(object)s: “%(reason)s”. %(num)d booking was cancelled with it.",
        "%(who)s cancelled the stop %(object)s: “%(reason)s”. %(num)d bookings were cancelled with it.",
        _count(d, "bookings"), **m),
    "stop-repeat": lambda d, m: ngettext("%(who)s repeated the stop %(object)s: %(num)d new stop.",
                                         "%(who)s repeated the stop %(object)s: %(num)d new stops.",
                                         _count(d, "copies"), **m),
    "stop-live-status": lambda d, m: _("%(who)s set the live status of the stop %(object)s: %(status)s.", **m),
    "stop-texts": lambda d, m: _("%(who)s wrote a notice of the stop %(object)s in other languages.", **m),
    "stop-delete-drafts": lambda d, m: ngettext("%(who)s deleted %(num)d draft stop.",
                                                "%(who)s deleted %(num)d draft stops.", _count(d, "stops"), **m),
    "stops-publish": lambda d, m: ngettext("%(who)s published %(num)d stop at once.",
                                           "%(who)s published %(num)d stops at once.", _count(d, "stops"), **m),
    "call-list": lambda d, m: _("%(who)s opened the call list of the stop %(object)s.", **m),
    "call-mark": lambda d, m: _("%(who)s ticked %(object)s on the call list: %(status)s.", **m),
    "calendar-link-renew": lambda d, m: _("%(who)s made a new secret calendar address.", **m),
    "calendar-link-revoke": lambda d, m: _("%(who)s deleted their secret calendar address.", **m),
    # Workshops
    "workshop-create": lambda d, m: _("%(who)s added the workshop %(object)s.", **m),
    "workshop-update": lambda d, m: ngettext(
        "%(who)s changed the workshop %(object)s and told the %(num)d party booked.",
        "%(who)s changed the workshop %(object)s and told the %(num)d parties booked.", _count(d, "told"), **m)
    if _count(d, "told") else _("%(who)s changed the workshop %(object)s.", **m),
    "workshop-publish": lambda d, m: _("%(who)s published the workshop %(object)s.", **m),
    "workshop-unpublish": lambda d, m: _("%(who)s took the workshop %(object)s back to draft.", **m),
    "workshop-cancel": lambda d, m: ngettext(
        "%(who)s cancelled the workshop %(object)s: “%(reason)s”. %(num)d booking was cancelled with it.",
        "%(who)s cancelled the workshop %(object)s: “%(reason)s”. %(num)d bookings were cancelled with it.",
        _count(d, "bookings"), **m),
    "bookings-export": lambda d, m: _("%(who)s downloaded the bookings of the workshop %(object)s.", **m),
    # The catalogue, places, districts, buses
    "course-create": lambda d, m: _("%(who)s added the course template %(object)s.", **m),
    "course-update": lambda d, m: _("%(who)s changed the course template %(object)s.", **m),
    "course-import": lambda d, m: ngettext("%(who)s read a course file back: %(num)d course.",
                                           "%(who)s read a course file back: %(num)d courses.", _count(d, "rows"),
                                           **m),
    "place-create": lambda d, m: _("%(who)s added the place %(object)s.", **m),
    "place-update": lambda d, m: _("%(who)s changed the place %(object)s.", **m),
    "district-create": lambda d, m: _("%(who)s added the district %(object)s.", **m),
    "district-rename": lambda d, m: _("%(who)s renamed the district “%(before)s” to %(object)s.", **m),
    "district-merge": lambda d, m: ngettext(
        "%(who)s merged the district “%(source)s” into %(object)s; %(num)d stop moved with it.",
        "%(who)s merged the district “%(source)s” into %(object)s; %(num)d stops moved with it.",
        _count(d, "stops"), **m),
    "district-import": lambda d, m: _(
        "%(who)s read the town's district list: %(added)d added, %(changed)d changed.",
        added=_count(d, "added"), changed=_count(d, "changed"), **m),
    "bus-create": lambda d, m: _("%(who)s added the bus %(object)s.", **m),
    "bus-update": lambda d, m: _("%(who)s changed the bus %(object)s.", **m),
    # Import and export
    "tour-import": lambda d, m: ngettext("%(who)s imported a tour file with %(num)d stop (%(object)s).",
                                         "%(who)s imported a tour file with %(num)d stops (%(object)s).",
                                         _count(d, "stops"), **m),
    "tour-import-remove": lambda d, m: ngettext("%(who)s removed %(object)s with its %(num)d stop.",
                                                "%(who)s removed %(object)s with its %(num)d stops.",
                                                _count(d, "stops"), **m),
    "tour-export": lambda d, m: _("%(who)s downloaded the whole tour (%(format)s).", **m),
    "report-export": lambda d, m: _("%(who)s downloaded the report for the advisory board.", **m),
    # Bookings
    "booking-cancel": lambda d, m: _("%(who)s cancelled the booking %(object)s.", **m),
    "booking-cancel-burst": lambda d, m: _("%(who)s cancelled the booking %(object)s as part of a burst.", **m),
    "bookings-cancel-burst": lambda d, m: ngettext("%(who)s cancelled %(num)d booking of a burst.",
                                                   "%(who)s cancelled %(num)d bookings of a burst.",
                                                   _count(d, "bookings"), **m),
    "booking-promote": lambda d, m: _("The booking %(object)s moved up from the waiting list.", **m),
    "booking-reduce": lambda d, m: _("%(who)s gave back seats of the booking %(object)s: %(before)s → %(after)s.",
                                     **m),
    "booking-forget": lambda d, m: _("%(who)s deleted the personal data of the booking %(object)s.", **m),
    "booking-purge": lambda d, m: ngettext(
        "The personal data of %(num)d booking was deleted after its workshop.",
        "The personal data of %(num)d bookings was deleted after their workshops.", _count(d, "bookings"), **m),
    # On the bus
    "checkin-checkin": lambda d, m: _("%(who)s checked in the booking %(object)s.", **m),
    "checkin-count": lambda d, m: _("%(who)s counted who came of the booking %(object)s.", **m),
    "checkin-undo": lambda d, m: _("%(who)s undid the check-in of the booking %(object)s.", **m),
    "checkin-walkin": lambda d, m: _("%(who)s added people who came without booking.", **m),
    "checkin-seat": lambda d, m: _("%(who)s gave a seat held for the tablet to %(object)s.", **m),
    "checkin-release": lambda d, m: ngettext("%(who)s released %(num)d seat nobody came for in %(object)s.",
                                             "%(who)s released %(num)d seats nobody came for in %(object)s.",
                                             _count(d, "seats"), **m),
    "checkin-conflict-seen": lambda d, m: _("%(who)s looked at the double check-in of the booking %(object)s.",
                                            **m),
    "checkin-share-return": lambda d, m: _("Seats held for the tablet %(object)s went back to the workshops.", **m),
    "checkin-share-take": lambda d, m: _("Booking for %(object)s closed: seats still free were set aside for the "
                                         "tablets' walk-ins.", **m),
    "device-register": lambda d, m: _("%(who)s asked to set up the tablet %(object)s.", **m),
    "device-approve": lambda d, m: _("%(who)s approved the tablet %(object)s.", **m),
    "device-refuse": lambda d, m: _("%(who)s refused the tablet %(object)s.", **m),
    "device-revoke": lambda d, m: _("%(who)s took the tablet %(object)s out of service.", **m),
    "staff-day-download": lambda d, m: _("%(who)s downloaded the day's door lists onto the tablet %(object)s.",
                                         **m),
    # Accounts
    "user-create": lambda d, m: _("%(who)s created the account %(object)s (%(role)s).", **m),
    "user-enable": lambda d, m: _("%(who)s let %(object)s sign in again.", **m),
    "user-disable": lambda d, m: _("%(who)s stopped %(object)s from signing in.", **m),
    "user-password": lambda d, m: _("%(who)s gave %(object)s a new password.", **m),
    "totp-reset": lambda d, m: _("%(who)s let %(object)s set up a new authenticator app.", **m),
    "totp-enrol": lambda d, m: _("%(who)s set up an authenticator app.", **m),
    "signin": lambda d, m: _("%(who)s signed in.", **m),
    "signout": lambda d, m: _("%(who)s signed out.", **m),
    # Mail, Mitreden, the app's own jobs
    "mail-retry": lambda d, m: _("%(who)s sent %(object)s again.", **m),
    "mitreden-paper": lambda d, m: _("%(who)s typed in a paper card.", **m),
    "mitreden-publish": lambda d, m: _("%(who)s published the idea %(object)s.", **m),
    "mitreden-hide": lambda d, m: _("%(who)s hid the idea %(object)s (%(reason)s).", **m),
    "mitreden-answer": lambda d, m: _("%(who)s answered the idea %(object)s (%(status)s).", **m),
    "mitreden-merge": lambda d, m: _("%(who)s merged the idea %(object)s into a similar one.", **m),
    "mitreden-correct": lambda d, m: _("%(who)s corrected the idea %(object)s (%(reason)s).", **m),
    "mitreden-station-pin": lambda d, m: _("%(who)s started the Mitmach-Station.", **m),
    "seed-demo": lambda d, m: _("The demo tour was loaded.", **m),
}
# Actions made of a fixed start and a name: the app's scheduled jobs (job-backup, job-purge, job-remind).
PREFIXES: dict[str, Sentence] = {
    "job-": lambda d, m: _("The automatic job “%(job)s” ran.", **m),
}


def _fallback(d: dict, m: dict) -> str:
    return _("%(who)s: %(action)s %(object)s.", **m)


def sentence_for(action: str) -> Sentence | None:
    """The sentence of an action, or None when it has none (the page then uses a plain fallback)."""
    if action in SENTENCES:
        return SENTENCES[action]
    return next((s for prefix, s in PREFIXES.items() if action.startswith(prefix)), None)


# Actions residents take themselves on their ticket page: without an account, "the person who booked" did it.
BY_RESIDENT = frozenset({"booking-cancel", "booking-reduce", "booking-forget"})

# Field names of the values before and after a change, as the forms call them.
FIELD_LABELS = {
    "starts_at": _l("Start"), "ends_at": _l("End"), "place_id": _l("Place"), "district_id": _l("District"),
    "bus_id": _l("Bus"), "status": _l("State"), "title": _l("Title"), "topic": _l("Topic"),
    "description": _l("Description"), "language": _l("Language"), "audience": _l("For whom"),
    "duration_minutes": _l("Duration in minutes"), "capacity": _l("Seats"), "parallel": _l("parallel"),
    "level": _l("Level"), "bring": _l("What to bring"), "what_to_bring": _l("What to bring"),
    "walk_ins": _l("Walk-ins welcome"), "accessibility_notes": _l("Accessibility notes"),
    "name": _l("Name"), "address": _l("Street and house number"), "postcode": _l("Postcode"),
    "lat": _l("Latitude"), "lon": _l("Longitude"), "transit_stop": _l("Nearest city bus stop"),
    "transit_lines": _l("Bus lines there"), "step_free": _l("Step-free access"), "seats": _l("Seats"),
    "toilet": _l("Toilet"), "hearing_loop": _l("Hearing loop"), "finding_note": _l("How to find the bus"),
    "live_status": _l("Live status"), "minutes_late": _l("Minutes late"), "note": _l("Note for visitors"),
}
STATUS_WORDS = {"draft": _l("Draft"), "published": _l("Published"), "cancelled": _l("Cancelled")}
# Detail keys a sentence or the list of changes already says; the rest is listed under "Details".
SAID = frozenset({"before", "after", "reason", "told", "bookings", "copies", "stops", "format", "role", "status",
                  "source_name", "texts", "called", "reached"})


@dataclass
class Target:
    """What an event is about, as a label and (while it exists) the page that shows it."""

    label: str
    url: str | None = None

    def html(self) -> Markup:
        if self.url:
            return Markup('<a href="{}">{}</a>').format(self.url, self.label)
        return escape(self.label)


@dataclass
class Entry:
    """One event as the page shows it."""

    event: AuditEvent
    sentence: Markup
    changes: list[tuple[str, str, str]] = field(default_factory=list)
    details: list[tuple[str, str]] = field(default_factory=list)


class _Objects:
    """The rows a page of events names, loaded with one statement per kind."""

    KINDS = {"stop": Stop, "workshop": Workshop, "place": Place, "course": Course, "user": User,
             "booking": Booking, "device": Device, "district": District, "bus": Bus, "batch": ImportBatch,
             "outgoingmail": OutgoingMail}

    def __init__(self, events: list[AuditEvent]):
        wanted: dict[str, set[int]] = {kind: set() for kind in self.KINDS}
        wanted["idea"] = set()
        for e in events:
            if e.object_type in wanted and e.object_id.isdigit():
                wanted[e.object_type].add(int(e.object_id))
            detail = e.detail if isinstance(e.detail, dict) else {}
            for key, kind in (("district", "district"), ("target", "district"), ("bus", "bus"), ("batch", "batch")):
                if isinstance(detail.get(key), int):
                    wanted[kind].add(detail[key])
            for values in (detail.get("before"), detail.get("after")):
                if isinstance(values, dict):
                    for key, kind in (("place_id", "place"), ("district_id", "district"), ("bus_id", "bus")):
                        if isinstance(values.get(key), int):
                            wanted[kind].add(values[key])
        self.rows: dict[str, dict[int, object]] = {}
        for kind, ids in wanted.items():
            self.rows[kind] = self._load(kind, ids) if ids else {}

    def _load(self, kind: str, ids: set[int]) -> dict[int, object]:
        if kind == "idea":
            from ..participation.models import Idea

            model, options = Idea, ()
        else:
            model = self.KINDS[kind]
            options = {"workshop": (joinedload(Workshop.stop),), "booking": (joinedload(Booking.workshop),)}.get(
                kind, ())
        rows = db.session.scalars(sa.select(model).where(model.id.in_(ids)).options(*options))
        return {row.id: row for row in rows}

    def get(self, kind: str, ident) -> object | None:
        return self.rows.get(kind, {}).get(int(ident)) if str(ident).isdigit() else None


def _when(value: datetime) -> str:
    """A date and time in the city's time zone, as the person's language writes it."""
    return f"{date_filter(value, 'medium')}, {time_filter(value)}"


def _target(kind: str, ident, objects: _Objects, fallback: str = "") -> Target | None:
    """The label and link of an object by kind and id; a deleted one keeps its number and is marked so."""
    if kind in ("", None) or ident in ("", None):
        return None
    row = objects.get(kind, ident)
    if row is None:
        name = fallback or f"{kind} {ident}"
        return Target(_("%(name)s (deleted)", name=name))
    if isinstance(row, Stop):
        return Target(f"{row.place.name}, {_when(row.starts_at)}", url_for("planning.stop", stop_id=row.id))
    if isinstance(row, Workshop):
        return Target(f"„{row.title}“, {row.stop.place.name}, {_when(row.starts_at)}",
                      url_for("planning.stop", stop_id=row.stop_id))
    if isinstance(row, Place):
        return Target(row.name, url_for("planning.place_edit", place_id=row.id))
    if isinstance(row, Course):
        return Target(row.title, url_for("planning.course_edit", course_id=row.id))
    if isinstance(row, User):
        return Target(row.email, url_for("planning.people"))
    if isinstance(row, Booking):
        return Target(f"{row.code} („{row.workshop.title}“)",
                      url_for("planning.bookings", workshop_id=row.workshop_id, _anchor=f"booking-{row.id}"))
    if isinstance(row, Device):
        return Target(row.name, url_for("planning.tablets"))
    if isinstance(row, District):
        return Target(row.name, url_for("planning.districts"))
    if isinstance(row, Bus):
        return Target(row.name, url_for("planning.buses"))
    if isinstance(row, ImportBatch):
        return Target(_("import %(number)d", number=row.id), url_for("planning.imports"))
    if isinstance(row, OutgoingMail):
        return Target(_("the mail “%(subject)s”", subject=row.subject), url_for("mail.index"))
    text = getattr(row, "text", "")
    consultation = getattr(row, "consultation_id", None)
    label = f"„{text[:60]}{'…' if len(text) > 60 else ''}“"
    return Target(label, url_for("participation.ideas", consultation_id=consultation) if consultation else None)


def _object_of(event: AuditEvent, objects: _Objects) -> Target | None:
    detail = event.detail if isinstance(event.detail, dict) else {}
    if event.object_type:
        return _target(event.object_type, event.object_id, objects)
    for key, kind, name in (("district", "district", "name"), ("target", "district", ""), ("bus", "bus", "name"),
                            ("batch", "batch", "")):
        if isinstance(detail.get(key), int):
            fallback = detail.get(name) if name else (_("import %(number)d", number=detail[key]) if kind == "batch"
                                                      else "")
            return _target(kind, detail[key], objects, fallback or "")
    return None


def _who(event: AuditEvent) -> str:
    if event.user is not None:
        return event.user.email
    if event.device:
        return _("Tablet “%(name)s”", name=event.device)
    if event.action in BY_RESIDENT:
        return _("The person who booked")
    return _("The app")


def _plain(value, objects: _Objects, key: str = "") -> str:
    """A stored value in words: times in the city's time, yes and no, names for ids, lists joined."""
    if value is None or value == "":
        return "–"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(v, objects) for v in value) or "–"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {_plain(v, objects)}" for k, v in value.items()) or "–"
    if key in ("place_id", "district_id", "bus_id") and isinstance(value, int):
        row = objects.get(key[:-3], value)
        return getattr(row, "name", None) or str(value)
    if key == "status" and value in STATUS_WORDS:
        return str(STATUS_WORDS[value])
    if key == "live_status" and value in live.LABELS:
        return str(live.LABELS[value])
    if key == "topic" and value in TOPICS:
        return str(TOPICS[value])
    if key == "audience" and value in AUDIENCES:
        return str(AUDIENCES[value])
    if key == "language" and isinstance(value, str):
        return language_label(value)
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return _when(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def _changes(detail: dict, objects: _Objects) -> list[tuple[str, str, str]]:
    before, after = detail.get("before"), detail.get("after")
    if not isinstance(after, dict):
        return []
    before = before if isinstance(before, dict) else {}
    out = []
    for key, new in after.items():
        if key == "texts" or (before and before.get(key) == new) or (not before and new in (None, "", False)):
            continue
        label = str(FIELD_LABELS.get(key, key))
        out.append((label, _plain(before.get(key), objects, key) if before else "", _plain(new, objects, key)))
    return out


def _values(event: AuditEvent, detail: dict, objects: _Objects) -> dict[str, str | Markup]:
    target = _object_of(event, objects)
    before, after = detail.get("before"), detail.get("after")
    reason = str(detail.get("reason") or "")
    if event.action == "stop-live-status":
        status = _plain((after or {}).get("live_status") if isinstance(after, dict) else None, objects, "live_status")
    elif event.action == "call-mark":
        status = (_("reached") if detail.get("reached") else _("called, not reached yet") if detail.get("called")
                  else _("not called yet"))
    elif event.action.startswith("mitreden-"):
        from ..participation import service as mitreden

        status = str(next((label for key, label in mitreden.STATUSES.items() if key.value == detail.get("status")),
                          detail.get("status") or ""))
        reason = str(mitreden.HIDE_REASONS.get(reason, reason))
    else:
        status = _plain(detail.get("status"), objects, "status")
    return {
        "who": _who(event),
        "object": target.html() if target else "",
        "reason": reason,
        "status": status,
        "format": str(detail.get("format") or ""),
        "role": str(detail.get("role") or ""),
        "before": "" if isinstance(before, dict) else _plain(before, objects),
        "after": "" if isinstance(after, dict) else _plain(after, objects),
        "source": str(detail.get("source_name") or ""),
        "job": event.action.split("-", 1)[1] if "-" in event.action else event.action,
        "action": event.action,
        "name": str(detail.get("name") or ""),
    }


def render(sentence: Sentence, detail: dict, values: dict[str, str | Markup]) -> Markup:
    """The sentence translated with markers, escaped, then its values put in (links stay links)."""
    out = str(escape(sentence(detail, MARKS)))
    for name, value in values.items():
        out = out.replace(MARKS[name], str(escape(value)))
    return Markup(out)


def entries(events: list[AuditEvent]) -> list[Entry]:
    """The events as sentences with their changes and remaining details, for one page of the audit log."""
    objects = _Objects(events)
    out = []
    for event in events:
        detail = event.detail if isinstance(event.detail, dict) else {}
        sentence = sentence_for(event.action) or _fallback
        text = render(sentence, detail, _values(event, detail, objects))
        rest = [(key, _plain(value, objects, key)) for key, value in detail.items() if key not in SAID]
        out.append(Entry(event, text, _changes(detail, objects), rest))
    return out
