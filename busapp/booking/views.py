"""Booking views: the form, the private ticket page and what can be done from it.

URL map
    GET  /workshops/<id>/book    booking.new      the form, or why the workshop cannot be booked
    POST /workshops/<id>/book    booking.new      book (HTML: 303 to the ticket; JSON for the offline outbox)
    GET  /t/<token>              booking.show     ticket with QR code, or waiting-list place (private)
    GET  /t/<token>/qr.svg       booking.qr       the ticket's QR code as a file
    GET  /t/<token>.ics          booking.ics      the workshop for the person's calendar
    GET|POST /t/<token>/cancel   booking.cancel   confirm, then cancel or leave the waiting list
    POST /t/<token>/seats        booking.reduce   give back seats of a party (3 -> 2); they go to the waiting list
    GET|POST /t/<token>/forget   booking.forget   confirm, then delete one's own personal data
    GET|POST /find               booking.find     find a booking by its code and the name given (rate-limited)
    GET  /my-bookings            booking.mine     the tickets this phone has opened or booked (kept offline)
    GET  /booking/privacy        booking.privacy  what is stored, for how long

JSON answers to POST /workshops/<id>/book with `Accept: application/json` (the offline outbox):
    {"ok", "state": "confirmed"|"waiting"|"cancelled"|"refused"|"invalid", "message", "url", "code",
     "alternatives": [{"title", "when", "place", "url", "seats_free"}], "errors": {"field": ["message"]}}
    201 a booking was made; 200 the idempotency key was seen before (the same booking; "cancelled" when it
    has been cancelled since); 409 the workshop cannot be booked; 422 invalid input or form token;
    404 the workshop does not exist; 429 too many tries (from errors.py); 503 with Retry-After: the database
    cannot be reached, nothing was stored, send it again (from faults.py). Once a booking is stored the answer is a
    success; details the database cannot give at that moment (waiting-list number, alternatives) are left out.
"""
from __future__ import annotations

import re
from uuid import uuid4

from flask import (
    Response, abort, current_app, jsonify, make_response, redirect, render_template, request, session, url_for,
)
from flask_babel import get_locale, gettext as _, lazy_gettext as _l, ngettext
from sqlalchemy.orm import joinedload
from wtforms.validators import ValidationError

from ..core import faults, qr, ratelimit, tickets
from ..core.content import text_in
from ..core.errors import wants_json
from ..core.i18n import prefer_language, weekday_at
from ..core.extensions import csrf, db
from ..models import Booking, BookingStatus, Stop, Workshop
from ..domain.links import absolute_url
from ..schedule.calendar import booking_version, calendar_answer, ics_for_booking
from . import bp, service
from .forms import IDEMPOTENCY_KEY, BookingForm, FindForm, ReduceForm, contact_kind

REFUSALS = {
    "gone": _l("This workshop no longer exists."),
    "draft": _l("This workshop is not open for booking yet."),
    "cancelled": _l("This workshop has been cancelled."),
    "stop_cancelled": _l("The bus does not come to this stop: the visit has been cancelled."),
    "past": _l("This workshop has already started or is over."),
    "closed": _l("Booking for this workshop has closed."),
    "unavailable": _l("This workshop cannot be booked right now."),
}
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,64}")
# The stop (for the refusal check) and its district (for the page) come in the workshop's query.
WITH_STOP = (joinedload(Workshop.stop).joinedload(Stop.district),)


def refusal_message(reason: str) -> str:
    return str(REFUSALS.get(reason, REFUSALS["unavailable"]))


def _private(response: Response) -> Response:
    """Headers for pages behind a manage link: the device may keep them (offline tickets), nobody else."""
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _booking_or_404(token: str) -> Booking:
    # Only what secrets.token_urlsafe() makes reaches the database (PostgreSQL cannot even compare a NUL byte).
    booking = service.find_by_token(token) if TOKEN_SHAPE.fullmatch(token) else None
    if booking is None:
        abort(404)
    # The ticket, its calendar file and its pages open in the language it was booked in, unless the visitor asks
    # for another; their links then carry it.
    prefer_language(booking.locale)
    return booking


def _qr_label(booking: Booking) -> str:
    return _("Ticket QR code, booking code %(code)s", code=booking.code)


def _when(workshop: Workshop) -> str:
    return weekday_at(workshop.starts_at)


