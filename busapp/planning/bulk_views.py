"""The page for many stops at once, /admin/stops/bulk: a filter (GET), the stops it finds with tick boxes, and the
actions on the ticked ones (POST). The rules are planning.bulk's; cancelling shows its dry run first."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_datetime, gettext as _, ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from ..accounts.auth import role_required
from ..core.extensions import db
from ..models import District, ImportBatch, Role, utcnow
from . import bp, bulk, service
from .forms import BulkFilterForm, BulkForm, _int_or_none

coordinator = role_required(Role.COORDINATOR)

FILTER_KEYS = ("week", "first", "last", "district", "bus", "status", "batch")


def _filter_form(args: MultiDict) -> tuple[BulkFilterForm, bulk.Filter | None]:
    """The filter as typed, and what it asks for (None while a field is wrong: its message is beside it)."""
    batches = [(b.id, _("Import of %(when)s", when=format_datetime(b.created_at, "short")))
               for b in db.session.scalars(sa.select(ImportBatch).order_by(ImportBatch.created_at.desc()))]
    args = MultiDict(args)
    week = service.parse_date(args.get("week", ""))
    if week is not None and not (args.get("first") or args.get("last")):
        monday = service.week_of(week)
        args["first"], args["last"] = monday.isoformat(), (monday + timedelta(days=6)).isoformat()
    elif not any(args.get(k) for k in FILTER_KEYS):
        monday = service.week_of(service.local_day(utcnow()))  # this week, as the week page opens
        args["first"], args["last"] = monday.isoformat(), (monday + timedelta(days=6)).isoformat()
    form = BulkFilterForm(formdata=args, districts=list(db.session.scalars(sa.select(District).order_by(District.name))),
                          buses=service.buses(), batches=batches)
    if not form.validate():
        return form, None
    return form, bulk.Filter(first=form.first.data, last=form.last.data, district_id=form.district.data,
                             bus_id=form.bus.data, batch_id=form.batch.data,
                             status=form.status.data if form.status.data in bulk.STATES else "")


def _query(form: BulkFilterForm) -> str:
    """The filter as a query string, to come back to the same list after an action."""
    values = {"first": form.first.data.isoformat() if form.first.data else "",
              "last": form.last.data.isoformat() if form.last.data else "",
              "district": form.district.data or "", "bus": form.bus.data or "", "status": form.status.data or "",
              "batch": form.batch.data or ""}
    return urlencode({k: v for k, v in values.items() if v})


def _page(filter_form: BulkFilterForm, chosen: bulk.Filter | None, action_form: BulkForm, ticked: set[int] | None,
          status: int = 200):
    lines, total = bulk.find(chosen) if chosen is not None else ([], 0)
    if ticked is None:
        ticked = {line.stop.id for line in lines}
    action_form.back.data = _query(filter_form) if chosen is not None else ""
    return render_template("planning/bulk.html", filter=filter_form, form=action_form, lines=lines, total=total,
                           ticked=ticked, limit=bulk.LIMIT, several_buses=filter_form.several_buses), status


def _ticked() -> list[int]:
    return sorted({i for i in (_int_or_none(v) for v in request.form.getlist("stop")) if i is not None})


@bp.route("/stops/bulk", methods=["GET", "POST"])
@coordinator
def bulk_stops():
    """Many stops at once: list them by a filter, tick, then publish, take back to draft, delete or cancel."""
    if request.method == "GET":
        filter_form, chosen = _filter_form(request.args)
        return _page(filter_form, chosen, BulkForm(), None, 422 if filter_form.errors else 200)
    form = BulkForm()
    back = MultiDict(parse_qsl(form.back.data or "", keep_blank_values=False))
    filter_form, chosen = _filter_form(MultiDict((k, v) for k, v in back.items(multi=True) if k in FILTER_KEYS))
    here = url_for("planning.bulk_stops") + ("?" + _query(filter_form) if chosen is not None else "")
    action = request.form.get("action", "")
    ids = _ticked()
    user = current_user._get_current_object()
    if not form.validate():
        return _page(filter_form, chosen, form, set(ids), 422)
    if not ids:
        form.form_errors.append(_("Please tick at least one stop."))
        return _page(filter_form, chosen, form, set(ids), 422)
    if action == "publish":
        n = bulk.publish(ids, user)
        flash(ngettext("%(num)d stop is published.", "%(num)d stops are published.", n), "success")
        if n < len(ids):
            flash(ngettext("%(num)d ticked stop was not a draft still ahead and stays as it was.",
                           "%(num)d ticked stops were not drafts still ahead and stay as they were.", len(ids) - n),
                  "info")
    elif action == "unpublish":
        n, booked = bulk.unpublish(ids, user)
        flash(ngettext("%(num)d stop is a draft again.", "%(num)d stops are drafts again.", n), "success")
        if booked:
            flash(ngettext(
                "%(num)d stop has bookings and stays published: %(stops)s. Cancel it instead, so that the people "
                "booked are told.",
                "%(num)d stops have bookings and stay published: %(stops)s. Cancel them instead, so that the people "
                "booked are told.", len(booked),
                stops=", ".join(f"{s.place.name} ({format_datetime(s.starts_at, 'dd.MM.yyyy HH:mm')})"
                                for s in booked[:10])), "error")
    elif action == "delete":
        n = bulk.delete(ids, user)
        flash(ngettext("%(num)d draft stop is deleted.", "%(num)d draft stops are deleted.", n), "success")
        if n < len(ids):
            flash(ngettext("%(num)d ticked stop was not a draft and stays. Cancel a published stop instead.",
                           "%(num)d ticked stops were not drafts and stay. Cancel published stops instead.",
                           len(ids) - n), "info")
    elif action == "cancel":
        return _cancel(form, filter_form, chosen, ids, here)
    else:
        form.form_errors.append(_("Please choose what to do with the ticked stops."))
        return _page(filter_form, chosen, form, set(ids), 422)
    return redirect(here, code=303)


def _cancel(form: BulkForm, filter_form, chosen, ids: list[int], here: str):
    """Cancel the ticked stops: without a reason the list answers; then the dry run; then, confirmed, all of them."""
    if not form.reason.data:
        form.reason.errors = list(form.reason.errors) + [_("Please give a reason; the people booked will read it.")]
        return _page(filter_form, chosen, form, set(ids), 422)
    if form.confirm.data != "yes":
        lines, result, left_out = bulk.cancel_dry_run(ids)
        return render_template("planning/bulk_cancel.html", form=form, lines=lines, dry_run=result,
                               left_out=left_out, ids=[line.stop.id for line in lines], back=here)
    try:
        done = bulk.cancel(ids, form.reason.data, current_user._get_current_object())
    except service.Refused as refused:
        flash(" ".join(m for ms in refused.errors.values() for m in ms), "error")
        return redirect(here, code=303)
    flash(ngettext("%(num)d stop is cancelled.", "%(num)d stops are cancelled.", len(done.stops)) + " "
          + ngettext("%(num)d party is told by email.", "%(num)d parties are told by email.", len(done.impact.mailed)),
          "success")
    if done.impact.phone_only:
        flash(ngettext("%(num)d party gave only a phone number: see the call lists of the cancelled stops.",
                       "%(num)d parties gave only a phone number: see the call lists of the cancelled stops.",
                       len(done.impact.phone_only)), "info")
    if done.skipped:
        flash(ngettext("%(num)d ticked stop was cancelled already or is over and stays as it was.",
                       "%(num)d ticked stops were cancelled already or are over and stay as they were.",
                       done.skipped), "info")
    return redirect(here, code=303)
