"""One client behind one address cannot guess, book or answer without end by changing its cookie, and numbers too
large for the database are refused with a 400, not a 500."""
from __future__ import annotations

import re
import secrets

import pytest

from busapp import config
from busapp.extensions import db
from tests.conftest import csrf_token


def fresh_device(app):
    """A new browser: its own session and a new device cookie, from the same address as every other."""
    client = app.test_client()
    client.set_cookie("fbdev", secrets.token_urlsafe(24))
    return client


# --- find my booking -------------------------------------------------------------------------------------------

def test_find_has_an_address_ceiling_that_new_cookies_do_not_escape(app):
    statuses = []
    for _ in range(40):
        client = fresh_device(app)
        token = csrf_token(client, "/find")
        statuses.append(client.post("/find", data={"csrf_token": token, "code": "KXXXXXX", "name": "Erika"},
                                    headers={"Accept-Language": "de"}).status_code)
    assert 429 in statuses, statuses
    allowed = int(app.config["RATELIMIT_FIND_ADDRESS"].split("/")[0])
    assert statuses[:allowed] == [404] * allowed and set(statuses[allowed:]) == {429}, statuses
    # Another address is counted on its own.
    other = fresh_device(app)
    token = csrf_token(other, "/find")
    assert other.post("/find", data={"csrf_token": token, "code": "KXXXXXX", "name": "Erika"},
                      environ_base={"REMOTE_ADDR": "192.0.2.77"}).status_code == 404


def test_every_limit_per_device_has_an_address_ceiling():
    per_device = [k for k in config.RATE_LIMIT_KEYS
                  if k in ("RATELIMIT_BOOKING", "RATELIMIT_FEEDBACK", "RATELIMIT_FIND")]
    for key in per_device:
        assert key + "_ADDRESS" in config.RATE_LIMIT_KEYS, key


# --- /staff/sync with numbers beyond 64 bits ------------------------------------------------------------------

@pytest.fixture
def tablet(app, client, login):
    login("staff")
    token = csrf_token(client, "/staff/tablet")
    html = client.post("/staff/tablet", data={"csrf_token": token, "name": "Tablet"}).get_data(as_text=True)
    credential = re.search(r'data-credential="([^"]+)"', html).group(1)
    return app.test_client(), {"X-Device-Credential": credential}


@pytest.mark.parametrize("body", [
    {"items": [], "user_id": 2**64},
    {"items": [], "user_id": -(2**70)},
    {"items": [], "give_up": [2**64], "sequence": 0},
    {"items": [], "give_up": [1, 10**30], "sequence": 0},
])
def test_sync_refuses_numbers_the_database_cannot_hold(tablet, body):
    client, headers = tablet
    response = client.post("/staff/sync", json=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.json["error"] == "invalid" and response.json["message"]


def test_sync_with_huge_numbers_in_items_answers_each_as_invalid(tablet):
    client, headers = tablet
    items = [{"kind": "checkin", "workshop_id": 2**64, "booking_id": 2**65, "sequence": 2**66, "nonce": "abcdefgh1234"}]
    response = client.post("/staff/sync", json={"items": items, "sequence": 2**64}, headers=headers)
    assert response.status_code == 200 and response.json["results"][0]["outcome"] == "invalid"
    db.session.rollback()
