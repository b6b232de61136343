"""Unusual bursts for coordinators: many bookings from one address within a short time, with a bulk cancel, and
many feedback answers from one address, to be read with that in mind.

The address itself is never stored (a keyed hash of it, see busapp/ratelimit.origin); a burst is labelled by the
first characters of that hash, enough to tell two bursts apart. Bookings from the bus's trusted networks carry no
address and are never shown here."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _, ngettext
from flask_login import current_user

from ..accounts.auth import role_required
from ..booking import service as booking_service
from ..feedback import service as feedback_service
from ..models import Role
from . import bp


@bp.get("/bursts")
@role_required(Role.COORDINATOR)
def bursts():
    """Bursts of bookings from one address for workshops still to come, each with its bookings to cancel, and
    bursts of feedback answers."""
    response = render_template("planning/bursts.html", bursts=booking_service.bursts(),
                               feedback_bursts=feedback_service.bursts(),
                               size=current_app.config["BURST_SIZE"])
    return response, 200, {"Cache-Control": "no-store"}


@bp.post("/bursts/cancel")
@role_required(Role.COORDINATOR)
def cancel_burst():
    """Cancel the bookings ticked in one burst; their seats go to the waiting lists at once."""
    ids = [int(v) for v in request.form.getlist("booking") if v.isdigit() and len(v) <= 10]
    if not ids:
        flash(_("No booking was ticked, so nothing was cancelled."), "error")
        return redirect(url_for("planning.bursts"), code=303)
    done = booking_service.cancel_many(ids, current_user._get_current_object())
    flash(ngettext("%(num)d booking was cancelled.", "%(num)d bookings were cancelled.", done), "success")
    return redirect(url_for("planning.bursts"), code=303)
