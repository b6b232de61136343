"""The last loose ends of trust: key files only their owner reads, a tablet's nonces answer only that tablet,
coordinators are signed out when idle and may give a second factor, and production's session cookie is __Host-."""
from __future__ import annotations

import re
import stat
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from busapp.core import config
from busapp.accounts import totp
from busapp.checkin import service as checkin_service
from busapp.core.extensions import db
from busapp.models import User
from tests.conftest import PASSWORD, csrf_token
from tests.checkin.test_checkin_service import make_booking, today  # noqa: F401 - fixtures
from tests.test_trust import make_app  # noqa: F401 - fixture


# --- key files -------------------------------------------------------------------------------------------------

def test_development_keys_are_written_for_their_owner_only(tmp_path):
    key = config._dev_secret(tmp_path)
    assert len(key) > 40 and config._dev_secret(tmp_path) == key
    assert stat.S_IMODE((tmp_path / "dev-secret-key").stat().st_mode) == 0o600
    # A key file left readable by others (by an earlier version) is narrowed when read.
    loose = tmp_path / "other"
    loose.mkdir()
    (loose / "dev-secret-key").write_text("an old key")
    (loose / "dev-secret-key").chmod(0o644)
    assert config._dev_secret(loose) == "an old key"
    assert stat.S_IMODE((loose / "dev-secret-key").stat().st_mode) == 0o600


# --- __Host- session cookie ------------------------------------------------------------------------------------

def test_production_session_cookie_has_the_host_prefix(app, make_app):
    prod = make_app("production", PUBLIC_BASE_URL="https://bus.example.org")
    assert prod.config["SESSION_COOKIE_NAME"] == "__Host-session"
    client = prod.test_client()
    response = client.get("/signin", base_url="https://bus.example.org")
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("__Host-session="))
    assert "Secure" in cookie and "Path=/" in cookie and "Domain" not in cookie
    # The cookie works: its form token is accepted.
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', response.get_data(as_text=True)).group(1)
    answer = client.post("/signin", data={"csrf_token": token, "email": "x@example.org", "password": "wrong-pass"},
                         base_url="https://bus.example.org", headers={"Referer": "https://bus.example.org/signin"})
    assert answer.status_code == 422
    assert make_app("development").config["SESSION_COOKIE_NAME"] == "session"


# --- idle coordinators -----------------------------------------------------------------------------------------

def sign_in(client, user, path="/signin"):
    token = csrf_token(client, path)
    return client.post("/signin", data={"email": user.email, "password": PASSWORD, "csrf_token": token})


def test_coordinators_are_signed_out_when_idle(app, client, make_user):
    coordinator = make_user("coordinator")
    assert sign_in(client, coordinator).status_code == 303
    assert client.get("/admin").status_code == 200
    idle = app.config["COORDINATOR_IDLE_MINUTES"]
    with client.session_transaction() as sess:
        sess["seen_at"] = (datetime.now(timezone.utc) - timedelta(minutes=idle - 1)).timestamp()
    assert client.get("/admin").status_code == 200  # a request just in time counts as activity
    with client.session_transaction() as sess:
        assert datetime.now(timezone.utc).timestamp() - sess["seen_at"] < 5
        sess["seen_at"] = (datetime.now(timezone.utc) - timedelta(minutes=idle + 1)).timestamp()
    answer = client.get("/admin")
    assert answer.status_code == 302 and "/signin" in answer.headers["Location"]
    # Staff on the bus's tablet are not signed out for a pause.
    staff_client = app.test_client()
    assert sign_in(staff_client, make_user("staff")).status_code == 303
    with staff_client.session_transaction() as sess:
        sess["seen_at"] = (datetime.now(timezone.utc) - timedelta(hours=3)).timestamp()
    assert staff_client.get("/staff/").status_code == 200


# --- TOTP --------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("at, code", [
    (59, "94287082"), (1111111109, "07081804"), (1111111111, "14050471"), (1234567890, "89005924"),
    (2000000000, "69279037"), (20000000000, "65353130"),
])
def test_totp_matches_the_rfc_6238_test_vectors(at, code):
    secret = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    assert totp.code_at(secret, at, digits=8) == code


def test_totp_accepts_a_step_either_side_and_each_step_once():
    secret = totp.new_secret()
    now = 1_700_000_000
    for shift in (-30, 0, 30):
        assert totp.verify(secret, totp.code_at(secret, now + shift), None, at=now) == (now + shift) // 30
    assert totp.verify(secret, totp.code_at(secret, now - 90), None, at=now) is None
    step = totp.verify(secret, totp.code_at(secret, now), None, at=now)
    assert totp.verify(secret, totp.code_at(secret, now), step, at=now) is None
    assert totp.verify(secret, "12345", None, at=now) is None and totp.verify(secret, "abcdef", None, at=now) is None
    assert totp.uri(secret, "a@b.de", "Bus").startswith("otpauth://totp/Bus%3Aa%40b.de?secret=" + secret)


