"""How many stops a series makes, said while the coordinator fills in "Repeat this stop": "Wie oft" 4 gives 4 new
stops, 5 with this one, and the form says so before anything is saved.

The total follows the same rule as the preview and the series itself (service.recurrence): the stop itself plus each
date the rule gives up to the number or the last date, without the dates left out. Dates that clash or lie in the
past are counted here and named in the preview, which refuses to save them.
"""
from __future__ import annotations

from flask import render_template

from ..accounts.auth import role_required
from ..core.extensions import db
from ..models import Role, Stop
from . import bp, service
from .forms import RepeatForm


def new_stops(stop: Stop, form: RepeatForm) -> int | None:
    """How many new stops the form as filled in would add; None while the number and the last date are both missing
    or wrong (the line then asks for one of them)."""
    if form.rule.data not in service.RULES or form.count.errors or form.until.errors:
        return None
    if not form.count.data and not form.until.data:
        return None
    first = service.local_day(stop.starts_at)
    return len(service.recurrence(first, form.rule.data, until=form.until.data, count=form.count.data,
                                  exceptions=form.exception_dates()))


@bp.post("/stops/<int:stop_id>/repeat/total")
@role_required(Role.COORDINATOR)
def repeat_total(stop_id: int):
    """The total as the form is filled in (htmx): the line under the fields, nothing saved."""
    stop = db.get_or_404(Stop, stop_id)
    form = RepeatForm()
    form.validate()
    return render_template("planning/_repeat_total.html", new=new_stops(stop, form))
