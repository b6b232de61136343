"""Coordinators' planning pages: week and month, stops, workshops, series and the course catalogue.

URL map (all under /admin, coordinators only):
    ""                                   week view            planning.index
    /month                               month list           planning.month
    /stops/new, /stops/check             new stop, live check planning.stop_new, planning.stop_check
    /stops/<id>                          one stop             planning.stop
    /stops/<id>/edit                     change a stop        planning.stop_edit
    /stops/<id>/publish, /unpublish      make (in)visible     planning.stop_publish, planning.stop_unpublish
    /stops/<id>/repeat                   series with preview  planning.stop_repeat
    /stops/<id>/workshops/new, /check    new workshop         planning.workshop_new, planning.workshop_check
    /workshops/<id>/edit                 change a workshop    planning.workshop_edit
    /workshops/<id>/publish, /unpublish                       planning.workshop_publish, planning.workshop_unpublish
    /courses, /courses/new, /courses/<id>  course catalogue   planning.courses, planning.course_new, planning.course_edit
    /translations                        what lacks a language planning.translations
    /stops/<id>/notices                  notices translated    planning.stop_notices
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, gettext as _, lazy_gettext as _l, ngettext
from flask_login import current_user
from wtforms.validators import ValidationError

from ..core import content
from ..accounts.auth import role_required
from ..domain import live
from ..core.extensions import db
from ..core.forms import clean_text
from ..core.htmx import is_partial
from ..models import Course, District, Place, Role, Stop, StopStatus, Workshop, WorkshopStatus, utcnow
from . import bp, changes, notices, series, service
from .forms import (
    CancelForm, CourseForm, LiveForm, PlaceFilterForm, PlaceForm, RepeatForm, StopForm, WorkshopForm, scope_field,
)

coordinator = role_required(Role.COORDINATOR)


def _districts() -> list[District]:
    return list(db.session.scalars(sa.select(District).order_by(District.number)))


def _stop_or_404(stop_id: int) -> Stop:
    return db.get_or_404(Stop, stop_id)


def _merge_errors(form, errors: dict[str, list[str]]) -> None:
    """Put the service's messages next to the fields they are about (general ones go to the form)."""
    for name, messages in errors.items():
        if name and name in form:
            form[name].errors = list(form[name].errors) + messages
        else:
            form.form_errors.extend(messages)


def _id_arg(name: str) -> int | None:
    """An id from the query string, or None when it is not one."""
    from .forms import _int_or_none

    return _int_or_none(request.args.get(name))


# The days the week and month pages go to: at the very ends of the calendar there is no week before or after.
CALENDAR_RANGE = (date(2, 1, 1), date(9998, 12, 31))


def _parse_date_arg(name: str) -> date | None:
    try:
        day = date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None
    return day if CALENDAR_RANGE[0] <= day <= CALENDAR_RANGE[1] else None


# ---------------------------------------------------------------------------------------------------------------
# Week and month

@bp.get("")
@coordinator
def index():
    """The week view of the tour, Monday to Sunday, with public holidays marked."""
    today = service.local_day(utcnow())
    monday = service.week_of(_parse_date_arg("week") or today)
    days = service.days(monday, monday + timedelta(days=6))
    return render_template("planning/index.html", days=days, monday=monday, today=today,
                           previous=monday - timedelta(days=7), next=monday + timedelta(days=7))


# At most this many stops of one day in the month list; the week view shows them all. The one bus makes a few stops
# a day, so a month lists every stop; a tour of several buses gets each day's first ones and a link to the day.
MONTH_STOPS_PER_DAY = 6


@bp.get("/month")
@coordinator
def month():
    """The stops of one month by day, with public holidays marked; a very full day links to its week."""
    today = service.local_day(utcnow())
    try:
        year, mon = (int(x) for x in request.args.get("month", "").split("-"))
        first, last = service.month_bounds(year, mon)
        if not CALENDAR_RANGE[0] <= first <= CALENDAR_RANGE[1]:
            raise ValueError(first)
    except ValueError:
        first, last = service.month_bounds(today.year, today.month)
    days = [d for d in service.days(first, last, per_day=MONTH_STOPS_PER_DAY) if d.stops or d.holiday]
    previous = (first - timedelta(days=1)).replace(day=1)
    following = last + timedelta(days=1)
    return render_template("planning/month.html", days=days, first=first, previous=previous, next=following,
                           total=sum(d.total for d in days))


# ---------------------------------------------------------------------------------------------------------------
# Stops

def _stop_draft(form: StopForm) -> service.StopDraft | None:
    """The typed stop, or None while the fields themselves are not valid."""
    if form.errors or not (form.day.data and form.start.data and form.end.data):
        return None
    return service.StopDraft(place_id=form.place.data, starts_at=service.local(form.day.data, form.start.data),
                             ends_at=service.local(form.day.data, form.end.data),
                             bus_id=form.bus.data if form.several_buses else None)


