"""Every route of the app, every method, anonymously, as staff and as coordinator: each gets exactly its access.

Built from app.url_map and the view functions' `required_roles` (set by busapp.accounts.auth.role_required), so a route added
tomorrow is checked tomorrow. A route that is neither public by the list below nor protected fails the test.
Also holds the helpers the header and fuzz tests use to reach every route with real objects behind its URL.
"""
from __future__ import annotations

import fnmatch
import re
import secrets
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule
from werkzeug.routing.converters import NumberConverter
from werkzeug.security import generate_password_hash

from busapp import create_app
from busapp.accounts.auth import role_required
from busapp.core.extensions import db
from busapp.models import (
    Booking, BookingStatus, CheckIn, Device, District, Feedback, MailStatus, OutgoingMail, Place, Role, Stop,
    StopStatus, User, Workshop,
)
from busapp.participation.models import Consultation, Idea, Moderation, Question, QuestionKind
from tests.conftest import PASSWORD

# Public endpoints: residents' pages, need no account. Blueprint-wide patterns only for blueprints that serve
# residents alone; feedback names each public view, so a coordinator's feedback report cannot hide under "feedback.*".
PUBLIC = (
    "schedule.*", "booking.*", "pwa.*", "pages.*", "auth.*", "opendata.*", "ngsild.*",
    "feedback.bus", "feedback.stop", "feedback.workshop", "feedback.thanks",
    "participation.index", "participation.consultation", "participation.thanks", "participation.support",
    "participation.ideas_json", "participation.ideas_csv", "participation.figures_json", "participation.figures_csv",
    "participation.bus", "participation.stop",
    "participation.follow", "participation.privacy", "participation.decidim_csv", "participation.decidim_json",
    # The Mitmach-Station takes answers without sign-in, but only on a tablet a signed-in staff member switched into
    # it (a 404 elsewhere, tests/participation/test_participation_station.py).
    "participation.station", "participation.station_leave",
    # A coordinator's calendar feed: opened by its secret address, without sign-in (a 404 for any other,
    # tests/planning/test_coordinator_calendar.py).
    "planfeed.feed",
    "static", "healthz",
    # The town's colours and logo (its profile), which every page loads.
    "town.style", "town.logo",
    # For monitoring: /readyz says only whether this node can serve; /metrics answers METRICS_NETWORKS or its token
    # and is a 404 to everyone else (tests/ops/test_monitoring.py).
    "readyz", "metrics",
)
# Words that mark staff or coordinator work: such an endpoint or URL is never public, whatever the list above says.
STAFF_WORDS = re.compile(r"admin|staff|coordinat|checkin|check-in|report|export|dashboard|attendance|audit", re.I)
AUTO_OPTIONS = "OPTIONS"
ROLES = ("anonymous", Role.STAFF.value, Role.COORDINATOR.value)

# The app as it is wired now, to list its routes at collection time (no database is touched).
ROUTE_APP = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
_HASH = generate_password_hash(PASSWORD, method="scrypt")


def all_rules(app: Flask = ROUTE_APP) -> list[Rule]:
    return sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, r.endpoint))


def rule_id(rule: Rule, method: str | None = None) -> str:
    return f"{rule.endpoint} {method + ' ' if method else ''}{rule.rule}"


def required_roles(app: Flask, endpoint: str) -> tuple[Role, ...] | None:
    """The roles a route demands: from its view, or from a before_request guard of its blueprint or the app."""
    view = app.view_functions[endpoint]
    roles = getattr(view, "required_roles", None)
    if roles:
        return tuple(roles)
    blueprint = endpoint.rpartition(".")[0] or None
    for scope in (None, blueprint):
        for func in app.before_request_funcs.get(scope, ()):
            if getattr(func, "required_roles", None):
                return tuple(func.required_roles)
    return None


def classify(app: Flask, rule: Rule) -> str:
    """'protected', 'public', or a message saying why the route is neither."""
    if required_roles(app, rule.endpoint):
        return "protected"
    if any(fnmatch.fnmatchcase(rule.endpoint, p) for p in PUBLIC):
        if STAFF_WORDS.search(rule.endpoint) or STAFF_WORDS.search(rule.rule):
            return f"{rule_id(rule)} looks like staff work but has no role_required"
        return "public"
    return (f"new route slipped through unprotected: {rule_id(rule)} is neither in the public list of "
            "tests/test_access.py nor decorated with busapp.accounts.auth.role_required")


# ---------------------------------------------------------------------------------------------------------------
# A small world of real objects, so that URL variables name things that exist.

