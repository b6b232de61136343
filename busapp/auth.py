"""Staff and coordinator accounts: sign-in, sign-out, expiry and role checks."""
from __future__ import annotations

import hashlib
import hmac
import time
from datetime import datetime, timezone
from functools import wraps

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for,
)
from flask_babel import gettext as _, lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import TooManyRequests
from werkzeug.routing import BuildError
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from . import ratelimit
from .extensions import db, login_manager
from .i18n import _safe_next
from .models import Role, User, audit, utcnow

bp = Blueprint("auth", __name__)

PASSWORD_MIN = 10
PASSWORD_MAX = 200
# Session keys that survive signing in and out: the visitor's language is not a secret.
KEPT_ON_SWITCH = ("lang",)
# Where a role lands after signing in without a `next` page, when that feature exists.
HOME_BY_ROLE = {Role.STAFF: ("checkin.index",), Role.COORDINATOR: ("planning.index", "checkin.index")}

# After this many failed sign-ins for an account (from anywhere, within RATELIMIT_SIGNIN's window), each client
# that has failed for it waits 1 s, then 2, 4 ... up to DELAY_MAX seconds before its next try.
DELAY_AFTER = 5
DELAY_MAX = 300

_DUMMY_HASH: str | None = None


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])


class SignOutForm(FlaskForm):
    """Only the CSRF token: signing out is a POST so another site cannot sign anyone out."""


def normalize_email(value: str) -> str:
    """One spelling per address, the same for `flask users` and the sign-in form."""
    value = (value or "").strip()
    try:
        value = validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        pass
    return value.lower()


def password_problem(password: str) -> str | None:
    """Why a new password is not acceptable, or None."""
    if len(password) < PASSWORD_MIN:
        return f"the password must have at least {PASSWORD_MIN} characters"
    if len(password) > PASSWORD_MAX:
        return f"the password may have at most {PASSWORD_MAX} characters"
    if password != password.strip():
        return "the password must not start or end with a space"
    return None


def _password_stamp(user: User) -> str:
    # Kept in the session at sign-in: a changed password no longer matches, which ends every open sign-in.
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, user.password_hash.encode(), hashlib.sha256).hexdigest()[:32]


def _check_password(user: User | None, password: str) -> bool:
    """Check a password; for an unknown account a dummy hash costs the same time, so timing tells nothing."""
    global _DUMMY_HASH
    if user is None:
        if _DUMMY_HASH is None:
            _DUMMY_HASH = generate_password_hash("not a password of anyone", method="scrypt")
        check_password_hash(_DUMMY_HASH, password)
        return False
    return user.check_password(password)


def role_required(*roles: Role):
    """Decorator for staff and coordinator views: signed in, and holding one of the roles (coordinators pass all).

    Unlike flask_login.login_required it exempts no method (not even OPTIONS) and ignores LOGIN_DISABLED.
    """

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_roles = roles  # read by the access-control test over the URL map
        return wrapped

    return decorator


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """The signed-in account, unless the sign-in expired, the account was disabled or its password changed."""
    try:
        signed_in_at = datetime.fromtimestamp(float(session["auth_at"]), timezone.utc)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        return None
    age = datetime.now(timezone.utc) - signed_in_at
    if age > current_app.config["AUTH_MAX_AGE"] or age.total_seconds() < -60:
        return None
    user = db.session.get(User, int(user_id)) if user_id.isdigit() and len(user_id) < 12 else None
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(str(session.get("auth_stamp", "")), _password_stamp(user)):
        return None
    if session.get("auth_version") != user.session_version:
        return None  # signed out elsewhere, disabled since, or a copy of a cookie that was signed out
    return user


def _unauthorized():
    """Not signed in (or the sign-in expired): JSON 401, an htmx redirect, or the sign-in page with `next`."""
    expired = session.get("_user_id") is not None
    message = (_("Your sign-in has expired. Please sign in again.") if expired
               else _("Please sign in to see this page."))
    # After signing in the visitor comes back here; a POST cannot be repeated, so it goes back to the form's page.
    if request.method in ("GET", "HEAD"):
        target = request.full_path if request.query_string else request.path
    else:
        target = _same_site_path(request.referrer)
    signin = url_for("auth.signin", next=target) if target else url_for("auth.signin")
    from .errors import render_error, wants_json

    if wants_json():
        return render_error(401, _l("Please sign in"), message)
    if request.headers.get("HX-Request") == "true":
        response = render_error(401, _l("Please sign in"), message)
        response.headers["HX-Redirect"] = signin
        return response
    flash(message, "info")
    return redirect(signin, code=303 if request.method not in ("GET", "HEAD") else 302)


