"""Feedback by QR code: the bus's permanent URL, the form, exactly-once answers, limits and bad input."""
from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.feedback import rules, service
from busapp.models import Feedback, StopStatus, WorkshopStatus
from tests.conftest import csrf_token

BERLIN = ZoneInfo("Europe/Berlin")
JSON = {"Accept": "application/json", "X-Outbox": "1"}
HTMX = {"HX-Request": "true"}


def berlin(*args) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


@pytest.fixture
def clock(monkeypatch):
    """Set the time the feedback views see: clock.at = berlin(2026, 11, 26, 11, 0)."""

    class Clock:
        at = datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc)

    c = Clock()
    monkeypatch.setattr(rules, "now", lambda: c.at)
    return c


@pytest.fixture
def relaxed(app):
    """Rate limit out of the way for tests about something else."""
    app.config["RATELIMIT_FEEDBACK"] = "1000/600"
    return app


@pytest.fixture
def open_stop(make_stop, make_workshop, clock):
    """A published stop that is on right now, with two workshops."""
    stop = make_stop(starts_at=clock.at - timedelta(hours=1), hours=3, place="Marli-Forum")
    make_workshop(stop=stop, title="Videoanrufe", topic="video_calls")
    make_workshop(stop=stop, title="Sicher online bezahlen", topic="online_banking",
                  starts_at=stop.starts_at + timedelta(minutes=75))
    return stop


def form_fields(html: str) -> dict:
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', html)
    key = re.search(r'name="idempotency_key"[^>]*value="([^"]+)"', html) or re.search(
        r'value="([^"]+)"[^>]*name="idempotency_key"', html)
    assert token and key, html
    return {"csrf_token": token.group(1), "idempotency_key": key.group(1)}


def fresh_form(client, path: str) -> dict:
    response = client.get(path)
    assert response.status_code == 200, response.status_code
    return form_fields(response.get_data(as_text=True))


def count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Feedback.id)))


# --- the bus's permanent URL /f ---------------------------------------------------------------------------


def test_bus_url_leads_to_the_stop_the_bus_is_at_now(client, make_stop, clock):
    clock.at = berlin(2026, 11, 26, 11, 0)
    make_stop(starts_at=berlin(2026, 11, 26, 7, 0), hours=2, place="Früher")
    now_stop = make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3, place="Jetzt")
    make_stop(starts_at=berlin(2026, 11, 26, 14, 0), hours=3, place="Später")

    response = client.get("/f")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Jetzt" in html and "Früher" not in html and "Später" not in html
    # Answered to the bus's own address, so a copy kept on the phone works on the next visit too.
    assert 'action="/f"' in html
    assert response.headers["Cache-Control"] == "private, no-cache"
    data = form_fields(html) | {"rating": "5"}
    assert client.post("/f", data=data, headers=JSON).status_code == 201
    assert db.session.scalar(sa.select(Feedback.stop_id)) == now_stop.id


def test_bus_url_leads_to_the_last_stop_later_that_day(client, make_stop, clock):
    clock.at = berlin(2026, 11, 26, 18, 30)
    make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3, place="Vormittag")
    afternoon = make_stop(starts_at=berlin(2026, 11, 26, 14, 0), hours=3, place="Nachmittag")
    make_stop(starts_at=berlin(2026, 11, 27, 10, 0), hours=3, place="Morgen")

    response = client.get("/f")
    assert response.status_code == 200
    assert "Nachmittag" in response.get_data(as_text=True)
    data = form_fields(response.get_data(as_text=True)) | {"rating": "5"}
    assert client.post("/f", data=data, headers=JSON).status_code == 201
    assert db.session.scalar(sa.select(Feedback.stop_id)) == afternoon.id