def build_world() -> dict:
    """A district with a published stop, a workshop, a booking and a feedback; returns the values URLs need."""
    now = datetime.now(timezone.utc).replace(microsecond=0)
    n = secrets.token_hex(3)
    taken = set(db.session.scalars(sa.select(District.number)))
    number = str(secrets.randbelow(9000) + 1000)
    while number in taken:  # several worlds can share one database (the route checker's probes do)
        number = str(secrets.randbelow(9000) + 1000)
    district = District(number=number, name=f"Bezirk {n}", slug=f"bezirk-{n}")
    # The bus is at this stop now, so its feedback is open, and its workshop starts later, so it can be booked.
    market = Place(district=district, name="Marktplatz", address="Am Markt 1", lat=53.86, lon=10.68)
    stop = Stop(district=district, place=market,
                starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=3),
                status=StopStatus.PUBLISHED)
    past = Stop(district=district, place=Place(district=district, name="Bücherei", address="Hauptstraße 2"),
                starts_at=now - timedelta(days=2), ends_at=now - timedelta(days=2) + timedelta(hours=3),
                status=StopStatus.PUBLISHED)
    workshop = Workshop(stop=stop, title="Smartphone-Grundlagen", topic="smartphone_basics",
                        starts_at=now + timedelta(hours=1), capacity=8, seats_taken=1)
    booking = Booking(workshop=workshop, party_size=1, name="Erika Muster", status=BookingStatus.CONFIRMED,
                      code=f"K{n.upper()}", manage_token=secrets.token_urlsafe(24),
                      idempotency_key=secrets.token_hex(16), confirmed_at=now)
    feedback = Feedback(stop=past, rating=5, idempotency_key=secrets.token_hex(16))
    # A message the mail worker gave up on, so that the coordinators' retry route has something to act on.
    mail = OutgoingMail(to_address="erika@example.org", subject="Ihr Platz", body="Hallo", booking=booking,
                        message_id=f"<{n}@example.org>", status=MailStatus.DEAD, attempts=8)
    device = Device(name="Tablet", token_hash=secrets.token_hex(32))
    db.session.add_all([district, stop, past, workshop, booking, feedback, mail, device])
    db.session.flush()
    check_in = CheckIn(nonce=secrets.token_hex(12), device=device, workshop_id=workshop.id, booking=booking,
                       kind="checkin", outcome="valid", conflict=True)
    db.session.add(check_in)
    # A running consultation with a published idea, so the Mitreden pages and their forms have something to show.
    consultation = Consultation(title="Digitales Lübeck", idea_question="Was soll einfacher werden?",
                                starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=7))
    consultation.questions = [Question(kind=QuestionKind.SINGLE, text="Wie oft?", options=["oft", "selten"])]
    idea = Idea(consultation=consultation, text="Mehr WLAN", moderation=Moderation.PUBLISHED)
    db.session.add_all([consultation, idea])
    db.session.commit()
    return {
        "district": district, "stop": stop, "workshop": workshop, "booking": booking, "feedback": feedback,
        "consultation": consultation, "idea": idea,
        "values": {
            "district_id": district.id, "slug": district.slug, "district_slug": district.slug,
            "number": district.number, "district_number": district.number,
            "stop_id": stop.id, "workshop_id": workshop.id, "booking_id": booking.id, "feedback_id": feedback.id,
            "mail_id": mail.id, "device_id": device.id, "check_in_id": check_in.id,
            "consultation_id": consultation.id, "idea_id": idea.id,
            "code": booking.code, "booking_code": booking.code,
            "token": booking.manage_token, "manage_token": booking.manage_token,
            "filename": "css/app.css", "lang": "en", "date": stop.starts_at.date().isoformat(),
            "day": stop.starts_at.date().isoformat(),
        },
    }


def make_account(role: str) -> User | None:
    if role == "anonymous":
        return None
    user = User(email=f"{role}-{secrets.token_hex(4)}@example.org", role=Role(role), password_hash=_HASH)
    db.session.add(user)
    db.session.commit()
    return user


def sign_in(client, user: User | None) -> None:
    """Put a signed-in session on the client the way the sign-in form does, without paying for scrypt each time."""
    if user is None:
        return
    from busapp.accounts.auth import _password_stamp

    with client.session_transaction() as sess:
        sess["_user_id"] = str(user.id)
        sess["_fresh"] = True
        sess["auth_at"] = datetime.now(timezone.utc).timestamp()
        sess["auth_stamp"] = _password_stamp(user)
        sess["auth_version"] = user.session_version
        sess["auth_sid"] = f"test-sign-in-{user.id}-0000"


