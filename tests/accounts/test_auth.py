"""Sign-in, sign-out, expiry, role checks, rate limits on sign-in and the demo accounts."""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from busapp.accounts import auth
from busapp import create_app
from busapp.dev import demo
from busapp.accounts.auth import role_required
from busapp.core.extensions import db
from busapp.models import AuditEvent, EndedSignIn, RateCounter, Role, User
from tests.conftest import PASSWORD, IsolatedClient, _driver, csrf_token


@pytest.fixture
def guarded(app):
    """Two protected pages on the test app (added before its first request)."""

    @role_required(Role.STAFF)
    def staff_page():
        """A staff page."""
        return "staff page"

    @role_required(Role.COORDINATOR)
    def plan_page():
        """A coordinator page."""
        return "plan page"

    @role_required(Role.STAFF)
    def staff_action():
        """A staff action."""
        return "done"

    app.add_url_rule("/test/staff", "test_staff", staff_page)
    app.add_url_rule("/test/plan", "test_plan", plan_page)
    app.add_url_rule("/test/action", "test_action", staff_action, methods=["POST"])
    return app


def sign_in(client, email, password=PASSWORD, next_=None, **kw):
    token = csrf_token(client, "/signin")
    url = "/signin" + (f"?next={next_}" if next_ is not None else "")
    return client.post(url, data={"email": email, "password": password, "csrf_token": token}, **kw)


def without_tokens(html: str) -> str:
    return re.sub(r'value="[^"]*"(?=[^>]*name="csrf_token")|(?<=name="csrf_token")[^>]*value="[^"]*"', "", html)


# --- passwords -------------------------------------------------------------------------------------------------

def _with_password(password: str = PASSWORD) -> User:
    user = User(email="someone@example.org", role=Role.STAFF)
    user.set_password(password)
    return user


def test_password_is_hashed_with_scrypt_and_verifies():
    user = _with_password()
    assert user.password_hash != PASSWORD and PASSWORD not in user.password_hash
    method, _salt, _hash = user.password_hash.split("$")
    name, cost, block_size, parallel = method.split(":")
    assert name == "scrypt" and int(cost) >= 2**15 and int(block_size) >= 8, method
    assert user.check_password(PASSWORD)
    assert not user.check_password(PASSWORD + "x")


def test_two_users_with_one_password_get_different_hashes():
    assert _with_password().password_hash != _with_password().password_hash


@pytest.mark.parametrize("password, ok", [
    ("a" * (auth.PASSWORD_MIN - 1), False), ("a" * auth.PASSWORD_MIN, True),
    ("a" * auth.PASSWORD_MAX, True), ("a" * (auth.PASSWORD_MAX + 1), False), (" padded-password ", False),
])
def test_password_rules(password, ok):
    assert (auth.password_problem(password) is None) is ok


# --- signing in ------------------------------------------------------------------------------------------------

def test_signin_page_in_german_and_english(client):
    assert "Anmeldung für das Team" in client.get("/signin").get_data(as_text=True)
    assert "Staff sign-in" in client.get("/signin", headers={"Accept-Language": "en"}).get_data(as_text=True)


def test_signin_and_reach_staff_page(client, guarded, make_user):
    user = make_user(Role.STAFF)
    assert client.get("/test/staff").status_code == 302
    response = sign_in(client, user.email.upper())  # addresses are matched case-insensitively
    assert response.status_code == 303
    assert client.get("/test/staff").get_data(as_text=True) == "staff page"
    db.session.refresh(user)
    assert user.last_login_at is not None
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "signin")).user_id == user.id


