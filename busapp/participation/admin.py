"""Coordinators' side of Mitreden (/admin/mitreden): consultations, moderation and answers, the board report (paper
cards, which staff type in too: paper.py)."""
from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..core import csvexport
from ..accounts.auth import role_required
from ..domain import town
from ..core.extensions import db
from ..core.i18n import current_tag
from ..domain import tour
from ..feedback.charts import bar_chart
from ..models import Role, Stop
from . import bp, service, station
from .admin_forms import ConsultationForm, StationStartForm, parse_questions, questions_text
from .forms import _c
from .models import Consultation, Contribution, Idea, Moderation, Question
from .views import district_choices



def get(consultation_id: int) -> Consultation:
    """The consultation, or 404."""
    consultation = db.session.get(Consultation, consultation_id)
    if consultation is None:
        abort(404)
    return consultation


@bp.get("/admin/mitreden")
@role_required(Role.COORDINATOR)
def admin_index():
    """Every consultation with its counts of answers and of ideas still to be moderated."""
    consultations = db.session.scalars(sa.select(Consultation).order_by(Consultation.starts_at.desc())).all()
    answers = dict(db.session.execute(sa.select(Contribution.consultation_id, sa.func.count(Contribution.id))
                                      .group_by(Contribution.consultation_id)).all())
    new = dict(db.session.execute(sa.select(Idea.consultation_id, sa.func.count(Idea.id))
                                  .where(Idea.moderation == Moderation.NEW).group_by(Idea.consultation_id)).all())
    return render_template("participation/admin/index.html", consultations=consultations, answers=answers, new=new,
                           now=service.now())


def _day_start(day) -> datetime:
    """Midnight in the town: a consultation runs from its first day's start to its last day's end."""
    return town.midnight(day)


@bp.route("/admin/mitreden/neu", methods=["GET", "POST"], defaults={"consultation_id": None})
@bp.route("/admin/mitreden/<int:consultation_id>/bearbeiten", methods=["GET", "POST"])
@role_required(Role.COORDINATOR)
def edit(consultation_id: int | None):
    """Open a consultation or change one; its choice questions can change only while nobody has answered."""
    c = get(consultation_id) if consultation_id is not None else None
    answered = c is not None and db.session.scalar(
        sa.select(sa.func.count(Contribution.id)).where(Contribution.consultation_id == c.id)) > 0
    form = ConsultationForm()
    form.districts.choices = _c(district_choices())
    form.stops.choices = _c((s.id, service.stop_label(s)) for s in service.stop_choices(service.now(),
                                                                                 c.stop_ids if c else None))
    if request.method == "GET":
        if c is not None:
            en = (c.texts or {}).get("en") or {}
            form.process(data=dict(
                title=c.title, intro=c.intro, idea_question=c.idea_question, title_en=en.get("title", ""),
                intro_en=en.get("intro", ""), idea_question_en=en.get("idea_question", ""),
                starts=town.day_of(c.starts_at),
                ends=town.day_of(c.ends_at - timedelta(seconds=1)),
                districts=c.district_ids, stops=c.stop_ids, topics="\n".join(c.topics or []), questions=questions_text(c),
                ask_person=c.ask_person))
        else:
            form.ask_person.data = True
            form.idea_question.data = "Was soll in Ihrem Stadtteil digital einfacher werden?"
    elif form.validate_on_submit() and _stops_in_period(form):
        new = c is None
        if new:
            c = Consultation()
            db.session.add(c)
        c.title, c.intro, c.idea_question = form.title.data, form.intro.data or "", form.idea_question.data
        texts = dict(c.texts or {})
        texts["en"] = {k: v for k, v in (("title", form.title_en.data), ("intro", form.intro_en.data),
                                         ("idea_question", form.idea_question_en.data)) if v}
        c.texts = texts
        c.starts_at = _day_start(form.starts.data)
        c.ends_at = _day_start(form.ends.data + timedelta(days=1))
        c.district_ids = list(form.districts.data or [])
        c.stop_ids = list(form.stops.data or [])
        c.topics = [t.strip() for t in (form.topics.data or "").splitlines() if t.strip()][:30]
        c.ask_person = form.ask_person.data
        if not answered:
            c.questions = [Question(position=n, kind=kind, text=text, options=options)
                           for n, (kind, text, options) in enumerate(parse_questions(form.questions.data))]
        db.session.commit()
        flash(_("The consultation is saved."), "success")
        return redirect(url_for(".admin_index"), code=303)
    status = 422 if form.errors else 200
    return render_template("participation/admin/edit.html", form=form, consultation=c, answered=answered), status