def url_values(rule: Rule, world: dict, user: User | None = None) -> dict:
    """Values for every variable of the rule: real ids and keys where the name says what it is, else 1 or a slug."""
    known = dict(world["values"])
    if user is not None:
        known.update(user_id=user.id)
    values = dict(rule.defaults or {})
    for name in rule.arguments:
        if name in values:
            continue
        if name in known:
            values[name] = known[name]
            continue
        converter = rule._converters.get(name)
        numeric = isinstance(converter, NumberConverter)
        values[name] = 1 if numeric else world["values"]["slug"]
    return values


def build_path(app: Flask, rule: Rule, method: str, world: dict, user: User | None = None) -> str:
    """The path for this very rule, checked by matching it back; a rule that cannot be built fails the test."""
    values = url_values(rule, world, user)
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build a URL for {rule_id(rule)} from {values}"
    path = built[1]
    adapter = app.url_map.bind("localhost")
    try:
        matched, _args = adapter.match(path, method=method, return_rule=True)
    except Exception as exc:  # noqa: BLE001 - any routing failure means the URL is not this rule's
        pytest.fail(f"built {path} for {rule_id(rule, method)} but it does not route back: {exc!r}")
    assert matched.endpoint == rule.endpoint, f"{path} routes to {matched.endpoint}, not {rule.endpoint}"
    return path


def csrf_for(client) -> str:
    from tests.conftest import csrf_token

    return csrf_token(client, "/signin")


def is_signin_redirect(response) -> bool:
    if response.status_code not in (302, 303):
        return False
    target = urlsplit(response.headers.get("Location", ""))
    return target.path == "/signin"


def request_route(client, app: Flask, rule: Rule, method: str, world: dict, user: User | None):
    path = build_path(app, rule, method, world, user)
    kwargs: dict = {"method": method}
    if method not in ("GET", "HEAD", "OPTIONS"):
        token = csrf_for(client)
        kwargs.update(data={"csrf_token": token}, headers={"X-CSRFToken": token, "Referer": f"http://localhost{path}"})
    return path, client.open(path, **kwargs)


def check_access(app: Flask, rule: Rule, method: str, role: str, response, path: str) -> None:
    """Assert that `role` got exactly the access the route grants; the message names the route and what happened."""
    what = f"{role} {method} {path} ({rule.endpoint}) -> {response.status_code} {response.headers.get('Location', '')}"
    assert response.status_code != 500, what
    if method == AUTO_OPTIONS and getattr(rule, "provide_automatic_options", False):
        # Answered by Flask without running the view: it may list the methods, but must reveal nothing else.
        assert response.status_code == 200 and response.data == b"", what
        return
    roles = required_roles(app, rule.endpoint)
    kind = classify(app, rule)
    assert kind in ("public", "protected"), kind
    if kind == "public":
        assert not is_signin_redirect(response) and response.status_code not in (401, 403), \
            f"public route refused: {what}"
        return
    if role == "anonymous":
        assert is_signin_redirect(response) or response.status_code == 401, f"anonymous got in: {what}"
        if response.status_code in (302, 303):
            query = parse_qs(urlsplit(response.headers["Location"]).query)
            if method in ("GET", "HEAD"):
                assert query.get("next") and query["next"][0].startswith(urlsplit(path).path), what
        return
    allowed = role == Role.COORDINATOR.value or Role(role) in roles
    if allowed:
        assert not is_signin_redirect(response) and response.status_code not in (401, 403), f"refused: {what}"
    else:
        assert response.status_code == 403, f"{role} is not among {[r.value for r in roles]} but got: {what}"


CASES = [
    pytest.param(rule.rule, rule.endpoint, method, role, id=f"{rule_id(rule, method)} as {role}")
    for rule in all_rules()
    for method in sorted(rule.methods)
    for role in ROLES
]


def find_rule(app: Flask, rule_text: str, endpoint: str) -> Rule:
    for rule in app.url_map.iter_rules():
        if rule.rule == rule_text and rule.endpoint == endpoint:
            return rule
    pytest.fail(f"{endpoint} {rule_text} is gone from the URL map")


@pytest.mark.parametrize("rule_text, endpoint, method, role", CASES)
def test_route_access(module_app, rule_text, endpoint, method, role):
    """Every rule x method x role: public routes answer everyone, staff routes only the roles they name."""
    app = module_app
    rule = find_rule(app, rule_text, endpoint)
    world = build_world()
    user = make_account(role)
    client = app.test_client()
    sign_in(client, user)
    path, response = request_route(client, app, rule, method, world, user)
    with response:
        check_access(app, rule, method, role, response, path)


@pytest.mark.parametrize("rule", all_rules(), ids=rule_id)
def test_route_is_public_or_protected(rule):
    """No route may be missing from both the public list and role_required."""
    assert classify(ROUTE_APP, rule) in ("public", "protected"), classify(ROUTE_APP, rule)