def _alternative(workshop: Workshop) -> dict:
    stop = workshop.stop
    return {
        "title": str(text_in(workshop, "title")),
        "when": _when(workshop),
        "place": f"{stop.place.name}, {stop.district.name}",
        "url": url_for("booking.new", workshop_id=workshop.id),
        "seats_free": service.offer(workshop).seats_free,
    }


def _status_message(status: BookingStatus, code: str, position: int | None) -> str:
    if status == BookingStatus.CONFIRMED:
        return _("Your seat is booked. Your booking code is %(code)s.", code=code)
    if status == BookingStatus.WAITING:
        if position is None:  # the number could not be looked up just now; the ticket page shows it
            return _("There is no free seat for your party right now. You are on the waiting list. "
                     "When seats become free, you get them automatically.")
        return _("There is no free seat for your party right now. You are number %(n)d on the waiting list. "
                 "When seats become free, you get them automatically.", n=position)
    return _("This booking has been cancelled.")


def _json(status: int, state: str, message: str, booking: Booking | None = None, alternatives=(),
          errors: dict | None = None):
    return jsonify(
        ok=booking is not None,
        state=state,
        message=str(message),
        url=url_for("booking.show", token=booking.manage_token) if booking else None,
        code=booking.code if booking else None,
        alternatives=[_alternative(w) for w in alternatives],
        errors=errors or {},
    ), status


def _done(booking: Booking, created: bool):
    """The answer once a submission has its booking: the ticket page, or JSON for the outbox.

    Built from what was written: the booking may be committed already, so the extras (the waiting-list number,
    other workshops) are looked up through faults.optional and left out if the database fails now."""
    status, code, token, workshop_id = booking.status, booking.code, booking.manage_token, booking.workshop_id
    url = url_for("booking.show", token=token)
    if not wants_json():
        return redirect(url, code=303)
    position = faults.optional(lambda: service.waiting_position(booking)) if status == BookingStatus.WAITING else None
    others = []
    if status == BookingStatus.WAITING:
        # A party that only got a waiting-list place is shown other workshops where it would get a seat now.
        others = faults.optional(lambda: [_alternative(w) for w in
                                          service.alternatives(db.session.get(Workshop, workshop_id))], [])
    return jsonify(
        ok=True, state=status.value, message=_status_message(status, code, position), url=url, code=code,
        alternatives=others, errors={},
    ), 201 if created else 200


def _form_page(workshop: Workshop, form: BookingForm, reason: str | None, status: int):
    offer = service.offer(workshop)
    open_seats = offer.seats_free if reason is None else 0
    alternatives = service.alternatives(workshop) if reason or not open_seats else []
    # The form's page is always whole: nothing asks for it as a fragment (the offline outbox posts for JSON), so
    # booking/_new.html is a plain include of booking/new.html.
    return render_template(
        "booking/new.html",
        workshop=workshop, form=form, reason=reason, refusal=refusal_message(reason) if reason else None,
        open_seats=open_seats, seats_owed=offer.seats_owed, closes_at=service.closes_at(workshop),
        alternatives=alternatives, submitted=request.method == "POST",
    ), status


def _refused(workshop: Workshop, form: BookingForm, reason: str):
    if wants_json():
        return _json(409, "refused", refusal_message(reason), alternatives=service.alternatives(workshop))
    return _form_page(workshop, form, reason, 409)


def _key_taken(workshop: Workshop, form: BookingForm):
    """The form's key belongs to a booking sent by someone else (or for another workshop): nothing is shown of
    it; the entries come back with a new key, to be sent again."""
    message = _("This form was already sent from another browser. Nothing was booked. Please send it again.")
    if wants_json():
        return _json(409, "refused", message)
    form.idempotency_key.data = str(uuid4())
    form.idempotency_key.raw_data = [form.idempotency_key.data]
    form.idempotency_key.errors = [message]
    return _form_page(workshop, form, None, 409)


def _seats_refused(workshop: Workshop, form: BookingForm, message: str, status: int, retry_after: int | None = None):
    """Too many seats from this address: the message next to the party size, the entries kept; nothing booked."""
    if wants_json():
        response, status = _json(status, "refused", message)
    else:
        form.party_size.errors = [*form.party_size.errors, message]
        body, status = _form_page(workshop, form, None, status)
        response = make_response(body)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response, status


