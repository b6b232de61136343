"""The Mitmach-Station: answers without sign-in recorded as from the station, a fresh form for each person, and a
tablet that leaves the station only with the staff PIN (stored as a hash)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
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


# --- answers kept on the tablet without network, sent later ---------------------------------------------------------

import re  # noqa: E402

from itsdangerous import URLSafeTimedSerializer  # noqa: E402

from busapp.participation.models import Idea  # noqa: E402

OUTBOX = {"X-Outbox": "1", "Accept": "application/json"}


def _station_page(client) -> tuple[str, str]:
    """The station page's CSRF token and ticket."""
    html = client.get("/mitreden/station").get_data(as_text=True)
    ticket = re.search(r'name="station_ticket" value="([^"]+)"', html).group(1)
    return csrf_token(client, "/mitreden/station"), ticket


def test_the_station_form_is_kept_privately_by_the_outbox(client, login, consultation):
    _start(client, login)
    html = client.get("/mitreden/station").get_data(as_text=True)
    assert 'data-outbox="station"' in html and "data-outbox-private" in html and 'name="station_ticket"' in html


def test_kept_answers_are_stored_once_each_in_any_order(client, login, consultation):
    _start(client, login)
    token, ticket = _station_page(client)
    answers = [{"csrf_token": token, "station_ticket": ticket, "idempotency_key": f"kept-answer-{n:04d}",
                "idea": f"Ohne Netz {n}"} for n in range(3)]
    # The outbox sends the second and third, the first is sent twice (its answer was lost on the way).
    for data in (answers[1], answers[0], answers[2], answers[0]):
        response = client.post("/mitreden/station", data=data, headers=OUTBOX)
        assert response.status_code in (200, 201) and response.get_json()["ok"] is True
    assert client.post("/mitreden/station", data=answers[1], headers=OUTBOX).status_code == 200
    texts = sorted(db.session.scalars(sa.select(Idea.text)).all())
    assert texts == ["Ohne Netz 0", "Ohne Netz 1", "Ohne Netz 2"]
    assert set(db.session.scalars(sa.select(Contribution.channel))) == {Channel.STATION}


def test_a_kept_answer_gets_in_after_the_station_was_left(client, login, consultation):
    _start(client, login, "4711")
    token, ticket = _station_page(client)
    left = client.post("/mitreden/station/verlassen", data={"csrf_token": token, "pin": "4711"})
    assert left.headers["Location"].endswith("/staff/")
    data = {"csrf_token": token, "station_ticket": ticket, "idempotency_key": "kept-after-leave", "idea": "Spät"}
    response = client.post("/mitreden/station", data=data, headers=OUTBOX)
    assert response.status_code == 201 and response.get_json()["ok"] is True
    assert db.session.scalar(sa.select(Contribution.channel)) == Channel.STATION
    # Without a ticket, or with a forged one, nothing gets in once the tablet is no station.
    forged = URLSafeTimedSerializer("not-the-app-secret", salt="mitreden-station").dumps({"c": consultation.id})
    for bad in ("", forged):
        data = {"csrf_token": token, "station_ticket": bad, "idempotency_key": f"kept-bad-{len(bad):04d}",
                "idea": "Fremd"}
        assert client.post("/mitreden/station", data=data, headers=OUTBOX).status_code == 404
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 1


def test_a_kept_answer_refused_says_why_as_json(client, login, consultation):
    _start(client, login)
    token, ticket = _station_page(client)
    response = client.post("/mitreden/station", headers=OUTBOX, data={
        "csrf_token": token, "station_ticket": ticket, "idempotency_key": "kept-empty-0001"})
    body = response.get_json()
    assert response.status_code == 422 and body["ok"] is False and body["errors"]["idea"]
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 0


def test_an_answer_given_before_the_end_counts_when_it_arrives_after(app, consultation, now):
    """A station page shown during the period: its answer is taken until PAPER_DAYS after the end, like paper."""
    consultation.ends_at = now - timedelta(hours=1)
    db.session.commit()
    with app.test_request_context("/mitreden/station", method="POST"):
        shown = now - timedelta(hours=2)
        assert service.closed_reason(consultation, now, Channel.STATION, shown) is None
        assert service.closed_reason(consultation, now, Channel.STATION) is not None
        assert service.closed_reason(consultation, now, Channel.STATION, now) is not None
        late = now + timedelta(days=service.PAPER_DAYS)
        assert service.closed_reason(consultation, late, Channel.STATION, shown) is not None


def test_the_ticket_names_its_consultation_and_cannot_be_forged(app, consultation):
    with app.test_request_context():
        ticket = service.station_ticket(consultation)
        read = service.read_station_ticket(ticket)
        assert read.consultation_id == consultation.id and read.shown_at.tzinfo is not None
        payload, stamp, signature = ticket.split(".")
        flipped = signature[:5] + ("A" if signature[5] != "A" else "B") + signature[6:]
        assert service.read_station_ticket(f"{payload}.{stamp}.{flipped}") is None
        assert service.read_station_ticket("") is None
        app.config["SECRET_KEY"] = "another-secret-key-of-enough-length"
        assert service.read_station_ticket(ticket) is None


STATION_WORDS = ("Staff: leave the station", "Leave the station", "Staff PIN", "Thank you! Your answer has been saved.",
                 "The next person can start now.", "answers are waiting to be sent", "Every answer has been sent",
                 "Staff see it after leaving the station", "Anonymous: no name, no account.")


def test_the_stations_words_are_in_every_language_residents_read(app, client, login, consultation):
    """Residents read the station's own words too (the leave button, the thank-you, the waiting count): none of
    them may fall back to English in a language the app offers."""
    _start(client, login)
    seen = set()
    for tag in app.config["LANGUAGES"]:
        if tag == "en":
            continue
        html = client.get(f"/mitreden/station?danke=1&lang={tag}").get_data(as_text=True)
        assert client.get(f"/mitreden/station?lang={tag}").status_code == 200
        english = [w for w in STATION_WORDS if w in html]
        assert not english, (tag, english)
        seen.add(re.search(r'<summary>([^<]+)</summary>', html).group(1))
    assert len(seen) >= 7  # each language its own words (Leichte Sprache and German differ, too)
    english = client.get("/mitreden/station?danke=1&lang=en").get_data(as_text=True)
    assert all(w in english for w in STATION_WORDS[:4])  # the check can fail
