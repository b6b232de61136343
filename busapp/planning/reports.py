"""Reports for the advisory board: what the tour offered and who it reached, per district, topic, audience and month.

The figures (the rules)
    Only published stops that are over count ("held"); cancelled stops and drafts do not. Per group: stops held,
    seats offered (the capacity of the workshops held), seats booked (confirmed parties' seats booked ahead),
    checked in (seats of those parties that were checked in), walk-ins (people who came without a booking: the
    check-in tablets record them as checked-in walk-in bookings), no-shows (booked ahead but not checked in;
    walk-ins never count here), waiting-list demand (seats
    of parties still on the waiting list when the workshop began: people turned away), and the feedback count and
    average rating. Bookings keep their party size, state and check-in time after their personal data is purged,
    so the figures do not change with `flask purge`.

The period
    A report covers the stops held between two dates (inclusive, in the city's time). Without dates it covers the
    last twelve months: this month so far and the eleven before it. One click picks a calendar year of the tour, or
    all of them. The database adds the figures up (GROUP BY), so a report costs the stops, workshops and bookings of
    its period, not those of the whole tour: at 100,000 stops, a year takes tens of milliseconds, ten years some
    hundreds.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time, timedelta

import sqlalchemy as sa
from flask import render_template, request
from flask_babel import format_date, format_decimal, gettext as _
from flask_login import current_user

from ..core import csvexport
from ..accounts.auth import role_required
from ..core.choices import audience_label, topic_label
from ..core.extensions import db
from ..feedback.charts import bar_chart
from ..models import (
    Booking, BookingStatus, District, Feedback, Role, Stop, StopStatus, Workshop, WorkshopStatus, audit, utcnow,
)
from . import bp, service
from .forms import ReportFilterForm

GROUPS = ("district", "topic", "audience", "month")


@dataclass
class Figures:
    label: str
    held: int = 0
    offered: int = 0
    booked: int = 0
    checked_in: int = 0
    walk_ins: int = 0
    waiting: int = 0
    feedback: int = 0
    rating_sum: int = 0

    @property
    def no_shows(self) -> int:
        return self.booked - self.checked_in

    @property
    def average(self) -> float | None:
        return round(self.rating_sum / self.feedback, 2) if self.feedback else None


def first_day() -> date | None:
    """The day of the tour's first stop, in the city's time (an index lookup), or None without stops."""
    first = db.session.scalar(sa.select(sa.func.min(Stop.starts_at)))
    return service.local_day(first) if first else None


def _month_starts(first: date, last: date) -> list[date]:
    """The first day of each month from first's month to last's month."""
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = (month + timedelta(days=31)).replace(day=1)
    return out


def _seats(*conditions) -> sa.ColumnElement:
    """The seats of a workshop's bookings that meet the conditions."""
    return sa.func.coalesce(sa.func.sum(sa.case((sa.and_(*conditions), Booking.party_size), else_=0)), 0)


def _grouped(rows: sa.CTE, group: str, *figures) -> sa.Select:
    """(group, key, figures...) for each key of the group among the rows; districts by name."""
    key = District.name if group == "district" else rows.c[group]
    query = sa.select(sa.literal(group), key, *figures).select_from(rows)
    if group == "district":
        query = query.join(District, District.id == rows.c.district_id)
    return query.where(key.is_not(None)).group_by(key)


def figures(start: date | None = None, end: date | None = None, tour_start: date | None = None
            ) -> dict[str, list[Figures]]:
    """Every group's figures for the stops held in the period (dates inclusive, in the city's time); `tour_start`
    is the day of the first stop, looked up when not given.

    Counted by the database (GROUP BY) in three statements: the work grows with the stops, workshops and bookings
    of the period, not of the whole tour, and one row per group comes back.
    """
    now = utcnow()
    last = min(end, service.local_day(now)) if end else service.local_day(now)
    tour_start = tour_start or first_day()
    if tour_start is None:
        return {g: [] for g in GROUPS}
    first = max(start, tour_start) if start else tour_start  # months only from the first stop on
    if first > last:
        return {g: [] for g in GROUPS}
    months = _month_starts(first, last)
    month = service.bucket(Stop.starts_at, [service.local(m, time(0)) for m in months[1:]],
                           [m.strftime("%Y-%m") for m in months])
    held = [Stop.status == StopStatus.PUBLISHED, Stop.ends_at <= now,
            Stop.starts_at >= service.local(first, time(0)),
            Stop.starts_at < service.local(last + timedelta(days=1), time(0))]
    confirmed, came = Booking.status == BookingStatus.CONFIRMED, Booking.checked_in_at.is_not(None)
    ahead = sa.and_(confirmed, Booking.walk_in.is_(False))
    # One row per workshop held with its bookings added up (and one per stop held without a published workshop),
    # read along the index on the stops' start and then by stop: grouped in that order, so SQLite need not sort
    # the bookings. Made once (MATERIALIZED) for the four groupings below.
    offered = (
        sa.select(Stop.id.label("stop_id"), Stop.district_id, month.label("month"), Workshop.topic,
                  Workshop.audience, Workshop.capacity, _seats(ahead).label("booked"),
                  _seats(ahead, came).label("checked_in"),
                  _seats(confirmed, Booking.walk_in.is_(True), came).label("walk_ins"),
                  _seats(Booking.status == BookingStatus.WAITING).label("waiting"))
        .outerjoin(Workshop, sa.and_(Workshop.stop_id == Stop.id, Workshop.status == WorkshopStatus.PUBLISHED))
        .outerjoin(Booking, Booking.workshop_id == Workshop.id)
        .where(*held)
        .group_by(Stop.starts_at, Stop.id, Workshop.id)
        .cte("offered").prefix_with("MATERIALIZED")
    )
    sums = [sa.func.sum(offered.c[name]) for name in ("capacity", "booked", "checked_in", "walk_ins", "waiting")]
    count_rows = db.session.execute(sa.union_all(*(
        _grouped(offered, group, sa.func.count(sa.distinct(offered.c.stop_id)), *sums) for group in GROUPS
    ))).all()
    # Feedback on a workshop held counts for its topic and audience too; on the stop as a whole, only for the stop.
    rated = (
        sa.select(Stop.district_id, month.label("month"), Workshop.topic, Workshop.audience, Feedback.rating)
        .join(Feedback, Feedback.stop_id == Stop.id)
        .outerjoin(Workshop, sa.and_(Workshop.id == Feedback.workshop_id, Workshop.status == WorkshopStatus.PUBLISHED))
        .where(*held)
        .cte("rated").prefix_with("MATERIALIZED")
    )
    feedback_rows = db.session.execute(sa.union_all(*(
        _grouped(rated, group, sa.func.count(), sa.func.sum(rated.c.rating)) for group in GROUPS
    ))).all()

    labels = {"district": str, "topic": topic_label, "audience": audience_label,
              "month": lambda key: format_date(date.fromisoformat(key + "-01"), "MMMM y")}
    groups: dict[str, dict[str, Figures]] = {g: {} for g in GROUPS}

    def get(group: str, key: str) -> Figures:
        return groups[group].setdefault(key, Figures(labels[group](key)))

    for group, key, stops, *numbers in count_rows:
        f = get(group, key)
        f.held = stops
        f.offered, f.booked, f.checked_in, f.walk_ins, f.waiting = (int(n or 0) for n in numbers)
    for group, key, answers, rating_sum in feedback_rows:
        f = get(group, key)
        f.feedback, f.rating_sum = answers, int(rating_sum)
    return {g: sorted(groups[g].values(), key=lambda f: f.label) if g != "month"
            else [groups[g][k] for k in sorted(groups[g])] for g in GROUPS}


