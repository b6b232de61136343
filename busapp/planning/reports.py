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
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from flask import Response, render_template, request
from flask_babel import format_date, format_decimal, gettext as _
from flask_login import current_user

from ..auth import role_required
from ..catalog import audience_label, topic_label
from ..extensions import db
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
    stops: set = field(default_factory=set)
    offered: int = 0
    booked: int = 0
    checked_in: int = 0
    walk_ins: int = 0
    waiting: int = 0
    feedback: int = 0
    rating_sum: int = 0

    @property
    def held(self) -> int:
        return len(self.stops)

    @property
    def no_shows(self) -> int:
        return self.booked - self.checked_in

    @property
    def average(self) -> float | None:
        return round(self.rating_sum / self.feedback, 2) if self.feedback else None


def _where(start, end) -> list:
    where = [Stop.status == StopStatus.PUBLISHED, Stop.ends_at <= utcnow()]
    if start:
        where.append(Stop.starts_at >= service.local(start, time(0)))
    if end:
        where.append(Stop.starts_at < service.local(end + timedelta(days=1), time(0)))
    return where


def figures(start=None, end=None) -> dict[str, list[Figures]]:
    """Every group's figures for the stops held in the period (dates inclusive, in the city's time)."""
    where = _where(start, end)
    seats = sa.func.coalesce(sa.func.sum(Booking.party_size), 0)
    ahead = (Booking.status == BookingStatus.CONFIRMED, Booking.walk_in.is_(False))
    booked = dict(db.session.execute(
        sa.select(Booking.workshop_id, seats).where(*ahead).group_by(Booking.workshop_id)).all())
    arrived = dict(db.session.execute(
        sa.select(Booking.workshop_id, seats).where(*ahead, Booking.checked_in_at.is_not(None))
        .group_by(Booking.workshop_id)).all())
    walk_ins = dict(db.session.execute(
        sa.select(Booking.workshop_id, seats).where(Booking.status == BookingStatus.CONFIRMED,
                                                    Booking.walk_in.is_(True), Booking.checked_in_at.is_not(None))
        .group_by(Booking.workshop_id)).all())
    waiting = dict(db.session.execute(
        sa.select(Booking.workshop_id, seats).where(Booking.status == BookingStatus.WAITING)
        .group_by(Booking.workshop_id)).all())
    rows = db.session.execute(
        sa.select(Workshop.id, Workshop.topic, Workshop.audience, Workshop.capacity, Stop.id, Stop.starts_at,
                  District.name)
        .join(Stop, Stop.id == Workshop.stop_id).join(District, District.id == Stop.district_id)
        .where(*where, Workshop.status == WorkshopStatus.PUBLISHED)).all()
    stops = db.session.execute(
        sa.select(Stop.id, Stop.starts_at, District.name).join(District, District.id == Stop.district_id)
        .where(*where)).all()
    feedback = db.session.execute(
        sa.select(Feedback.stop_id, Feedback.workshop_id, Feedback.rating).join(Stop, Stop.id == Feedback.stop_id)
        .where(*where)).all()
    groups: dict[str, dict[str, Figures]] = {g: {} for g in GROUPS}

    def get(group: str, key: str, label: str) -> Figures:
        return groups[group].setdefault(key, Figures(label))

    def month_key(at: datetime) -> tuple[str, str]:
        local = at.astimezone(service.tz())
        return f"{local:%Y-%m}", format_date(local.date(), "MMMM y")

    stop_keys = {}
    for stop_id, starts_at, district in stops:
        mkey, mlabel = month_key(starts_at)
        keys = [("district", district, district), ("month", mkey, mlabel)]
        stop_keys[stop_id] = keys
        for group, key, label in keys:
            get(group, key, label).stops.add(stop_id)
    workshop_keys = {}
    for wid, topic, audience, capacity, stop_id, starts_at, district in rows:
        keys = stop_keys[stop_id] + [("topic", topic, topic_label(topic)),
                                     ("audience", audience, audience_label(audience))]
        workshop_keys[wid] = keys
        for group, key, label in keys:
            f = get(group, key, label)
            f.stops.add(stop_id)
            f.offered += capacity
            f.booked += int(booked.get(wid, 0))
            f.checked_in += int(arrived.get(wid, 0))
            f.walk_ins += int(walk_ins.get(wid, 0))
            f.waiting += int(waiting.get(wid, 0))
    for stop_id, workshop_id, rating in feedback:
        keys = workshop_keys.get(workshop_id) if workshop_id else None
        keys = keys or stop_keys.get(stop_id, [])
        for group, key, label in keys:
            f = get(group, key, label)
            f.feedback += 1
            f.rating_sum += rating
    return {g: sorted(groups[g].values(), key=lambda f: (f.label if g != "month" else "")) if g != "month"
            else [groups[g][k] for k in sorted(groups[g])] for g in GROUPS}


def _totals(rows: list[Figures]) -> Figures:
    total = Figures(_("All"))
    for f in rows:
        total.stops |= f.stops
        for name in ("offered", "booked", "checked_in", "walk_ins", "waiting", "feedback", "rating_sum"):
            setattr(total, name, getattr(total, name) + getattr(f, name))
    return total


def _period() -> ReportFilterForm:
    form = ReportFilterForm(request.args)
    form.validate()
    return form


@bp.get("/reports")
@role_required(Role.COORDINATOR)
def reports():
    """Figures per district, topic, audience and month, each as a chart with its table; printable on one page."""
    form = _period()
    start = form.start.data if not form.start.errors else None
    end = form.end.data if not form.end.errors else None
    data = figures(start, end)
    total = _totals(data["district"])
    charts = {g: {"booked": bar_chart([(f.label, f.booked) for f in data[g]]),
                  "walk_ins": bar_chart([(f.label, f.walk_ins) for f in data[g]]),
                  "no_shows": bar_chart([(f.label, f.no_shows) for f in data[g]])} for g in GROUPS}
    titles = {"district": _("By district"), "topic": _("By topic"), "audience": _("By audience"),
              "month": _("By month")}
    decimal = lambda v: "–" if v is None else format_decimal(v, format="0.0")  # noqa: E731
    return render_template("planning/reports.html", form=form, data=data, total=total, charts=charts,
                           titles=titles, decimal=decimal, args={k: v for k, v in request.args.items() if v})


@bp.get("/reports.csv")
@role_required(Role.COORDINATOR)
def reports_csv():
    """The report's tables as one CSV file; the download is recorded in the audit log."""
    form = _period()
    data = figures(form.start.data if not form.start.errors else None, form.end.data if not form.end.errors else None)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["group", "name", "stops_held", "seats_offered", "seats_booked", "checked_in", "walk_ins",
                     "no_shows", "waiting_list_demand", "feedback_count", "feedback_average"])
    for group in GROUPS:
        for f in data[group]:
            writer.writerow([group, f.label, f.held, f.offered, f.booked, f.checked_in, f.walk_ins, f.no_shows,
                             f.waiting,
                             f.feedback, "" if f.average is None else f.average])
    audit("report-export", None, user=current_user._get_current_object(), format="csv")
    db.session.commit()
    response = Response("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response.headers["Content-Disposition"] = 'attachment; filename="report.csv"'
    response.headers["Cache-Control"] = "no-store"
    return response
