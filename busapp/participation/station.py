"""The Mitmach-Station (/mitreden/station): a staff tablet switched into it (admin.station_start) shows only the
consultation's form, in large type, for one person after another without sign-in; every other page of the app leads
back there until a staff member leaves it with the PIN. Residents use these pages, so their words are translated
into every language (busapp/core/translations.py)."""
from __future__ import annotations

import uuid
from dataclasses import replace

from flask import abort, current_app, flash, make_response, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _, ngettext

from ..core.extensions import db
from ..core.i18n import current_tag
from ..pwa.views import plural_probes
from . import bp, service
from .forms import StationLeaveForm, answer_form
from .models import Channel, Consultation
from .views import _submission, district_choices, outbox_reply

STATION = "mitreden_station"
STATION_STOP = "mitreden_station_stop"
_STATION_ENDPOINTS = {"participation.station", "participation.station_leave", "static"}


@bp.before_app_request
def keep_station():
    """While this tablet is a station, any other page leads back to the station."""
    if STATION in session and request.endpoint not in _STATION_ENDPOINTS \
            and not request.path.startswith(("/static/", "/sw.js")):
        return redirect(url_for("participation.station"), code=303)
    return None


def _station_consultation() -> Consultation:
    c = db.session.get(Consultation, session.get(STATION) or 0)
    if c is None or STATION not in session:
        abort(404)
    return c


def _answered_consultation() -> tuple[Consultation, service.StationTicket | None]:
    """The consultation a station answer is for: the one its page's ticket names (an answer kept on the tablet
    may arrive after the station was left or moved on), else the station's own; 404 without either."""
    ticket = service.read_station_ticket(request.form.get("station_ticket"))
    if ticket is not None:
        c = db.session.get(Consultation, ticket.consultation_id)
        if c is not None:
            return c, ticket
    return _station_consultation(), None


def _station_strings() -> dict:
    """The sentences station.js shows when the tablet keeps an answer (only this page needs them)."""
    probes = plural_probes(str(get_locale()))
    return {
        "waiting": {n: ngettext("Thank you! %(count)s answer is waiting to be sent.",
                                "Thank you! %(count)s answers are waiting to be sent.", k, count="{n}")
                    for n, k in probes},
        "sent": _("Thank you! Every answer has been sent."),
        "next": _("The next person can start now."),
    }


@bp.route("/mitreden/station", methods=["GET", "POST"])
def station():
    """The station's form: one person after another, anonymous, recorded as from the station; after each answer
    (and after a minute without a touch, see station.js) an empty form for the next person. Without network the
    tablet keeps the answers and sends them later (offline.js); they come back here, each with its own key."""
    from_outbox = request.method == "POST" and request.headers.get("X-Outbox") == "1"
    if request.method == "POST":
        c, ticket = _answered_consultation()
    else:
        c, ticket = _station_consultation(), None
    lang = current_tag()
    form = answer_form(c, lang, district_choices())
    status, message = 200, None
    if request.method == "POST":
        key = (request.form.get("idempotency_key") or "").strip()
        if not 8 <= len(key) <= 64:
            key = str(uuid.uuid4())
        if service.find(key) is not None:
            return outbox_reply(True, 200) if from_outbox else redirect(url_for(".station", danke=1), code=303)
        if form.validate_on_submit():
            try:
                stop_id = ticket.stop_id if ticket else session.get(STATION_STOP)
                service.save(c, replace(_submission(form), stop_id=stop_id), key=key, channel=Channel.STATION, locale=lang,
                             shown_at=ticket.shown_at if ticket else None)
            except service.Refused as exc:
                message, status = exc.message, 409
            else:
                return outbox_reply(True, 201) if from_outbox else redirect(url_for(".station", danke=1), code=303)
        else:
            status = 422
        if from_outbox:
            return outbox_reply(False, status, message or _("Please check your entries."), form.errors)
        if STATION not in session or session.get(STATION) != c.id:
            abort(404)
    if status == 200:
        form = answer_form(c, lang, district_choices(), formdata=None)
    form.idempotency_key.data = str(uuid.uuid4())
    response = make_response(render_template(
        "participation/station.html", consultation=c, form=form, lang=lang, message=message,
        thanked=request.method == "GET" and request.args.get("danke") == "1",
        closed=service.closed_reason(c, service.now(), Channel.STATION), leave=StationLeaveForm(formdata=None),
        idle=current_app.config.get("MITREDEN_STATION_IDLE_SECONDS", 60), ticket=service.station_ticket(c, session.get(STATION_STOP)),
        strings=_station_strings(),
        private=_("An answer was not accepted. Staff see it after leaving the station."),
        action=url_for(".station")), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/mitreden/station/verlassen")
def station_leave():
    """Leave the station with the staff PIN; a wrong PIN keeps the tablet in it."""
    _station_consultation()
    form = StationLeaveForm()
    if form.validate_on_submit() and service.station_pin_ok(form.pin.data):
        session.pop(STATION, None)
        session.pop(STATION_STOP, None)
        flash(_("The tablet has left the station."), "success")
        return redirect(url_for("checkin.index"), code=303)
    flash(_("Wrong PIN. The tablet stays in the station."), "error")
    return redirect(url_for(".station"), code=303)


def start(consultation: Consultation, stop_id: int | None) -> None:
    """Make this browser a station for `consultation` at this stop (its staff PIN is set by the caller)."""
    session[STATION] = consultation.id
    session[STATION_STOP] = stop_id