def test_bus_url_without_a_stop_today_shows_the_next_stops(client, make_stop, clock):
    clock.at = berlin(2026, 11, 26, 9, 0)
    make_stop(starts_at=berlin(2026, 11, 25, 14, 0), hours=3, place="Gestern")
    make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3, place="Marli-Forum")
    make_stop(starts_at=berlin(2026, 11, 26, 14, 0), hours=3, place="Stadtteilbibliothek",
              status=StopStatus.DRAFT)

    response = client.get("/f")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Der Bus ist gerade an keinem Halt" in html
    assert "Marli-Forum" in html and "Stadtteilbibliothek" not in html and "Gestern" not in html
    english = client.get("/f", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "The bus is not at a stop right now" in english


def test_bus_url_uses_the_day_in_luebeck_not_in_utc(client, make_stop, clock):
    # 00:30 in Lübeck is still the previous day in UTC: a stop that ended at 23:00 yesterday is not "today".
    clock.at = berlin(2026, 11, 27, 0, 30)
    make_stop(starts_at=berlin(2026, 11, 26, 19, 0), hours=4, place="Spätabend")
    response = client.get("/f")
    assert response.status_code == 200
    assert "Spätabend" not in response.get_data(as_text=True)


def test_bus_url_skips_cancelled_and_draft_stops(client, make_stop, clock):
    clock.at = berlin(2026, 11, 26, 11, 0)
    make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3, status=StopStatus.CANCELLED)
    make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3, status=StopStatus.DRAFT)
    assert client.get("/f").status_code == 200


def test_bus_url_keeps_the_language(client, open_stop, relaxed):
    html = client.get("/f?lang=en").get_data(as_text=True)
    assert 'action="/f?lang=en"' in html
    response = client.post("/f?lang=en", data=form_fields(html) | {"rating": "4"})
    assert response.headers["Location"] == f"/f/{open_stop.id}/thanks?lang=en"


# --- the form -------------------------------------------------------------------------------------------