def test_unknown_user_and_wrong_password_get_the_same_answer(client, make_user):
    user = make_user(Role.STAFF)
    disabled = make_user(Role.STAFF, active=False)
    answers = [
        sign_in(client, "nobody@example.org", headers={"Accept-Language": "en"}),
        sign_in(client, user.email, "wrong password!", headers={"Accept-Language": "en"}),
        sign_in(client, disabled.email, PASSWORD, headers={"Accept-Language": "en"}),
    ]
    assert {a.status_code for a in answers} == {422}
    bodies = [without_tokens(a.get_data(as_text=True)) for a in answers]
    # The typed address is kept in the form; apart from it and the CSRF token the pages are identical.
    bodies = [b.replace("nobody@example.org", "X").replace(user.email, "X").replace(disabled.email, "X")
              for b in bodies]
    assert bodies[0] == bodies[1] == bodies[2]
    assert "The email address or the password is not right." in bodies[0]


@pytest.mark.parametrize("email", ["a\x00b@example.org", "\x00", "tab\t@example.org"])
def test_control_characters_in_the_address_are_just_a_wrong_sign_in(client, email):
    response = sign_in(client, email, "whatever it is", headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "The email address or the password is not right." in response.get_data(as_text=True)


def test_unknown_user_costs_a_password_check_too(app, monkeypatch):
    calls = []
    real = auth.check_password_hash
    monkeypatch.setattr(auth, "check_password_hash", lambda h, p: calls.append(h) or real(h, p))
    assert auth._check_password(None, "whatever") is False
    assert len(calls) == 1 and calls[0].startswith("scrypt:")


def test_signin_form_errors_keep_the_email(client):
    token = csrf_token(client, "/signin")
    response = client.post("/signin", data={"email": "me@example.org", "password": "", "csrf_token": token})
    assert response.status_code == 422
    assert 'value="me@example.org"' in response.get_data(as_text=True)


def test_signin_without_csrf_token_is_refused(client, make_user):
    user = make_user()
    response = client.post("/signin", data={"email": user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "_user_id" not in (client.get_cookie("session").value if client.get_cookie("session") else "")


def test_session_is_renewed_at_signin(client, guarded, make_user):
    """Nothing planted in the session before signing in survives it (session fixation), the language does."""
    user = make_user()
    csrf_token(client, "/signin")
    with client.session_transaction() as sess:
        sess["planted"] = "by an attacker"
        sess["lang"] = "en"
        before_token = sess["csrf_token"]
    before_cookie = client.get_cookie("session").value
    assert sign_in(client, user.email).status_code == 303
    with client.session_transaction() as sess:
        assert "planted" not in sess
        assert sess.get("csrf_token") != before_token
        assert sess["lang"] == "en"
        assert sess["_user_id"] == str(user.id)
    assert client.get_cookie("session").value != before_cookie
    # The cookie from before signing in still opens nothing.
    other = guarded.test_client()
    other.set_cookie("session", before_cookie)
    assert other.get("/test/staff").status_code == 302


def test_answers_to_requests_sent_before_signing_in_do_not_sign_out(client, guarded, make_user):
    """The service worker fetches its files while the person signs in: an answer to a request that left with the
    cookie from before arrives after the sign-in. It must not put that cookie back, or the next page asks for the
    sign-in again."""
    user = make_user()
    csrf_token(client, "/signin")
    before_cookie = client.get_cookie("session").value
    assert sign_in(client, user.email).status_code == 303
    late = guarded.test_client()
    late.set_cookie("session", before_cookie)
    for path in ("/sw.js", "/static/css/app.css", "/offline?lang=de", "/"):
        with late.get(path) as response:
            assert response.status_code == 200, path
            for header in response.headers.getlist("Set-Cookie"):
                name, _, rest = header.partition("=")
                client.set_cookie(name, rest.split(";", 1)[0])  # as the browser stores it
    assert client.get("/test/staff").status_code == 200


@pytest.mark.parametrize("target", ["/s/1?x=2", "/test/staff", "/d/marli"])
def test_next_goes_to_a_same_site_path(client, make_user, target):
    user = make_user()
    response = sign_in(client, user.email, next_=target)
    assert response.status_code == 303
    assert response.headers["Location"] == target


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example", "/\t/evil.example",
    "/\n/evil.example", "javascript:alert(1)", "evil.example", "http:/evil.example", "%2F%2Fevil.example",
    "/" + "a" * 3000,
])
def test_next_never_leaves_the_site(client, make_user, target):
    user = make_user()
    token = csrf_token(client, "/signin")
    response = client.post("/signin", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_landing_without_next_is_a_page_of_the_app(client, make_user):
    response = sign_in(client, make_user(Role.COORDINATOR).email)
    assert response.status_code == 303
    with client.get(response.headers["Location"]) as page:
        assert page.status_code == 200


# --- signing out -----------------------------------------------------------------------------------------------

def test_signout_ends_the_sign_in(client, guarded, make_user):
    user = make_user()
    sign_in(client, user.email)
    page = client.get("/signout", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert user.email in page and "Sign out" in page
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)[1]
    response = client.post("/signout", data={"csrf_token": token}, headers={"Accept-Language": "en"})
    assert response.status_code == 303 and response.headers["Location"] == "/signout"
    # the HTTP cache goes, the device's saved tickets and unsent outbox (browser storage) stay
    assert response.headers["Clear-Site-Data"] == '"cache"'
    page = client.get("/signout", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "You are signed out." in page and "You are not signed in" in page
    assert client.get("/test/staff").status_code == 302
    assert db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "signout")) is not None


def test_signout_ends_only_this_devices_sign_in(app, client, guarded, make_user):
    """Two tablets signed in to one account: one signs out, the other stays signed in; a copy of the signed-out
    tablet's cookie is refused (shown to fail while sign-out still ended every sign-in of the account)."""
    user = make_user()
    other = app.test_client()
    sign_in(client, user.email)
    sign_in(other, user.email)
    assert client.get("/test/staff").status_code == 200 and other.get("/test/staff").status_code == 200
    copy = app.test_client()
    cookie = client.get_cookie(app.config.get("SESSION_COOKIE_NAME", "session"))
    copy.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    assert copy.get("/test/staff").status_code == 200
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/signout").get_data(as_text=True))[1]
    assert client.post("/signout", data={"csrf_token": token}).status_code == 303
    assert client.get("/test/staff").status_code == 302
    assert copy.get("/test/staff").status_code == 302
    assert other.get("/test/staff").status_code == 200
    assert db.session.scalar(sa.select(sa.func.count()).select_from(EndedSignIn)) == 1


def test_signout_needs_the_csrf_token(client, guarded, make_user):
    sign_in(client, make_user().email)
    assert client.post("/signout").status_code == 400
    assert client.get("/test/staff").status_code == 200


# --- expiry, disabling, password change ------------------------------------------------------------------------

def _age_sign_in(client, delta: timedelta) -> None:
    with client.session_transaction() as sess:
        sess["auth_at"] = (datetime.now(timezone.utc) - delta).timestamp()


def test_sign_in_expires_after_auth_max_age(app, client, guarded, make_user):
    sign_in(client, make_user().email)
    max_age = app.config["AUTH_MAX_AGE"]
    _age_sign_in(client, max_age - timedelta(minutes=1))
    assert client.get("/test/staff").status_code == 200
    _age_sign_in(client, max_age + timedelta(minutes=1))
    response = client.get("/test/staff", headers={"Accept-Language": "en"})
    assert response.status_code == 302
    assert "expired" in client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(
        as_text=True)


@pytest.mark.parametrize("value", ["yesterday", None, 1e300, -1e300, [1], float("nan")])
def test_broken_sign_in_time_means_signed_out(client, guarded, make_user, value):
    sign_in(client, make_user().email)
    with client.session_transaction() as sess:
        sess["auth_at"] = value
    assert client.get("/test/staff").status_code == 302


def test_sign_in_time_in_the_future_is_not_trusted(client, guarded, make_user):
    sign_in(client, make_user().email)
    _age_sign_in(client, -timedelta(days=3))
    assert client.get("/test/staff").status_code == 302


def test_disabled_user_is_signed_out_at_the_next_request(client, runner, guarded, make_user):
    user = make_user()
    sign_in(client, user.email)
    assert client.get("/test/staff").status_code == 200
    result = runner.invoke(args=["users", "disable", user.email])
    assert result.exit_code == 0, result.output
    assert client.get("/test/staff").status_code == 302


def test_new_password_ends_open_sign_ins(client, runner, guarded, make_user):
    user = make_user()
    sign_in(client, user.email)
    result = runner.invoke(args=["users", "set-password", user.email], input="another-long-password\n")
    assert result.exit_code == 0, result.output
    assert client.get("/test/staff").status_code == 302
    assert sign_in(client, user.email, "another-long-password").status_code == 303
    assert client.get("/test/staff").status_code == 200


# --- roles -----------------------------------------------------------------------------------------------------

def test_roles(client, guarded, make_user, app):
    sign_in(client, make_user(Role.STAFF).email)
    assert client.get("/test/staff").status_code == 200
    forbidden = client.get("/test/plan", headers={"Accept-Language": "en"})
    assert forbidden.status_code == 403 and "No access" in forbidden.get_data(as_text=True)
    coordinator = app.test_client()
    sign_in(coordinator, make_user(Role.COORDINATOR).email)
    assert coordinator.get("/test/staff").status_code == 200
    assert coordinator.get("/test/plan").status_code == 200


def test_anonymous_gets_sign_in_with_next(client, guarded):
    response = client.get("/test/staff?day=2", headers={"Accept-Language": "en"})
    assert response.status_code == 302
    target = urlsplit(response.headers["Location"])
    assert target.path == "/signin" and parse_qs(target.query)["next"] == ["/test/staff?day=2"]
    page = client.get(response.headers["Location"], headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "Please sign in to see this page." in page


def test_anonymous_json_client_gets_401_json(client, guarded):
    response = client.get("/test/staff", headers={"Accept": "application/json"})
    assert response.status_code == 401
    assert response.json["error"] == 401


def test_anonymous_htmx_request_is_sent_to_sign_in(client, guarded):
    response = client.get("/test/staff", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["HX-Redirect"].startswith("/signin?next=")


def test_anonymous_post_goes_back_to_the_form_page(client, guarded):
    token = csrf_token(client, "/signin")
    response = client.post("/test/action", data={"csrf_token": token},
                           headers={"Referer": "http://localhost/test/staff?x=1"})
    assert response.status_code == 303
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"] == ["/test/staff?x=1"]
    response = client.post("/test/action", data={"csrf_token": token},
                           headers={"Referer": "https://evil.example/x"})
    assert "next" not in parse_qs(urlsplit(response.headers["Location"]).query)


def test_role_check_exempts_no_method_and_ignores_login_disabled(app, client, make_user):
    @role_required(Role.STAFF)
    def view():
        """Answers OPTIONS itself."""
        return "ran"

    app.add_url_rule("/test/opts", "test_opts", view, methods=["GET", "OPTIONS"], provide_automatic_options=False)
    app.config["LOGIN_DISABLED"] = True
    assert client.open("/test/opts", method="OPTIONS").status_code in (302, 303)
    assert client.get("/test/opts").status_code == 302


def test_required_roles_are_visible_on_the_view():
    @role_required(Role.COORDINATOR)
    def view():
        """A view."""

    assert view.required_roles == (Role.COORDINATOR,)
    assert view.__name__ == "view"


# --- rate limits on sign-in ------------------------------------------------------------------------------------

def test_signin_failures_per_account_and_client_are_limited(app, client, make_user):
    app.config["RATELIMIT_SIGNIN"] = "3/900"
    user = make_user()
    for _ in range(3):
        assert sign_in(client, user.email, "wrong password!").status_code == 422
    response = sign_in(client, user.email, headers={"Accept-Language": "en"})  # even the right password
    assert response.status_code == 429
    assert "Too many tries" in response.get_data(as_text=True)
    assert 0 < int(response.headers["Retry-After"]) <= 900
    # Another client that has not failed gets in with the right password: nobody can lock the account out.
    other = app.test_client()
    assert sign_in(other, user.email, environ_base={"REMOTE_ADDR": "192.0.2.9"}).status_code == 303


def test_signin_attempts_per_client_are_limited(app, client):
    app.config["RATELIMIT_SIGNIN_CLIENT"] = "3/900"
    for n in range(3):
        assert sign_in(client, f"guess{n}@example.org", "wrong password!").status_code == 422
    response = sign_in(client, "guess9@example.org", "wrong password!", headers={"Accept-Language": "de"})
    assert response.status_code == 429
    assert "Zu viele Versuche" in response.get_data(as_text=True)
    other = app.test_client()
    assert sign_in(other, "guess9@example.org", "x" * 12,
                   environ_base={"REMOTE_ADDR": "198.51.100.7"}).status_code == 422


def test_signin_limit_json_client(app, client):
    app.config["RATELIMIT_SIGNIN_CLIENT"] = "1/900"
    sign_in(client, "a@example.org", "wrong password!")
    response = sign_in(client, "a@example.org", "wrong password!", headers={"Accept": "application/json"})
    assert response.status_code == 429 and response.json["error"] == 429


def test_two_app_processes_share_the_signin_count(database_url, _schema, app, make_user):
    """Two apps with their own engines on one database, as two gunicorn workers would be."""
    email = make_user().email  # read here: inside the other apps' contexts the test's session would use their engines
    config = {"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url), "RATELIMIT_SIGNIN": "4/900"}
    first, second = create_app(dict(config)), create_app(dict(config))
    engines = []
    clients = []
    for instance in (first, second):
        with instance.app_context():
            engines.append(db.engine)
        instance.test_client_class = IsolatedClient
        clients.append(instance.test_client())
    statuses = []
    for n in range(6):
        c, instance = clients[n % 2], (first, second)[n % 2]
        with instance.app_context():
            statuses.append(sign_in(c, email, "wrong password!").status_code)
            db.session.remove()
    assert engines[0] is not engines[1]
    assert statuses == [422, 422, 422, 422, 429, 429]
    for instance in (first, second):
        with instance.app_context():
            db.engine.dispose()
    rows = db.session.scalars(sa.select(RateCounter)).all()
    assert max(r.count for r in rows) == 4  # failures only: the refused tries are not counted
    assert all(email not in r.key for r in rows)


# --- demo accounts ---------------------------------------------------------------------------------------------

def test_demo_data_makes_one_staff_and_one_coordinator_account(app, runner, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    roles = sorted(u.role.value for u in db.session.scalars(sa.select(User)))
    assert roles == ["coordinator", "staff"]
    for email, _role, password in demo.DEMO_USERS:
        assert email in result.output
        assert sign_in(app.test_client(), email, password).status_code == 303


@pytest.fixture
def production_app(monkeypatch, database_url, _schema):
    from tests.conftest import _empty_tables

    monkeypatch.setenv("SECRET_KEY", "p" * 48)
    monkeypatch.setenv("PUBLIC_BASE_URL", "http://localhost")
    app = create_app({"APP_ENV": "production", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def test_seed_demo_refuses_in_production_without_force(production_app):
    runner = production_app.test_cli_runner()
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code != 0 and "refusing" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert demo.is_empty()


def test_seed_demo_in_production_with_force_creates_no_accounts(production_app):
    assert production_app.config["DEMO_ACCOUNTS"] is False
    result = production_app.test_cli_runner().invoke(args=["seed-demo", "--force"])
    assert result.exit_code == 0, result.output
    assert not demo.is_empty()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert "demo-staff-bus" not in result.output
