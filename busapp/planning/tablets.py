"""Tablets: coordinators approve or refuse tablets that ask to be set up, see each bus's tablets and the seats set
aside for their walk-ins today, and revoke one.

The rule (who may approve, how many per bus) is the check-in service's pairing rule (busapp/checkin/service.py).

URL map
    GET  /admin/tablets                        waiting tablets, each bus's tablets, today's seat shares, revoked ones
    POST /admin/tablets/<device_id>/approve    approve a waiting tablet
    POST /admin/tablets/<device_id>/refuse     refuse a waiting tablet
    POST /admin/tablets/<device_id>/revoke     revoke a lost or retired tablet
"""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.auth import role_required
from ..checkin import service as checkin
from ..core.extensions import db
from ..models import Device, Role
from . import bp, buses

coordinator = role_required(Role.COORDINATOR)


def _page(errors: dict[int, str] | None = None, status: int = 200):
    everyone = checkin.devices()
    names = buses.names()
    first = next(iter(names), None)
    on_bus = {bus_id: [] for bus_id in names}
    for device in everyone:
        if device.is_approved:
            on_bus.setdefault(device.bus_id if device.bus_id in names else first, []).append(device)
    return render_template(
        "planning/tablets.html", waiting=[d for d in everyone if d.is_waiting], on_bus=on_bus, buses=names,
        revoked=[d for d in everyone if d.is_revoked], code=checkin.pairing_code, errors=errors or {},
        limit=current_app.config["TABLETS_PER_BUS"], shares=checkin.shares_of_day(),
        share_size=current_app.config["WALKIN_SHARE"],
    ), status


@bp.get("/tablets")
@coordinator
def tablets():
    """Every tablet: those waiting for approval first, then each bus's tablets and the seats set aside for them
    today, then the revoked ones."""
    return _page()


def _device(device_id: int) -> Device:
    return db.get_or_404(Device, device_id)


@bp.post("/tablets/<int:device_id>/approve")
@coordinator
def tablet_approve(device_id: int):
    """Approve a waiting tablet: from now on it prepares the day and works offline."""
    device = _device(device_id)
    name = device.name
    try:
        checkin.approve_device(device, current_user._get_current_object())
    except checkin.Refused as exc:
        if exc.reason == checkin.BUS_FULL:
            message = _("“%(name)s” cannot be approved: the bus already has %(num)d tablets, the most allowed. "
                        "Revoke one that is no longer used first.", name=name,
                        num=current_app.config["TABLETS_PER_BUS"])
        else:
            message = _("“%(name)s” no longer waits for approval.", name=name)
        return _page({device_id: message}, 422)
    flash(_("“%(name)s” is approved. It can now prepare for today and work offline.", name=name), "success")
    return redirect(url_for("planning.tablets"), code=303)


@bp.post("/tablets/<int:device_id>/refuse")
@coordinator
def tablet_refuse(device_id: int):
    """Refuse a waiting tablet: its credential never works."""
    device = _device(device_id)
    if device.is_waiting:
        checkin.revoke_device(device, current_user._get_current_object())
        flash(_("“%(name)s” is refused.", name=device.name), "success")
    return redirect(url_for("planning.tablets"), code=303)


@bp.post("/tablets/<int:device_id>/revoke")
@coordinator
def tablet_revoke(device_id: int):
    """Revoke a lost or retired tablet: it can no longer send anything, and its held seats go back."""
    device = _device(device_id)
    checkin.revoke_device(device, current_user._get_current_object())
    flash(_("“%(name)s” is revoked. It can no longer send anything.", name=device.name), "success")
    return redirect(url_for("planning.tablets"), code=303)
