"""Staff pages under /staff: today on the bus, the door list, scanning, walk-ins, tablets and their sync.

URL map
    GET  /staff/                                   today on the bus (landing page after sign-in)
    POST /staff/stops/<stop_id>/live               set the live status
    GET  /staff/workshops/<workshop_id>            the door list, with search (?q=); htmx gets the list alone
    POST /staff/workshops/<workshop_id>/act        check in, change the count, undo, seat a waiting party
    POST /staff/workshops/<workshop_id>/walkin     add a walk-in
    GET|POST /staff/workshops/<workshop_id>/release   release the seats of no-shows (asks first)
    GET|POST /staff/workshops/<workshop_id>/scan   scan or type a ticket code
    POST /staff/conflicts/<check_in_id>/seen       a double check-in has been looked at
    GET|POST /staff/tablet                         ask to set up this tablet (a coordinator approves it)
    GET  /staff/tablets                            moved to /admin/tablets (busapp/planning/tablets.py)
    GET  /staff/day.json                           the tablet's data for today (device credential)
    POST /staff/sync                               the tablet's queued actions (device credential)
"""
from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone
from functools import wraps

from flask import current_app, g, jsonify, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user

from ..accounts.auth import role_required
from ..core import content
from ..domain import live
from ..domain.party import MAX_PARTY, MIN_PARTY
from ..core.extensions import csrf, db
from ..core.htmx import is_partial
from ..models import CheckIn, Device, Role, Stop, User, Workshop, utcnow
from ..planning import changes as planning_changes, service as planning_service
from ..pwa.views import STAFF_COPY_HEADER, plural_probes
from ..schedule import service as schedule_service
from ..core.security import CSP, allow_camera
from . import bp, service
from .service import Action

DEVICE_HEADER = "X-Device-Credential"

# What each answer says at the door; the template adds the booking's details.
ANSWERS = {
    service.VALID: _l("Checked in"),
    service.AGAIN: _l("Already checked in"),
    service.OTHER_WORKSHOP: _l("Ticket for another workshop"),
    service.OTHER_STOP: _l("Ticket for another stop or day"),
    service.CANCELLED: _l("Booking cancelled"),
    service.WAITING: _l("On the waiting list"),
    service.UNKNOWN: _l("Code not found"),
    service.FORGED: _l("Not a valid ticket"),
    service.DONE: _l("Done"),
    service.FULL: _l("No free seat"),
    service.CLOSED: _l("This workshop is over or cancelled"),
    service.INVALID: _l("That did not work. Please check the entry."),
    service.NOT_TODAY: _l("This workshop is not today. Check-in and walk-ins are for today’s workshops only."),
}
# A walk-in seated offline beyond the tablet's share, for whom no seat was free when the tablet sent it.
WALKIN_WAITING = _l("No seat was free: on the waiting list. Seat them on the check-in list when a seat is free.")
LIVE_LABELS = {**live.LABELS, "cancelled": _l("Cancel this visit")}
LIVE_ERRORS = {
    "minutes": live.MINUTES_MESSAGE,
    "reason": _l("Please write a reason for residents."),
    "cancelled": _l("This visit is cancelled. Only a coordinator can publish it again."),
    "not_public": _l("This stop is not published."),
    "not_today": _l("Staff can set the status of today’s stops only."),
    "unknown": _l("Please choose a status."),
}


@bp.context_processor
def answer_texts() -> dict:
    """The answers' words for the tablet's script, which decides by itself while offline."""
    texts = {key: str(value) for key, value in ANSWERS.items()}
    texts["unprepared"] = _("This tablet is not prepared for today. Connect to the network and press “Prepare for today”.")
    texts["seat_pending"] = _("Waiting for a seat. When the tablet is online again, it gets a seat if one is free, "
                              "else it goes on the waiting list.")
    # The sign-out dialog's title in each plural form of the language ("1 check-in", "2 check-ins").
    unsent = {form: ngettext("Not sent yet: %(count)s check-in or walk-in on this tablet.",
                             "Not sent yet: %(count)s check-ins or walk-ins on this tablet.", n, count="{num}")
              for form, n in plural_probes(str(get_locale()))}
    return {"answer_texts": texts, "unsent_title": unsent}


