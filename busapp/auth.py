"""Staff and coordinator accounts: sign-in, sign-out, expiry and role checks."""
from __future__ import annotations

from datetime import datetime, timezone
from functools import wraps

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from . import ratelimit
from .extensions import db, login_manager
from .i18n import _safe_next
from .models import Role, User, audit, utcnow

bp = Blueprint("auth", __name__)


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


def role_required(*roles: Role):
    """Decorator for staff and coordinator views: signed in, and holding one of the roles (coordinators pass all)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # read by the access-control test over the URL map
        return wrapped

    return decorator


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    signed_in_at = session.get("auth_at")
    if signed_in_at is None:
        return None
    age = datetime.now(timezone.utc) - datetime.fromtimestamp(signed_in_at, timezone.utc)
    if age > current_app.config["AUTH_MAX_AGE"]:
        return None
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    """Sign in with email and password; the same message for an unknown email and a wrong password."""
    form = SignInForm()
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        if not (
            ratelimit.hit("signin-client", ratelimit.client_key(), current_app.config["RATELIMIT_SIGNIN"])
            and ratelimit.hit("signin-account", email, current_app.config["RATELIMIT_SIGNIN"])
        ):
            abort(429)
        user = db.session.scalar(sa.select(User).where(User.email == email))
        if user is None or not user.active or not user.check_password(form.password.data):
            form.password.errors.append(_("The email address or the password is not right."))
        else:
            session.clear()  # a fresh session, against session fixation
            login_user(user)
            session["auth_at"] = datetime.now(timezone.utc).timestamp()
            session.permanent = True
            user.last_login_at = utcnow()
            audit("signin", user, user=user)
            db.session.commit()
            return redirect(_safe_next(request.args.get("next")) if request.args.get("next") else url_for("schedule.index"), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/signin.html", form=form), status


@bp.post("/signout")
def signout():
    """Sign out and clear the staff data kept on this device."""
    logout_user()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "success")
    response = redirect(url_for("schedule.index"), code=303)
    # Tell the browser to drop stored staff data (the service worker's caches included).
    response.headers["Clear-Site-Data"] = '"cache", "storage"'
    return response


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