def test_the_route_list_is_not_empty_and_has_both_kinds():
    kinds = {classify(ROUTE_APP, r) for r in all_rules()}
    assert "public" in kinds
    assert len(all_rules()) >= 10


# ---------------------------------------------------------------------------------------------------------------
# The checker itself must catch mistakes: routes added to a throwaway app show that it fails when it should.

@pytest.fixture
def probe_app(_schema, database_url):
    """A separate app with extra routes that get it right and wrong; its tables are emptied afterwards."""
    from tests.conftest import IsolatedClient, _driver, _empty_tables

    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": _driver(database_url)})
    app.test_client_class = IsolatedClient

    def leak():
        """A staff page someone forgot to protect."""
        return "secret list"

    @role_required(Role.STAFF)
    def staff_page():
        """A staff page."""
        return "staff page"

    @role_required(Role.COORDINATOR)
    def plan_page():
        """A coordinator page."""
        return "plan"

    def fake_guard():
        """Claims a role but checks nothing."""
        return "open to all"

    fake_guard.required_roles = (Role.COORDINATOR,)

    def options_view():
        """A view that answers OPTIONS itself."""
        return "options"

    def hidden():
        """Public by its name, yet it sends everyone to sign in."""
        from busapp.core.extensions import login_manager

        return login_manager.unauthorized()

    app.add_url_rule("/probe/leak", "leak", leak)
    app.add_url_rule("/probe/hidden", "pages.probe_hidden", hidden)
    app.add_url_rule("/probe/staff", "probe_staff", staff_page, methods=["GET", "POST"])
    app.add_url_rule("/probe/plan", "probe_plan", plan_page)
    app.add_url_rule("/probe/fake", "probe_fake", fake_guard)
    app.add_url_rule("/probe/options", "probe_options",
                     role_required(Role.STAFF)(options_view), methods=["GET", "OPTIONS"],
                     provide_automatic_options=False)
    with app.app_context():
        yield app
        db.session.remove()
        _empty_tables()
        db.engine.dispose()


def _probe(app, endpoint, method, role):
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    world = build_world()
    user = make_account(role)
    client = app.test_client()
    sign_in(client, user)
    path, response = request_route(client, app, rule, method, world, user)
    return rule, path, response


def test_checker_reports_an_unprotected_route(probe_app):
    rule = next(r for r in probe_app.url_map.iter_rules() if r.endpoint == "leak")
    assert classify(probe_app, rule).startswith("new route slipped through unprotected")


def test_checker_reports_a_staff_looking_public_route():
    app = create_app({"APP_ENV": "testing", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    app.add_url_rule("/admin/stops", "booking.admin_stops", lambda: "x")
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == "booking.admin_stops")
    assert "looks like staff work" in classify(app, rule)


@pytest.mark.parametrize("role", ROLES)
def test_checker_passes_correct_staff_routes(probe_app, role):
    for endpoint, methods in (("probe_staff", ("GET", "POST")), ("probe_plan", ("GET",)),
                              ("probe_options", ("GET", "OPTIONS"))):
        for method in methods:
            rule, path, response = _probe(probe_app, endpoint, method, role)
            with response:
                check_access(probe_app, rule, method, role, response, path)


def test_checker_catches_a_route_that_claims_a_role_but_lets_everyone_in(probe_app):
    rule, path, response = _probe(probe_app, "probe_fake", "GET", "anonymous")
    with response, pytest.raises(AssertionError, match="anonymous got in"):
        check_access(probe_app, rule, "GET", "anonymous", response, path)
    rule, path, response = _probe(probe_app, "probe_fake", "GET", "staff")
    with response, pytest.raises(AssertionError, match="is not among"):
        check_access(probe_app, rule, "GET", "staff", response, path)


def test_checker_catches_a_public_route_that_demands_sign_in(probe_app):
    rule, path, response = _probe(probe_app, "pages.probe_hidden", "GET", "anonymous")
    assert classify(probe_app, rule) == "public"
    with response, pytest.raises(AssertionError, match="public route refused"):
        check_access(probe_app, rule, "GET", "anonymous", response, path)


def test_unbuildable_rule_fails(probe_app):
    # The filled-in slug is shorter than this converter accepts, so the built URL does not route back.
    probe_app.add_url_rule("/probe/<int:thing_id>/<string(minlength=60):custom>", "probe_thing", lambda **kw: "x")
    rule = next(r for r in probe_app.url_map.iter_rules() if r.endpoint == "probe_thing")
    with pytest.raises(pytest.fail.Exception, match="does not route back"):
        build_path(probe_app, rule, "GET", build_world())