# The stop form offers "only places in this district" from this many places on (an imported tour has hundreds).
PLACE_FILTER_FROM = 30


def _place_filter() -> tuple[PlaceFilterForm, int | None]:
    """The stop form's "only places in this district" choice (?district= an id, or a name typed into a link), and
    the district it names; an unknown one is answered beside it, naming the closest or the known districts."""
    form = PlaceFilterForm(formdata=request.args, districts=_districts())
    if "district" not in request.args or not form.validate():
        return form, None
    return form, form.district.data


def _stop_form(stop: Stop | None, district_id: int | None = None) -> StopForm:
    places = service.places()
    form = StopForm(places=[p for p in places if district_id is None or p.district_id == district_id] or places,
                    buses=service.buses())
    if request.method == "GET" and stop is not None:
        start, end = stop.starts_at.astimezone(service.tz()), stop.ends_at.astimezone(service.tz())
        form.place.data = stop.place_id
        form.bus.data = stop.bus_id
        form.day.data, form.start.data, form.end.data = start.date(), start.time(), end.time()
    elif request.method == "GET":
        form.day.data = _parse_date_arg("day")
        form.place.data = _id_arg("place")
    return form


def _check_stop_form(form: StopForm, stop: Stop | None, ignore=()) -> service.StopDraft | None:
    """Validate the fields, then the planning rules; the holiday asks for a tick. Returns the draft when all pass.
    `ignore`: the other stops of a series that move with this one."""
    form.validate()
    draft = _stop_draft(form)
    if draft is None:
        return None
    _merge_errors(form, service.check_stop(draft, stop, ignore=ignore))
    name = service.holiday(form.day.data)
    if name and not form.holiday_ok.data:
        form.holiday_ok.errors = [_("%(day)s is a public holiday (%(name)s). Tick the box if the bus comes anyway.",
                                    day=form.day.data.strftime("%d.%m.%Y"), name=name)]
    return None if form.errors else draft


def _change_notes(form) -> tuple[dict, dict]:
    """The note to the people booked in other languages, as typed (`text-<tag>-change_note`), and its errors."""
    notes, errors = content.texts_from_form(request.form, "Stop", fields=("change_note",))
    if errors:
        form.form_errors.append(_("A text in another language is too long."))
    return notes, errors


def _change_note_fields():
    return [("change_note", _("What changed and why (the people booked will read it)"), True)]
def _dry_run_key(scope: str, draft) -> str:
    """What a dry run showed, sent back with the confirmation: a change other than the one shown is shown first."""
    import hashlib

    return hashlib.sha256(f"{scope}|{draft!r}".encode()).hexdigest()[:32]


def _series_ignore(stop: Stop | None, scope: str) -> set[int]:
    return {s.id for s in series.members(stop, scope)} if stop is not None and scope != "one" else set()


def _stop_editor(stop: Stop | None):
    place_filter, district_id = _place_filter()
    form = _stop_form(stop, district_id)
    if request.method == "GET":
        form.scope.data = request.args.get("scope")
    scope_field(form, series.reach(stop) if stop else {"one": 1}, "stop")
    scope = series.scope_of(form.scope.data)
    dry_run = moves = lines = None
    booked = bool(stop and service.active_bookings(stop))
    notes, note_errors = {}, {}
    if request.method == "POST" and scope != "one":
        draft = _check_stop_form(form, stop, ignore=_series_ignore(stop, scope))
        notes, note_errors = _change_notes(form)
        draft = None if note_errors else draft
        if draft is not None:
            moves = series.plan_moves(stop, scope, draft)
            _merge_errors(form, series.problems([m for m in moves if m.stop.id != stop.id]))
        seen = form.shown.data
        form.shown.data = ""
        if draft is not None and not form.errors and seen != _dry_run_key(scope, draft):
            # The dry run of exactly this change first: every date before and after, and who is told.
            form.shown.data = _dry_run_key(scope, draft)
        elif draft is not None and not form.errors:
            changing = sum(1 for m in moves if m.changes)
            try:
                series.save_moves(stop.id, scope, draft, current_user._get_current_object(), note=form.note.data or "",
                                  notes=content.texts_of(notes, "change_note"))
            except service.Refused as refused:
                _merge_errors(form, refused.errors)
                if "note" in refused.errors:
                    form.shown.data = seen  # the same change, shown already: only the note was missing
            else:
                flash(ngettext("%(num)d stop is saved.", "%(num)d stops are saved.", changing), "success")
                return redirect(url_for("planning.stop", stop_id=stop.id), code=303)
        if moves is not None:
            dry_run = series.dry_run(moves)
            lines = changes.by_stop([m.stop for m in moves], dry_run)
            booked = booked or bool(dry_run.parties)
    elif request.method == "POST":
        draft = _check_stop_form(form, stop)
        if booked:
            notes, note_errors = _change_notes(form)
            draft = None if note_errors else draft
        moved = draft is not None and stop is not None and service.stop_moves(stop, draft)
        if draft is not None and moved and booked and form.confirm.data != "yes":
            # The dry run: who this move reaches, before anything is saved.
            dry_run = changes.impact(stop)
        elif draft is not None:
            try:
                saved = service.save_stop(stop.id if stop else None, draft, current_user._get_current_object(),
                                          note=form.note.data or "", notes=content.texts_of(notes, "change_note"))
            except service.Refused as refused:
                _merge_errors(form, refused.errors)
                dry_run = changes.impact(stop) if stop is not None and booked else None
            else:
                flash(_("The stop is saved.") if stop else _("The stop is saved as a draft. Add workshops, then publish it."),
                      "success")
                return redirect(url_for("planning.stop", stop_id=saved.id), code=303)
    status = 422 if form.errors or place_filter.errors else 200
    holiday = service.holiday(form.day.data) if form.day.data and not form.day.errors else None
    show_filter = bool(place_filter.errors or district_id or len(form.place.choices) > PLACE_FILTER_FROM)
    return render_template("planning/stop_form.html", form=form, stop=stop, holiday=holiday, dry_run=dry_run,
                           place_filter=place_filter if show_filter else None,
                           booked=booked, text_languages=content.language_rows(), note_fields=_change_note_fields(),
                           notes=notes, note_errors=note_errors, moves=moves, lines=lines, scope=scope,
                           move_of={m.stop.id: m for m in moves or ()}), status


