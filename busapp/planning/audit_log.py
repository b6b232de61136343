"""The audit log page: who changed what, when, before and after. Read only: the app has no way to edit it."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import render_template, request
from sqlalchemy.orm import joinedload

from ..accounts.auth import role_required
from ..core.extensions import db
from ..models import AuditEvent, Role, User
from . import audit_text, bp, service
from .forms import AuditFilterForm, choices

PAGE_SIZE = 200


@bp.get("/audit")
@role_required(Role.COORDINATOR)
def audit_log():
    """The latest audit events, filtered by person, stop and day."""
    form = AuditFilterForm(request.args)
    form.user.choices = choices([("", "–")] + [(u.id, u.email) for u in db.session.scalars(sa.select(User).order_by(User.email))])
    form.validate()
    query = sa.select(AuditEvent).options(joinedload(AuditEvent.user)).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    if form.user.data and not form.user.errors:
        query = query.where(AuditEvent.user_id == form.user.data)
    if form.stop.data and not form.stop.errors:
        query = query.where(AuditEvent.object_type == "stop", AuditEvent.object_id == str(form.stop.data))
    if form.day.data and not form.day.errors:
        start = service.local(form.day.data, service.time(0))
        query = query.where(AuditEvent.at >= start, AuditEvent.at < start + timedelta(days=1))
    events = db.session.scalars(query.limit(PAGE_SIZE)).all()
    return render_template("planning/audit.html", form=form, entries=audit_text.entries(events), limit=PAGE_SIZE)
