"""Printable A4 QR posters for the coordinators: per stop, per workshop, and the bus's permanent poster.

The codes carry only public URLs, but printing belongs to planning, so the pages are for coordinators.

Which posters the list offers
    One week at a time (Monday to Sunday in the town; this week unless another is chosen), of all districts or of
    one: every stop that is not cancelled, drafts included (their poster says that the codes work once the stop is
    published), earliest first. The whole selection prints at once, one A4 sheet per stop, POSTERS_PER_PRINT sheets
    per print page (a busy week of several buses goes on to the next page).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy.orm import selectinload

from ..core import qr
from ..accounts.auth import role_required
from ..core.extensions import db
from ..domain import town
from ..models import District, Role, Stop, StopStatus, Workshop
from ..schedule.queries import find_district
from . import bp, links, rules

LEVEL = "Q"  # posters hang outside and get scratched: a quarter of the code may be lost and it still reads
DEFAULT_MM, MIN_MM, MAX_MM = 80, 20, 500
POSTERS_PER_PRINT = 40
WEEKS_REACHABLE = 52 * 20  # a week further away than this from today is not one anybody prints


@dataclass
class Code:
    """One QR code on a poster: what it is for, where it leads, and its download."""

    title: str
    text: str
    url: str
    download: str
    big: bool = False

    @property
    def short(self) -> str:
        return links.short(self.url)

    @property
    def svg(self) -> Markup:
        return qr.svg(self.url, label=_("QR code: %(url)s", url=self.short), level=LEVEL)


def _stop(stop_id: int) -> Stop:
    stop = db.session.get(Stop, stop_id)
    if stop is None:
        abort(404)
    return stop


def _workshop(workshop_id: int) -> Workshop:
    workshop = db.session.get(Workshop, workshop_id)
    if workshop is None:
        abort(404)
    return workshop


def _code_bus() -> int | None:
    """The bus of a poster (?bus=<id>): None for the first bus, whose code stays /f."""
    from ..planning import buses

    names = buses.names()
    wanted = request.args.get("bus", type=int)
    if wanted is not None and wanted not in names:
        abort(404)
    return None if wanted is None or wanted == next(iter(names), None) else wanted


def bus_codes() -> list[Code]:
    bus_id = _code_bus()
    return [
        Code(_("How was your workshop?"),
             _("Scan the code with your phone's camera after the workshop. It opens the feedback for today's "
               "stop. Anonymous, no account, under a minute."),
             links.public_url("feedback.bus", bus_id=bus_id), url_for("feedback.bus_code", bus=bus_id), big=True),
        Code(_("When does the bus come again?"), _("All stops and workshops of the tour."),
             links.public_url("schedule.index"), url_for("feedback.schedule_code")),
    ]


def stop_codes(stop: Stop) -> list[Code]:
    return [
        Code(_("How was it?"), _("Tell us after your workshop. Anonymous, no account, under a minute."),
             links.public_url("feedback.stop", stop_id=stop.id),
             url_for("feedback.stop_code", stop_id=stop.id, kind="feedback")),
        Code(_("Workshops and free seats"), _("The programme of this visit, to book a seat."),
             links.public(links.stop_page(stop.id)),
             url_for("feedback.stop_code", stop_id=stop.id, kind="stop")),
    ]


def workshop_codes(workshop: Workshop) -> list[Code]:
    return [
        Code(_("How was this workshop?"), _("Anonymous, no account, under a minute."),
             links.public_url("feedback.workshop", workshop_id=workshop.id),
             url_for("feedback.workshop_code", workshop_id=workshop.id), big=True),
        Code(_("More workshops at this stop"), _("The programme of this visit, to book a seat."),
             links.public(links.stop_page(workshop.stop_id)),
             url_for("feedback.stop_code", stop_id=workshop.stop_id, kind="stop")),
    ]


def week_of(day: date) -> date:
    """The Monday of the day's week."""
    return day - timedelta(days=day.weekday())


def poster_stops(monday: date, district: District | None = None) -> list[Stop]:
    """The stops that get a poster in the week from `monday`, of one district or of all (see the module's rules)."""
    start = town.midnight(monday)
    query = (sa.select(Stop).options(selectinload(Stop.district), selectinload(Stop.workshops))
             .where(Stop.status != StopStatus.CANCELLED, Stop.starts_at >= start,
                    Stop.starts_at < town.midnight(monday + timedelta(days=7))))
    if district is not None:
        query = query.where(Stop.district_id == district.id)
    return list(db.session.scalars(query.order_by(Stop.starts_at, Stop.id)))


def _selection() -> tuple[date, District | None]:
    """The week and district asked for (?week=<any day of it>&district=<slug or number>); this week, all districts
    for anything else."""
    this_week = week_of(town.today())
    try:
        monday = week_of(date.fromisoformat(request.args.get("week", "")))
    except ValueError:
        monday = this_week
    if abs((monday - this_week).days) > 7 * WEEKS_REACHABLE:
        monday = this_week
    key = request.args.get("district", "")
    return monday, find_district(key) if key and key != "all" else None


