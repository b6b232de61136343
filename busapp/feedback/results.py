"""Results for coordinators: figures per stop, workshop, district and topic, the free texts, and a CSV export.

Every figure is one GROUP BY query, so the page costs the same few queries however many answers there are."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Response, render_template, request
from flask_babel import format_decimal, get_locale, gettext as _
from wtforms.fields.choices import SelectChoice

from ..core import csvexport
from ..accounts.auth import role_required
from ..core.choices import topic_label
from ..domain import town
from ..core.extensions import db
from ..models import District, Feedback, Place, Role, Stop, Workshop
from . import bp, charts
from .forms import AGE_GROUPS, RATINGS, ResultsFilterForm, age_label, wish_label

PLACE_NAME = Place.name.label("place")

TEXTS_SHOWN = 100


@dataclass
class Row:
    """One line of a results table: what it is about, how many answers, their average rating."""

    label: str
    count: int
    average: float | None = None
    detail: str = ""
    id: int | None = None
    when: datetime | None = None


def average(value) -> float | None:
    # PostgreSQL's AVG returns a Decimal, SQLite's a float.
    return None if value is None else round(float(value), 2)


def decimal(value: float | None) -> str:
    return "–" if value is None else format_decimal(value, format="0.0")


def _filters(form: ResultsFilterForm) -> list:
    """WHERE clauses for the chosen period (by the date of the visit) and district."""
    where = []
    if form.start.data and not form.start.errors:
        where.append(Stop.starts_at >= datetime.combine(form.start.data, time(0), tzinfo=town.zone()))
    if form.end.data and not form.end.errors:
        where.append(Stop.starts_at < datetime.combine(form.end.data + timedelta(days=1), time(0), tzinfo=town.zone()))
    if form.district.data and not form.district.errors:
        where.append(Stop.district_id == form.district.data)
    return where


def _filter_form() -> ResultsFilterForm:
    form = ResultsFilterForm(request.args)
    districts = db.session.execute(sa.select(District.id, District.number, District.name).order_by(District.number))
    form.district.choices = [SelectChoice("", _("All districts"))] + [
        SelectChoice(str(d.id), f"{d.number} {d.name}") for d in districts
    ]
    form.validate()  # errors are shown next to the fields; a wrong value is ignored, not fatal
    return form


def _grouped(columns: list, where: list, workshop: bool = False, district: bool = False, order_by=()) -> list:
    """Count and average rating of the answers grouped by `columns` (one query)."""
    stmt = (
        sa.select(*columns, sa.func.count(Feedback.id).label("n"), sa.func.avg(Feedback.rating).label("avg"))
        .select_from(Feedback).join(Stop, Feedback.stop_id == Stop.id).join(Place, Stop.place_id == Place.id)
    )
    if workshop:
        stmt = stmt.join(Workshop, Feedback.workshop_id == Workshop.id)
    if district:
        stmt = stmt.join(District, Stop.district_id == District.id)
    return db.session.execute(stmt.where(*where).group_by(*columns).order_by(*order_by)).all()


def collect(where: list) -> dict:
    """Every figure of the results page for the given filters."""
    base = sa.select(Feedback).join(Stop, Feedback.stop_id == Stop.id).where(*where).subquery()
    total, mean, visits = db.session.execute(
        sa.select(sa.func.count(base.c.id), sa.func.avg(base.c.rating), sa.func.count(sa.distinct(base.c.stop_id)))
    ).one()

    by_rating = {r.rating: r.n for r in _grouped([Feedback.rating], where)}
    ratings = [Row(f"{n} – {RATINGS[n]}", by_rating.get(n, 0)) for n in RATINGS]

    districts = [
        Row(r.name, r.n, average(r.avg), detail=r.number, id=r.id)
        for r in _grouped([District.id, District.number, District.name], where, district=True,
                          order_by=[District.number])
    ]
    stops = [
        Row(r.place, r.n, average(r.avg), detail=r.name, id=r.id, when=r.starts_at)
        for r in _grouped([Stop.id, PLACE_NAME, Stop.starts_at, District.name], where, district=True,
                          order_by=[Stop.starts_at.desc(), Stop.id])
    ]
    workshops = [
        Row(r.title, r.n, average(r.avg), detail=f"{r.place} · {topic_label(r.topic)}", id=r.id, when=r.starts_at)
        for r in _grouped([Workshop.id, Workshop.title, Workshop.topic, Workshop.starts_at, PLACE_NAME], where,
                          workshop=True, order_by=[Workshop.starts_at.desc(), Workshop.id])
    ]
    topics = sorted(
        (Row(topic_label(r.topic), r.n, average(r.avg)) for r in _grouped([Workshop.topic], where, workshop=True)),
        key=lambda row: (-row.count, row.label),
    )
    wishes = sorted(
        (Row(wish_label(r.wish_topic), r.n)
         for r in _grouped([Feedback.wish_topic], where + [Feedback.wish_topic != ""])),
        key=lambda row: (-row.count, row.label),
    )
    by_age = {r.age_group: r.n for r in _grouped([Feedback.age_group], where)}
    ages = [Row(age_label(key), by_age.get(key, 0)) for key in AGE_GROUPS]
    ages.append(Row(_("Not given"), by_age.get("", 0)))

    has_text = sa.or_(Feedback.learned != "", Feedback.missing != "", Feedback.wish_other != "")
    texts = db.session.execute(
        sa.select(Feedback.id, Feedback.created_at, Feedback.rating, Feedback.learned, Feedback.missing,
                  Feedback.wish_other, PLACE_NAME, Stop.starts_at, District.name.label("district"),
                  Workshop.title.label("workshop"))
        .select_from(Feedback).join(Stop, Feedback.stop_id == Stop.id).join(Place, Stop.place_id == Place.id)
        .join(District, Stop.district_id == District.id)
        .outerjoin(Workshop, Feedback.workshop_id == Workshop.id)
        .where(*where, has_text).order_by(Feedback.created_at.desc(), Feedback.id.desc()).limit(TEXTS_SHOWN)
    ).all()
    return {
        "total": total, "mean": average(mean), "visits": visits, "ratings": ratings, "districts": districts,
        "stops": stops, "workshops": workshops, "topics": topics, "wishes": wishes, "ages": ages, "texts": texts,
    }


def chart_of_averages(rows: list[Row], title: str):
    return charts.bar_chart([(r.label, r.average or 0) for r in rows], scale_max=5, fmt=decimal, title=title)


def chart_of_counts(rows: list[Row], title: str):
    return charts.bar_chart([(r.label, r.count) for r in rows], fmt=lambda v: str(int(v)), title=title)


@bp.get("/admin/feedback")
@role_required(Role.COORDINATOR)
def results():
    """Feedback results for the coordinators and the advisory board, with charts and tables."""
    form = _filter_form()
    figures = collect(_filters(form))
    charts_ = {
        "ratings": chart_of_counts(figures["ratings"], _("Answers per rating")),
        "districts": chart_of_averages(figures["districts"], _("Average rating per district")),
        "topics": chart_of_averages(figures["topics"], _("Average rating per workshop topic")),
        "wishes": chart_of_counts(figures["wishes"], _("Topics wished for")),
        "ages": chart_of_counts(figures["ages"], _("Answers per age group")),
    }
    response = Response(render_template("feedback/results.html", form=form, charts=charts_, decimal=decimal,
                                        export_args=request.args.to_dict(), **figures))
    response.headers["Cache-Control"] = "no-store"
    return response


# --- CSV export ---------------------------------------------------------------------------------------------

def _local(value: datetime | None) -> str:
    return town.local(value).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.get("/admin/feedback.csv")
@role_required(Role.COORDINATOR)
def export():
    """Every answer (for the chosen filters) as CSV that spreadsheet programs open with umlauts intact."""
    form = _filter_form()
    rows = db.session.execute(
        sa.select(Feedback.id, Feedback.created_at, Feedback.rating, Feedback.learned, Feedback.missing,
                  Feedback.wish_topic, Feedback.wish_other, Feedback.age_group, Feedback.locale,
                  Stop.id.label("stop_id"), PLACE_NAME, Stop.starts_at, District.number, District.name.label("district"),
                  Workshop.id.label("workshop_id"), Workshop.title.label("workshop"), Workshop.topic)
        .select_from(Feedback).join(Stop, Feedback.stop_id == Stop.id).join(Place, Stop.place_id == Place.id)
        .join(District, Stop.district_id == District.id)
        .outerjoin(Workshop, Feedback.workshop_id == Workshop.id)
        .where(*_filters(form)).order_by(Feedback.created_at, Feedback.id)
    )
    # German spreadsheet programs expect semicolons (the comma is their decimal sign).
    delimiter = ";" if str(get_locale()).startswith("de") else ","
    header = [
        _("Answer"), _("Sent at"), _("District number"), _("District"), _("Stop"), _("Place"), _("Visit date"),
        _("Workshop"), _("Workshop title"), _("Workshop topic"), _("Rating"), _("What did you learn?"),
        _("What was missing?"), _("Topic wished for"), _("Another topic"), _("Age group"), _("Language"),
    ]
    body = csvexport.text(header, ((
        r.id, _local(r.created_at), r.number, r.district, r.stop_id, r.place, _local(r.starts_at),
        r.workshop_id, r.workshop, topic_label(r.topic) if r.topic else "", r.rating,
        r.learned, r.missing, wish_label(r.wish_topic) if r.wish_topic else "", r.wish_other,
        age_label(r.age_group) if r.age_group else "", r.locale,
    ) for r in rows), delimiter=delimiter, bom=True)
    return csvexport.download(body, f"feedback-{datetime.now(town.zone()):%Y-%m-%d}.csv")
