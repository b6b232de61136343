"""Residents' side: the bus's permanent code, the form per stop and per workshop, and the thank-you."""
from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from flask import abort, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from sqlalchemy.exc import IntegrityError

from .. import ratelimit
from ..errors import wants_json
from ..extensions import db
from ..htmx import is_partial, render
from ..models import Feedback, Stop, StopStatus, Workshop, WorkshopStatus
from . import bp, rules
from .forms import FeedbackForm

FORM_PAGE, FORM_PARTIAL = "feedback/form.html", "feedback/_feedback.html"
THANKS_PAGE, THANKS_PARTIAL = "feedback/thanks.html", "feedback/_thanks.html"
CLOSED_PAGE, CLOSED_PARTIAL = "feedback/closed.html", "feedback/_closed.html"
_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")


def _lang_args() -> dict:
    """Keep a ?lang= from a printed code's URL across the redirect."""
    lang = request.args.get("lang", "")
    return {"lang": lang} if lang in current_app.config["LANGUAGES"] else {}


def _no_store(response):
    # A form carries a fresh idempotency key: a cached copy would make two answers look like one.
    response.headers["Cache-Control"] = "no-store"
    return response


def _json_reply() -> bool:
    """The offline outbox and other scripts ask for JSON; browsers get pages."""
    return request.headers.get("X-Outbox") == "1" or wants_json()


def _answer(ok: bool, state: str, message: str, status: int, errors: dict | None = None):
    return jsonify(ok=ok, state=state, message=message, errors=errors or {}), status


@bp.get("/f")
def bus():
    """The bus's permanent code: the form of the stop the bus is at now (or was at earlier today)."""
    at = rules.now()
    stop = rules.bus_stop(at)
    if stop is not None:
        return _no_store(redirect(url_for("feedback.stop", stop_id=stop.id, **_lang_args()), code=303))
    next_stops = rules.next_stops(at)
    return _no_store(make_response(render_template("feedback/no_stop.html", next_stops=next_stops)))


@bp.route("/f/<int:stop_id>", methods=["GET", "POST"])
@ratelimit.limit("feedback", "RATELIMIT_FEEDBACK")
def stop(stop_id: int):
    """Feedback form for one visit of the bus; answers are sent back to the same URL."""
    stop = db.session.get(Stop, stop_id)
    if stop is None:
        return _gone()
    return _feedback(stop, None)


@bp.route("/f/w/<int:workshop_id>", methods=["GET", "POST"])
@ratelimit.limit("feedback", "RATELIMIT_FEEDBACK")
def workshop(workshop_id: int):
    """Feedback form with one workshop already chosen (the code a trainer shows at the end)."""
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None or workshop.status == WorkshopStatus.DRAFT:
        return _gone()
    if workshop.status == WorkshopStatus.CANCELLED:
        message = _("This workshop was cancelled, so there is nothing to rate.")
        if request.method == "POST":
            return _refused(workshop.stop, message)
        return _closed(workshop.stop, message, 200)
    return _feedback(workshop.stop, workshop)


@bp.get("/f/<int:stop_id>/thanks")
def thanks(stop_id: int):
    """The thank-you page after an answer was saved (also the fragment that replaces the form)."""
    stop = db.session.get(Stop, stop_id)
    if stop is None or stop.status == StopStatus.DRAFT:
        abort(404)
    return _thanks(stop, 200)