@bp.route("/stops/new", methods=["GET", "POST"])
@coordinator
def stop_new():
    """Plan a new stop (saved as a draft)."""
    return _stop_editor(None)


@bp.route("/stops/<int:stop_id>/edit", methods=["GET", "POST"])
@coordinator
def stop_edit(stop_id: int):
    """Change a stop's place or time; its workshops move with it and its bookings stay."""
    stop = _stop_or_404(stop_id)
    if stop.status == StopStatus.CANCELLED:
        flash(_("A cancelled stop cannot be changed."), "error")
        return redirect(url_for("planning.stop", stop_id=stop.id), code=303)
    return _stop_editor(stop)


@bp.post("/stops/check")
@coordinator
def stop_check():
    """The live check while typing (htmx): the rules' messages for the stop form as typed, nothing saved."""
    stop = db.session.get(Stop, _id_arg("stop") or 0)
    form = StopForm(places=service.places())
    _check_stop_form(form, stop, ignore=_series_ignore(stop, series.scope_of(form.scope.data)))
    holiday = service.holiday(form.day.data) if form.day.data and not form.day.errors else None
    return render_template("planning/_checks.html", form=form, holiday=holiday, checked=True)


@bp.get("/stops/<int:stop_id>")
@coordinator
def stop(stop_id: int):
    """One stop as coordinators see it: state, workshops with seats and waiting lists, actions."""
    stop = _stop_or_404(stop_id)
    live = LiveForm(status=stop.live_status.value, minutes=stop.live_minutes_late, note=stop.live_note)
    return _stop_page(stop, live, stop.texts, {})


def _stop_page(stop: Stop, live: LiveForm, live_texts: dict, live_errors: dict):
    return render_template("planning/stop.html", stop=stop, holiday=service.holiday(service.local_day(stop.starts_at)),
                           bookings=service.active_bookings(stop), live=live, text_languages=content.language_rows(),
                           live_fields=[("live_note", _("Note for visitors"), False)], live_texts=live_texts,
                           live_errors=live_errors, notices=notices.notices(stop),
                           reach=series.reach(stop) if stop.status != StopStatus.CANCELLED else {"one": 1}
                           ), 422 if live_errors else 200


LIVE_REFUSALS = {
    "unknown": _l("This status is not known."),
    "not_public": _l("Only a published stop has a live status."),
    "cancelled": _l("This stop is cancelled. Publish it again first."),
    "minutes": live.MINUTES_MESSAGE,
}


