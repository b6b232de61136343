"""The Mitmach-Station: answers without sign-in recorded as from the station, a fresh form for each person, and a
tablet that leaves the station only with the staff PIN (stored as a hash)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.extensions import db
from busapp.participation import service
from busapp.participation.models import Channel, Consultation, Contribution, Question, QuestionKind, StationPin
from tests.conftest import csrf_token


@pytest.fixture
def consultation(app, now):
    c = Consultation(title="Digitales Lübeck", idea_question="Was soll digital einfacher werden?",
                     starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=10), topics=["Bildung"])
    c.questions = [Question(position=1, kind=QuestionKind.SINGLE, text="Wie oft?", options=["oft", "selten"])]
    db.session.add(c)
    db.session.commit()
    return c


def _start(client, login, pin="4711"):
    login("staff")
    token = csrf_token(client, "/admin/mitreden/station")
    return client.post("/admin/mitreden/station", data={"csrf_token": token, "pin": pin})


def test_the_pin_is_stored_only_as_a_hash(app, client, login, consultation):
    assert _start(client, login, "4711").status_code == 303
    row = db.session.scalars(sa.select(StationPin)).one()
    assert "4711" not in row.pin_hash
    assert service.station_pin_ok("4711") and not service.station_pin_ok("4712")


def test_a_pin_that_is_not_4_to_8_digits_is_refused(client, login, consultation):
    response = _start(client, login, "12ab")
    assert response.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count(StationPin.id))) == 0
    with client.session_transaction() as s:
        assert "mitreden_station" not in s


def test_people_answer_one_after_another_as_station(client, login, consultation):
    _start(client, login)
    for n in range(3):
        page = client.get("/mitreden/station")
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "Digitales Lübeck" in html
        assert "checked" not in html and f"Idee {n - 1}" not in html
        token = csrf_token(client, "/mitreden/station")
        response = client.post("/mitreden/station", data={
            "csrf_token": token, "idempotency_key": f"station-key-{n:04d}", "idea": f"Idee {n}",
            f"q{consultation.questions[0].id}": "1"})
        assert response.status_code == 303
    rows = db.session.scalars(sa.select(Contribution)).all()
    assert [r.channel for r in rows] == [Channel.STATION] * 3


def test_other_pages_lead_back_to_the_station_until_the_pin_is_given(client, login, consultation):
    _start(client, login, "123456")
    for path in ("/", "/staff/", "/admin/mitreden", "/mitreden"):
        response = client.get(path)
        assert response.status_code == 303 and response.headers["Location"].endswith("/mitreden/station"), path
    token = csrf_token(client, "/mitreden/station")
    wrong = client.post("/mitreden/station/verlassen", data={"csrf_token": token, "pin": "654321"})
    assert wrong.headers["Location"].endswith("/mitreden/station")
    assert client.get("/staff/").status_code == 303
    right = client.post("/mitreden/station/verlassen", data={"csrf_token": token, "pin": "123456"})
    assert right.status_code == 303 and right.headers["Location"].endswith("/staff/")
    assert client.get("/staff/").status_code == 200
    assert client.get("/mitreden/station").status_code == 404


def test_the_station_needs_a_staff_member_to_start_it(client, consultation):
    assert client.get("/mitreden/station").status_code == 404
    assert client.get("/admin/mitreden/station").status_code in (302, 303, 401)
