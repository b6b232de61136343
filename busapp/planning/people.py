"""People: coordinators create staff and coordinator accounts, disable and enable them, and set new passwords."""
from __future__ import annotations

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from ..accounts.auth import normalize_email, password_problem, role_required
from ..core.extensions import db
from ..models import Role, User, audit
from . import bp
from .forms import PasswordForm, StaffForm

coordinator = role_required(Role.COORDINATOR)


def _people() -> list[User]:
    return list(db.session.scalars(sa.select(User).order_by(User.role, User.email)))


@bp.route("/people", methods=["GET", "POST"])
@coordinator
def people():
    """Every account, and the form to create one."""
    form = StaffForm()
    if request.method == "POST" and form.validate():
        try:
            email = validate_email(form.email.data, check_deliverability=False).normalized
        except EmailNotValidError:
            form.email.errors.append(_("This email address is not complete. Please check it."))
        else:
            email = normalize_email(email)
            problem = password_problem(form.password.data)
            if problem:
                form.password.errors.append(_("Please use at least 10 characters, without spaces at the start or end."))
            elif db.session.scalar(sa.select(User.id).where(User.email == email)):
                form.email.errors.append(_("There is an account for this address already."))
            else:
                user = User(email=email, role=Role(form.role.data))
                user.set_password(form.password.data)
                db.session.add(user)
                db.session.flush()
                audit("user-create", user, user=current_user._get_current_object(), role=user.role.value)
                db.session.commit()
                flash(_("The account for %(email)s is created.", email=email), "success")
                return redirect(url_for("planning.people"), code=303)
    status = 422 if form.errors else 200
    return render_template("planning/people.html", form=form, people=_people()), status


@bp.post("/people/<int:user_id>/active")
@coordinator
def person_active(user_id: int):
    """Disable an account (its open sign-ins end) or enable it again; nobody disables themselves."""
    user = db.get_or_404(User, user_id)
    if user.id == current_user.id:
        flash(_("You cannot disable your own account."), "error")
    else:
        user.active = not user.active
        audit("user-enable" if user.active else "user-disable", user, user=current_user._get_current_object())
        db.session.commit()
        flash(_("%(email)s can sign in again.", email=user.email) if user.active
              else _("%(email)s can no longer sign in.", email=user.email), "success")
    return redirect(url_for("planning.people"), code=303)


@bp.route("/people/<int:user_id>/password", methods=["GET", "POST"])
@coordinator
def person_password(user_id: int):
    """Give an account a new password; its open sign-ins end."""
    user = db.get_or_404(User, user_id)
    form = PasswordForm()
    if request.method == "POST" and form.validate():
        if password_problem(form.password.data):
            form.password.errors.append(_("Please use at least 10 characters, without spaces at the start or end."))
        else:
            user.set_password(form.password.data)
            audit("user-password", user, user=current_user._get_current_object())
            db.session.commit()
            flash(_("%(email)s has a new password. Tell it to them in person or by phone.", email=user.email),
                  "success")
            return redirect(url_for("planning.people"), code=303)
    status = 422 if form.errors else 200
    return render_template("planning/password.html", form=form, person=user), status