@bp.post("/stops/<int:stop_id>/live")
@coordinator
def stop_live(stop_id: int):
    """Set the stop's live status (on the way, here now, running late by N minutes, left)."""
    from ..schedule.service import LiveStatusRefused, set_live_status

    stop = _stop_or_404(stop_id)
    form = LiveForm()
    texts, text_errors = content.texts_from_form(request.form, "Stop", fields=("live_note",))
    if text_errors:
        # Answered on the stop page, next to the field, with everything typed kept.
        form.validate()
        form.form_errors.append(_("A text in another language is too long."))
        return _stop_page(stop, form, texts, text_errors)
    if form.validate():
        try:
            set_live_status(stop, form.status.data, minutes_late=form.minutes.data, reason=form.note.data or "",
                            user=current_user._get_current_object(), texts=content.texts_of(texts, "live_note"))
        except LiveStatusRefused as refused:
            flash(str(LIVE_REFUSALS.get(refused.reason, LIVE_REFUSALS["unknown"])), "error")
        else:
            flash(_("The live status is set. The public pages show it within a few seconds."), "success")
    else:
        flash(_("This status is not known."), "error")
    return redirect(url_for("planning.stop", stop_id=stop.id), code=303)


def _status_change(action, stop_id: int, message: str):
    _stop_or_404(stop_id)
    try:
        action(stop_id, current_user._get_current_object())
    except service.Refused as refused:
        for messages in refused.errors.values():
            for m in messages:
                flash(m, "error")
    else:
        flash(message, "success")
    return redirect(url_for("planning.stop", stop_id=stop_id), code=303)


@bp.post("/stops/<int:stop_id>/publish")
@coordinator
def stop_publish(stop_id: int):
    """Publish a stop and its draft workshops."""
    return _status_change(service.publish_stop, stop_id, _("The stop is published. Residents can see it now."))


@bp.post("/stops/<int:stop_id>/unpublish")
@coordinator
def stop_unpublish(stop_id: int):
    """Take a stop without bookings back to draft."""
    return _status_change(service.unpublish_stop, stop_id, _("The stop is a draft again. Residents no longer see it."))


@bp.route("/stops/<int:stop_id>/repeat", methods=["GET", "POST"])
@coordinator
def stop_repeat(stop_id: int):
    """Repeat a stop with its workshops: preview the dates first, then write all of them or none."""
    stop = _stop_or_404(stop_id)
    form = RepeatForm()
    preview = None
    if request.method == "POST" and form.validate():
        exceptions = form.exception_dates()
        if not form.errors:
            first = service.local_day(stop.starts_at)
            dates = service.recurrence(first, form.rule.data, until=form.until.data, count=form.count.data,
                                       exceptions=exceptions)
            preview = service.preview_series(stop, dates)
            if not dates:
                form.form_errors.append(_("These settings give no dates."))
            elif form.confirm.data == "yes":
                try:
                    copies = service.create_series(stop.id, dates, current_user._get_current_object(),
                                                   rule=form.rule.data)
                except service.Refused as refused:
                    _merge_errors(form, refused.errors)
                    preview = service.preview_series(stop, dates)
                else:
                    flash(_("%(n)d stops were added.", n=len(copies)), "success")
                    return redirect(url_for("planning.index", week=service.week_of(dates[0]).isoformat()), code=303)
    status = 422 if form.errors else 200
    blocked = bool(preview) and any(o.conflict for o in preview)
    return render_template("planning/repeat.html", form=form, stop=stop, preview=preview, blocked=blocked), status


# ---------------------------------------------------------------------------------------------------------------
# Workshops

def _workshop_draft(form: WorkshopForm, stop: Stop, texts: dict | None = None) -> service.WorkshopDraft | None:
    if form.errors or form.start.data is None or form.duration_minutes.data is None or form.capacity.data is None:
        return None
    return service.WorkshopDraft(
        title=form.title.data, topic=form.topic.data, description=form.description.data or "",
        language=form.language.data, audience=form.audience.data,
        starts_at=service.local(service.local_day(stop.starts_at), form.start.data),
        duration_minutes=form.duration_minutes.data, capacity=form.capacity.data,
        accessibility_notes=form.accessibility_notes.data or "", parallel=bool(form.parallel.data),
        level=form.level.data, bring=form.bring.data or "", walk_ins=bool(form.walk_ins.data), texts=texts,
    )


def _workshop_text_fields():
    """The workshop's texts a coordinator may give in other languages, with their labels."""
    return [("title", _("Title"), False), ("description", _("Description"), True),
            ("bring", _("What to bring"), False), ("accessibility_notes", _("Accessibility notes"), False)]


def _fill_from_course(form: WorkshopForm, course: Course) -> dict:
    """Fill the workshop form from a catalogue entry; returns its texts in other languages, under the workshop's
    names (what_to_bring is the workshop's bring), for the form's language blocks."""
    form.title.data, form.topic.data, form.description.data = course.title, course.topic, course.description
    form.language.data, form.audience.data = course.language, course.audience
    form.duration_minutes.data, form.capacity.data = course.duration_minutes, course.capacity
    form.level.data, form.bring.data, form.walk_ins.data = course.level, course.what_to_bring, course.walk_ins
    names = {"title": "title", "description": "description", "what_to_bring": "bring"}
    return {tag: {names[k]: v for k, v in entry.items() if k in names and v}
            for tag, entry in (course.texts or {}).items() if isinstance(entry, dict)}


