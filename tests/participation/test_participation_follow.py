"""Following one's own idea by a private link, without an account: the thank-you page gives the link once an idea
was left, every repeat of the form gets the same one, and the link shows the moderation, the status, the city's
answer and where a merged idea went; the table keeps only the link's hash."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.participation import service
from busapp.participation.models import Consultation, Idea, IdeaStatus
from tests.conftest import csrf_token


@pytest.fixture
def consultation(app, now):
    c = Consultation(title="Digitales Lübeck", idea_question="Was soll einfacher werden?",
                     starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=10))
    db.session.add(c)
    db.session.commit()
    return c


def _leave(client, c, key: str, idea: str = "Mehr Bänke am Bus"):
    token = csrf_token(client, f"/mitreden/{c.id}")
    return client.post(f"/mitreden/{c.id}", data={"csrf_token": token, "idempotency_key": key, "idea": idea})


def _link(client, response) -> str:
    page = client.get(response.headers["Location"])
    assert page.headers["Referrer-Policy"] == "no-referrer" and page.headers["Cache-Control"] == "no-store"
    return re.search(r'<a href="(http://[^"]+/mitreden/idee/[^"]+)"', page.get_data(as_text=True)).group(1)


def test_the_thank_you_page_gives_a_private_link_and_a_repeat_the_same(client, consultation):
    first = _leave(client, consultation, "follow-key-0001")
    assert first.status_code == 303 and "folgen=" in first.headers["Location"]
    link = _link(client, first)
    again = _leave(client, consultation, "follow-key-0001")
    assert _link(client, again) == link
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 22 and token not in str(db.session.execute(sa.select(Idea.__table__)).all())
    page = client.get(link.replace("http://localhost", ""))
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Mehr Bänke am Bus" in html and "noch nicht gelesen" in html
    assert page.headers["X-Robots-Tag"] == "noindex, nofollow"


def test_no_idea_no_link(client, consultation):
    c = consultation
    c.questions = []
    db.session.commit()
    from busapp.participation.models import Question, QuestionKind

    c.questions = [Question(position=1, kind=QuestionKind.SINGLE, text="Wie oft?", options=["oft", "selten"])]
    db.session.commit()
    token = csrf_token(client, f"/mitreden/{c.id}")
    response = client.post(f"/mitreden/{c.id}", data={"csrf_token": token, "idempotency_key": "follow-none-01",
                                                      f"q{c.questions[0].id}": "0"})
    assert response.status_code == 303 and "folgen" not in response.headers["Location"]
    # A made-up link, or another consultation's thank-you page with a real link, shows nothing.
    assert client.get("/mitreden/idee/" + "A" * 24).status_code == 404
    html = client.get(f"/mitreden/{c.id}/danke?folgen=nothing").get_data(as_text=True)
    assert "/mitreden/idee/" not in html


def test_the_link_shows_status_answer_and_where_a_merged_idea_went(client, consultation):
    link = _link(client, _leave(client, consultation, "follow-key-0002", "WLAN bitte")).replace("http://localhost", "")
    mine = db.session.scalar(sa.select(Idea).where(Idea.text == "WLAN bitte"))
    kept = Idea(consultation_id=consultation.id, text="Mehr WLAN im Bus")
    db.session.add(kept)
    db.session.commit()
    with client.application.test_request_context():
        service.publish(mine)
        service.answer(mine, IdeaStatus.REVIEW, "Wir prüfen das.")
    html = client.get(link).get_data(as_text=True)
    assert "Sie ist auf der Seite „Mitreden“ veröffentlicht." in html and "Wir prüfen das." in html
    with client.application.test_request_context():
        service.publish(kept)
        service.answer(kept, IdeaStatus.TAKEN, "Kommt in die Strategie.")
        service.merge(mine, kept)
    html = client.get(link).get_data(as_text=True)
    assert "Mehr WLAN im Bus" in html and "Kommt in die Strategie." in html and "Wir prüfen das." not in html
    with client.application.test_request_context():
        service.hide(kept, "off_topic")
    html = client.get(link).get_data(as_text=True)
    assert "nicht veröffentlicht" in html and "Passt nicht zu dieser Frage" in html
