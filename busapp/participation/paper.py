"""Paper cards typed in by staff (/admin/mitreden/papier): bus volunteers and coordinators type what residents wrote
on a card, recorded as from paper, at the stop chosen from the consultation's stops, with an audit entry naming who
typed it. The form works without network: the tablet keeps each card in its outbox (offline.js, paper.js) and sends
it later, each with its own key, so a card counts once however often it arrives."""
from __future__ import annotations

import re
import uuid
from dataclasses import replace

from flask import flash, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _, ngettext
from flask_login import current_user

from ..accounts.auth import role_required
from ..checkin.views import offline_copy
from ..core.i18n import current_tag
from ..models import Role
from ..pwa.views import plural_probes
from . import bp, service
from .admin import get
from .forms import answer_form
from .models import Channel
from .views import _submission, district_choices, outbox_reply

_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")


@bp.get("/admin/mitreden/papier")
@role_required(Role.STAFF)
def paper_index():
    """The consultations whose paper cards can be typed in now, each leading to its card form."""
    return offline_copy(make_response(render_template("participation/admin/paper_index.html",
                                                      consultations=service.taking_paper(service.now()))))


def offline_pages() -> list[str]:
    """The paper pages a prepared tablet keeps, so that cards can be typed in without network even when the form
    was not opened before (busapp/checkin/views.py, keep_offline_too)."""
    taking = service.taking_paper(service.now())
    if not taking:
        return []
    return [url_for("participation.paper_index")] + [
        url_for("participation.paper", consultation_id=c.id) for c in taking]


def _strings() -> dict:
    """The sentences paper.js shows when the tablet keeps a card (only this page needs them)."""
    probes = plural_probes(str(get_locale()))
    return {
        "waiting": {n: ngettext("Card saved. %(count)s card is waiting for the network.",
                                "Card saved. %(count)s cards are waiting for the network.", k, count="{n}")
                    for n, k in probes},
        "sent": _("Card saved. Every card has been sent."),
    }


@bp.route("/admin/mitreden/<int:consultation_id>/papier", methods=["GET", "POST"])
@role_required(Role.STAFF)
def paper(consultation_id: int):
    """Type in a paper card: the residents' form, recorded as from paper; after each card an empty form for the
    next, with the stop of the last one still chosen (?halt=)."""
    c = get(consultation_id)
    from_outbox = request.method == "POST" and request.headers.get("X-Outbox") == "1"
    lang = current_tag()
    stops = [(s.id, service.stop_label(s)) for s in service.stops_of(c)]
    form = answer_form(c, lang, district_choices(), stops=stops)
    status, message = 200, None
    if request.method == "POST":
        key = (request.form.get("idempotency_key") or "").strip()
        if not _KEY.fullmatch(key):
            key = str(uuid.uuid4())
        if service.find(key) is not None:
            already = _("This card was saved already.")
            if from_outbox:
                return outbox_reply(True, 200, already)
            flash(already, "info")
            return redirect(url_for(".paper", consultation_id=c.id), code=303)
        if form.validate_on_submit():
            try:
                service.save(c, replace(_submission(form), stop_id=form.paper_stop.data), key=key,
                             channel=Channel.PAPER, locale="de", user=current_user._get_current_object())
            except service.Refused as exc:
                message, status = exc.message, 409
            else:
                if from_outbox:
                    return outbox_reply(True, 201, _("The paper card is saved."))
                flash(_("The paper card is saved. Next card:"), "success")
                return redirect(url_for(".paper", consultation_id=c.id, halt=form.paper_stop.data), code=303)
        else:
            status = 422
        if from_outbox:
            return outbox_reply(False, status, message or _("Please check your entries."), form.errors)
    else:
        halt = request.args.get("halt", type=int)
        form.paper_stop.data = halt if halt in {stop_id for stop_id, _label in stops} else None
    form.idempotency_key.data = str(uuid.uuid4())
    response = make_response(render_template(
        "participation/admin/paper.html", consultation=c, form=form, lang=lang, message=message,
        closed=service.closed_reason(c, service.now(), Channel.PAPER), strings=_strings(),
        action=url_for(".paper", consultation_id=c.id)), status)
    response.headers["Cache-Control"] = "no-store"
    return offline_copy(response) if request.method == "GET" else response