def _next_free_start(stop: Stop) -> time:
    """Where a new workshop starts by default: after the last one, or at the stop's start."""
    ends = [w.ends_at for w in stop.workshops if w.status != WorkshopStatus.CANCELLED and not w.parallel]
    at = max(ends) if ends else stop.starts_at
    return at.astimezone(service.tz()).time()


def _workshop_editor(stop: Stop, workshop: Workshop | None):
    form = WorkshopForm(courses=service.courses(active_only=True))
    if request.method == "GET":
        form.scope.data = request.args.get("scope")
    scope_field(form, series.workshop_reach(workshop) if workshop else {"one": 1}, "workshop")
    scope = series.scope_of(form.scope.data)
    dry_run = planned = lines = None
    booked = bool(workshop and service.workshop_bookings(workshop))
    texts, text_errors = (workshop.texts if workshop else None) or {}, {}
    notes, note_errors = {}, {}
    if request.method == "GET":
        if workshop is not None:
            for name in ("title", "topic", "description", "language", "audience", "duration_minutes", "capacity",
                         "accessibility_notes", "parallel", "level", "bring", "walk_ins"):
                form[name].data = getattr(workshop, name)
            form.start.data = workshop.starts_at.astimezone(service.tz()).time()
        else:
            form.start.data = _next_free_start(stop)
            course = db.session.get(Course, _id_arg("course") or 0)
            if course is not None:
                form.course.data = course.id
                texts = _fill_from_course(form, course)
    else:
        form.validate()
        if scope == "one":
            form.shown.data = ""  # the mark of a shown series dry run means nothing for one workshop
        texts, text_errors = content.texts_from_form(request.form, "Workshop", form.language.data)
        if text_errors:
            form.form_errors.append(_("A text in another language is too long."))
        if booked or scope != "one":
            notes, note_errors = _change_notes(form)
        draft = _workshop_draft(form, stop, texts)
        if draft is not None:
            _merge_errors(form, service.check_workshop(stop, draft, workshop))
        if scope != "one":
            seen = form.shown.data
            form.shown.data = ""
            if draft is not None:
                planned = series.plan_workshops(workshop, scope, draft)
                _merge_errors(form, series.workshop_problems([c for c in planned if c.workshop.id != workshop.id]))
            if not form.errors and draft is not None and seen != _dry_run_key(scope, draft):
                # The dry run of exactly this change first: every date, and who is told of a new time.
                form.shown.data = _dry_run_key(scope, draft)
            elif not form.errors and draft is not None:
                try:
                    saved, promoted = series.save_workshops(workshop.id, scope, draft,
                                                            current_user._get_current_object(),
                                                            note=form.note.data or "",
                                                            notes=content.texts_of(notes, "change_note"))
                except service.Refused as refused:
                    _merge_errors(form, refused.errors)
                    if "note" in refused.errors:
                        form.shown.data = seen  # the same change, shown already: only the note was missing
                else:
                    flash(ngettext("%(num)d workshop is saved.", "%(num)d workshops are saved.", len(saved)),
                          "success")
                    if promoted:
                        flash(_("%(n)d parties moved up from the waiting list.", n=len(promoted)), "success")
                    return redirect(url_for("planning.stop", stop_id=stop.id), code=303)
            if planned is not None:
                dry_run = series.workshop_dry_run(planned)
                lines = changes.by_stop([c.workshop.stop for c in planned], dry_run)
                booked = booked or bool(dry_run.parties)
        elif not form.errors and draft is not None and booked and service.workshop_moved(workshop, draft) \
                and form.confirm.data != "yes":
            # The dry run, as for a moved stop: who the new time reaches, before anything is saved.
            dry_run = changes.impact(stop, workshop)
        elif not form.errors and draft is not None:
            try:
                saved, promoted = service.save_workshop(stop.id, workshop.id if workshop else None, draft,
                                                        current_user._get_current_object(), note=form.note.data or "",
                                                        notes=content.texts_of(notes, "change_note"))
            except service.Refused as refused:
                _merge_errors(form, refused.errors)
                dry_run = changes.impact(stop, workshop) if booked else None
            else:
                flash(_("The workshop is saved."), "success")
                if promoted:
                    flash(_("%(n)d parties moved up from the waiting list.", n=len(promoted)), "success")
                return redirect(url_for("planning.stop", stop_id=stop.id), code=303)
    status = 422 if form.errors else 200
    return render_template("planning/workshop_form.html", form=form, stop=stop, workshop=workshop, dry_run=dry_run,
                           booked=booked, text_languages=content.language_rows(form.language.data),
                           text_fields=_workshop_text_fields(), texts=texts, text_errors=text_errors,
                           note_fields=_change_note_fields(), notes=notes, note_errors=note_errors,
                           planned=planned, lines=lines, scope=scope,
                           move_of={c.workshop.stop_id: c for c in planned or ()}), status


