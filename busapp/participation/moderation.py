"""Coordinators moderate a consultation's ideas (/admin/mitreden/<id>/ideen): publish or hide, merge duplicates,
correct with a note, tag a topic, and give the city's status and answer. The rules are in service.py; a refused form
is shown again in its place with the message next to its field and what was typed."""
from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.auth import role_required
from ..core.extensions import db
from ..models import Role
from . import bp, service
from .admin import get
from .admin_forms import AnswerIdeaForm, CorrectForm, MergeForm, ModerateForm, status_of
from .forms import _c
from .models import Consultation, Idea, Moderation

FORMS = {"moderate": ("m", ModerateForm), "answer": ("a", AnswerIdeaForm), "merge": ("j", MergeForm),
         "correct": ("k", CorrectForm)}


def _form(kind: str, idea: Idea, consultation: Consultation, others: list[Idea], bound: bool):
    """One of an idea's forms, filled from the idea (or from what was sent, when `bound`)."""
    prefix, cls = FORMS[kind]
    form = cls(prefix=f"{prefix}{idea.id}", **({} if bound else {"formdata": None}))
    if kind == "answer":
        form.topic.choices = _c([("", _("no topic"))] + [(t, t) for t in consultation.topics or []])
        if idea.locale != "de":
            form.answer_own.label.text = _("Public answer in the idea's language (%(language)s)",
                                           language=service.language_name(idea.locale))
        if not bound:
            form.status.data, form.answer.data, form.topic.data = idea.status.value, idea.answer, idea.topic
            form.answer_own.data = (idea.answer_texts or {}).get(idea.locale, "")
    elif kind == "merge":
        form.into.choices = _c([(o.id, _short(o.text)) for o in others if o.id != idea.id])
    elif kind == "correct" and not bound:
        form.text.data = idea.text
    return form


def _short(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= 80 else flat[:79] + "…"


def _page(consultation: Consultation, failed: tuple[int, str, object] | None = None, status: int = 200):
    """The ideas page; `failed` (idea id, form kind, bound form) shows that form with its errors."""
    order = sa.case((Idea.moderation == Moderation.NEW, 0), else_=1)
    rows = db.session.scalars(sa.select(Idea).where(Idea.consultation_id == consultation.id)
                              .order_by(order, Idea.id)).all()
    open_ideas = [i for i in rows if i.merged_into_id is None]
    forms = {}
    for idea in rows:
        forms[idea.id] = {kind: _form(kind, idea, consultation, open_ideas, False) for kind in FORMS}
    if failed is not None:
        forms[failed[0]][failed[1]] = failed[2]
    texts = {i.id: _short(i.text) for i in rows}
    return render_template("participation/admin/ideas.html", consultation=consultation, ideas=rows, forms=forms,
                           statuses=service.STATUSES, reasons=service.HIDE_REASONS, channels=service.CHANNELS, texts=texts,
                           merged=service.merged_counts([i.id for i in rows]),
                           language_name=service.language_name), status


@bp.get("/admin/mitreden/<int:consultation_id>/ideen")
@role_required(Role.COORDINATOR)
def ideas(consultation_id: int):
    """The consultation's ideas, new ones first, each with its moderation and its public answer."""
    return _page(get(consultation_id))


def _idea(idea_id: int) -> Idea:
    idea = db.session.get(Idea, idea_id)
    if idea is None:
        abort(404)
    return idea


def _done(idea: Idea, message: str):
    flash(message, "success")
    return redirect(url_for(".ideas", consultation_id=idea.consultation_id, _anchor=f"idee-{idea.id}"), code=303)


def _refused(idea: Idea, kind: str, form, field: str, message: str | None = None):
    """The page again with this form, what was typed and the message next to `field`."""
    if message:
        form[field].errors = [*(form[field].errors or []), message]
    return _page(idea.consultation, (idea.id, kind, form), 422)


def _bound(kind: str, idea: Idea):
    consultation = idea.consultation
    others = [i for i in consultation.ideas if i.merged_into_id is None]
    return _form(kind, idea, consultation, others, True)


@bp.post("/admin/mitreden/ideen/<int:idea_id>/moderation")
@role_required(Role.COORDINATOR)
def moderate(idea_id: int):
    """Publish an idea, or hide it with a published reason."""
    idea = _idea(idea_id)
    form = _bound("moderate", idea)
    if not form.validate_on_submit():
        return _refused(idea, "moderate", form, "action")
    try:
        if form.action.data == "publish":
            service.publish(idea, current_user)
            return _done(idea, _("The idea is published."))
        service.hide(idea, form.reason.data or "", current_user)
        return _done(idea, _("The idea is hidden."))
    except service.Refused as exc:
        return _refused(idea, "moderate", form, "reason" if form.action.data == "hide" else "action", exc.message)


@bp.post("/admin/mitreden/ideen/<int:idea_id>/antwort")
@role_required(Role.COORDINATOR)
def answer(idea_id: int):
    """Set an idea's public status, topic and the city's answer (also in the idea's language)."""
    idea = _idea(idea_id)
    form = _bound("answer", idea)
    if not form.validate_on_submit():
        return _refused(idea, "answer", form, "answer")
    try:
        service.answer(idea, status_of(form), form.answer.data, current_user, own=form.answer_own.data or "",
                       topic=form.topic.data or "")
    except service.Refused as exc:
        return _refused(idea, "answer", form, "answer", exc.message)
    return _done(idea, _("The answer is saved."))


@bp.post("/admin/mitreden/ideen/<int:idea_id>/zusammenfuehren")
@role_required(Role.COORDINATOR)
def merge(idea_id: int):
    """Merge this idea into another one saying the same; its supports go there."""
    idea = _idea(idea_id)
    form = _bound("merge", idea)
    if not form.validate_on_submit():
        return _refused(idea, "merge", form, "into")
    keep = db.session.get(Idea, form.into.data)
    try:
        if keep is None:
            raise service.Refused(_("Please choose another idea of this consultation."))
        moved = service.merge(idea, keep, current_user)
    except service.Refused as exc:
        return _refused(idea, "merge", form, "into", exc.message)
    keep = _idea(form.into.data)
    return _done(keep, _("The ideas are merged. %(n)s supports moved over.", n=moved))


@bp.post("/admin/mitreden/ideen/<int:idea_id>/korrektur")
@role_required(Role.COORDINATOR)
def correct(idea_id: int):
    """Correct an idea's text, with a note shown beside it."""
    idea = _idea(idea_id)
    form = _bound("correct", idea)
    if not form.validate_on_submit():
        return _refused(idea, "correct", form, "text")
    try:
        service.correct(idea, form.text.data, form.note.data, current_user)
    except service.Refused as exc:
        return _refused(idea, "correct", form, exc.field or "text", exc.message)
    return _done(idea, _("The correction is saved."))
