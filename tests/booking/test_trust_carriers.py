"""The app carries no stranger's words to an address that confirmed nothing, and one phone cannot stuff the feedback
by changing its cookie; coordinators see runs of answers from one address."""
from __future__ import annotations

import re
import secrets
import uuid

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, Feedback, OutgoingMail
from tests.conftest import PASSWORD, csrf_token
from tests.booking.test_booking import book

BAIT = "Ihr Konto wird gesperrt. Jetzt bestätigen: https://konto-pruefen.example/login"


# --- mail as a carrier -----------------------------------------------------------------------------------------

def test_a_name_with_a_web_address_is_refused_with_a_clear_message(client, make_workshop):
    workshop = make_workshop()
    response = book(client, workshop.id, name=BAIT, contact="fremde@example.org", headers={"Accept-Language": "de"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and "keine Internetadresse" in html
    assert 'value="fremde@example.org"' in html  # what was typed is kept
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0
    for name in ("bit.ly/abc", "www.example.org", "Anna evil.com"):
        assert book(client, workshop.id, name=name).status_code == 422, name
    for name in ("Dr. Anna Muster", "A.B.", "Müller-Lüdenscheidt", "St. Jürgen"):
        assert book(client, workshop.id, name=name).status_code == 303, name


@pytest.mark.parametrize("name", ["Konto gesperrt! Antworten Sie sofort", "Anna"])
def test_mails_carry_no_text_the_booker_typed(app, client, make_workshop, name):
    app.config["MAIL_SERVER"] = "localhost"
    workshop = make_workshop(capacity=1)
    assert book(client, workshop.id, name=name, contact="fremde@example.org",
                needs_note="Rufen Sie 0800 123 an").status_code == 303
    other = app.test_client()
    assert book(other, workshop.id, name=name, contact="zweite@example.org").status_code == 303  # waiting list
    db.session.expire_all()
    mails = db.session.scalars(sa.select(OutgoingMail)).all()
    assert len(mails) == 2
    for mail in mails:
        assert name not in mail.body and name not in mail.subject and "0800" not in mail.body
        assert mail.body.startswith("Hallo,")


# --- feedback stuffing -----------------------------------------------------------------------------------------

def send_feedback(app, path: str, rating: int = 1, address: str = "198.51.100.20"):
    """One answer from a fresh phone (new cookie, new session) behind `address`."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    client.set_cookie("fbdev", secrets.token_urlsafe(24), path="/f")
    html = client.get(path).get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html).group(1)
    return client.post(path, data={"csrf_token": token, "idempotency_key": str(uuid.uuid4()), "rating": str(rating)},
                       headers={"Accept-Language": "de"})


@pytest.fixture
def open_stop(make_stop, now):
    from datetime import timedelta

    return make_stop(starts_at=now - timedelta(hours=1))


def test_the_address_limit_fits_a_full_bus_until_its_router_is_named(monkeypatch):
    from busapp import create_app

    monkeypatch.delenv("TRUSTED_NETWORKS", raising=False)
    assert create_app({"APP_ENV": "testing"}).config["FEEDBACK_ADDRESS_LIMIT"] == 40
    monkeypatch.setenv("TRUSTED_NETWORKS", "10.8.0.0/24")
    assert create_app({"APP_ENV": "testing"}).config["FEEDBACK_ADDRESS_LIMIT"] == 4


def test_new_cookies_do_not_make_new_phones_for_feedback(app, open_stop):
    app.config["FEEDBACK_ADDRESS_LIMIT"] = 4  # the default once the bus's router is in TRUSTED_NETWORKS
    path = f"/f/{open_stop.id}"
    statuses = [send_feedback(app, path).status_code for _ in range(6)]
    allowed = app.config["FEEDBACK_ADDRESS_LIMIT"]
    assert statuses[:allowed] == [303] * allowed and 303 not in statuses[allowed:], statuses
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Feedback)) == allowed
    refused = send_feedback(app, path)
    assert "Internetverbindung" in refused.get_data(as_text=True)
    # Another household, and the bus's own Wi-Fi, answer as before.
    assert send_feedback(app, path, address="203.0.113.40").status_code == 303
    from busapp.core.ratelimit import parse_networks

    app.config["TRUSTED_NETWORKS"] = parse_networks("10.8.0.0/24")
    assert [send_feedback(app, path, address="10.8.0.1").status_code for _ in range(8)] == [303] * 8


def test_coordinators_see_feedback_bursts(app, open_stop, make_user):
    path = f"/f/{open_stop.id}"
    app.config["FEEDBACK_ADDRESS_LIMIT"] = 4
    for _ in range(4):
        assert send_feedback(app, path, rating=1).status_code == 303
    assert send_feedback(app, path, rating=5, address="203.0.113.41").status_code == 303
    coordinator = make_user("coordinator")
    client = app.test_client()
    token = csrf_token(client, "/signin")
    client.post("/signin", data={"email": coordinator.email, "password": PASSWORD, "csrf_token": token})
    html = client.get("/admin/bursts", headers={"Accept-Language": "de"}).get_data(as_text=True)
    section = html[html.index('id="feedback-bursts"'):]
    assert "4 Antworten" in section, section[:2000]
    assert section.count('<td class="num">1</td>') == 4 and '<td class="num">5</td>' not in section