@bp.route("/stops/<int:stop_id>/workshops/new", methods=["GET", "POST"])
@coordinator
def workshop_new(stop_id: int):
    """Add a workshop to a stop, empty or from the course catalogue (saved as a draft)."""
    stop = _stop_or_404(stop_id)
    if stop.status == StopStatus.CANCELLED:
        abort(409)
    return _workshop_editor(stop, None)


@bp.route("/workshops/<int:workshop_id>/edit", methods=["GET", "POST"])
@coordinator
def workshop_edit(workshop_id: int):
    """Change a workshop; raising its seats moves waiting parties up at once."""
    workshop = db.get_or_404(Workshop, workshop_id)
    if workshop.status == WorkshopStatus.CANCELLED:
        abort(409)
    return _workshop_editor(workshop.stop, workshop)


@bp.post("/stops/<int:stop_id>/workshops/check")
@coordinator
def workshop_check(stop_id: int):
    """The live check while typing (htmx) for the workshop form; nothing saved."""
    stop = _stop_or_404(stop_id)
    workshop = db.session.get(Workshop, _id_arg("workshop") or 0)
    form = WorkshopForm(courses=())
    form.validate()
    draft = _workshop_draft(form, stop)
    if draft is not None:
        _merge_errors(form, service.check_workshop(stop, draft, workshop))
    return render_template("planning/_checks.html", form=form, holiday=None, checked=True)


def _workshop_status(workshop_id: int, publish: bool):
    workshop = db.get_or_404(Workshop, workshop_id)
    try:
        service.set_workshop_status(workshop_id, publish, current_user._get_current_object())
    except service.Refused as refused:
        for messages in refused.errors.values():
            for m in messages:
                flash(m, "error")
    else:
        flash(_("The workshop is published.") if publish else _("The workshop is a draft again."), "success")
    return redirect(url_for("planning.stop", stop_id=workshop.stop_id), code=303)


@bp.post("/workshops/<int:workshop_id>/publish")
@coordinator
def workshop_publish(workshop_id: int):
    """Publish one draft workshop."""
    return _workshop_status(workshop_id, True)


@bp.post("/workshops/<int:workshop_id>/unpublish")
@coordinator
def workshop_unpublish(workshop_id: int):
    """Take a workshop nobody booked back to draft."""
    return _workshop_status(workshop_id, False)


# ---------------------------------------------------------------------------------------------------------------
# Texts in other languages

def _notice_labels() -> dict[str, str]:
    return {"live_note": _("Live note for visitors"), "cancel_reason": _("Reason for the cancellation"),
            "change_note": _("Note on the change, told to the people booked")}


@bp.get("/translations")
@coordinator
def translations():
    """What residents still read in German: the upcoming workshops' texts, the stops' notices, the course
    templates' texts and the places' notes for finding the bus, missing per language, each with a link to fix it."""
    names = {tag: (name, lang) for tag, name, lang in content.language_rows("-")}  # every language
    fields = {name: label for name, label, _multiline in _workshop_text_fields()}
    fields["what_to_bring"] = fields["bring"]
    return render_template("planning/translations.html", missing=service.missing_texts(), names=names,
                           fields=fields, notices=notices.missing(), courses=service.missing_course_texts(),
                           places=service.missing_finding_notes(), notice_labels=_notice_labels())


@bp.route("/stops/<int:stop_id>/notices", methods=["GET", "POST"])
@coordinator
def stop_notices(stop_id: int):
    """A stop's notices (live note, reasons of cancellations, the note on a change) in other languages, added
    after they were typed; nothing is mailed again."""
    stop = _stop_or_404(stop_id)
    typed, errors, general, status = {}, {}, [], 200
    if request.method == "POST":
        key = request.form.get("notice", "")
        notice = next((n for n in notices.notices(stop) if n.key == key), None)
        name = notice.field if notice is not None else "live_note"
        texts, errors = content.texts_from_form(request.form, "Stop", fields=(name,))
        if notice is not None:
            for tag, entry in texts.items():  # the shortest place of the notice sets the limit
                if len(entry.get(name, "")) > notice.limit:
                    errors[f"text-{tag}-{name}"] = [_("Please use at most %(max)d characters.", max=notice.limit)]
        if not errors:
            # Only what the coordinator changed: each language's text against the one the form was shown with.
            typed_texts = content.texts_of(texts, name)
            changes = {tag: typed_texts.get(tag, "") for tag in content.other_languages()
                       if typed_texts.get(tag, "") != clean_text(request.form.get(f"was-{tag}"))}
            try:
                notices.translate(stop.id, key, request.form.get("version", ""), changes,
                                  current_user._get_current_object())
            except service.Refused as refused:
                # The new text is shown with what was typed kept beside it, to be checked and sent again.
                general = [m for ms in refused.errors.values() for m in ms]
                stop = _stop_or_404(stop_id)
            else:
                flash(_("The translations are saved. Residents read them at once; nobody is mailed again."),
                      "success")
                return redirect(url_for("planning.stop_notices", stop_id=stop.id, _anchor=f"notice-{key}"), code=303)
        typed = {key: texts}
        status = 422 if errors else 409
    return render_template("planning/notices.html", stop=stop, notices=notices.notices(stop), typed=typed,
                           errors=errors, general=general, labels=_notice_labels(),
                           text_languages=content.language_rows()), status