def test_form_is_an_accessible_face_radio_group_that_works_with_and_without_htmx(client, open_stop):
    response = client.get(f"/f/{open_stop.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-cache"
    form = re.search(r"<form[^>]*id=\"feedback\"[^>]*>", html).group(0)
    assert f'action="/f/{open_stop.id}"' in form and 'method="post"' in form
    assert f'hx-post="/f/{open_stop.id}"' in form and 'hx-target="this"' in form and 'hx-swap="outerHTML"' in form
    assert 'data-outbox="feedback"' in form
    fieldset = html[html.index('<fieldset class="field faces'):html.index("</fieldset>")]
    assert "<legend>Wie hat es Ihnen gefallen?</legend>" in fieldset
    for n, words in enumerate(["sehr schlecht", "schlecht", "mittel", "gut", "sehr gut"], start=1):
        assert re.search(rf'<input[^>]*id="rating-{n - 1}"[^>]*type="radio"[^>]*value="{n}"', fieldset) or \
            re.search(rf'<input[^>]*type="radio"[^>]*value="{n}"', fieldset)
        assert f'<span class="face__number">{n}</span> <span class="face__dash">–</span> ' \
               f'<span class="face__words">{words}</span>' in fieldset
    assert fieldset.count("<svg") == 5
    uuid.UUID(form_fields(html)["idempotency_key"])
    for text in ["Was haben Sie gelernt?", "Was hat gefehlt?", "Welches Thema wünschen Sie sich als Nächstes?",
                 "Ihre Altersgruppe", "Videoanrufe", "Sicher online bezahlen"]:
        assert text in html


def test_form_in_english(client, open_stop):
    html = client.get(f"/f/{open_stop.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for text in ["How did you like it?", ">very bad<", ">very good<", "What did you learn?",
                 "What was missing?", "Which topic would you like next?", "Send feedback"]:
        assert text in html


def test_each_form_gets_its_own_key(client, open_stop):
    first = fresh_form(client, f"/f/{open_stop.id}")["idempotency_key"]
    second = fresh_form(client, f"/f/{open_stop.id}")["idempotency_key"]
    assert first != second


def test_device_cookie_is_random_private_and_stored_only_as_a_keyed_hash(client, open_stop, relaxed):
    response = client.get(f"/f/{open_stop.id}")
    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("fbdev="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/f" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert len(token) >= 40

    data = form_fields(response.get_data(as_text=True)) | {"rating": "4"}
    client.post(f"/f/{open_stop.id}", data=data)
    stored = db.session.scalar(sa.select(Feedback))
    assert token not in stored.device_hash and len(stored.device_hash) == 64
    # A second visit keeps the cookie rather than handing out a new one.
    again = client.get(f"/f/{open_stop.id}")
    assert not any(c.startswith("fbdev=") for c in again.headers.getlist("Set-Cookie"))


def test_device_cookie_is_secure_when_sessions_are(app, client, open_stop):
    app.config["SESSION_COOKIE_SECURE"] = True
    cookie = next(c for c in client.get(f"/f/{open_stop.id}").headers.getlist("Set-Cookie")
                  if c.startswith("fbdev="))
    assert "Secure" in cookie


def test_answer_is_stored_and_thanked_without_javascript(client, open_stop, relaxed):
    workshop = open_stop.workshops[1]
    data = fresh_form(client, f"/f/{open_stop.id}") | {
        "workshop": str(workshop.id), "rating": "5", "learned": "  Videoanrufe mit meiner Enkelin  ",
        "missing": "Mehr Zeit", "wish_topic": "online_banking", "age_group": "65_79",
    }
    response = client.post(f"/f/{open_stop.id}", data=data)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/f/{open_stop.id}/thanks"

    record = db.session.scalar(sa.select(Feedback))
    assert (record.stop_id, record.workshop_id, record.rating) == (open_stop.id, workshop.id, 5)
    assert record.learned == "Videoanrufe mit meiner Enkelin" and record.missing == "Mehr Zeit"
    assert (record.wish_topic, record.age_group, record.locale) == ("online_banking", "65_79", "de")
    assert record.idempotency_key == data["idempotency_key"]

    thanks = client.get(response.headers["Location"])
    assert thanks.status_code == 200 and "Vielen Dank!" in thanks.get_data(as_text=True)


def test_only_the_rating_is_needed(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "3"}
    assert client.post(f"/f/{open_stop.id}", data=data).status_code == 303
    record = db.session.scalar(sa.select(Feedback))
    assert (record.workshop_id, record.learned, record.wish_topic, record.age_group) == (None, "", "", "")


def test_other_topic_text_counts_as_something_else(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "wish_other": "Tablets für Anfänger"}
    client.post(f"/f/{open_stop.id}", data=data)
    record = db.session.scalar(sa.select(Feedback))
    assert (record.wish_topic, record.wish_other) == ("other", "Tablets für Anfänger")


def test_workshop_url_preselects_the_workshop(client, open_stop, relaxed):
    workshop = open_stop.workshops[1]
    response = client.get(f"/f/w/{workshop.id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert re.search(rf'<option selected value="{workshop.id}">|<option value="{workshop.id}" selected>', html)
    assert f'method="post" action="/f/w/{workshop.id}"' in html

    data = form_fields(html) | {"rating": "2", "workshop": str(workshop.id)}
    assert client.post(f"/f/w/{workshop.id}", data=data).status_code == 303
    assert db.session.scalar(sa.select(Feedback.workshop_id)) == workshop.id


def test_workshop_of_another_stop_cannot_be_chosen(client, open_stop, make_workshop, relaxed):
    elsewhere = make_workshop()
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "workshop": str(elsewhere.id)}
    response = client.post(f"/f/{open_stop.id}", data=data)
    assert response.status_code == 422
    assert "Bitte wählen Sie einen Kurs dieses Besuchs aus der Liste." in response.get_data(as_text=True)
    assert count() == 0


def test_draft_and_cancelled_workshops_cannot_be_rated(client, open_stop, make_workshop, relaxed):
    draft = make_workshop(stop=open_stop, status=WorkshopStatus.DRAFT, title="Geplant")
    cancelled = make_workshop(stop=open_stop, status=WorkshopStatus.CANCELLED, title="Abgesagt")
    assert client.get(f"/f/w/{draft.id}").status_code == 404
    assert "Geplant" not in client.get(f"/f/{open_stop.id}").get_data(as_text=True)
    page = client.get(f"/f/w/{cancelled.id}")
    assert page.status_code == 200 and "abgesagt" in page.get_data(as_text=True)
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
    refused = client.post(f"/f/w/{cancelled.id}", data=data, headers=JSON)
    assert refused.status_code == 409 and refused.json["state"] == "refused"
    assert count() == 0


# --- htmx: the thank-you replaces the form in place -------------------------------------------------------


def test_htmx_answer_gets_the_thank_you_fragment(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
    response = client.post(f"/f/{open_stop.id}", data=data, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 201
    assert html.lstrip().startswith('<section id="thanks"') and "<html" not in html
    assert count() == 1
    # The same answer again (a double tap): the same fragment, nothing new stored.
    again = client.post(f"/f/{open_stop.id}", data=data, headers=HTMX)
    assert again.status_code == 200 and again.get_data(as_text=True).lstrip().startswith('<section id="thanks"')
    assert count() == 1


def test_htmx_errors_replace_the_form_with_itself(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"learned": "Etwas"}
    response = client.post(f"/f/{open_stop.id}", data=data, headers=HTMX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert html.lstrip().startswith("<form") and 'id="feedback"' in html and "<html" not in html
    assert "Bitte wählen Sie ein Gesicht von 1 bis 5." in html and re.search(r">\s*Etwas</textarea>", html)
    assert data["idempotency_key"] in html  # the key stays with the answer while it is corrected


def test_thanks_page_serves_page_and_fragment(client, open_stop):
    page = client.get(f"/f/{open_stop.id}/thanks").get_data(as_text=True)
    fragment = client.get(f"/f/{open_stop.id}/thanks", headers=HTMX).get_data(as_text=True)
    assert "<html" in page and 'id="thanks"' in page
    assert "<html" not in fragment and fragment.lstrip().startswith('<section id="thanks"')
    boosted = client.get(f"/f/{open_stop.id}/thanks", headers=HTMX | {"HX-Boosted": "true"})
    assert "<html" in boosted.get_data(as_text=True)


# --- exactly once -------------------------------------------------------------------------------------------


def test_replayed_answer_is_stored_once_and_answered_the_same(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "5", "learned": "Viel"}
    first = client.post(f"/f/{open_stop.id}", data=data)
    second = client.post(f"/f/{open_stop.id}", data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count() == 1


def test_outbox_replay_gets_the_same_json(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
    first = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    second = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert first.status_code == 201 and second.status_code == 200
    assert first.json == second.json == {
        "ok": True, "state": "saved", "message": "Vielen Dank! Ihre Rückmeldung ist gespeichert.", "errors": {},
    }
    english = client.post(f"/f/{open_stop.id}", data=data, headers=JSON | {"Accept-Language": "en"})
    assert english.json["message"] == "Thank you! Your feedback has been saved."
    assert count() == 1


def test_replay_is_answered_even_after_feedback_closed(client, open_stop, clock, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
    assert client.post(f"/f/{open_stop.id}", data=data, headers=JSON).status_code == 201
    clock.at = open_stop.ends_at + timedelta(days=30)
    replay = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert replay.status_code == 200 and replay.json["state"] == "saved"
    assert count() == 1


def test_simultaneous_copies_race_and_the_loser_answers_as_a_replay(client, open_stop, monkeypatch, relaxed):
    """The other copy commits between this request's key check and its insert: the unique key decides."""
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
    db.session.add(Feedback(stop_id=open_stop.id, rating=2, idempotency_key=data["idempotency_key"]))
    db.session.commit()
    real_find = service.find
    calls = []

    def find_too_late(key):
        calls.append(key)
        return None if len(calls) == 1 else real_find(key)

    monkeypatch.setattr(service, "find", find_too_late)
    response = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert len(calls) == 2
    assert response.status_code == 200 and response.json["state"] == "saved"
    assert count() == 1 and db.session.scalar(sa.select(Feedback.rating)) == 2


def test_a_form_without_a_key_is_still_stored_once_per_sending(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "idempotency_key": "<script>"}
    assert client.post(f"/f/{open_stop.id}", data=data).status_code == 303
    key = db.session.scalar(sa.select(Feedback.idempotency_key))
    uuid.UUID(key)


# --- limits -------------------------------------------------------------------------------------------------


def test_one_phone_cannot_send_many_answers_for_one_workshop(client, open_stop, clock, relaxed):
    workshop, other = open_stop.workshops
    for _ in range(3):
        data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "5", "workshop": str(workshop.id)}
        assert client.post(f"/f/{open_stop.id}", data=data, headers=JSON).status_code == 201

    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "1", "workshop": str(workshop.id)}
    refused = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert refused.status_code == 409
    assert refused.json["state"] == "refused" and "höchstens 3" in refused.json["message"]
    page = client.post(f"/f/{open_stop.id}", data=data)
    assert page.status_code == 409 and "höchstens 3" in page.get_data(as_text=True)
    fragment = client.post(f"/f/{open_stop.id}", data=data, headers=HTMX)
    assert fragment.status_code == 409
    assert fragment.get_data(as_text=True).lstrip().startswith('<section id="closed"')
    assert count() == 3

    # Another workshop of the same visit is a different question.
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "workshop": str(other.id)}
    assert client.post(f"/f/{open_stop.id}", data=data, headers=JSON).status_code == 201
    # Another phone is not affected.
    client.delete_cookie("fbdev", path="/f")
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "workshop": str(workshop.id)}
    assert client.post(f"/f/{open_stop.id}", data=data, headers=JSON).status_code == 201
    assert count() == 5


def test_device_limit_counts_per_day(client, open_stop, clock, relaxed):
    for _ in range(3):
        data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "5"}
        assert client.post(f"/f/{open_stop.id}", data=data, headers=JSON).status_code == 201
    clock.at += timedelta(days=1)
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "5"}
    assert client.post(f"/f/{open_stop.id}", data=data, headers=JSON).status_code == 201
    hashes = set(db.session.scalars(sa.select(Feedback.device_hash)))
    assert len(hashes) == 2  # the same phone cannot be followed from one day to the next


def test_rate_limit_answers_429_with_a_friendly_page(app, client, open_stop):
    app.config["RATELIMIT_FEEDBACK"] = "2/600"
    for _ in range(2):
        data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
        assert client.post(f"/f/{open_stop.id}", data=data).status_code == 303
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
    response = client.post(f"/f/{open_stop.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 429
    assert "Zu viele Versuche" in html and "<html" in html
    as_json = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert as_json.status_code == 429 and as_json.json["ok"] is False
    # Reading the form is not limited.
    assert client.get(f"/f/{open_stop.id}").status_code == 200
    assert count() == 2


# --- when feedback is open ------------------------------------------------------------------------------------


def test_feedback_opens_when_the_visit_begins(client, make_stop, clock, relaxed):
    stop = make_stop(starts_at=clock.at + timedelta(hours=2))
    page = client.get(f"/f/{stop.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Rückmeldungen sind möglich, sobald der Besuch beginnt." in html
    assert 'id="feedback"' not in html
    token = csrf_token(client, "/signin")
    refused = client.post(f"/f/{stop.id}", data={"csrf_token": token, "rating": "4",
                                                  "idempotency_key": str(uuid.uuid4())}, headers=JSON)
    assert refused.status_code == 409 and refused.json["state"] == "refused"
    assert count() == 0


def test_feedback_closes_two_weeks_after_the_visit(client, open_stop, clock, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4"}
    clock.at = open_stop.ends_at + timedelta(days=13, hours=23)
    assert client.post(f"/f/{open_stop.id}", data=data, headers=JSON).status_code == 201
    clock.at = open_stop.ends_at + timedelta(days=14)
    data = data | {"idempotency_key": str(uuid.uuid4())}
    closed = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert closed.status_code == 409 and closed.json["message"] == "Rückmeldungen für diesen Besuch sind geschlossen."
    assert count() == 1


def test_cancelled_and_draft_stops_take_no_feedback(client, make_stop, clock, relaxed):
    cancelled = make_stop(starts_at=clock.at - timedelta(hours=1), status=StopStatus.CANCELLED)
    draft = make_stop(starts_at=clock.at - timedelta(hours=1), status=StopStatus.DRAFT, place="Geheim")
    token = csrf_token(client, "/signin")
    data = {"csrf_token": token, "rating": "4", "idempotency_key": str(uuid.uuid4())}
    assert client.get(f"/f/{cancelled.id}").status_code == 200
    assert client.post(f"/f/{cancelled.id}", data=data, headers=JSON).status_code == 409
    assert client.get(f"/f/{draft.id}").status_code == 404
    refused = client.post(f"/f/{draft.id}", data=data, headers=JSON)
    assert refused.status_code == 409 and refused.json["state"] == "refused"
    page = client.post(f"/f/{draft.id}", data=data)
    assert page.status_code == 409 and "Geheim" not in page.get_data(as_text=True)
    assert count() == 0


def test_thanks_and_closed_pages_in_both_languages(client, open_stop, make_stop, clock):
    later = make_stop(starts_at=clock.at + timedelta(days=2))
    for lang, thanks, closed in [("de", "Vielen Dank!", "Rückmeldungen sind möglich, sobald der Besuch beginnt."),
                                 ("en", "Thank you!", "Feedback opens when the visit begins.")]:
        headers = {"Accept-Language": lang}
        page = client.get(f"/f/{open_stop.id}/thanks", headers=headers).get_data(as_text=True)
        assert f'lang="{lang}"' in page and thanks in page
        page = client.get(f"/f/{later.id}", headers=headers).get_data(as_text=True)
        assert f'lang="{lang}"' in page and closed in page


def test_unknown_stop_is_a_friendly_404(client, relaxed):
    page = client.get("/f/999999")
    assert page.status_code == 404 and "Seite nicht gefunden" in page.get_data(as_text=True)
    assert client.get("/f/w/999999").status_code == 404
    token = csrf_token(client, "/signin")
    gone = client.post("/f/999999", data={"csrf_token": token, "rating": "4"}, headers=JSON)
    assert gone.status_code == 404
    assert gone.json["ok"] is False and gone.json["state"] == "refused" and gone.json["message"]


# --- bad input ------------------------------------------------------------------------------------------------


def test_no_rating_is_a_clear_message_with_the_text_kept(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"learned": "Wie man Fotos teilt", "age_group": "65_79"}
    response = client.post(f"/f/{open_stop.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Bitte wählen Sie ein Gesicht von 1 bis 5." in html and 'id="error-summary"' in html
    assert re.search(r">\s*Wie man Fotos teilt</textarea>", html)
    assert re.search(r'<option selected value="65_79">|<option value="65_79" selected>', html)
    assert count() == 0


@pytest.mark.parametrize("rating", ["7", "0", "-1", "3.5", "abc", "", "99999999999999999999"])
def test_rating_out_of_range_is_refused(client, open_stop, rating, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": rating}
    response = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert response.status_code == 422
    assert response.json["state"] == "invalid" and response.json["errors"]["rating"]
    html = client.post(f"/f/{open_stop.id}", data=data).get_data(as_text=True)
    assert "Bitte wählen Sie" in html
    assert count() == 0


def test_a_100_kb_comment_is_refused_whole_and_clearly(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "learned": "x" * 100_000}
    response = client.post(f"/f/{open_stop.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Zu viel Text" in html and "kürzen" in html
    as_json = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert as_json.status_code == 413 and as_json.json["ok"] is False
    assert count() == 0


def test_a_long_comment_gets_a_message_saying_how_long_it_is(client, open_stop, relaxed):
    text = "Sehr gut erklärt. " * 120  # about 2160 characters: under the request limit, over the field's
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "missing": text}
    response = client.post(f"/f/{open_stop.id}", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f"höchstens 2000 Zeichen. Jetzt sind es {len(text.strip())}." in html
    assert text.strip()[:200] in html  # kept for shortening
    en = client.post(f"/f/{open_stop.id}", data=data, headers=JSON | {"Accept-Language": "en"})
    assert en.json["errors"]["missing"] == [
        f"Please shorten this to 2000 characters at most. It has {len(text.strip())} now."]
    assert count() == 0


def test_html_in_a_comment_is_stored_as_text_and_never_run(client, open_stop, relaxed):
    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    data = fresh_form(client, f"/f/{open_stop.id}") | {"learned": hostile, "wish_other": hostile[:60]}
    response = client.post(f"/f/{open_stop.id}", data=data)  # no rating: the text comes back in the form
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "<script>alert" not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html

    data["rating"] = "3"
    assert client.post(f"/f/{open_stop.id}", data=data).status_code == 303
    assert db.session.scalar(sa.select(Feedback.learned)) == hostile


def test_control_characters_are_dropped(client, open_stop, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", "learned": "a\x00b\x07c\r\nd"}
    assert client.post(f"/f/{open_stop.id}", data=data).status_code == 303
    assert db.session.scalar(sa.select(Feedback.learned)) == "abc\nd"


@pytest.mark.parametrize("field,value", [
    ("wish_topic", "hacking"), ("age_group", "200"), ("workshop", "abc"), ("workshop", "-5"),
    ("wish_other", "y" * 201),
])
def test_unknown_choices_are_clear_messages(client, open_stop, field, value, relaxed):
    data = fresh_form(client, f"/f/{open_stop.id}") | {"rating": "4", field: value}
    response = client.post(f"/f/{open_stop.id}", data=data, headers=JSON)
    assert response.status_code == 422 and field in response.json["errors"]
    assert count() == 0


def test_without_csrf_token_nothing_is_stored(client, open_stop, relaxed):
    response = client.post(f"/f/{open_stop.id}", data={"rating": "4", "idempotency_key": str(uuid.uuid4())})
    assert response.status_code == 400
    assert count() == 0


def test_form_leaves_validation_to_the_server(client, make_stop, now):
    """The browser's own English bubbles would hide the messages next to the faces."""
    from datetime import timedelta

    stop = make_stop(starts_at=now - timedelta(hours=1))
    page = client.get(f"/f/{stop.id}").get_data(as_text=True)
    assert 'id="feedback"' in page and "novalidate" in page.split('id="feedback"')[1].split(">")[0]


# --- answers given offline to the bus's code ---------------------------------------------------------------


def test_an_answer_given_offline_goes_to_the_stop_the_bus_was_at_then(client, make_stop, make_workshop, clock,
                                                                      relaxed):
    clock.at = berlin(2026, 11, 26, 11, 0)
    morning = make_stop(starts_at=berlin(2026, 11, 26, 9, 0), hours=3, place="Vormittag")
    workshop = make_workshop(stop=morning, title="Videoanrufe")
    afternoon = make_stop(starts_at=berlin(2026, 11, 26, 14, 0), hours=3, place="Nachmittag")
    data = form_fields(client.get("/f").get_data(as_text=True))  # the copy the phone keeps, made at the morning stop

    # Given in the bus at 11:30 without reception; the outbox sends it at 15:10, at the afternoon stop.
    given = berlin(2026, 11, 26, 11, 30)
    clock.at = berlin(2026, 11, 26, 15, 10)
    response = client.post("/f", data=data | {"rating": "5", "workshop": str(workshop.id),
                                               "given_at": given.astimezone(timezone.utc).isoformat()}, headers=JSON)
    assert response.status_code == 201
    stored = db.session.scalar(sa.select(Feedback))
    assert stored.stop_id == morning.id and stored.workshop_id == workshop.id
    assert stored.given_at == given
    assert afternoon.id != morning.id


def test_a_workshop_of_another_stop_on_an_old_copy_counts_for_the_visit(client, make_stop, make_workshop, clock,
                                                                        relaxed):
    clock.at = berlin(2026, 11, 26, 11, 0)
    yesterday = make_stop(starts_at=berlin(2026, 11, 25, 9, 0), hours=3)
    old_workshop = make_workshop(stop=yesterday)
    today = make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3)
    data = form_fields(client.get("/f").get_data(as_text=True)) | {"rating": "3", "workshop": str(old_workshop.id)}
    assert client.post("/f", data=data, headers=JSON).status_code == 201
    stored = db.session.scalar(sa.select(Feedback))
    assert stored.stop_id == today.id and stored.workshop_id is None


@pytest.mark.parametrize("given", ["2026-11-26T20:00:00+00:00", "gestern", "2026-11-26T11:30:00", "9" * 50])
def test_a_time_in_the_future_or_not_a_time_counts_as_arrival(client, make_stop, clock, relaxed, given):
    clock.at = berlin(2026, 11, 26, 11, 0)
    stop = make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3)
    data = form_fields(client.get("/f").get_data(as_text=True)) | {"rating": "4", "given_at": given}
    assert client.post("/f", data=data, headers=JSON).status_code == 201
    stored = db.session.scalar(sa.select(Feedback))
    assert stored.stop_id == stop.id and stored.given_at == clock.at


def test_an_answer_from_a_time_without_a_stop_is_refused_clearly(client, make_stop, clock, relaxed):
    clock.at = berlin(2026, 11, 26, 11, 0)
    make_stop(starts_at=berlin(2026, 11, 26, 10, 0), hours=3)
    data = form_fields(client.get("/f").get_data(as_text=True)) | {"rating": "4"}
    early = berlin(2026, 11, 26, 7, 0).isoformat()
    response = client.post("/f", data=data | {"given_at": early}, headers=JSON)
    assert response.status_code == 409 and response.json["state"] == "refused"
    page = client.post("/f", data=data | {"given_at": early})
    assert page.status_code == 409 and "role=\"alert\"" in page.get_data(as_text=True)
    assert count() == 0
    # The same answer, once stored, is answered as stored even when resent with another time.
    assert client.post("/f", data=data, headers=JSON).status_code == 201
    assert client.post("/f", data=data | {"given_at": early}, headers=JSON).status_code == 200
    assert count() == 1
