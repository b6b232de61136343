"""The buses of the tour: coordinators add and rename them under /admin/buses; every stop belongs to one.

A town with one bus sees no difference: its one bus is made by the migration (or with the first stop), the stop form
asks for a bus only when there are several, and public pages name the bus only then. With several buses each is at
one stop at a time (planning.service), each has its own feedback code (/f/b/<id>; /f stays the first bus's), and
the home page says where each one is.

Public pages ask `bus_label(stop)` for every stop they show; the names are read once and kept for BUS_NAMES_KEPT
seconds per process (cleared at once when this process writes to the bus table), so a page costs no statement for
them.
"""
from __future__ import annotations

import time

import sqlalchemy as sa
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.auth import role_required
from ..core.extensions import db
from ..core.forms import clean_text, typed_id
from ..models import Bus, Device, Role, Stop, audit
from . import bp

BUS_NAMES_KEPT = 30.0
_names: dict[tuple, tuple[float, dict[int, str]]] = {}


def _key() -> tuple:
    return (id(current_app._get_current_object()), str(db.engine.url))


def names() -> dict[int, str]:
    """Every bus's name by id, oldest first."""
    key = _key()
    kept = _names.get(key)
    if kept is not None and time.monotonic() - kept[0] < BUS_NAMES_KEPT:
        return kept[1]
    found = dict(db.session.execute(sa.select(Bus.id, Bus.name).order_by(Bus.id)).all())
    _names[key] = (time.monotonic(), found)
    return found


def forget() -> None:
    _names.clear()


def _watch(_conn, statement, *_args) -> None:
    """Any write to the bus table in this process (a form, an import, a test emptying the tables) clears the names."""
    if isinstance(statement, (sa.Insert, sa.Update, sa.Delete)) and getattr(statement.table, "name", "") == "bus":
        forget()


sa.event.listen(sa.engine.Engine, "after_execute", _watch)


@bp.app_template_global()
def bus_label(stop) -> str:
    """The name of the stop's bus when the tour has more than one bus, else "" (nothing to tell apart)."""
    known = names()
    if len(known) < 2:
        return ""
    return known.get(getattr(stop, "bus_id", None), "")


def several() -> bool:
    return len(names()) > 1


coordinator = role_required(Role.COORDINATOR)


def _clean(text: str | None, limit: int) -> str:
    return " ".join(clean_text(text).split())[:limit]



@bp.route("/buses", methods=["GET", "POST"])
@coordinator
def buses():
    """The buses: add one, rename one, note its seats and equipment; each with its feedback code and tablets."""
    errors: dict[str, str] = {}
    typed = {"name": "", "capacity_notes": "", "bus_id": ""}
    if request.method == "POST":
        typed = {k: request.form.get(k, "") for k in typed}
        name = _clean(typed["name"], 80)
        notes = _clean(typed["capacity_notes"], 300)
        bus_id = typed_id(typed["bus_id"])
        bus = db.session.get(Bus, bus_id) if bus_id is not None else None
        if typed["bus_id"] and bus is None:
            errors["name"] = _("This bus no longer exists.")
        elif not name:
            errors["name"] = _("Please give the bus a name.")
        elif db.session.scalar(sa.select(Bus.id).where(sa.func.lower(Bus.name) == name.lower(),
                                                       Bus.id != (bus.id if bus else -1))):
            errors["name"] = _("There is a bus with this name already.")
        if not errors:
            user = current_user._get_current_object()
            if bus is None:
                bus = Bus(name=name, capacity_notes=notes)
                db.session.add(bus)
                db.session.flush()
                audit("bus-create", None, user=user, bus=bus.id, name=name)
                flash(_("The bus “%(name)s” is added.", name=name), "success")
            else:
                audit("bus-update", None, user=user, bus=bus.id, before=bus.name, after=name)
                bus.name, bus.capacity_notes = name, notes
                flash(_("The bus “%(name)s” is saved.", name=name), "success")
            db.session.commit()
            forget()
            return redirect(url_for("planning.buses"), code=303)
    rows = db.session.execute(sa.select(Bus, sa.func.count(Stop.id)).outerjoin(Stop, Stop.bus_id == Bus.id)
                              .group_by(Bus.id).order_by(Bus.id)).all()
    devices = {}
    working = sa.select(Device).where(Device.revoked_at.is_(None), Device.approved_at.is_not(None))
    for device in db.session.scalars(working.order_by(Device.name)):
        devices.setdefault(device.bus_id, []).append(device)
    first = rows[0][0].id if rows else None
    return render_template("planning/buses.html", rows=rows, devices=devices, first=first, errors=errors,
                           typed=typed), 422 if errors else 200