# ---------------------------------------------------------------------------------------------------------------
# Course catalogue

@bp.get("/courses")
@coordinator
def courses():
    """The course catalogue: reusable workshop templates."""
    from .forms import ImportForm

    return render_template("planning/courses.html", courses=service.courses(), import_form=ImportForm(),
                           problems=[], problem_count=0)


def _course_editor(course: Course | None):
    form = CourseForm(obj=course) if request.method == "GET" and course else CourseForm()
    texts, text_errors = (course.texts if course else None) or {}, {}
    if request.method == "POST":
        texts, text_errors = content.texts_from_form(request.form, "Course", form.language.data)
        if text_errors:
            form.form_errors.append(_("A text in another language is too long."))
    if request.method == "POST" and form.validate() and not text_errors:
        values = {name: form[name].data for name in service.COURSE_FIELDS}
        values["texts"] = texts
        try:
            service.save_course(course.id if course else None, values, current_user._get_current_object())
        except service.Refused as refused:
            _merge_errors(form, refused.errors)
        else:
            flash(_("The course is saved."), "success")
            return redirect(url_for("planning.courses"), code=303)
    fields = [("title", _("Title"), False), ("description", _("Description"), True),
              ("what_to_bring", _("What to bring"), False)]
    return render_template("planning/course_form.html", form=form, course=course, texts=texts, text_errors=text_errors,
                           text_languages=content.language_rows(form.language.data), text_fields=fields), \
        422 if form.errors or text_errors else 200


@bp.route("/courses/new", methods=["GET", "POST"])
@coordinator
def course_new():
    """Add a course to the catalogue."""
    return _course_editor(None)


@bp.route("/courses/<int:course_id>", methods=["GET", "POST"])
@coordinator
def course_edit(course_id: int):
    """Change a course of the catalogue; workshops made from it keep their own copy."""
    return _course_editor(db.get_or_404(Course, course_id))


# ---------------------------------------------------------------------------------------------------------------
# Places

@bp.get("/places")
@coordinator
def places():
    """Every place where the bus parks, typed once and picked by stops."""
    return render_template("planning/places.html", places=service.places())


def _place_editor(place: Place | None):
    form = PlaceForm(obj=place, districts=_districts()) if request.method == "GET" and place else PlaceForm(districts=_districts())
    if request.method == "GET" and place is None and request.args.get("district"):
        # "Add a place in this district": a name or number typed into the link works, an unknown one is answered.
        form.district_id.process_formdata([request.args["district"]])
        try:
            form.validate_district_id(form.district_id)
        except ValidationError as wrong:
            form.district_id.errors = [str(wrong)]
    texts, text_errors = (place.texts if place else None) or {}, {}
    if request.method == "POST":
        texts, text_errors = content.texts_from_form(request.form, "Place")
    if request.method == "POST" and form.validate() and not text_errors:
        values = {name: form[name].data for name in service.PLACE_FIELDS}
        values["texts"] = texts
        for name in ("lat", "lon"):
            values[name] = float(values[name]) if values[name] is not None else None
        try:
            saved = service.save_place(place.id if place else None, values, current_user._get_current_object())
        except service.Refused as refused:
            _merge_errors(form, refused.errors)
        else:
            flash(_("The place is saved."), "success")
            if place is None:
                return redirect(url_for("planning.stop_new", place=saved.id), code=303)
            return redirect(url_for("planning.places"), code=303)
    if text_errors:
        form.form_errors.append(_("A text in another language is too long."))
    # The position hints show a point of this town (its first district's), written as the reader writes numbers.
    point = db.session.execute(sa.select(District.lat, District.lon).where(District.lat.is_not(None),
                                                                          District.lon.is_not(None))
                               .order_by(District.number).limit(1)).first()
    example = {k: format_decimal(v, "0.0000") for k, v in zip(("lat", "lon"), point)} if point else {}
    return render_template("planning/place_form.html", form=form, place=place, text_languages=content.language_rows(),
                           text_fields=[("finding_note", _("How to find the bus"), False)], texts=texts,
                           text_errors=text_errors, example=example), 422 if form.errors else 200