@bp.get("/admin/posters")
@role_required(Role.COORDINATOR)
def posters():
    """The posters to print: the bus's permanent one, and those of one week's stops, of one district or all."""
    monday, district = _selection()
    stops = poster_stops(monday, district)
    districts = db.session.scalars(sa.select(District).order_by(District.name)).all()
    return _private(render_template(
        "feedback/posters.html", stops=stops, bus_url=links.public_url("feedback.bus"), monday=monday,
        sunday=monday + timedelta(days=6), district=district, districts=districts,
        previous=monday - timedelta(days=7), following=monday + timedelta(days=7),
        prints=max(1, -(-len(stops) // POSTERS_PER_PRINT)), per_print=POSTERS_PER_PRINT))


@bp.get("/admin/posters/print")
@role_required(Role.COORDINATOR)
def posters_print():
    """Every stop poster of the week (and district) chosen, one A4 sheet each, ready to print at once."""
    monday, district = _selection()
    stops = poster_stops(monday, district)
    pages = max(1, -(-len(stops) // POSTERS_PER_PRINT))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    chosen = stops[(page - 1) * POSTERS_PER_PRINT:page * POSTERS_PER_PRINT]
    sheets = [(stop, stop_codes(stop), rules.workshops_for(stop)) for stop in chosen]
    return _private(render_template("feedback/posters_print.html", sheets=sheets, monday=monday,
                                    sunday=monday + timedelta(days=6), district=district, page=page, pages=pages,
                                    total=len(stops), drafts=sum(1 for stop in chosen if not stop.is_public)))


@bp.get("/admin/posters/bus")
@role_required(Role.COORDINATOR)
def bus_poster():
    """The permanent poster inside the bus: one code that always leads to today's feedback."""
    return _private(render_template("feedback/poster.html", kind="bus", codes=bus_codes(), stop=None,
                                    workshop=None))


@bp.get("/admin/posters/stops/<int:stop_id>")
@role_required(Role.COORDINATOR)
def stop_poster(stop_id: int):
    """A4 poster for one stop: place and times in big type, codes for feedback and for the stop page."""
    stop = _stop(stop_id)
    return _private(render_template("feedback/poster.html", kind="stop", codes=stop_codes(stop), stop=stop,
                                    workshop=None, workshops=rules.workshops_for(stop)))


@bp.get("/admin/posters/workshops/<int:workshop_id>")
@role_required(Role.COORDINATOR)
def workshop_poster(workshop_id: int):
    """A4 sheet for one workshop's table: its own feedback code, with the workshop already chosen."""
    workshop = _workshop(workshop_id)
    return _private(render_template("feedback/poster.html", kind="workshop", codes=workshop_codes(workshop),
                                    stop=workshop.stop, workshop=workshop))


@bp.get("/admin/posters/bus.svg")
@role_required(Role.COORDINATOR)
def bus_code():
    """The bus's permanent feedback code as an SVG file for print shops."""
    bus_id = _code_bus()
    return _svg(bus_codes()[0], f"qr-feedback-bus-{bus_id}" if bus_id else "qr-feedback-bus")


@bp.get("/admin/posters/schedule.svg")
@role_required(Role.COORDINATOR)
def schedule_code():
    """The tour schedule's code as an SVG file."""
    return _svg(bus_codes()[1], "qr-schedule")


@bp.get("/admin/posters/stops/<int:stop_id>/feedback.svg", defaults={"kind": "feedback"})
@bp.get("/admin/posters/stops/<int:stop_id>/stop.svg", defaults={"kind": "stop"})
@role_required(Role.COORDINATOR)
def stop_code(stop_id: int, kind: str):
    """A stop's feedback code or stop-page code as an SVG file."""
    codes = stop_codes(_stop(stop_id))
    return _svg(codes[0] if kind == "feedback" else codes[1], f"qr-{kind}-stop-{stop_id}")


@bp.get("/admin/posters/workshops/<int:workshop_id>.svg")
@role_required(Role.COORDINATOR)
def workshop_code(workshop_id: int):
    """A workshop's feedback code as an SVG file."""
    return _svg(workshop_codes(_workshop(workshop_id))[0], f"qr-feedback-workshop-{workshop_id}")


def _private(html: str) -> Response:
    response = Response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


def _svg(code: Code, name: str) -> Response:
    """A standalone SVG with a print size (?mm=, 80 mm unless asked), offered as a download."""
    size = request.args.get("mm", type=int) or DEFAULT_MM
    size = min(max(size, MIN_MM), MAX_MM)
    document = qr.svg_document(code.url, label=code.short, level=LEVEL, size_mm=size)
    return Response(document, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="{name}.svg"',
        "Cache-Control": "no-store",
    })