def _totals(rows: list[Figures]) -> Figures:
    """The figures of all districts together (each stop is in one district)."""
    total = Figures(_("All"))
    for f in rows:
        for name in ("held", "offered", "booked", "checked_in", "walk_ins", "waiting", "feedback", "rating_sum"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
    return total


def default_period(today: date) -> tuple[date, date]:
    """The last twelve months: this month so far and the eleven before it."""
    months = today.year * 12 + today.month - 1 - 11
    return date(months // 12, months % 12 + 1, 1), today


@dataclass
class Period:
    label: str
    start: date
    end: date


def periods(today: date, first: date | None) -> list[Period]:
    """The periods offered with one click: the last twelve months, each calendar year of the tour, all of them."""
    out = [Period(_("Last 12 months"), *default_period(today))]
    if first is not None and first <= today:
        years = range(today.year, first.year - 1, -1)
        out += [Period(str(year), date(year, 1, 1), date(year, 12, 31)) for year in years]
        out.append(Period(_("All years"), date(first.year, 1, 1), today))
    return out


def _period() -> tuple[ReportFilterForm, date, date, date | None]:
    """The form, and the period it asks for: both dates, the last twelve months when none is given (or none is
    valid), from the first stop or until today when one is missing. Also the first stop's day."""
    form = ReportFilterForm(request.args)
    form.validate()
    start = form.start.data if not form.start.errors else None
    end = form.end.data if not form.end.errors else None
    today, first = service.local_day(utcnow()), first_day()
    if start is None and end is None:
        start, end = default_period(today)
    start, end = start or (first or today), end or today
    for name, value in (("start", start), ("end", end)):
        if not form[name].errors:  # what was typed wrong stays in the field beside its message
            form[name].data, form[name].raw_data = value, None
    return form, start, end, first


@bp.get("/reports")
@role_required(Role.COORDINATOR)
def reports():
    """Figures per district, topic, audience and month, each as a chart with its table; printable on one page."""
    form, start, end, first = _period()
    data = figures(start, end, first)
    total = _totals(data["district"])
    charts = {g: {"booked": bar_chart([(f.label, f.booked) for f in data[g]]),
                  "walk_ins": bar_chart([(f.label, f.walk_ins) for f in data[g]]),
                  "no_shows": bar_chart([(f.label, f.no_shows) for f in data[g]])} for g in GROUPS}
    titles = {"district": _("By district"), "topic": _("By topic"), "audience": _("By audience"),
              "month": _("By month")}
    decimal = lambda v: "–" if v is None else format_decimal(v, format="0.0")  # noqa: E731
    return render_template("planning/reports.html", form=form, data=data, total=total, charts=charts,
                           titles=titles, decimal=decimal, start=start, end=end,
                           periods=periods(service.local_day(utcnow()), first))


@bp.get("/reports.csv")
@role_required(Role.COORDINATOR)
def reports_csv():
    """The report's tables as one CSV file; the download is recorded in the audit log."""
    _form, start, end, first = _period()
    data = figures(start, end, first)
    body = csvexport.text(
        ["group", "name", "stops_held", "seats_offered", "seats_booked", "checked_in", "walk_ins", "no_shows",
         "waiting_list_demand", "feedback_count", "feedback_average"],
        ([group, f.label, f.held, f.offered, f.booked, f.checked_in, f.walk_ins, f.no_shows, f.waiting,
          f.feedback, f.average] for group in GROUPS for f in data[group]), bom=True)
    audit("report-export", None, user=current_user._get_current_object(), format="csv")
    db.session.commit()
    return csvexport.download(body, "report.csv")
