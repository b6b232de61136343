"""Staff and coordinator accounts: sign-in, sign-out, expiry and role checks."""
from __future__ import annotations

import hashlib
import hmac
import secrets
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
from wtforms import EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from ..core import qr, ratelimit
from . import totp
from ..core.extensions import db, login_manager
from ..core.i18n import safe_next
from ..models import EndedSignIn, Role, User, audit, utcnow

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
# A password accepted for an account with a second factor waits this long for its code.
PENDING_SECONDS = 300
# The last request's time is written back to the session at most this often (each write re-sends the cookie).
SEEN_EVERY = 60

_DUMMY_HASH: str | None = None


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=PASSWORD_MAX)])


class CodeForm(FlaskForm):
    code = StringField(_l("Code from your authenticator app"), validators=[DataRequired(), Length(max=12)])


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
    sid = session.get("auth_sid")
    if not isinstance(sid, str) or not 16 <= len(sid) <= 64 or not user_id.isdigit() or len(user_id) >= 12:
        return None
    # One statement: the account, unless this sign-in (or a copy of its cookie) was signed out.
    user = db.session.scalar(sa.select(User).where(
        User.id == int(user_id), ~sa.exists().where(EndedSignIn.sid == sid)))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(str(session.get("auth_stamp", "")), _password_stamp(user)):
        return None
    if session.get("auth_version") != user.session_version:
        return None  # disabled since, a new password, or all sign-ins ended by a coordinator
    if user.role == Role.COORDINATOR and not _still_active():
        return None  # idle too long: coordinators can export everyone's data
    return user


def _still_active() -> bool:
    """A coordinator's sign-in ends after COORDINATOR_IDLE_MINUTES without a request; each request counts."""
    now = datetime.now(timezone.utc).timestamp()
    seen = session.get("seen_at", session.get("auth_at"))
    if not isinstance(seen, (int, float)) or now - seen > current_app.config["COORDINATOR_IDLE_MINUTES"] * 60:
        return False
    if now - seen > SEEN_EVERY:
        session["seen_at"] = now
    return True


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
    from ..core.errors import render_error, wants_json

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
    return path if safe_next(path) == path else None


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
        elif needs_code(user):
            _restart_session()
            session["pending_user"] = user.id
            session["pending_at"] = datetime.now(timezone.utc).timestamp()
            session["pending_stamp"] = _password_stamp(user)
            session["pending_next"] = request.args.get("next") or ""
            return redirect(url_for("auth.code"), code=303)
        else:
            return _signed_in(user, request.args.get("next"))
    status = 422 if form.errors else 200
    return render_template("auth/signin.html", form=form), status


def needs_code(user: User) -> bool:
    """Whether this account gives a code after its password: coordinators, when COORDINATOR_TOTP is on."""
    return bool(current_app.config.get("COORDINATOR_TOTP")) and user.role == Role.COORDINATOR


def _signed_in(user: User, nxt: str | None):
    """Start the sign-in (a fresh session) and go where the person was going."""
    _restart_session()
    login_user(user)
    session["auth_at"] = session["seen_at"] = datetime.now(timezone.utc).timestamp()
    session["auth_stamp"] = _password_stamp(user)
    session["auth_version"] = user.session_version
    session["auth_sid"] = secrets.token_urlsafe(32)
    session.permanent = True
    user.last_login_at = utcnow()
    audit("signin", user, user=user)
    db.session.commit()
    return redirect(safe_next(nxt) if nxt else _landing(user), code=303)


def _pending_user() -> User | None:
    """The account whose password was just accepted and that still owes its code, if that was recently."""
    try:
        age = datetime.now(timezone.utc).timestamp() - float(session["pending_at"])
        user_id = int(session["pending_user"])
    except (KeyError, TypeError, ValueError):
        return None
    if not 0 <= age <= PENDING_SECONDS:
        return None
    user = db.session.get(User, user_id) if 0 < user_id < 2**31 else None
    if user is None or not user.active or not needs_code(user):
        return None
    if not hmac.compare_digest(str(session.get("pending_stamp", "")), _password_stamp(user)):
        return None
    return user


@bp.route("/signin/code", methods=["GET", "POST"])
def code():
    """The second step for coordinators: the code from their authenticator app; the first time, set the app up."""
    user = _pending_user()
    if user is None:  # no password given (or long ago): nothing to ask yet
        return render_template("auth/code.html", form=None, enrol=None)
    form = CodeForm()
    secret = user.totp_secret
    if secret is None:  # not set up yet: a key for this sign-in, kept only once a code from it is confirmed
        secret = session.get("totp_new") or totp.new_secret()
        session["totp_new"] = secret
    if form.validate_on_submit():
        cfg = current_app.config
        limited = cfg.get("RATELIMIT_ENABLED", True)
        if limited:
            hit = ratelimit.peek("totp-failed", str(user.id), cfg["RATELIMIT_SIGNIN"])
            if not hit.ok:
                raise TooManyRequests(retry_after=hit.retry_after)
        step = totp.verify(secret, form.code.data, user.totp_last_step)
        # The step is taken with one conditional UPDATE: two requests with one code cannot both pass.
        taken = step is not None and db.session.execute(
            sa.update(User).where(User.id == user.id, sa.or_(User.totp_last_step.is_(None), User.totp_last_step < step))
            .values(totp_last_step=step, totp_secret=secret)).rowcount == 1
        if taken:
            if user.totp_secret is None:
                audit("totp-enrol", user, user=user)
            db.session.refresh(user)
            return _signed_in(user, session.get("pending_next") or None)
        db.session.rollback()
        if limited:
            ratelimit.count("totp-failed", str(user.id), cfg["RATELIMIT_SIGNIN"])
        form.code.errors.append(_("This code is not right. Please type the code your app shows now."))
    enrol = None
    if user.totp_secret is None:
        link = totp.uri(secret, user.email, current_app.config.get("SITE_NAME") or "Digitalwerkstatt-Bus")
        enrol = {"secret": " ".join(secret[i:i + 4] for i in range(0, len(secret), 4)),
                 "qr": qr.svg(link, _("QR code for your authenticator app"))}
    response = current_app.make_response((render_template("auth/code.html", form=form, enrol=enrol),
                                          422 if form.errors else 200))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/signout", methods=["GET", "POST"])
def signout():
    """Sign out (POST), or show the sign-out page with its button, or that one is signed out (GET)."""
    form = SignOutForm()
    if request.method == "GET":
        return render_template("auth/signout.html", form=form)
    if current_user.is_authenticated:
        user = current_user._get_current_object()
        # Ends this sign-in only (this tablet or browser), and any copy of its cookie; the same account stays signed
        # in on other devices. Ended ids older than any session can live are dropped on the way.
        db.session.execute(sa.delete(EndedSignIn).where(
            EndedSignIn.ended_at < utcnow() - current_app.config["AUTH_MAX_AGE"]))
        db.session.add(EndedSignIn(sid=session["auth_sid"], user_id=user.id))
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