def current_device() -> Device | None:
    """The registered tablet this request comes from (its credential in a header set by the tablet's script)."""
    if "device" not in g:
        g.device = service.device_for(request.headers.get(DEVICE_HEADER))
    return g.device


def _user():
    return current_user._get_current_object() if current_user.is_authenticated else None


def _workshop(workshop_id: int) -> Workshop:
    return db.first_or_404(db.select(Workshop).where(Workshop.id == workshop_id))


def _int(value, low: int, high: int) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if low <= number <= high else None


def copy_key(user: User) -> str:
    """The name under which a tablet keeps this person's staff pages: made from the account, its sign-in version and
    this device's sign-in with the app's secret, so it cannot be guessed and is a new one after every sign-out."""
    secret = current_app.config["SECRET_KEY"].encode()
    sign_in = f"{user.id}\n{user.session_version}\n{session.get('auth_sid', '')}"
    return hmac.new(secret, f"staff-copy\n{sign_in}".encode(), hashlib.sha256).hexdigest()[:32]


def keep_offline_too(app, pages) -> None:
    """Let another feature add staff pages that a prepared tablet keeps for opening without network (the paper
    cards of participation): `pages()` gives their URLs when the tablet prepares the day. Their paths must match
    STAFF_PAGES (busapp/pwa/views.py), and their views answer through offline_copy."""
    app.extensions.setdefault("offline_staff_pages", []).append(pages)


def offline_copy(response):
    """Mark a staff page the tablet may keep for opening without network (busapp/pwa/views.py, STAFF_PAGES).

    The page stays no-store for every HTTP cache. Only the service worker keeps it, when the tablet has prepared
    the day, in a cache named by `copy_key`, and shows it only until the time in the header: when the sign-in
    would expire or the day ends, whichever comes first."""
    user = _user()
    try:
        signed_in = datetime.fromtimestamp(float(session["auth_at"]), timezone.utc)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return response
    until = min(signed_in + current_app.config["AUTH_MAX_AGE"], service.end_of_day(utcnow()))
    if user is not None and response.status_code == 200:
        response.headers[STAFF_COPY_HEADER] = f"{copy_key(user)} {int(until.timestamp() * 1000)}"
    return response


@bp.get("/")
@role_required(Role.STAFF)
def index():
    """Today on the bus: the current or next stop, its workshops with counts, and the live status buttons."""
    now = utcnow()
    bus_id, buses = _bus_choice()
    stop = service.current_stop(now, bus_id)
    return offline_copy(make_response(render_template("checkin/index.html", **_today(stop, now), buses=buses,
                                                       bus_id=bus_id)))


def _bus_choice() -> tuple[int | None, dict[int, str]]:
    """With several buses: the bus asked for (?bus=), else this tablet's, else the first; with one bus, None."""
    from ..planning import buses

    names = buses.names()
    if len(names) < 2:
        return None, {}
    wanted = request.args.get("bus", type=int)
    if wanted not in names:
        device = current_device()
        wanted = device.bus_id if device is not None and device.bus_id in names else next(iter(names))
    return wanted, names


def _today(stop: Stop | None, now, errors: dict | None = None, typed: dict | None = None) -> dict:
    workshops = list(stop.workshops) if stop else []
    return {
        "stop": stop, "now": now, "workshops": workshops, "counts": service.counts(workshops),
        "others": [s for s in service.stops_of_day(now) if stop is None or s.id != stop.id],
        # The day's conflicts, at every stop of the day (and the shown stop, if it is another day's).
        "conflicts": service.conflicts(stops=service.stops_of_day(now) + ([stop] if stop else [])),
        "place_name": service.place_name,
        "live_labels": LIVE_LABELS, "errors": errors or {}, "typed": typed or {},
        # The note's other languages, and the translations of the note shown now.
        "note_languages": content.language_rows(),
        "note_now": content.texts_of(stop.texts, "live_note") if stop is not None and stop.live_note else {},
    }