def _feedback(stop: Stop, preselected: Workshop | None):
    """Show the form, or take an answer: replay, refusal, errors or a new record, in that order."""
    at = rules.now()
    if request.method == "GET" and stop.status == StopStatus.DRAFT:
        abort(404)  # planned stops are not public yet

    key = None
    if request.method == "POST":
        raw = (request.form.get("idempotency_key") or "").strip()
        key = raw if _KEY.fullmatch(raw) else None
        if key:
            # A resent answer gets the first answer's result, even after the stop closed for new ones.
            existing = _find(key)
            if existing is not None:
                return _saved(existing, replay=True)

    reason = rules.closed_reason(stop, at)
    if reason:
        if request.method == "POST":
            return _refused(stop, reason)
        return _closed(stop, reason, 200)

    workshops = rules.workshops_for(stop)
    form = FeedbackForm()
    form.set_workshops(workshops)
    token, new_token = rules.device_token()

    if request.method == "GET":
        form.idempotency_key.data = str(uuid.uuid4())
        if preselected is not None:
            form.workshop.data = preselected.id
        response = make_response(_form_page(form, stop, workshops, preselected))
        if new_token:
            rules.set_device_cookie(response, token)
        return _no_store(response)

    # A form without a usable key still gets one, so it can be sent again safely from the error page.
    key = key or str(uuid.uuid4())
    form.idempotency_key.data = key
    if not form.validate():
        return _invalid(form, stop, workshops, preselected)

    chosen = next((w for w in workshops if w.id == form.workshop.data), None)
    hashed = rules.device_hash(token, at)
    if rules.device_count(hashed, stop, chosen) >= rules.device_limit():
        return _refused(stop, _(
            "You can send at most %(limit)d answers a day for the same workshop from one phone. "
            "Thank you, we have your answers.", limit=rules.device_limit()
        ), new_token=new_token, token=token)

    record = Feedback(
        stop_id=stop.id,
        workshop_id=chosen.id if chosen else None,
        rating=form.rating.data,
        learned=form.learned.data or "",
        missing=form.missing.data or "",
        wish_topic=form.wish_topic.data or "",
        wish_other=form.wish_other.data or "",
        age_group=form.age_group.data or "",
        locale=str(get_locale())[:8],
        idempotency_key=key,
        device_hash=hashed,
    )
    db.session.add(record)
    try:
        db.session.commit()
    except IntegrityError:
        # Two copies of one answer arrived at once and the other one won: answer as for a replay.
        db.session.rollback()
        existing = _find(key)
        if existing is not None:
            return _saved(existing, replay=True)
        if db.session.get(Stop, stop.id) is None:
            return _gone()
        raise
    response = _saved(record, replay=False)
    if new_token:
        rules.set_device_cookie(response, token)
    return response


def _find(key: str) -> Feedback | None:
    return db.session.scalar(sa.select(Feedback).where(Feedback.idempotency_key == key))


def _form_page(form, stop, workshops, preselected):
    return render(FORM_PAGE, FORM_PARTIAL, form=form, stop=stop, workshops=workshops, preselected=preselected,
                  action=request.path)


def _saved(record: Feedback, replay: bool):
    status = 200 if replay else 201
    if _json_reply():
        response, status = _answer(True, "saved", _("Thank you! Your feedback has been saved."), status)
        return make_response(response, status)
    if is_partial():
        return make_response(_thanks(record.stop, status))
    return redirect(url_for("feedback.thanks", stop_id=record.stop_id, **_lang_args()), code=303)


def _thanks(stop: Stop, status: int):
    return render(THANKS_PAGE, THANKS_PARTIAL, stop=stop, workshops=rules.workshops_for(stop)), status


def _invalid(form, stop, workshops, preselected):
    if _json_reply():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        return _answer(False, "invalid", _("Please check your entries."), 422, errors)
    return _no_store(make_response(_form_page(form, stop, workshops, preselected), 422))


def _refused(stop: Stop, message: str, new_token: bool = False, token: str = ""):
    if _json_reply():
        response = make_response(*_answer(False, "refused", message, 409))
    else:
        response = make_response(_closed(stop, message, 409))
    if new_token:
        rules.set_device_cookie(response, token)
    return response


def _closed(stop: Stop, message: str, status: int):
    at = rules.now()
    return render(CLOSED_PAGE, CLOSED_PARTIAL, stop=stop, message=message, next_stops=rules.next_stops(at),
                  now=at), status


def _gone():
    if request.method == "POST" and _json_reply():
        return _answer(False, "refused", _("This stop or workshop no longer exists, so the answer "
                                            "could not be saved."), 404)
    abort(404)
