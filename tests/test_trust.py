"""Residents' trust: a forged Host, copied sessions, sign-in lock-outs, leaked idempotency keys, odd input, long
sessions and the bus's shared Wi-Fi. Browser-side parts are in tests/e2e/test_trust.py."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from busapp import create_app
from busapp.core.config import ConfigError
from busapp.core.extensions import db
from busapp.models import OutgoingMail
from tests.conftest import _driver, csrf_token
from tests.booking.test_booking import book, token_of

SECRET = "a-production-secret-key-of-enough-length-0123456789"


@pytest.fixture
def make_app(monkeypatch, database_url):
    """Another app on the test database with a profile and environment of the test's choosing."""
    made = []

    def make(env: str, **environ):
        for name in ("PUBLIC_BASE_URL", "TRUSTED_HOSTS", "SESSION_COOKIE_SECURE"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("SECRET_KEY", SECRET)
        for name, value in environ.items():
            monkeypatch.setenv(name, value)
        other = create_app({"APP_ENV": env, "SQLALCHEMY_DATABASE_URI": _driver(database_url),
                            "PAGE_CACHE_SECONDS": 0, "RATELIMIT_ENABLED": False})
        made.append(other)
        return other

    yield make
    for other in made:
        with other.app_context():
            db.engine.dispose()


# 1. Host header ---------------------------------------------------------------------------------------------------

def test_production_refuses_to_start_without_public_base_url(make_app):
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        make_app("production")
    with pytest.raises(ConfigError, match="PUBLIC_BASE_URL"):
        make_app("production", PUBLIC_BASE_URL="digitalbus.example.org/path")


def test_production_answers_only_its_own_host_and_links_to_it(make_app, make_stop):
    stop = make_stop()
    prod = make_app("production", PUBLIC_BASE_URL="https://bus.example.org", TRUSTED_HOSTS="bus.example.org,internal")
    client = prod.test_client()
    forged = client.get(f"/d/{stop.district.slug}", base_url="https://evil.example")
    assert forged.status_code == 400
    for host in ("bus.example.org", "internal"):
        page = client.get(f"/d/{stop.district.slug}", base_url=f"https://{host}").get_data(as_text=True)
        assert f'href="webcal://bus.example.org/d/{stop.district.slug}.ics"' in page
    only_base = make_app("production", PUBLIC_BASE_URL="https://bus.example.org")
    assert only_base.test_client().get("/", base_url="https://internal").status_code == 400
    assert only_base.test_client().get("/healthz", base_url="https://bus.example.org").status_code == 200


def test_development_links_to_its_own_address_whatever_the_host(make_app, make_stop):
    stop = make_stop()
    dev = make_app("development")
    assert dev.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
    page = dev.test_client().get("/", base_url="http://evil.example").get_data(as_text=True)
    assert 'href="webcal://127.0.0.1:5000/tour.ics"' in page and "evil.example" not in page
    ics = dev.test_client().get(f"/s/{stop.id}.ics", base_url="http://evil.example").get_data(as_text=True)
    assert f"http://127.0.0.1:5000/s/{stop.id}" in ics.replace("\r\n ", "") and "evil.example" not in ics


def test_forged_host_on_cancel_does_not_reach_the_promotion_mail(make_app, make_workshop):
    import sqlalchemy as sa

    from busapp.models import OutgoingMail
    from tests.live import free_port

    workshop = make_workshop(capacity=1)
    dev = make_app("development", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(free_port()))  # nothing listens there
    attacker = dev.test_client()
    attacker_token = token_of(book(attacker, workshop.id, headers={"Host": "evil.example"}))
    victim = dev.test_client()
    victim_token = token_of(book(victim, workshop.id, contact="victim@example.org"))
    page = attacker.get(f"/t/{attacker_token}/cancel", headers={"Host": "evil.example"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    response = attacker.post(f"/t/{attacker_token}/cancel", data={"csrf_token": token},
                             headers={"Host": "evil.example"})
    assert response.status_code == 303
    db.session.expire_all()
    bodies = db.session.scalars(sa.select(OutgoingMail.body).where(OutgoingMail.to_address == "victim@example.org")
                                .order_by(OutgoingMail.id)).all()
    assert len(bodies) == 2  # the waiting-list notice, then the seat
    assert f"http://127.0.0.1:5000/t/{victim_token}" in bodies[-1]
    assert not any("evil.example" in body for body in bodies)
    ticket = victim.get(f"/t/{victim_token}", headers={"Host": "evil.example"}).get_data(as_text=True)
    assert "evil.example" not in ticket


# 6. Sessions end everywhere ---------------------------------------------------------------------------------------

STAFF_PAGE = "/admin/feedback"


def copy_of(app, client):
    """A second browser holding a copy of the first one's session cookie."""
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    other = app.test_client()
    other.set_cookie(cookie.key, cookie.value)
    return other


def test_sign_out_ends_a_copied_session(app, client, login):
    login("coordinator")
    copied = copy_of(app, client)
    assert copied.get(STAFF_PAGE).status_code == 200
    response = client.post("/signout", data={"csrf_token": csrf_token(client, "/signout")})
    assert response.status_code == 303
    assert copied.get(STAFF_PAGE).status_code == 302
    assert client.get(STAFF_PAGE).status_code == 302


def test_disabling_ends_a_copied_session_for_good(app, client, runner, login):
    user = login("coordinator")
    copied = copy_of(app, client)
    assert runner.invoke(args=["users", "disable", user.email]).exit_code == 0
    assert runner.invoke(args=["users", "enable", user.email]).exit_code == 0
    assert copied.get(STAFF_PAGE).status_code == 302
    assert client.get(STAFF_PAGE).status_code == 302


def test_new_password_ends_copied_sessions(app, client, runner, login):
    user = login("coordinator")
    copied = copy_of(app, client)
    assert runner.invoke(args=["users", "set-password", user.email], input="another-long-password\n").exit_code == 0
    assert copied.get(STAFF_PAGE).status_code == 302


# 3. Sign-in limits ------------------------------------------------------------------------------------------------

def _sign_in(client, email, password, address):
    from tests.conftest import PASSWORD

    token = csrf_token(client, "/signin")
    return client.post("/signin", data={"email": email, "password": password or PASSWORD, "csrf_token": token},
                       environ_base={"REMOTE_ADDR": address})


def test_wrong_passwords_from_many_clients_do_not_lock_the_account(app, make_user):
    user = make_user()
    for n in range(10):
        assert _sign_in(app.test_client(), user.email, "wrong password!", f"198.51.100.{n + 1}").status_code == 422
    assert _sign_in(app.test_client(), user.email, None, "203.0.113.5").status_code == 303


def test_a_correct_password_is_not_counted(app, make_user):
    app.config["RATELIMIT_SIGNIN"] = "2/900"
    user = make_user()
    client = app.test_client()
    for _ in range(4):
        assert _sign_in(client, user.email, None, "203.0.113.5").status_code == 303
    assert _sign_in(client, user.email, "wrong password!", "203.0.113.5").status_code == 422
    assert _sign_in(client, user.email, None, "203.0.113.5").status_code == 303


def test_failing_clients_wait_longer_the_more_an_account_fails(app, make_user):
    from busapp.accounts.auth import DELAY_AFTER

    app.config["RATELIMIT_SIGNIN"] = "20/86400"  # no window ends in the middle of the test
    user = make_user()
    failed = [app.test_client() for _ in range(DELAY_AFTER + 4)]
    for n, client in enumerate(failed[:DELAY_AFTER + 1]):
        assert _sign_in(client, user.email, "wrong password!", f"198.51.100.{n + 1}").status_code == 422
    first = _sign_in(failed[0], user.email, None, "198.51.100.1")  # a client that failed waits, right password or not
    assert first.status_code == 429 and 1 <= int(first.headers["Retry-After"]) <= 2
    for n, client in enumerate(failed[DELAY_AFTER + 1:], start=DELAY_AFTER + 1):
        assert _sign_in(client, user.email, "wrong password!", f"198.51.100.{n + 1}").status_code == 422
    later = _sign_in(failed[0], user.email, None, "198.51.100.1")
    assert later.status_code == 429 and int(later.headers["Retry-After"]) >= 8
    # a client that has not failed for this account is still let in
    assert _sign_in(app.test_client(), user.email, None, "203.0.113.5").status_code == 303


# 4. Idempotency keys open nothing of someone else's -------------------------------------------------------------

JSON = {"Accept": "application/json", "X-Outbox": "1"}


def _fields(client, workshop_id, **extra):
    from tests.booking.test_booking import form_tokens

    data = form_tokens(client, workshop_id)
    data.update(name="Anna", party_size="1", consent="y", contact="anna@example.org", **extra)
    return data


def test_a_leaked_key_does_not_open_the_booking(app, make_workshop):
    victim_workshop, other_workshop = make_workshop(), make_workshop(title="Online-Banking")
    victim = app.test_client()
    data = _fields(victim, victim_workshop.id)
    token = token_of(victim.post(f"/workshops/{victim_workshop.id}/book", data=data))
    key = data["idempotency_key"]
    for workshop in (other_workshop, victim_workshop):
        attacker = app.test_client()
        stolen = _fields(attacker, workshop.id)
        stolen["idempotency_key"] = key
        answer = attacker.post(f"/workshops/{workshop.id}/book", data=stolen, headers=JSON)
        assert answer.status_code == 409 and answer.json["url"] is None and token not in answer.get_data(as_text=True)
        page = attacker.post(f"/workshops/{workshop.id}/book", data=stolen)
        html = page.get_data(as_text=True)
        assert page.status_code == 409 and token not in html and "Anna" in html
        assert f'value="{key}"' not in html  # a new key to send the kept entries with
    # the victim's own repeat still gets the ticket
    again = victim.post(f"/workshops/{victim_workshop.id}/book", data=data, headers=JSON)
    assert again.status_code == 200 and again.json["url"] == f"/t/{token}"
    assert victim.post(f"/workshops/{other_workshop.id}/book", data=data, headers=JSON).status_code == 409


def test_the_outbox_secret_proves_a_replay_after_the_session_is_gone(app, make_workshop):
    workshop = make_workshop()
    phone = app.test_client()
    data = _fields(phone, workshop.id, outbox_secret="s3cr3t-of-this-outbox-item")
    first = phone.post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    assert first.status_code == 201
    fresh = app.test_client()  # the same phone with its cookies cleared
    replay = dict(data, csrf_token=_fields(fresh, workshop.id)["csrf_token"])
    answer = fresh.post(f"/workshops/{workshop.id}/book", data=replay, headers=JSON)
    assert answer.status_code == 200 and answer.json["url"] == first.json["url"]
    replay["outbox_secret"] = "a-guess-at-the-secret-value"
    assert fresh.post(f"/workshops/{workshop.id}/book", data=replay, headers=JSON).status_code == 409


# 7. Small ones ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("suffix", ["", "/qr.svg", "/cancel", "/forget"])
def test_a_nul_byte_in_a_ticket_address_is_not_found(client, suffix):
    for token in ("abc%00def", "%00" * 20, "a" * 30 + "%00", "x" * 65, "ab"):
        assert client.get(f"/t/{token}{suffix}").status_code == 404
    assert client.get("/t/" + "a" * 30 + "%00.ics").status_code == 404


@pytest.mark.parametrize("query", ["start=0001-01-01", "end=9999-12-31", "start=0001-01-01&end=9999-12-31"])
def test_dates_at_the_ends_of_the_calendar_are_a_message_not_a_500(client, login, query):
    login("coordinator")
    page = client.get(f"/admin/feedback?{query}", headers={"Accept-Language": "en"})
    assert page.status_code == 200 and "Please enter a date between the years" in page.get_data(as_text=True)
    assert client.get(f"/admin/feedback.csv?{query}").status_code == 200


def test_a_negative_purge_after_days_refuses_to_start(monkeypatch):
    monkeypatch.setenv("PURGE_AFTER_DAYS", "-1")
    with pytest.raises(ConfigError, match="PURGE_AFTER_DAYS"):
        create_app({"APP_ENV": "testing"})


def test_only_known_query_parameters_are_echoed(client, make_stop):
    stop = make_stop()
    junk = "x" * 60_000
    page = client.get(f"/?junk={junk}&district={stop.district.slug}&a=1&a=2")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and junk not in html
    # The language links keep the page's own filter, and nothing else of the query.
    switches = re.findall(r'<a href="([^"]+)" data-lang-switch=', html)
    assert switches and all(f"district={stop.district.slug}" in href for href in switches), switches
    assert not any("junk" in href or "a=1" in href or "a=2" in href for href in switches), switches
    assert len(page.data) < 60_000


def test_the_access_log_names_the_route_not_the_token(app, client, make_workshop):
    from datetime import timedelta

    from gunicorn.config import Config
    from gunicorn.glogging import Logger
    from tests.conftest import ROOT

    token = token_of(book(client, make_workshop().id))
    seen: dict = {}
    inner = app.wsgi_app

    def spy(environ, start_response):
        try:
            return inner(environ, start_response)
        finally:
            seen.update(environ)

    app.wsgi_app = spy
    response = client.get(f"/t/{token}?x=1", headers={"Referer": f"http://localhost/t/{token}"})
    assert response.status_code == 200
    environ = dict(seen, RAW_URI=f"/t/{token}?x=1", SERVER_PROTOCOL="HTTP/1.1")
    settings: dict = {}
    exec((ROOT / "gunicorn.conf.py").read_text(), settings)
    config = Config()
    config.set("access_log_format", settings["access_log_format"])
    logger = Logger(config)

    class Answer:
        status = "200 OK"
        sent = 100
        headers = [("Content-Type", "text/html")]

    line = config.access_log_format % logger.atoms_wrapper_class(
        logger.atoms(Answer(), environ, environ, timedelta(milliseconds=5)))
    assert "GET /t/<token>" in line and token not in line, line


# 9. Sessions last as long as the README says ---------------------------------------------------------------------

def reopened(app, client):
    """The same browser after it was closed and opened again: only cookies with an expiry survive."""
    other = app.test_client()
    for cookie in client._cookies.values():
        if cookie.expires is not None:
            other.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path, expires=cookie.expires)
    return other


def test_a_queued_booking_is_accepted_after_the_browser_was_closed_and_reopened(app, make_workshop):
    from datetime import datetime, timedelta, timezone

    workshop = make_workshop()
    phone = app.test_client()
    data = _fields(phone, workshop.id)  # the form as it was when the booking was queued offline
    cookie = phone.get_cookie(app.config["SESSION_COOKIE_NAME"])
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert cookie.expires is not None
    assert cookie.expires > datetime.now(timezone.utc) + lifetime - timedelta(minutes=5)
    later = reopened(app, phone)
    answer = later.post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    assert answer.status_code == 201, answer.json
    again = reopened(app, later).post(f"/workshops/{workshop.id}/book", data=data, headers=JSON)
    assert again.status_code == 200 and again.json["url"] == answer.json["url"]


def test_public_pages_still_set_no_cookie(client, make_stop):
    stop = make_stop()
    for path in ("/", f"/s/{stop.id}", f"/d/{stop.district.slug}"):
        assert "Set-Cookie" not in client.get(path).headers


# 10. The bus's own Wi-Fi --------------------------------------------------------------------------------------------

@pytest.fixture
def running_stop(make_stop, make_workshop, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from busapp.feedback import rules

    at = datetime.now(timezone.utc).replace(microsecond=0)
    monkeypatch.setattr(rules, "now", lambda: at)
    stop = make_stop(starts_at=at - timedelta(hours=1), hours=3)
    make_workshop(stop=stop)
    return stop


def _feedback(client, stop, address="192.0.2.10"):
    from tests.feedback.test_feedback import fresh_form

    data = fresh_form(client, f"/f/{stop.id}") | {"rating": "5"}
    return client.post(f"/f/{stop.id}", data=data, environ_base={"REMOTE_ADDR": address})


def test_forty_devices_behind_one_address_can_all_give_feedback(app, running_stop):
    statuses = [_feedback(app.test_client(), running_stop).status_code for _ in range(40)]
    assert statuses == [303] * 40


def test_one_device_is_limited_and_so_is_one_address(app, running_stop):
    # Day-long windows, so that no window ends in the middle of the test.
    app.config.update(RATELIMIT_FEEDBACK="2/86400", RATELIMIT_FEEDBACK_ADDRESS="150/86400")
    phone = app.test_client()
    assert [_feedback(phone, running_stop).status_code for _ in range(3)] == [303, 303, 429]
    assert _feedback(app.test_client(), running_stop).status_code == 303  # the next phone on the bus
    app.config["RATELIMIT_FEEDBACK_ADDRESS"] = "5/86400"
    # 4 hits on the address so far: a fifth passes, then the address as a whole is full
    assert [_feedback(app.test_client(), running_stop).status_code for _ in range(2)] == [303, 429]


def test_trusted_networks_get_the_higher_budget(app, running_stop):
    from busapp.core.ratelimit import parse_networks

    app.config.update(RATELIMIT_FEEDBACK_ADDRESS="3/86400", RATELIMIT_TRUSTED="50/86400",
                      TRUSTED_NETWORKS=parse_networks("10.8.0.0/24"))
    assert [_feedback(app.test_client(), running_stop, "10.8.0.7").status_code for _ in range(6)] == [303] * 6
    assert [_feedback(app.test_client(), running_stop).status_code for _ in range(4)] == [303] * 3 + [429]


def test_bad_trusted_networks_refuse_to_start(monkeypatch):
    monkeypatch.setenv("TRUSTED_NETWORKS", "10.8.0.0/24, the bus")
    with pytest.raises(ConfigError, match="TRUSTED_NETWORKS"):
        create_app({"APP_ENV": "testing"})