@bp.post("/stops/<int:stop_id>/live")
@role_required(Role.STAFF)
def live(stop_id: int):
    """Set the stop's live status; a wrong entry is shown next to its field with what was typed."""
    stop = db.first_or_404(db.select(Stop).where(Stop.id == stop_id))
    status = request.form.get("status", "")
    typed = {"minutes_late": request.form.get("minutes_late", "")[:10], "reason": request.form.get("reason", "")[:200]}
    # The note in other languages (`text-<tag>-live_note`): none typed keeps the ones of an unchanged note, and a
    # new note without them drops the old note's (busapp/schedule/service.py).
    texts, text_errors = content.texts_from_form(request.form, "Stop", fields=("live_note",))
    typed["texts"] = content.texts_of(texts, "live_note")
    minutes = _int(typed["minutes_late"], 0, 10_000) if typed["minutes_late"].strip() else None
    device = current_device()
    template = "checkin/_live.html" if is_partial() else "checkin/index.html"
    if not service.is_of_day(stop, service.local_day(utcnow())):
        errors = {"not_today": LIVE_ERRORS["not_today"], "status": status}
        return render_template(template, **_today(stop, utcnow(), errors, typed)), 422
    if text_errors:
        return render_template(template, **_today(stop, utcnow(), {"texts": text_errors, "status": status},
                                                  typed)), 422
    if status == "cancelled":
        return _cancel_today(stop, typed)
    try:
        schedule_service.set_live_status(stop, status, minutes_late=minutes, reason=typed["reason"], user=_user(),
                                         device=device.name if device else "", texts=typed["texts"] or None)
    except schedule_service.LiveStatusRefused as exc:
        db.session.rollback()
        errors = {exc.reason: LIVE_ERRORS[exc.reason], "status": status}
        context = _today(stop, utcnow(), errors, typed)
        template = "checkin/_live.html" if is_partial() else "checkin/index.html"
        return render_template(template, **context), 422
    if is_partial():
        return render_template("checkin/_live.html", **_today(stop, utcnow()))
    return redirect(url_for("checkin.index"), code=303)


def _missing() -> bool:
    return (request.form.get("missing") or request.args.get("missing")) == "1"


def _cancel_today(stop: Stop, typed: dict):
    """Cancelling today's visit from the tablet: it asks first, naming whom it reaches, then goes through the
    coordinators' cancellation (busapp/planning/changes.py: bookings cancelled, mails queued, call list)."""
    reason = " ".join(typed["reason"].split())
    template = "checkin/_live.html" if is_partial() else "checkin/index.html"
    if not reason or stop.is_cancelled:
        why = "reason" if not reason else "cancelled"
        errors = {why: LIVE_ERRORS[why], "status": "cancelled"}
        return render_template(template, **_today(stop, utcnow(), errors, typed)), 422
    if request.form.get("confirm") != "1":
        context = _today(stop, utcnow(), typed=typed)
        context["confirm_cancel"] = planning_changes.impact(stop)
        return render_template(template, **context)
    try:
        planning_changes.cancel(stop.id, None, reason, _user(), reasons=typed["texts"] or None)
    except planning_service.Refused:
        db.session.rollback()
        errors = {"cancelled": LIVE_ERRORS["cancelled"], "status": "cancelled"}
        return render_template(template, **_today(stop, utcnow(), errors, typed)), 422
    db.session.refresh(stop)
    return render_template(template, **_today(stop, utcnow()))


def _list_context(workshop: Workshop, query: str = "", answer: service.Decision | None = None,
                  errors: dict | None = None, typed: dict | None = None, about: str = "") -> dict:
    stop = workshop.stop
    device = current_device()
    missing = _missing()
    return {
        # What this tablet's share holds, once taken (booking has closed); None before, and on other devices.
        "share_left": service.shares_left(device).get(workshop.id) if device is not None else None,
        "workshop": workshop, "stop": stop, "query": query, "missing": missing,
        "bookings": service.bookings_for(workshop, query, missing=missing),
        "count": service.counts([workshop])[workshop.id], "answer": answer, "answers": ANSWERS,
        "nonce": service.new_nonce, "now": utcnow(), "place_name": service.place_name,
        "errors": errors or {}, "typed": typed or {}, "about": about,
        "conflicts": {c.booking_id: c for c in service.conflicts(workshop=workshop)},
    }


@bp.get("/workshops/<int:workshop_id>")
@role_required(Role.STAFF)
def door(workshop_id: int):
    """The door list of a workshop: every party with name, code, size, needs note and state; search as you type."""
    workshop = _workshop(workshop_id)
    query = request.args.get("q", "")[:80]
    context = _list_context(workshop, query)
    if is_partial():
        return render_template("checkin/_list.html", **context)
    context["switch"] = service.workshops_of_day(utcnow())
    return offline_copy(make_response(render_template("checkin/door.html", **context)))