@bp.route("/workshops/<int:workshop_id>/book", methods=["GET", "POST"])
@csrf.exempt  # the form checks its own token, so an expired one is answered next to the kept entries
@ratelimit.limit("booking", "RATELIMIT_BOOKING")
def new(workshop_id: int):
    """Booking form for one workshop (GET); book a seat or a waiting-list place (POST)."""
    workshop = db.session.get(Workshop, workshop_id, options=WITH_STOP)
    if workshop is None:
        if request.method == "POST" and wants_json():
            return _json(404, "refused", refusal_message("gone"))
        abort(404)
    form = BookingForm()
    if request.method == "GET":
        # The key is made when the form is shown, so every later repeat of this submission is recognised.
        form.idempotency_key.data = str(uuid4())
        reason = service.refusal(workshop)
        return _form_page(workshop, form, reason, 404 if reason == "draft" else 200)

    def fits(_form, field):
        if isinstance(field.data, int) and field.data > workshop.capacity:
            raise ValidationError(_("This workshop has only %(n)d seats in total.", n=workshop.capacity))

    valid = form.validate(extra_validators={"party_size": [fits]})
    key = form.idempotency_key.data or ""
    key_checked = False
    proofs = service.replay_proofs(session.get(current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")),
                                   request.form.get("outbox_secret"))
    if not form.csrf_token.errors and IDEMPOTENCY_KEY.match(key):
        existing = service.find_by_key(key)
        if existing is not None:
            if service.may_replay(existing, workshop.id, proofs):
                return _done(existing, created=False)
            return _key_taken(workshop, form)
        key_checked = True
    reason = service.refusal(workshop)
    if reason:
        return _refused(workshop, form, reason)
    if not valid:
        if wants_json():
            errors = {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            if "csrf_token" in errors:  # Flask-WTF's own wording is English only
                errors["csrf_token"] = [_("The form has expired. Please send it again.")]
            return _json(422, "invalid", _("Please check your entries."), errors=errors)
        return _form_page(workshop, form, None, 422)
    # Seats, not only requests, are counted per address (the seats-per-address rule in service.py).
    over = ratelimit.claim_seats(form.party_size.data)
    if over is not None:
        minutes = -(-over.retry_after // 60)
        return _seats_refused(workshop, form, ngettext(
            "Many seats have just been booked from this internet connection. Please try again in %(num)d minute, "
            "or call the bus team.",
            "Many seats have just been booked from this internet connection. Please try again in %(num)d minutes, "
            "or call the bus team.", minutes), 429, retry_after=over.retry_after)
    try:
        outcome = service.create(
            workshop.id, party_size=form.party_size.data, name=form.name.data, contact=form.contact.data,
            needs_note=form.needs_note.data, idempotency_key=key, locale=str(get_locale()), key_checked=key_checked,
            proofs=proofs, origin=ratelimit.origin(),
        )
    except service.Refused as exc:
        ratelimit.release_seats(form.party_size.data)  # nothing was booked: the seats do not count
        if exc.reason == "key_taken":
            return _key_taken(workshop, form)
        if exc.reason == "address_share":
            return _seats_refused(workshop, form, _(
                "From one internet connection, at most %(n)d seats can be booked for this workshop, so that others "
                "get a seat too. Please choose fewer people, or call the bus team.",
                n=service.address_share(workshop.capacity)), 409)
        workshop = db.session.get(Workshop, workshop_id)
        if workshop is None:  # deleted while this request ran
            return _json(404, "refused", refusal_message("gone")) if wants_json() else abort(404)
        return _refused(workshop, form, exc.reason)
    return _done(outcome.booking, outcome.created)


@bp.get("/t/<token>")
def show(token: str):
    """A booking's private page: the ticket with its QR code or the waiting-list place, and what can be done."""
    booking = _booking_or_404(token)
    workshop = booking.workshop
    context = {
        "booking": booking,
        "workshop": workshop,
        "stop": workshop.stop,
        "position": service.waiting_position(booking),
        "can_cancel": service.can_cancel(booking),
        "ticket_qr": qr.svg(tickets.sign(booking), _qr_label(booking))
        if booking.status == BookingStatus.CONFIRMED else None,
        "manage_url": absolute_url("booking.show", token=booking.manage_token),
        "contact_kind": contact_kind(booking.contact),
        "workshop_refusal": service.refusal(workshop),
        "reduce_form": _reduce_form(booking),
    }
    return _private(make_response(render_template("booking/show.html", **context)))


def _reduce_form(booking: Booking) -> ReduceForm | None:
    """The form to give back seats, for a party of two or more that can still change its booking."""
    if booking.party_size < 2 or not service.can_cancel(booking):
        return None
    form = ReduceForm(formdata=None, party_size=booking.party_size - 1)
    form.set_choices(booking.party_size)
    return form


@bp.get("/t/<token>/qr.svg")
def qr_file(token: str):
    """The ticket's QR code as an SVG file, to save or print; only for confirmed seats."""
    booking = _booking_or_404(token)
    if booking.status != BookingStatus.CONFIRMED:
        abort(404)
    body = qr.svg_document(tickets.sign(booking), _qr_label(booking))
    response = Response(body, content_type="image/svg+xml; charset=utf-8")
    response.headers["Content-Disposition"] = f'inline; filename="ticket-{booking.code}.svg"'
    return _private(response)


@bp.get("/t/<token>.ics")
def ics(token: str):
    """The booked seat as a calendar file with reminders; a cancellation of the same entry once cancelled. A place
    on the waiting list is no appointment yet: it has no calendar file."""
    booking = _booking_or_404(token)
    if booking.status == BookingStatus.WAITING:
        abort(404)
    response = calendar_answer(booking_version(booking), lambda: ics_for_booking(booking),
                               f"digitalbus-{booking.code}.ics", attachment=True)
    return _private(response)


@bp.route("/t/<token>/cancel", methods=["GET", "POST"])
def cancel(token: str):
    """Cancel a booking or leave the waiting list: a page that asks to confirm, then one button."""
    booking = _booking_or_404(token)
    if request.method == "POST":
        if booking.status != BookingStatus.CANCELLED:
            try:
                service.cancel(booking)
            except service.Refused:
                return _private(make_response(render_template(
                    "booking/cancel.html", booking=booking, can_cancel=False), 409))
        return redirect(url_for("booking.show", token=token), code=303)
    return _private(make_response(render_template(
        "booking/cancel.html", booking=booking, can_cancel=service.can_cancel(booking))))


@bp.post("/t/<token>/seats")
def reduce(token: str):
    """Give back seats of a party without cancelling the booking; the seats go to the waiting list."""
    booking = _booking_or_404(token)
    form = ReduceForm()
    form.set_choices(booking.party_size)
    if form.validate() and 1 <= form.party_size.data < booking.party_size:
        try:
            service.reduce_party(booking, form.party_size.data)
        except service.Refused:
            pass  # changed meanwhile: the ticket page shows how it stands now
    return redirect(url_for("booking.show", token=token), code=303)


@bp.route("/find", methods=["GET", "POST"])
@ratelimit.limit("find", "RATELIMIT_FIND")
def find():
    """Find a booking by its code and the name given: one answer for every miss, and a limit on tries."""
    form = FindForm()
    missed = False
    if form.validate_on_submit():
        booking = service.find_by_code_and_name(form.code.data, form.name.data)
        if booking is not None:
            return redirect(url_for("booking.show", token=booking.manage_token), code=303)
        missed = True
    status = 200 if request.method == "GET" else (404 if missed else 422)
    response = make_response(render_template("booking/find.html", form=form, missed=missed), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/my-bookings")
def mine():
    """The tickets this phone has opened or booked, listed by the page's script from what the phone keeps."""
    return render_template("booking/mine.html")


@bp.route("/t/<token>/forget", methods=["GET", "POST"])
def forget(token: str):
    """Delete one's own name, contact and note (a booking still to come is cancelled with them)."""
    booking = _booking_or_404(token)
    if request.method == "POST":
        if booking.purged_at is None:
            service.forget(booking)
        return redirect(url_for("booking.show", token=token), code=303)
    return _private(make_response(render_template(
        "booking/forget.html", booking=booking, can_cancel=service.can_cancel(booking))))


@bp.get("/booking/privacy")
def privacy():
    """The privacy notice for bookings: what is stored, why, and when it is deleted."""
    return render_template("booking/privacy.html", days=current_app.config["PURGE_AFTER_DAYS"])