def _same_site_path(url: str | None) -> str | None:
    if not url or not url.startswith(request.host_url):
        return None
    path = "/" + url[len(request.host_url):]
    return path if _safe_next(path) == path else None


def _landing(user: User) -> str:
    for endpoint in HOME_BY_ROLE.get(user.role, ()):
        if endpoint in current_app.view_functions:
            try:
                return url_for(endpoint)
            except BuildError:  # the page needs arguments: not a landing page
                continue
    return url_for("schedule.index")


def _restart_session() -> None:
    """A fresh session at every sign-in and sign-out, so nothing planted before carries over (session fixation)."""
    kept = {key: session[key] for key in KEPT_ON_SWITCH if key in session}
    session.clear()
    session.update(kept)


def _check_attempts(email: str, client: str) -> None:
    """Answer 429 to a client that has failed too often, for this account or for any.

    Only failures count, per account and client together, so nobody can lock a colleague out from elsewhere: a
    client that has not failed for an account may always try it. Clients that have failed for an account wait a
    delay that doubles with the account's failures (see _count_failure), which slows guessing from many places.
    """
    if not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    cfg = current_app.config
    pair = ratelimit.peek("signin-failed", f"{email}\n{client}", cfg["RATELIMIT_SIGNIN"])
    for hit in (pair, ratelimit.peek("signin-failed-client", client, cfg["RATELIMIT_SIGNIN_CLIENT"])):
        if not hit.ok:
            raise TooManyRequests(retry_after=hit.retry_after)
    if pair.count > 1:  # this client has failed for this account before
        wait = ratelimit.wait_until("signin-wait", email) - int(time.time())
        if wait > 0:
            raise TooManyRequests(retry_after=wait)


def _count_failure(email: str, client: str) -> None:
    cfg = current_app.config
    if not cfg.get("RATELIMIT_ENABLED", True):
        return
    ratelimit.count("signin-failed", f"{email}\n{client}", cfg["RATELIMIT_SIGNIN"])
    ratelimit.count("signin-failed-client", client, cfg["RATELIMIT_SIGNIN_CLIENT"])
    failures = ratelimit.count("signin-failed-account", email, cfg["RATELIMIT_SIGNIN"]).count
    if failures >= DELAY_AFTER:
        delay = min(2 ** (failures - DELAY_AFTER), DELAY_MAX)
        ratelimit.hold("signin-wait", email, int(time.time()) + delay)


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    """Sign in with email and password; the same message for an unknown email and a wrong password."""
    form = SignInForm()
    if form.validate_on_submit():
        email = normalize_email(form.email.data)
        client = ratelimit.client_key()
        _check_attempts(email, client)
        # No account has control characters in its address, and PostgreSQL cannot even compare a NUL byte.
        plausible = not any(ord(c) < 0x20 for c in email)
        user = db.session.scalar(sa.select(User).where(User.email == email)) if plausible else None
        password_ok = _check_password(user, form.password.data)
        if user is None or not password_ok or not user.active:
            _count_failure(email, client)
            form.password.errors.append(_("The email address or the password is not right."))
        else:
            _restart_session()
            login_user(user)
            session["auth_at"] = datetime.now(timezone.utc).timestamp()
            session["auth_stamp"] = _password_stamp(user)
            session["auth_version"] = user.session_version
            session.permanent = True
            user.last_login_at = utcnow()
            audit("signin", user, user=user)
            db.session.commit()
            nxt = request.args.get("next")
            return redirect(_safe_next(nxt) if nxt else _landing(user), code=303)
    status = 422 if form.errors else 200
    return render_template("auth/signin.html", form=form), status


@bp.route("/signout", methods=["GET", "POST"])
def signout():
    """Sign out (POST), or show the sign-out page with its button, or that one is signed out (GET)."""
    form = SignOutForm()
    if request.method == "GET":
        return render_template("auth/signout.html", form=form)
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        # Ends this sign-in everywhere: a copied cookie is no longer accepted either.
        user.end_sessions()
        audit("signout", user, user=user)
        db.session.commit()
    logout_user()
    _restart_session()
    flash(_("You are signed out."), "success")
    response = redirect(url_for("auth.signout"), code=303)
    # Drop the browser's HTTP cache of staff pages. Not "storage": on a shared device that would also wipe the
    # residents' saved tickets and the outbox of unsent bookings; staff offline data is cleared by its own script.
    response.headers["Clear-Site-Data"] = '"cache"'
    return response


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.signin"
    login_manager.unauthorized_handler(_unauthorized)
    login_manager.session_protection = "basic"
    app.register_blueprint(bp)