def _respond(workshop: Workshop, decision: service.Decision, status: int = 200, booking_id: int | None = None):
    query = request.form.get("q", "")[:80]
    about = ""
    if decision.booking is None and booking_id is not None:
        # A refusal without its booking (a wrong form) still names whom the tap was for.
        booking = service.booking_of(booking_id, workshop)
        about = (booking.name or booking.code) if booking is not None else ""
    context = _list_context(workshop, query, decision, about=about)
    return render_template("checkin/_list.html" if is_partial() else "checkin/door.html", **context), status


@bp.post("/workshops/<int:workshop_id>/act")
@role_required(Role.STAFF)
def act(workshop_id: int):
    """Check a party in (all or some of them), change the count, undo, or seat a waiting party that is here."""
    workshop = _workshop(workshop_id)
    kind = request.form.get("kind", "")
    booking_id = _int(request.form.get("booking_id"), 1, 2**31 - 1)
    people = _int(request.form.get("people"), 1, 4) if request.form.get("people") else None
    nonce = request.form.get("nonce", "")[:64]
    if kind not in ("checkin", "count", "undo", "seat") or booking_id is None or len(nonce) < 8:
        return _respond(workshop, service.Decision(service.INVALID), 422, booking_id)
    if not service.is_today(workshop):
        return _respond(workshop, service.Decision(service.NOT_TODAY), 422, booking_id)
    decision = service.perform(Action(kind, workshop.id, nonce, booking_id=booking_id, people=people),
                               user=_user(), device=current_device())
    return _respond(workshop, decision, 200 if decision.outcome != service.INVALID else 422, booking_id)


@bp.post("/workshops/<int:workshop_id>/walkin")
@role_required(Role.STAFF)
def walkin(workshop_id: int):
    """Seat people who came without a booking, with a first name only."""
    workshop = _workshop(workshop_id)
    typed = {"name": request.form.get("name", "")[:80], "party_size": request.form.get("party_size", "1")[:4]}
    party_size = _int(typed["party_size"], MIN_PARTY, MAX_PARTY)
    nonce = request.form.get("nonce", "")[:64]
    errors = {}
    if not " ".join(typed["name"].split()):
        errors["name"] = _("Please enter a first name.")
    if party_size is None:
        errors["party_size"] = _("Choose %(min)d to %(max)d people.", min=MIN_PARTY, max=MAX_PARTY)
    if len(nonce) < 8:
        errors["form"] = _("Please try again.")
    query = request.form.get("q", "")[:80]
    if errors:
        context = _list_context(workshop, query, errors=errors, typed=typed)
        return render_template("checkin/_list.html" if is_partial() else "checkin/door.html", **context), 422
    if not service.is_today(workshop):
        context = _list_context(workshop, query, service.Decision(service.NOT_TODAY), typed=typed, about=typed["name"])
        return render_template("checkin/_list.html" if is_partial() else "checkin/door.html", **context), 422
    decision = service.perform(Action("walkin", workshop.id, nonce, name=typed["name"], party_size=party_size),
                               user=_user(), device=current_device())
    status = 200 if decision.ok else 409
    context = _list_context(workshop, query, decision, typed=typed if not decision.ok else None, about=typed["name"])
    return render_template("checkin/_list.html" if is_partial() else "checkin/door.html", **context), status


@bp.route("/workshops/<int:workshop_id>/release", methods=["GET", "POST"])
@role_required(Role.STAFF)
def release(workshop_id: int):
    """Release the seats of bookings nobody checked in for, from the start; asks once before doing it."""
    workshop = _workshop(workshop_id)
    now = utcnow()
    absent = [b for b in service.bookings_for(workshop) if b.status.value == "confirmed" and not b.arrived]
    if request.method == "POST":
        try:
            freed = service.release(workshop, user=_user(), device=current_device(), now=now)
        except service.Refused:
            return render_template("checkin/release.html", workshop=workshop, absent=absent, started=False,
                                   place_name=service.place_name), 409
        return render_template("checkin/release.html", workshop=workshop, absent=[], started=True, freed=freed,
                               place_name=service.place_name)
    return render_template("checkin/release.html", workshop=workshop, absent=absent,
                           started=now >= workshop.starts_at, place_name=service.place_name)