def test_coordinators_set_up_and_give_a_code_when_the_setting_is_on(app, client, make_user):
    app.config["COORDINATOR_TOTP"] = True
    coordinator = make_user("coordinator")
    first = sign_in(client, coordinator)
    assert first.status_code == 303 and first.headers["Location"].endswith("/signin/code")
    assert client.get("/admin").status_code == 302  # the password alone does not sign in
    page = client.get("/signin/code", headers={"Accept-Language": "de"})
    html = page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store" and "<svg" in html
    secret = re.search(r"<code>([A-Z2-7 ]+)</code>", html).group(1).replace(" ", "")
    token = csrf_token(client, "/signin/code")
    wrong = client.post("/signin/code", data={"csrf_token": token, "code": "000000"}, headers={"Accept-Language": "de"})
    assert wrong.status_code == 422 and "nicht richtig" in wrong.get_data(as_text=True)
    right = client.post("/signin/code", data={"csrf_token": token, "code": totp.code_at(secret, datetime.now().timestamp())})
    assert right.status_code == 303 and client.get("/admin").status_code == 200
    db.session.expire_all()
    stored = db.session.get(User, coordinator.id)
    assert stored.totp_secret == secret and stored.totp_last_step is not None
    # Next time: no key shown, and the code just used does not count twice.
    other = app.test_client()
    sign_in(other, coordinator)
    html = other.get("/signin/code").get_data(as_text=True)
    assert "<code>" not in html
    token = csrf_token(other, "/signin/code")
    used = totp.code_at(secret, stored.totp_last_step * 30)
    assert other.post("/signin/code", data={"csrf_token": token, "code": used}).status_code == 422
    # Staff are not asked; without the setting, coordinators are not either.
    assert sign_in(app.test_client(), make_user("staff")).headers["Location"].endswith("/staff/")
    app.config["COORDINATOR_TOTP"] = False
    assert sign_in(app.test_client(), coordinator).headers["Location"].endswith("/admin")


def test_the_code_page_needs_a_password_first(client):
    answer = client.get("/signin/code", headers={"Accept-Language": "de"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and "noch einmal an" in html and 'name="code"' not in html
    token = csrf_token(client, "/signin")
    assert 'name="code"' not in client.post("/signin/code", data={"csrf_token": token, "code": "123456"}).get_data(as_text=True)


def test_a_lost_phone_is_reset_from_the_command_line(app, runner, make_user):
    user = make_user("coordinator")
    user.totp_secret, user.totp_last_step = totp.new_secret(), 5
    db.session.commit()
    result = runner.invoke(args=["users", "reset-code", user.email])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert db.session.get(User, user.id).totp_secret is None


# --- per-tablet nonces -------------------------------------------------------------------------------------------

def register_tablet(app, make_user, name, stop):
    """A tablet set up by staff and approved by a coordinator, with the day's data (and its signing key) fetched
    while signed in."""
    client = app.test_client()
    assert sign_in(client, make_user("staff")).status_code == 303
    token = csrf_token(client, "/staff/tablet")
    html = client.post("/staff/tablet", data={"csrf_token": token, "name": name}).get_data(as_text=True)
    credential = re.search(r'data-credential="([^"]+)"', html).group(1)
    checkin_service.approve_device(checkin_service.waiting_device(credential), make_user("coordinator"))
    headers = {"X-Device-Credential": credential}
    day = client.get(f"/staff/day.json?stop={stop.id}", headers=headers).json
    return headers, day


def test_one_tablet_cannot_read_another_tablets_answer_by_its_nonce(app, today, make_booking, make_user):
    from tests.checkin.test_checkin_views import signed

    stop, workshop, _ = today
    booking = make_booking(workshop, name="Erika Geheim")
    (first, first_day), (second, second_day) = (register_tablet(app, make_user, "vorne", stop),
                                                register_tablet(app, make_user, "hinten", stop))
    item = {"kind": "checkin", "workshop_id": workshop.id, "booking_id": booking.id, "sequence": 1,
            "nonce": "abcdefgh12345"}
    tablet = app.test_client()
    mine = signed(first_day, item)
    answer = tablet.post("/staff/sync", json={"items": [mine]}, headers=first).json
    assert answer["results"][0]["outcome"] == "valid"
    assert tablet.post("/staff/sync", json={"items": [mine]}, headers=first).json["results"][0]["replay"] is True
    # The other tablet sends the same nonce, properly signed with its own key.
    replayed = tablet.post("/staff/sync", json={"items": [signed(second_day, item)]}, headers=second)
    assert replayed.status_code == 200
    text = replayed.get_data(as_text=True)
    assert "Erika Geheim" not in text and booking.code not in text
    assert replayed.json["results"][0]["outcome"] == "invalid"
