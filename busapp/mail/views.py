"""The coordinators' view of the mail outbox.

URL map
    GET  /admin/mail                 mail.index   messages waiting to be sent and messages given up
    POST /admin/mail/<id>/retry      mail.retry   send a given-up message again
"""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from ..accounts.auth import role_required
from ..core.extensions import db
from ..models import OutgoingMail, Role
from . import bp, service, smtp


class RetryForm(FlaskForm):
    """Only the CSRF token: the message is named in the URL."""


def masked(address: str) -> str:
    """An address with most of its local part hidden: enough to recognise, not to copy."""
    local, _at, domain = address.partition("@")
    return f"{local[:1]}…@{domain}" if domain else "…"


@bp.get("/admin/mail")
@role_required(Role.COORDINATOR)
def index():
    """Messages that wait for the mail server and messages the worker gave up, with a way to send them again."""
    return render_template("mail/index.html", messages=service.unsent(), counts=service.counts(),
                           enabled=smtp.enabled(), form=RetryForm(), masked=masked)


@bp.post("/admin/mail/<int:mail_id>/retry")
@role_required(Role.COORDINATOR)
def retry(mail_id: int):
    """Put a given-up message back into the queue, from its first try."""
    mail = db.get_or_404(OutgoingMail, mail_id)
    if RetryForm().validate_on_submit() and service.retry(mail, user=current_user):
        flash(_("The message is queued again and will be sent shortly."), "success")
    else:
        flash(_("This message is not waiting for a retry."), "warning")
    return redirect(url_for("mail.index"), code=303)
