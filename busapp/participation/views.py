"""Residents' side of Mitreden: the list of consultations and published ideas, a consultation's form, support."""
from __future__ import annotations

import re
import secrets
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import abort, current_app, flash, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..core import ratelimit
from ..core.extensions import db
from ..core.i18n import current_tag
from ..domain import links, tour
from ..models import District, Stop
from . import bp, service
from .forms import answer_form, choices_of
from .models import Channel, Consultation, Idea, Moderation

DEVICE_COOKIE = "mrdev"
DEVICE_COOKIE_DAYS = 400  # browsers keep a cookie at most this long
_KEY = re.compile(r"[A-Za-z0-9-]{8,64}")


def device_token() -> tuple[str, bool]:
    """This device's random cookie value, and whether it is new (then it must be set on the response)."""
    token = request.cookies.get(DEVICE_COOKIE, "")
    if 20 <= len(token) <= 100 and token.replace("-", "").replace("_", "").isalnum():
        return token, False
    return secrets.token_urlsafe(32), True


def set_device_cookie(response, token: str):
    response.set_cookie(DEVICE_COOKIE, token, max_age=int(timedelta(days=DEVICE_COOKIE_DAYS).total_seconds()),
                        path="/mitreden", httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")))
    return response


def district_choices() -> list[tuple[int, str]]:
    return [(d.id, d.name) for d in db.session.scalars(sa.select(District).order_by(District.name))]


def get_public(consultation_id: int) -> Consultation:
    """The consultation, or 404 while it has not started (it is not public yet)."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None or not service.is_public(consultation, service.now()):
        abort(404)
    return consultation


@bp.get("/mitreden")
def index():
    """Running and past consultations, and the published ideas by topic with the city's answers."""
    at = service.now()
    running, past = service.open_and_past(at)
    ideas = service.published_ideas([c.id for c in running + past])
    token = request.cookies.get(DEVICE_COOKIE, "")
    return render_template("participation/index.html", running=running, past=past, lang=current_tag(),
                           topics=service.by_topic(ideas), statuses=service.STATUSES,
                           merged=service.merged_counts([i.id for i in ideas]),
                           supported=service.supported(token, [i.id for i in ideas]))


@bp.route("/mitreden/<int:consultation_id>", methods=["GET", "POST"])
@ratelimit.limit("mitreden", "RATELIMIT_FEEDBACK")
def consultation(consultation_id: int):
    """A consultation's questions as a plain form; the answer is sent back to the same address."""
    c = get_public(consultation_id)
    lang = current_tag()
    token, new_token = device_token()
    status = 200
    form = answer_form(c, lang, district_choices())
    message = None
    if request.method == "POST":
        key = (request.form.get("idempotency_key") or "").strip()
        if not _KEY.fullmatch(key):
            key = str(uuid.uuid4())
            form.idempotency_key.data = key
        existing = service.find(key)
        if existing is not None:
            return redirect(_thanks_url(existing.consultation_id, key), code=303)
        if form.validate_on_submit():
            try:
                saved = service.save(c, _submission(form), key=key, channel=Channel.PHONE, locale=lang,
                                     device_token=token)
            except service.Refused as exc:
                message, status = exc.message, 409
            else:
                response = redirect(_thanks_url(saved.consultation_id, key), code=303)
                return set_device_cookie(response, token) if new_token else response
        else:
            status = 422
    else:
        form.idempotency_key.data = str(uuid.uuid4())
        form.stop.data = service.stop_for(c, request.args.get("halt")) or ""
    reason = service.closed_reason(c, service.now())
    response = make_response(render_template(
        "participation/consultation.html", consultation=c, form=form, lang=lang, closed=reason, message=message,
        action=url_for(".consultation", consultation_id=c.id)), status)
    response.headers["Cache-Control"] = "no-store"
    return set_device_cookie(response, token) if new_token else response


def _submission(form) -> service.Submission:
    """What the form holds (the station and the paper card put their own stop in its place)."""
    person = {}
    if "age_group" in form:
        person = dict(age_group=form.age_group.data or "", district_id=form.district.data,
                      internet=form.internet.data or "")
    return service.Submission(choices=choices_of(form), idea=form.idea.data or "", topic=form.topic.data or "",
                              stop_id=form.stop.data, **person)


def _opened(consultation: Consultation | None, stop_id: int | None):
    """Where a code leads: the consultation's form (with the stop to record), else the list of consultations.
    Never kept by a cache: it depends on the time and on where the bus is."""
    if consultation is None:
        response = redirect(url_for(".index"), code=303)
    else:
        response = redirect(url_for(".consultation", consultation_id=consultation.id, halt=stop_id), code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/mitreden/bus", defaults={"bus_id": None})
@bp.get("/mitreden/bus/<int:bus_id>")
def bus(bus_id: int | None):
    """The code glued inside the bus: the consultation of the stop the bus is at now (or was at earlier today),
    with that stop recorded; each bus has its own code, /mitreden/bus is the first bus's."""
    from ..planning import buses

    names = buses.names()
    if bus_id is not None and bus_id not in names:
        abort(404)
    first = next(iter(names), None)
    consultation, stop = service.for_bus(service.now(), None if len(names) < 2 else (bus_id or first))
    return _opened(consultation, stop.id if stop is not None else None)


@bp.get("/mitreden/halt/<int:stop_id>")
def stop(stop_id: int):
    """A stop's code (on its poster): the consultation running at that stop, with the stop recorded."""
    found = db.session.get(Stop, stop_id)
    if found is None or not tour.is_public(found):
        abort(404)
    consultation = service.for_stop(found, service.now())
    return _opened(consultation, found.id if consultation is not None else None)


def _thanks_url(consultation_id: int, key: str) -> str:
    """The thank-you page, with the private link to follow the idea when one was left."""
    return url_for(".thanks", consultation_id=consultation_id, folgen=service.follow_link_token(key))


def _private(response):
    """A page that carries a private link: kept by no cache and no search engine, and not passed on as referrer."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.get("/mitreden/datenschutz")
def privacy():
    """What Mitreden keeps, what for, who sees it and for how long."""
    cfg = current_app.config
    return render_template("participation/privacy.html", keep_days=cfg["MITREDEN_KEEP_DAYS"],
                           per_day=cfg["FEEDBACK_DEVICE_LIMIT"], cookie_days=DEVICE_COOKIE_DAYS)


@bp.get("/mitreden/<int:consultation_id>/danke")
def thanks(consultation_id: int):
    """Thank you, and what happens next; with the private link to follow the idea, when one was left."""
    c = get_public(consultation_id)
    token = request.args.get("folgen", "")
    idea = service.followed(token) if token else None
    follow = links.absolute_url("participation.follow", token=token) if idea and idea.consultation_id == c.id else None
    response = make_response(render_template("participation/thanks.html", consultation=c, lang=current_tag(),
                                             follow=follow))
    return _private(response) if token else response


@bp.get("/mitreden/idee/<token>")
@ratelimit.limit("mitreden", "RATELIMIT_FEEDBACK")
def follow(token: str):
    """Follow one's own idea by its private link: is it published, what does the city answer, where did it go."""
    idea = service.followed(token)
    if idea is None:
        abort(404)
    kept = service.supported_idea(idea) if idea.merged_into_id is not None else None
    return _private(make_response(render_template(
        "participation/follow.html", idea=idea, kept=kept, consultation=idea.consultation, lang=current_tag(),
        statuses=service.STATUSES, reasons=service.HIDE_REASONS)))


@bp.post("/mitreden/ideen/<int:idea_id>/unterstuetzen")
@ratelimit.limit("mitreden", "RATELIMIT_FEEDBACK")
def support(idea_id: int):
    """Support a published idea, once per device."""
    idea = db.session.get(Idea, idea_id)
    if idea is None or service.supported_idea(idea).moderation != Moderation.PUBLISHED:
        abort(404)
    token, new_token = device_token()
    if service.support(idea, token):
        flash(_("Thank you for your support."), "success")
    else:
        flash(_("You have already supported this idea."), "info")
    shown = service.supported_idea(db.session.get(Idea, idea_id))
    response = redirect(url_for(".index", _anchor=f"idee-{shown.id}"), code=303)
    return set_device_cookie(response, token) if new_token else response


def outbox_reply(ok: bool, status: int, message: str = "", errors: dict | None = None):
    """The answer a device's outbox reads when it sends a kept answer or card (JSON, no page to follow)."""
    errors = {name: [str(m) for m in messages] for name, messages in (errors or {}).items()}
    return jsonify(ok=ok, state="saved" if ok else "refused", message=str(message), errors=errors), status
