"""Residents' side: the bus's permanent code, the form per stop and per workshop, and the thank-you."""
from __future__ import annotations

import re
import uuid

from flask import abort, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale, gettext as _
from ..core import faults, ratelimit
from ..core.errors import wants_json
from ..core.extensions import db
from ..core.htmx import is_partial, render
from ..models import Stop, StopStatus, Workshop, WorkshopStatus
from . import bp, rules, service
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
    response.headers["Cache-Control"] = "no-store"
    return response


def _form_cache(response):
    """A form may be kept on the visitor's own phone, for answering offline (the page's script gives a saved copy a
    fresh idempotency key), but by no shared cache, and the phone asks again whenever it is online."""
    response.headers["Cache-Control"] = "private, no-cache"
    return response


def _json_reply() -> bool:
    """The offline outbox and other scripts ask for JSON; browsers get pages."""
    return request.headers.get("X-Outbox") == "1" or wants_json()


def _answer(ok: bool, state: str, message: str, status: int, errors: dict | None = None):
    return jsonify(ok=ok, state=state, message=message, errors=errors or {}), status


@bp.route("/f", methods=["GET", "POST"], defaults={"bus_id": None})
@bp.route("/f/b/<int:bus_id>", methods=["GET", "POST"])
@ratelimit.limit("feedback", "RATELIMIT_FEEDBACK")
def bus(bus_id: int | None):
    """The bus's permanent code: the form of the stop the bus is at now (or was at earlier today). Each bus has its
    own code (/f/b/<bus>); /f is the first bus's, so the code printed before there were several buses still works.

    The form is answered to this same address, so a copy kept on the phone works in the bus without reception: the
    answer goes to the stop the bus was at when it was given (see service.py)."""
    at = rules.now()
    if request.method == "POST":
        stop = service.stop_for_bus(service.given_time(request.form.get("given_at"), at), _bus_of_code(bus_id))
        if stop is None:
            return _replay_or(lambda: _refused(None, _(
                "The bus was not at a stop at the time of your answer, so it could not be saved.")))
        return _feedback(stop, None, bus=True)
    stop = rules.bus_stop(at, _bus_of_code(bus_id))
    if stop is not None:
        return _feedback(stop, None, bus=True)
    next_stops = rules.next_stops(at)
    return _no_store(make_response(render_template("feedback/no_stop.html", next_stops=next_stops)))


def _bus_of_code(bus_id: int | None) -> int | None:
    """The bus a permanent code stands for: None (any stop) while the tour has one bus; /f is the first bus's."""
    from ..planning import buses

    names = buses.names()
    if bus_id is not None and bus_id not in names:
        abort(404)
    if len(names) < 2:
        return None
    return bus_id if bus_id is not None else next(iter(names))


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


def _replay_or(refusal):
    """A resent answer gets the first answer's result, whatever has changed since; else `refusal()`."""
    key = _posted_key()
    existing = service.find(key) if key else None
    return _saved(existing) if existing is not None else refusal()


def _posted_key() -> str | None:
    raw = (request.form.get("idempotency_key") or "").strip()
    return raw if _KEY.fullmatch(raw) else None


def _feedback(stop: Stop, preselected: Workshop | None, bus: bool = False):
    """Show the form, or take an answer: replay, refusal, errors or a new record, in that order."""
    at = rules.now()
    if request.method == "GET" and stop.status == StopStatus.DRAFT:
        abort(404)  # planned stops are not public yet

    key = None
    if request.method == "POST":
        key = _posted_key()
        if key:
            # A resent answer gets the first answer's result, even after the stop closed for new ones.
            existing = service.find(key)
            if existing is not None:
                return _saved(existing)

    reason = rules.closed_reason(stop, at)
    if reason:
        if request.method == "POST":
            return _refused(stop, reason)
        return _closed(stop, reason, 200)

    workshops = rules.workshops_for(stop)
    formdata = None
    if request.method == "POST" and bus:
        # A copy of the bus's form saved on another day may offer another stop's workshops.
        formdata = request.form.copy()
        formdata["workshop"] = service.workshop_choice(workshops, formdata.get("workshop"))
    form = FeedbackForm(formdata=formdata) if formdata is not None else FeedbackForm()
    form.set_workshops(workshops)
    token, new_token = rules.device_token()

    if request.method == "GET":
        form.idempotency_key.data = str(uuid.uuid4())
        if preselected is not None:
            form.workshop.data = preselected.id
        response = make_response(_form_page(form, stop, workshops, preselected, bus))
        if new_token:
            rules.set_device_cookie(response, token)
        return _form_cache(response)

    # A form without a usable key still gets one, so it can be sent again safely from the error page.
    key = key or str(uuid.uuid4())
    form.idempotency_key.data = key
    if not form.validate():
        return _invalid(form, stop, workshops, preselected, bus)

    chosen = next((w for w in workshops if w.id == form.workshop.data), None)
    answers = service.Answers(
        rating=form.rating.data,
        learned=form.learned.data or "",
        missing=form.missing.data or "",
        wish_topic=form.wish_topic.data or "",
        wish_other=form.wish_other.data or "",
        age_group=form.age_group.data or "",
    )
    try:
        saved = service.save(stop, chosen, answers, key=key, device_token=token,
                             given_at=service.given_time(form.given_at.data, at), locale=str(get_locale()))
    except service.Refused as exc:
        return _refused(stop, exc.message, new_token=new_token, token=token)
    except service.Gone:
        return _gone()
    response = _saved(saved)
    if new_token:
        rules.set_device_cookie(response, token)
    return response


def _form_page(form, stop, workshops, preselected, bus=False):
    action = url_for("feedback.bus", bus_id=(request.view_args or {}).get("bus_id"), **_lang_args()) if bus \
        else request.path
    return render(FORM_PAGE, FORM_PARTIAL, form=form, stop=stop, workshops=workshops, preselected=preselected,
                  action=action)


def _saved(saved: service.Saved):
    """The answer once the feedback is stored: built from what was written, so it cannot fail after the commit
    (the thank-you fragment, which reads the stop again, falls back to the thank-you page's address)."""
    status = 200 if saved.replay else 201
    if _json_reply():
        response, status = _answer(True, "saved", _("Thank you! Your feedback has been saved."), status)
        return make_response(response, status)
    thanks_url = url_for("feedback.thanks", stop_id=saved.stop_id, **_lang_args())
    if is_partial():
        stop = faults.optional(lambda: db.session.get(Stop, saved.stop_id))
        page = faults.optional(lambda: _thanks(stop, status)) if stop is not None else None
        if page is not None:
            return make_response(page)
        response = make_response("", status)
        response.headers["HX-Redirect"] = thanks_url
        return response
    return redirect(thanks_url, code=303)


def _thanks(stop: Stop, status: int):
    return render(THANKS_PAGE, THANKS_PARTIAL, stop=stop, workshops=rules.workshops_for(stop)), status


def _invalid(form, stop, workshops, preselected, bus=False):
    if _json_reply():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        return _answer(False, "invalid", _("Please check your entries."), 422, errors)
    return _no_store(make_response(_form_page(form, stop, workshops, preselected, bus), 422))


def _refused(stop: Stop | None, message: str, new_token: bool = False, token: str = ""):
    if _json_reply():
        response = make_response(*_answer(False, "refused", message, 409))
    elif stop is None:
        response = make_response(render_template("feedback/no_stop.html", next_stops=rules.next_stops(rules.now()),
                                                 message=message), 409)
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
