"""Paper cards typed in by staff: bus volunteers and coordinators may, residents may not; each card is recorded as
from paper, at a stop of the consultation, with who typed it; cards kept by a tablet without network arrive later
through its outbox and count once each, and a refusal comes back as JSON the outbox shows."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import AuditEvent
from busapp.participation import service
from busapp.participation.models import Channel, Consultation, Contribution, Idea, Question, QuestionKind
from tests.conftest import csrf_token

OUTBOX = {"X-Outbox": "1", "Accept": "application/json"}


@pytest.fixture
def make_consultation(app, now):
    def make(starts=-1, ends=10, title="Digitales Lübeck") -> Consultation:
        c = Consultation(title=title, idea_question="Was soll digital einfacher werden?",
                         starts_at=now + timedelta(days=starts), ends_at=now + timedelta(days=ends))
        c.questions = [Question(position=1, kind=QuestionKind.SINGLE, text="Wie oft?", options=["oft", "selten"])]
        db.session.add(c)
        db.session.commit()
        return c

    return make


def _card(token: str, key: str, **fields) -> dict:
    return {"csrf_token": token, "idempotency_key": key, **fields}


def _paper_rows():
    return db.session.execute(sa.select(Contribution.channel, Idea.text).join(Idea, isouter=True)
                              .order_by(Contribution.id)).all()


def test_a_staff_member_types_a_card_recorded_as_paper_with_who_typed_it(client, login, make_consultation, make_stop,
                                                                         now):
    c = make_consultation()
    stop = make_stop(starts_at=now - timedelta(hours=1), place="Marktplatz")
    user = login("staff")
    page = client.get(f"/admin/mitreden/{c.id}/papier")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-outbox="paper"' in html and "data-outbox-next" in html
    assert "Marktplatz" in html and "data-outbox-private" not in html
    token = csrf_token(client, f"/admin/mitreden/{c.id}/papier")
    response = client.post(f"/admin/mitreden/{c.id}/papier", data=_card(
        token, "paper-staff-0001", idea="Kurse am Samstag", paper_stop=str(stop.id),
        **{f"q{c.questions[0].id}": "0"}))
    assert response.status_code == 303
    # The next card starts with the same stop chosen: cards come in piles from one stop.
    assert response.headers["Location"].endswith(f"/admin/mitreden/{c.id}/papier?halt={stop.id}")
    next_card = client.get(response.headers["Location"]).get_data(as_text=True)
    assert re.search(rf'<option selected value="{stop.id}">', next_card)
    assert "Kurse am Samstag" not in next_card and "checked" not in next_card
    row = db.session.scalars(sa.select(Contribution)).one()
    assert (row.channel, row.stop_id, row.locale) == (Channel.PAPER, stop.id, "de")
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mitreden-paper")).one()
    assert (event.user_id, event.object_id) == (user.id, str(row.id))


def test_a_resident_cannot_type_cards(client, make_consultation):
    c = make_consultation()
    for path in (f"/admin/mitreden/{c.id}/papier", "/admin/mitreden/papier"):
        response = client.get(path)
        assert response.status_code == 302 and "/signin" in response.headers["Location"], path
    token = csrf_token(client, "/signin")
    card = _card(token, "paper-anon-0001", idea="Hallo")
    response = client.post(f"/admin/mitreden/{c.id}/papier", data=card)
    assert response.status_code == 303 and "/signin" in response.headers["Location"]
    # Kept by the outbox of a device whose sign-in is gone: a 401 it shows, nothing stored.
    response = client.post(f"/admin/mitreden/{c.id}/papier", data=card, headers=OUTBOX)
    assert response.status_code == 401
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 0


def test_cards_kept_without_network_count_once_each_in_any_order(client, login, make_consultation):
    c = make_consultation()
    login("staff")
    token = csrf_token(client, f"/admin/mitreden/{c.id}/papier")
    cards = [_card(token, f"paper-kept-{n:04d}", idea=f"Karte {n}") for n in range(3)]
    # The outbox sends the second and the third; the first twice (its answer was lost on the way).
    answers = [client.post(f"/admin/mitreden/{c.id}/papier", data=card, headers=OUTBOX)
               for card in (cards[1], cards[0], cards[2], cards[0])]
    assert [a.status_code for a in answers] == [201, 201, 201, 200]
    assert all(a.get_json()["ok"] is True for a in answers)
    assert answers[-1].get_json()["message"] == "Diese Karte war schon gespeichert."
    # The form sent again by hand after a lost answer: told so, counted nothing.
    again = client.post(f"/admin/mitreden/{c.id}/papier", data=cards[1])
    assert again.status_code == 303
    assert "Diese Karte war schon gespeichert." in client.get(again.headers["Location"]).get_data(as_text=True)
    assert _paper_rows() == [(Channel.PAPER, "Karte 1"), (Channel.PAPER, "Karte 0"), (Channel.PAPER, "Karte 2")]


def test_a_coordinator_types_cards_too(client, login, make_consultation):
    c = make_consultation()
    login("coordinator")
    token = csrf_token(client, f"/admin/mitreden/{c.id}/papier")
    response = client.post(f"/admin/mitreden/{c.id}/papier", data=_card(token, "paper-coord-0001", idea="Von Hand"),
                           headers=OUTBOX)
    assert response.status_code == 201
    assert _paper_rows() == [(Channel.PAPER, "Von Hand")]


def test_refusals_come_back_where_they_are_seen(client, login, make_consultation):
    closed = make_consultation(starts=-40, ends=-service.PAPER_DAYS - 1)
    running = make_consultation()
    login("staff")
    token = csrf_token(client, f"/admin/mitreden/{running.id}/papier")
    # Kept on the tablet and sent later: JSON the outbox lists, with the reason.
    late = client.post(f"/admin/mitreden/{closed.id}/papier", data=_card(token, "paper-late-0001", idea="Spät"),
                       headers=OUTBOX)
    assert late.status_code == 409 and late.get_json()["ok"] is False and "beendet" in late.get_json()["message"]
    empty = client.post(f"/admin/mitreden/{running.id}/papier", data=_card(token, "paper-empty-0001"), headers=OUTBOX)
    assert empty.status_code == 422 and empty.get_json()["errors"]["idea"]
    # Sent online: the page again, with the reason in place of the form.
    page = client.post(f"/admin/mitreden/{closed.id}/papier", data=_card(token, "paper-late-0002", idea="Spät"))
    assert page.status_code == 409 and "beendet" in page.get_data(as_text=True)
    page = client.post(f"/admin/mitreden/{running.id}/papier", data=_card(token, "paper-empty-0002"))
    assert page.status_code == 422 and "error-summary" in page.get_data(as_text=True)
    # A refused card can be typed again: the same key is not taken.
    again = client.post(f"/admin/mitreden/{running.id}/papier", data=_card(token, "paper-empty-0001", idea="Jetzt"),
                        headers=OUTBOX)
    assert again.status_code == 201
    assert _paper_rows() == [(Channel.PAPER, "Jetzt")]


def test_staff_find_the_consultations_taking_cards(client, login, make_consultation):
    running = make_consultation(title="Läuft")
    ended = make_consultation(starts=-20, ends=-2, title="Vorbei, Karten noch")
    make_consultation(starts=-40, ends=-service.PAPER_DAYS - 1, title="Lange vorbei")
    make_consultation(starts=2, ends=9, title="Kommt noch")
    login("staff")
    landing = client.get("/staff/").get_data(as_text=True)
    assert 'href="/admin/mitreden/papier"' in landing
    html = client.get("/admin/mitreden/papier").get_data(as_text=True)
    assert f'href="/admin/mitreden/{running.id}/papier"' in html and f'href="/admin/mitreden/{ended.id}/papier"' in html
    assert "Lange vorbei" not in html and "Kommt noch" not in html
    # Staff do not see the coordinators' list of consultations, which they may not open.
    card = client.get(f"/admin/mitreden/{running.id}/papier").get_data(as_text=True)
    assert 'href="/admin/mitreden"' not in card and 'href="/admin/mitreden/papier"' in card
    assert client.get("/admin/mitreden").status_code == 403


def test_the_card_form_says_how_many_cards_wait_in_german(client, login, make_consultation):
    c = make_consultation()
    login("staff")
    html = client.get(f"/admin/mitreden/{c.id}/papier").get_data(as_text=True)
    assert "Karte gespeichert. {n} Karten warten auf das Netz." in html
    assert "Karte gespeichert. {n} Karte wartet auf das Netz." in html


def test_a_prepared_tablet_keeps_the_paper_pages_for_opening_without_network(client, login, make_consultation,
                                                                              make_stop, make_user, now):
    """Cards can be typed in without network even when the form was not opened before: the day's data names the
    paper pages, and each is marked as a copy the tablet may keep; a consultation past its paper days is not."""
    from tests.checkin.test_checkin_views import copy_mark, set_up_tablet

    running = make_consultation()
    over = make_consultation(starts=-60, ends=-30, title="Vorbei")
    stop = make_stop(starts_at=now - timedelta(minutes=30))
    login("staff")
    credential = set_up_tablet(client, make_user)
    day = client.get(f"/staff/day.json?stop={stop.id}", headers={"X-Device-Credential": credential}).json
    paper = [p for p in day["pages"] if "/mitreden/" in p]
    assert paper == ["/admin/mitreden/papier", f"/admin/mitreden/{running.id}/papier"]
    assert f"/admin/mitreden/{over.id}/papier" not in day["pages"]
    assert all(copy_mark(client.get(path)) for path in paper)
    # A card sent from the form is not a page to keep.
    token = csrf_token(client, f"/admin/mitreden/{running.id}/papier")
    sent = client.post(f"/admin/mitreden/{running.id}/papier", data=_card(token, "paper-kept-0001", idea="Mehr Kurse"))
    assert sent.status_code in (303, 422) and copy_mark(sent) is None