def _stops_in_period(form: ConsultationForm) -> bool:
    """The chosen stops must fall in the period; else an error next to the field."""
    late = service.outside(list(form.stops.data or []), _day_start(form.starts.data),
                           _day_start(form.ends.data + timedelta(days=1)))
    if late:
        form.stops.errors = [_("These stops are outside the period: %(stops)s",
                               stops="; ".join(service.stop_label(s) for s in late))]
        return False
    return True


@bp.get("/admin/mitreden/<int:consultation_id>/bericht")
@role_required(Role.COORDINATOR)
def report(consultation_id: int):
    """The board's report: answers by channel, district, stop, language, age group and internet use, and each
    choice question, as bar charts drawn on the server beside their tables; the ideas; printable on A4."""
    c = get(consultation_id)
    r = service.report(c, current_tag())
    sections = [("channel", _("By channel"), r.by_channel), ("district", _("By district"), r.by_district),
                ("stop", _("By stop"), r.by_stop), ("language", _("By language of the form"), r.by_language),
                ("age", _("By age group"), r.by_age), ("internet", _("By internet use"), r.by_internet)]
    sections += [(f"q{q.id}", q.text, rows) for q, rows in r.questions]
    figures = [(key, title, rows, bar_chart(rows, title=title)) for key, title, rows in sections]
    return render_template("participation/admin/report.html", consultation=c, r=r, statuses=service.STATUSES,
                           figures=figures, questions={f"q{q.id}" for q, _rows in r.questions},
                           moderation={"new": _("new"), "published": _("published"), "hidden": _("hidden")})


@bp.get("/admin/mitreden/<int:consultation_id>/bericht.csv")
@role_required(Role.COORDINATOR)
def report_csv(consultation_id: int):
    """The report's figures as CSV, one row per figure: section, label, count."""
    c = get(consultation_id)
    r = service.report(c, current_tag())
    rows = service.figure_rows(r)
    body = csvexport.text([_("Section"), _("Answer"), _("Count")], rows, bom=True)
    return csvexport.download(body, f"mitreden-{c.id}-bericht.csv")


# --- starting the Mitmach-Station (the station itself: station.py) ---------------------------------------------

def _station_place() -> tuple[Consultation | None, Stop | None]:
    """The consultation a station starts with, and the stop its answers are recorded at: the stop the staff
    landing page names (?halt=), else the one the bus is at now (or was at earlier today); its consultation, else
    the running one that runs everywhere, else the first running."""
    at = service.now()
    wanted = request.args.get("halt", type=int)
    stop = db.session.get(Stop, wanted) if wanted and 0 < wanted < 2**31 else None
    if stop is None or not tour.is_public(stop):
        stop = tour.last_today(at)
    consultation = service.for_stop(stop, at)
    if consultation is None:
        consultation, _none = service.for_bus(at)
    return consultation, stop if consultation is not None and stop is not None \
        and service.runs_at(consultation, stop) else None


@bp.route("/admin/mitreden/station", methods=["GET", "POST"])
@role_required(Role.STAFF)
def station_start():
    """Switch this tablet into the Mitmach-Station for the running consultation; the PIN given here leaves it."""
    c, stop = _station_place()
    form = StationStartForm()
    if c is not None and form.validate_on_submit():
        service.set_station_pin(form.pin.data, current_user)
        station.start(c, stop.id if stop is not None else None)
        return redirect(url_for(".station"), code=303)
    return render_template("participation/admin/station_start.html", consultation=c, stop=stop, form=form), \
        422 if form.errors else 200