@bp.route("/workshops/<int:workshop_id>/scan", methods=["GET", "POST"])
@role_required(Role.STAFF)
@allow_camera
def scan(workshop_id: int):
    """Scan a ticket with the camera or type its code; a valid ticket is checked in at once."""
    workshop = _workshop(workshop_id)
    answer = None
    read = ""
    status = 200
    if request.method == "POST":
        typed = request.form.get("code", "")[:400]
        read = service.code_read(typed)
        nonce = request.form.get("nonce", "")[:64]
        answer = service.decide(typed, workshop)
        if answer.outcome == service.VALID and not service.is_today(workshop):
            answer = service.Decision(service.NOT_TODAY, answer.booking)
        elif answer.outcome == service.VALID and len(nonce) < 8:
            answer = service.Decision(service.INVALID)  # a form without its nonce: nothing is checked in
        elif answer.outcome == service.VALID:
            answer = service.perform(Action("checkin", workshop.id, nonce, booking_id=answer.booking.id),
                                     user=_user(), device=current_device())
        status = 200 if answer.outcome in (service.VALID, service.AGAIN) else 422
    # The field is empty after every answer, ready for the next ticket; the answer names the code it read.
    context = {"workshop": workshop, "stop": workshop.stop, "answer": answer, "answers": ANSWERS, "typed": "",
               "read": read, "nonce": service.new_nonce, "place_name": service.place_name,
               "count": service.counts([workshop])[workshop.id], "switch": service.workshops_of_day(utcnow())}
    if is_partial():
        return render_template("checkin/_answer.html", oob=True, **context), status
    response = make_response(render_template("checkin/scan.html", **context), status)
    # The QR reader for browsers without a native one is WebAssembly, which Chromium compiles only with this
    # source; it allows no eval of JavaScript and no inline code. On this page only.
    response.headers["Content-Security-Policy"] = CSP.replace("script-src 'self'",
                                                              "script-src 'self' 'wasm-unsafe-eval'")
    return offline_copy(response) if request.method == "GET" else response


@bp.post("/conflicts/<int:check_in_id>/seen")
@role_required(Role.STAFF)
def conflict_seen(check_in_id: int):
    """Staff have looked at a double check-in: it leaves the list on today's page."""
    record = db.first_or_404(db.select(CheckIn).where(CheckIn.id == check_in_id))
    service.mark_conflict_seen(record, _user())
    if request.form.get("back") == "door":
        return redirect(url_for("checkin.door", workshop_id=record.workshop_id), code=303)
    return redirect(url_for("checkin.index"), code=303)


TABLET_ERRORS = {
    service.INVALID: _l("Please give this tablet a name, for example “Tablet front door”."),
    service.TOO_MANY_WAITING: _l("Too many tablets are waiting for approval. Please ask a coordinator to approve "
                                 "or refuse them first."),
}


@bp.route("/tablet", methods=["GET", "POST"])
@role_required(Role.STAFF)
def tablet():
    """Ask to set up this tablet under a name, so that it can work offline once a coordinator has approved it."""
    from ..planning import buses

    names = buses.names()
    typed = {"name": request.form.get("name", "")[:80], "bus": request.form.get("bus", "")[:12]}
    errors = {}
    if request.method == "POST":
        bus_id = _int(typed["bus"], 1, 2**31 - 1) if len(names) > 1 else None
        if len(names) > 1 and bus_id not in names:
            errors["bus"] = _("Please choose the bus this tablet travels in.")
        else:
            try:
                device, credential = service.register_device(typed["name"], _user(), bus_id)
            except service.Refused as exc:
                errors["name"] = TABLET_ERRORS.get(exc.reason, TABLET_ERRORS[service.INVALID])
            else:
                full = not device.is_approved and _user().role == Role.COORDINATOR
                return render_template("checkin/tablet.html", device=device, credential=credential,
                                       code=service.pairing_code(device), bus_full=full,
                                       limit=current_app.config["TABLETS_PER_BUS"], buses=names)
    return render_template("checkin/tablet.html", errors=errors, typed=typed, buses=names), 422 if errors else 200


@bp.get("/tablets")
@role_required(Role.COORDINATOR)
def tablets():
    """The tablets' page moved to the coordinators' pages."""
    return redirect(url_for("planning.tablets"), code=301)