@bp.route("/places/new", methods=["GET", "POST"])
@coordinator
def place_new():
    """Add a place; afterwards a stop can be planned there."""
    return _place_editor(None)


@bp.route("/places/<int:place_id>", methods=["GET", "POST"])
@coordinator
def place_edit(place_id: int):
    """Change a place; its stops' calendar entries get the change."""
    return _place_editor(db.get_or_404(Place, place_id))


# ---------------------------------------------------------------------------------------------------------------
# Cancelling, and the call list

def _cancel_page(stop: Stop, workshop: Workshop | None):
    form = CancelForm()
    reasons, reason_errors = {}, {}
    if request.method == "POST":
        reasons, reason_errors = content.texts_from_form(request.form, "Stop", fields=("cancel_reason",))
        if reason_errors:
            form.form_errors.append(_("A text in another language is too long."))
    if request.method == "GET":
        form.scope.data = request.args.get("scope")
    scope_field(form, series.workshop_reach(workshop) if workshop else series.reach(stop),
                "workshop" if workshop else "stop")
    scope = series.scope_of(form.scope.data)
    if scope == "one":
        targets = None
    elif workshop is not None:
        targets = series.workshop_members(workshop, scope)
    else:
        targets = series.members(stop, scope)
    key = f"{scope}:{','.join(str(t.id) for t in targets)}" if targets else "one"
    # A form without `shown` is the one-stop form of before (its dry run is on the page it was sent from).
    valid = request.method == "POST" and form.validate() and not reason_errors
    if valid and (form.shown.data or "one") != key:
        flash(_("What this reaches has changed since the page was shown. Please look again and confirm."), "info")
    if valid and (form.shown.data or "one") == key:
        user = current_user._get_current_object()
        texts = content.texts_of(reasons, "cancel_reason")
        try:
            if targets is None:
                result = changes.cancel(stop.id, workshop.id if workshop else None, form.reason.data, user, texts)
            elif workshop is not None:
                result = changes.cancel_many(workshop_ids=[w.id for w in targets], reason=form.reason.data, user=user,
                                             reasons=texts, series=scope).impact
            else:
                result = changes.cancel_many(stop_ids=[s.id for s in targets], reason=form.reason.data, user=user,
                                             reasons=texts, series=scope).impact
        except service.Refused as refused:
            _merge_errors(form, refused.errors)
        else:
            flash(ngettext("Cancelled. %(num)d party is told by email.", "Cancelled. %(num)d parties are told by email.",
                           len(result.mailed)), "success")
            if result.phone_only:
                flash(ngettext("%(num)d party gave only a phone number: see the call list.",
                               "%(num)d parties gave only a phone number: see the call list.",
                               len(result.phone_only)), "info")
            return redirect(url_for("planning.stop", stop_id=stop.id), code=303)
    # The dry run of what is chosen now; a confirmation counts only for the dry run it was sent with.
    form.shown.data = key
    if targets is None:
        dry_run, lines = changes.impact(stop, workshop), None
    elif workshop is not None:
        dry_run = changes.impact_of(workshop_ids=[w.id for w in targets])
        lines = changes.by_stop([w.stop for w in targets], dry_run)
    else:
        dry_run = changes.impact_of(stop_ids=[s.id for s in targets])
        lines = changes.by_stop(targets, dry_run)
    return render_template("planning/cancel.html", form=form, stop=stop, workshop=workshop, dry_run=dry_run,
                           lines=lines, scope=scope, text_languages=content.language_rows(),
                           reason_fields=[("cancel_reason", _("Reason, shown to the people booked"), True)],
                           reasons=reasons, reason_errors=reason_errors), 422 if form.errors or reason_errors else 200


@bp.route("/stops/<int:stop_id>/cancel", methods=["GET", "POST"])
@coordinator
def stop_cancel(stop_id: int):
    """Cancel a stop with a reason: first the dry run (who is affected, who is mailed, who must be called)."""
    stop = _stop_or_404(stop_id)
    if stop.status == StopStatus.CANCELLED:
        return redirect(url_for("planning.stop", stop_id=stop.id), code=303)
    return _cancel_page(stop, None)


@bp.route("/workshops/<int:workshop_id>/cancel", methods=["GET", "POST"])
@coordinator
def workshop_cancel(workshop_id: int):
    """Cancel one workshop with a reason, after the same dry run."""
    workshop = db.get_or_404(Workshop, workshop_id)
    if workshop.status == WorkshopStatus.CANCELLED:
        return redirect(url_for("planning.stop", stop_id=workshop.stop_id), code=303)
    return _cancel_page(workshop.stop, workshop)
