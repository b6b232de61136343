"""Mitreden's QR codes for the coordinators to print (/admin/mitreden/codes): one per bus, glued inside it, that
opens the consultation of the stop the bus is at, and one per stop where a consultation runs, for its poster.

As the feedback codes do (busapp/feedback/posters.py), each code carries only a public address on PUBLIC_BASE_URL,
written under it for people who cannot scan, and comes as an SVG file with a print size for print shops."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from flask import Response, abort, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import Markup

from ..core import qr
from ..accounts.auth import role_required
from ..domain import links, tour
from ..core.extensions import db
from ..models import Role, Stop
from . import bp, service

LEVEL = "Q"  # codes in the bus and on posters get scratched: a quarter of the code may be lost and it still reads
DEFAULT_MM, MIN_MM, MAX_MM = 80, 20, 500
WEEKS_AHEAD = 10


@dataclass
class Code:
    """One code: what it is for, the address it carries, and its SVG download."""

    title: str
    url: str
    download: str

    @property
    def short(self) -> str:
        return self.url.removeprefix("https://")

    @property
    def svg(self) -> Markup:
        return qr.svg(self.url, label=_("QR code: %(url)s", url=self.short), level=LEVEL)


def _buses() -> dict[int, str]:
    from ..planning import buses

    return buses.names()


def bus_codes() -> list[Code]:
    """One code per bus; the first bus's is /mitreden/bus, so one printed before there were more still works."""
    names = _buses()
    first = next(iter(names), None)
    out = []
    for bus_id, name in names.items() or {None: ""}.items():
        own = None if bus_id == first else bus_id
        out.append(Code(_("In the bus: %(bus)s", bus=name) if len(names) > 1 else _("In the bus"),
                        links.absolute_url("participation.bus", bus_id=own),
                        url_for("participation.bus_code", bus=own)))
    return out


def stop_codes(at) -> list[tuple[Stop, Code]]:
    """A code for every stop of the coming weeks where a consultation runs (running or about to start)."""
    horizon = at + timedelta(weeks=WEEKS_AHEAD)
    running, _past = service.open_and_past(at)
    upcoming = service.upcoming(at, horizon)
    seen: dict[int, Stop] = {}
    for consultation in running + upcoming:
        for stop in service.stops_of(consultation):
            if stop.ends_at >= at and stop.starts_at <= horizon:
                seen.setdefault(stop.id, stop)
    stops = sorted(seen.values(), key=lambda s: (s.starts_at, s.id))
    return [(stop, Code(service.stop_label(stop), links.absolute_url("participation.stop", stop_id=stop.id),
                        url_for("participation.stop_code", stop_id=stop.id))) for stop in stops]


@bp.get("/admin/mitreden/codes")
@role_required(Role.COORDINATOR)
def codes():
    """The codes to print: one per bus, one per stop of the coming weeks where a consultation runs."""
    response = Response(render_template("participation/admin/codes.html", buses=bus_codes(),
                                        stops=stop_codes(service.now())))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/mitreden/codes/bus.svg")
@role_required(Role.COORDINATOR)
def bus_code():
    """A bus's code as an SVG file (?bus=<id>; the first bus without)."""
    names = _buses()
    wanted = request.args.get("bus", type=int)
    if wanted is not None and wanted not in names:
        abort(404)
    own = None if wanted is None or wanted == next(iter(names), None) else wanted
    url = links.absolute_url("participation.bus", bus_id=own)
    return _svg(url, f"qr-mitreden-bus-{own}" if own else "qr-mitreden-bus")


@bp.get("/admin/mitreden/codes/halt/<int:stop_id>.svg")
@role_required(Role.COORDINATOR)
def stop_code(stop_id: int):
    """A stop's code as an SVG file."""
    stop = db.session.get(Stop, stop_id)
    if stop is None or not tour.is_public(stop):
        abort(404)
    return _svg(links.absolute_url("participation.stop", stop_id=stop.id), f"qr-mitreden-stop-{stop.id}")


def _svg(url: str, name: str) -> Response:
    """A standalone SVG with a print size (?mm=, 80 mm unless asked), offered as a download."""
    size = min(max(request.args.get("mm", type=int) or DEFAULT_MM, MIN_MM), MAX_MM)
    document = qr.svg_document(url, label=url.removeprefix("https://"), level=LEVEL, size_mm=size)
    return Response(document, mimetype="image/svg+xml", headers={
        "Content-Disposition": f'attachment; filename="{name}.svg"', "Cache-Control": "no-store"})