def device_required(view):
    """For the tablet's data and sync: a registered tablet's credential, which outlives the staff sign-in.

    Without a credential, a signed-in staff member is told to register the tablet, anyone else gets 401. A
    credential that no longer works gets 401 whoever is signed in, so the tablet forgets it and its kept pages."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        device = current_device()
        waiting = service.waiting_device(request.headers.get(DEVICE_HEADER)) if device is None else None
        if waiting is not None:
            # Kept by the tablet: it asks again until a coordinator has approved (or refused) it.
            return jsonify(error="waiting", code=service.pairing_code(waiting), message=_(
                "This tablet waits for a coordinator’s approval (code %(code)s). Until then it works only with "
                "network.", code=service.pairing_code(waiting))), 403
        if device is None:
            revoked = bool(request.headers.get(DEVICE_HEADER))
            if not revoked and current_user.is_authenticated and current_user.has_role(Role.STAFF):
                return jsonify(error="no_device", message=_("Register this tablet first.")), 409
            return jsonify(error="revoked" if revoked else "unauthorized",
                           message=_("This tablet is not registered or was revoked.")), 401
        return view(device, *args, **kwargs)

    # The role matrix reads this: only staff (by sign-in) or their registered tablets get in.
    wrapped.required_roles = (Role.STAFF,)
    return wrapped


def _json_no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/day.json")
@device_required
def day(device: Device):
    """The day's data for offline work: bookings with the fields the door needs, public keys, seat shares."""
    now = utcnow()
    user = _user()
    if user is None or not user.has_role(Role.STAFF):
        # The credential alone downloads nothing: names and needs notes go only to a signed-in staff member.
        return _json_no_store(jsonify(error="signin", message=_("Please sign in to prepare this tablet."))), 403
    today = service.local_day(now)
    stop_id = _int(request.args.get("stop"), 1, 2**31 - 1)
    stop = db.session.get(Stop, stop_id) if stop_id else service.current_stop(now)
    if stop is not None and not service.is_of_day(stop, today):
        if stop_id:
            return _json_no_store(jsonify(error="other_day", message=_("Only today’s stops."))), 404
        stop = None  # the next stop is another day's: the tablet gets today's, if any
    if stop is None and not service.stops_of_day(now):
        return _json_no_store(jsonify(error="no_stop", message=_("No stop today."))), 404
    data = service.prepare(device, stop, now)
    data["signing"] = service.signing_key(device, user, today)
    service.audit_day_download(device, user, data)
    # The pages the tablet keeps for opening without network (the service worker's STAFF_PAGES).
    data["pages"] = [url_for("checkin.index")] + [
        url_for(endpoint, workshop_id=w["id"])
        for w in data["workshops"] for endpoint in ("checkin.door", "checkin.scan")
    ] + [url for pages in current_app.extensions.get("offline_staff_pages", ()) for url in pages()]
    return _json_no_store(jsonify(data))


@bp.post("/sync")
@csrf.exempt  # authenticated by the tablet's credential in a header, which another site cannot send
@device_required
def sync(device: Device):
    """Receive a tablet's queued actions; answers each one, and hands back unused seat shares when asked."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
        return _json_no_store(jsonify(error="invalid", message=_("The data sent was not readable."))), 400
    give_up = body.get("give_up", [])
    # Ids the database could not even compare (beyond 32 bits; PostgreSQL fails on more than 64) are bad data.
    ids = [body["user_id"]] if "user_id" in body else []
    ids += give_up if isinstance(give_up, list) else []
    if any(type(v) is int and _int(v, 1, 2**31 - 1) is None for v in ids):
        return _json_no_store(jsonify(error="invalid", message=_("The data sent was not readable."))), 400
    user = _user()  # never the body's word: a queued action names its person by its signature
    sequence = body.get("sequence")
    result = service.sync(device, body.get("items", []), user=user,
                          give_up=give_up if isinstance(give_up, list) else [],
                          sequence=_int(sequence, 0, 2**31 - 1) if type(sequence) is int else None)
    if body.get("finish"):
        result["returned_seats"] = service.return_shares(device)
        result["shares"] = {}
    for item in result["results"]:
        if item.get("kind") == "walkin" and item["outcome"] == service.WAITING:
            item["message"] = str(WALKIN_WAITING)
        else:
            item["message"] = str(ANSWERS.get(item["outcome"], ""))
    return _json_no_store(jsonify(result))


