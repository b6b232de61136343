"""Mitreden's rules: periods, limits per device and address, exactly once, flagging, moderation, support, report."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from busapp.core.extensions import db
from busapp.participation import service
from busapp.participation.models import (
    Channel, Consultation, Contribution, Idea, IdeaStatus, Moderation, Question, QuestionKind, Support,
)
from busapp.participation.service import Refused, Submission


@pytest.fixture
def make_consultation(app, now):
    def make(starts=-1, ends=10, **kw) -> Consultation:
        c = Consultation(title="Digitales Lübeck", intro="Sagen Sie uns Ihre Meinung.",
                         idea_question="Was soll in Ihrem Stadtteil digital einfacher werden?",
                         texts={"en": {"title": "Digital Lübeck"}},
                         starts_at=now + timedelta(days=starts), ends_at=now + timedelta(days=ends),
                         topics=["Verwaltung", "Bildung"], **kw)
        c.questions = [
            Question(position=1, kind=QuestionKind.SINGLE, text="Wie oft?", options=["oft", "selten"]),
            Question(position=2, kind=QuestionKind.MULTIPLE, text="Was nutzen Sie?", options=["Handy", "PC", "Tablet"]),
            Question(position=3, kind=QuestionKind.SCALE, text="Wie zufrieden?"),
        ]
        db.session.add(c)
        db.session.commit()
        return c

    return make


@pytest.fixture
def request_ctx(app):
    with app.test_request_context("/mitreden/1?lang=en", method="POST", environ_base={"REMOTE_ADDR": "198.51.100.7"}):
        yield


def _save(c, key, channel=Channel.PHONE, device="d" * 32, **kw):
    return service.save(c, Submission(**kw), key=key, channel=channel, device_token=device)


def test_text_falls_back_to_german(make_consultation):
    c = make_consultation()
    assert c.text("title", "en") == "Digital Lübeck"
    assert c.text("title", "tr") == "Digitales Lübeck"
    assert c.text("intro", "en") == "Sagen Sie uns Ihre Meinung."


def test_answers_only_inside_the_period(make_consultation, request_ctx):
    before = make_consultation(starts=1, ends=3)
    with pytest.raises(Refused, match="opens"):
        _save(before, "k-before-0001")
    after = make_consultation(starts=-5, ends=-1)
    with pytest.raises(Refused, match="closed"):
        _save(after, "k-after-00001")
    running = make_consultation()
    assert _save(running, "k-running-001").replay is False
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 1


def test_paper_cards_are_taken_some_days_after_the_end(make_consultation, request_ctx):
    ended = make_consultation(starts=-5, ends=-1)
    assert _save(ended, "paper-card-01", channel=Channel.PAPER, device="").replay is False
    long_ago = make_consultation(starts=-40, ends=-service.PAPER_DAYS - 1)
    with pytest.raises(Refused):
        _save(long_ago, "paper-card-02", channel=Channel.PAPER, device="")


def test_a_retry_with_the_same_key_is_counted_once(make_consultation, request_ctx):
    c = make_consultation()
    first = _save(c, "offline-key-01", idea="Mehr WLAN im Bus", choices={c.questions[0].id: [1]})
    again = _save(c, "offline-key-01", idea="Mehr WLAN im Bus", choices={c.questions[0].id: [1]})
    assert (first.replay, again.replay) == (False, True)
    assert again.contribution_id == first.contribution_id
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 1
    assert db.session.scalar(sa.select(sa.func.count(Idea.id))) == 1


def test_a_retry_after_the_end_still_gets_its_first_result(make_consultation, request_ctx, now):
    c = make_consultation()
    first = _save(c, "late-retry-01")
    c.ends_at = now - timedelta(minutes=1)
    c.starts_at = now - timedelta(days=2)
    db.session.commit()
    assert _save(c, "late-retry-01").contribution_id == first.contribution_id


def test_a_retry_does_not_count_against_the_limit(app, make_consultation, request_ctx):
    app.config["FEEDBACK_DEVICE_LIMIT"] = 2
    c = make_consultation()
    _save(c, "limit-retry-1")
    for _ in range(3):
        _save(c, "limit-retry-1")
    assert _save(c, "limit-retry-2").replay is False


def test_limit_per_device(app, make_consultation, request_ctx):
    app.config["FEEDBACK_DEVICE_LIMIT"] = 2
    c = make_consultation()
    _save(c, "device-one-01")
    _save(c, "device-one-02")
    with pytest.raises(Refused, match="several times"):
        _save(c, "device-one-03")
    # Another consultation has its own count; another device too.
    assert _save(make_consultation(), "device-one-04").replay is False
    assert _save(c, "device-two-01", device="e" * 32).replay is False


def test_limit_per_address_whatever_the_cookie(app, make_consultation, request_ctx):
    app.config["FEEDBACK_ADDRESS_LIMIT"] = 3
    c = make_consultation()
    for n in range(3):
        _save(c, f"address-key-{n}", device=f"{n}" * 32)
    with pytest.raises(Refused, match="internet connection"):
        _save(c, "address-key-9", device="9" * 32)
    # Staff typing in paper cards are not limited.
    assert _save(c, "address-paper", channel=Channel.PAPER, device="").replay is False


@pytest.mark.parametrize("text, flag", [
    ("Ruf mich an: 0451 123 45 67", "phone"),
    ("+49 451 1234567 bitte", "phone"),
    ("schreibt an erika@example.org", "email"),
    ("Ich wohne Moislinger Allee 12a", "address"),
    ("Wir brauchen mehr Kurse in der Breiten Straße 5", "address"),
    ("Mehr WLAN im Bus und 3 Kurse pro Woche", ""),
    ("Die Linie 11 fährt um 10 Uhr", ""),
])
def test_flagging(text, flag):
    assert service.flag_for(text) == flag


def test_flagged_idea_waits_for_moderation(make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "flag-idea-001", idea="Bitte anrufen 0451 9876543", topic="Bildung")
    idea = db.session.scalar(sa.select(Idea))
    assert (idea.flag, idea.moderation, idea.topic) == ("phone", Moderation.NEW, "Bildung")
    assert service.published_ideas() == []


def test_an_unknown_topic_is_dropped(make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "topic-idea-01", idea="Etwas", topic="Erfunden")
    assert db.session.scalar(sa.select(Idea.topic)) == ""


def test_moderation_states(make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "moderate-0001", idea="Mehr Kurse")
    idea = db.session.scalar(sa.select(Idea))
    service.publish(idea)
    assert service.published_ideas() == [idea]
    with pytest.raises(Refused):
        service.hide(idea, "")
    service.hide(idea, "duplicate")
    assert (idea.moderation, idea.hidden_reason) == (Moderation.HIDDEN, "duplicate")
    assert service.published_ideas() == []
    service.publish(idea)
    assert idea.hidden_reason == ""


def test_hidden_needs_a_reason_in_the_database_too(make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "moderate-0002", idea="Mehr Kurse")
    with pytest.raises(IntegrityError):
        db.session.execute(sa.update(Idea).values(moderation=Moderation.HIDDEN))
        db.session.commit()
    db.session.rollback()


def test_status_and_answer(make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "answer-00001", idea="Alles auf Papier")
    idea = db.session.scalar(sa.select(Idea))
    assert idea.status == IdeaStatus.RECEIVED
    with pytest.raises(Refused):
        service.answer(idea, IdeaStatus.NOT_POSSIBLE, "  ")
    service.answer(idea, IdeaStatus.NOT_POSSIBLE, "Die Formulare gibt es weiter auf Papier.")
    assert idea.status == IdeaStatus.NOT_POSSIBLE
    service.answer(idea, IdeaStatus.TAKEN, "")
    assert idea.status == IdeaStatus.TAKEN


def test_one_support_per_device_and_idea(make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "support-0001", idea="Mehr WLAN")
    idea = db.session.scalar(sa.select(Idea))
    assert service.support(idea, "a" * 32) is False  # not published yet
    service.publish(idea)
    assert service.support(idea, "a" * 32) is True
    assert service.support(idea, "a" * 32) is False
    assert service.support(idea, "b" * 32) is True
    db.session.refresh(idea)
    assert idea.supports == 2
    assert db.session.scalar(sa.select(sa.func.count(Support.id))) == 2
    assert service.supported("a" * 32, [idea.id]) == {idea.id}


def test_contributions_are_never_linked_to_bookings_or_people():
    for model in (Contribution, Idea, Support):
        targets = {fk.column.table.name for fk in model.__table__.foreign_keys}
        assert not targets & {"booking", "user", "check_in"}, model
        assert not {"name", "email", "phone"} & set(model.__table__.columns.keys()), model


def test_report_against_a_hand_counted_fixture(make_consultation, make_district, request_ctx):
    c = make_consultation()
    north, south = make_district(name="Nord"), make_district(name="Süd")
    single, multiple, scale = c.questions
    answers = [
        # channel, age, district, internet, single, multiple, scale
        (Channel.PHONE, "30_49", north.id, "daily", [0], [0, 1], [5]),
        (Channel.PHONE, "65_79", north.id, "rarely", [1], [0], [4]),
        (Channel.STATION, "65_79", south.id, "never", [1], [], [4]),
        (Channel.PAPER, "80_plus", None, "never", [], [2], []),
        (Channel.PAPER, "", None, "", [0], [0, 1, 2], [1]),
    ]
    for n, (channel, age, district, internet, s, m, sc) in enumerate(answers):
        _save(c, f"report-key-{n}", channel=channel, device=f"{n}" * 32, age_group=age, district_id=district,
              internet=internet, choices={single.id: s, multiple.id: m, scale.id: sc})
    r = service.report(c)
    assert r.total == 5
    assert r.by_channel == [("Phone", 2), ("Station on the bus", 1), ("Paper card", 2)]
    assert dict(r.by_district) == {"Nord": 2, "Süd": 1, "not given": 2}
    assert dict(r.by_age) == {"under 18": 0, "18 to 29": 0, "30 to 49": 1, "50 to 64": 0, "65 to 79": 2,
                              "80 or older": 1, "not given": 1}
    assert dict(r.by_internet) == {"daily": 1, "rarely": 1, "never": 2, "not given": 1}
    tables = {q.text: rows for q, rows in r.questions}
    assert tables["Wie oft?"] == [("oft", 2), ("selten", 2)]
    assert tables["Was nutzen Sie?"] == [("Handy", 3), ("PC", 2), ("Tablet", 2)]
    assert tables["Wie zufrieden?"] == [("1", 1), ("2", 0), ("3", 0), ("4", 2), ("5", 1)]


# --- the residents' pages ----------------------------------------------------------------------------------------

from tests.conftest import csrf_token  # noqa: E402


def _post(client, c, **data):
    token = csrf_token(client, f"/mitreden/{c.id}")
    page = client.get(f"/mitreden/{c.id}").get_data(as_text=True)
    data.setdefault("idempotency_key", "web-" + page.split('name="idempotency_key" type="hidden" value="')[1][:20]
                    if 'name="idempotency_key" type="hidden" value="' in page else "web-key-00001")
    return client.post(f"/mitreden/{c.id}", data={"csrf_token": token, **data})


def test_the_form_works_without_javascript(client, make_consultation, make_district):
    c = make_consultation()
    make_district(name="Moisling")
    page = client.get(f"/mitreden/{c.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'name="csrf_token"' in html and 'method="post"' in html and "<script" not in html.split("<main")[1]
    assert "Was soll in Ihrem Stadtteil digital einfacher werden?" in html
    assert 'for="age_group-0"' in html and "Moisling" in html
    single, multiple, scale = c.questions
    response = _post(client, c, **{f"q{single.id}": "1", f"q{multiple.id}": ["0", "2"], f"q{scale.id}": "4",
                                   "idea": "Mehr WLAN an Haltestellen", "topic": "Bildung", "internet": "rarely"})
    assert response.status_code == 303 and f"/mitreden/{c.id}/danke?folgen=" in response.headers["Location"]
    contribution = db.session.scalar(sa.select(Contribution))
    assert (contribution.channel, contribution.internet, contribution.age_group) == (Channel.PHONE, "rarely", "")
    assert sorted((ch.question_id, ch.value) for ch in contribution.choices) == sorted(
        [(single.id, 1), (multiple.id, 0), (multiple.id, 2), (scale.id, 4)])
    assert client.get(response.headers["Location"]).status_code == 200


def test_errors_in_place_keep_what_was_typed(client, make_consultation):
    c = make_consultation()
    single = c.questions[0]
    response = _post(client, c, **{f"q{single.id}": "7", "idea": "Mein Text bleibt"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Mein Text bleibt" in html and 'class="error-summary"' in html
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 0
    empty = _post(client, c, idempotency_key="web-empty-0001")
    assert empty.status_code == 422 and "mindestens eine Frage" in empty.get_data(as_text=True)


def test_the_same_key_twice_over_the_web_is_one_answer(client, make_consultation):
    c = make_consultation()
    for _ in range(2):
        response = _post(client, c, idempotency_key="web-retry-0001", idea="Einmal zählen")
        assert response.status_code == 303
    assert db.session.scalar(sa.select(sa.func.count(Idea.id))) == 1


def test_a_closed_consultation_shows_no_form_and_refuses(client, make_consultation):
    c = make_consultation(starts=-5, ends=-1)
    html = client.get(f"/mitreden/{c.id}").get_data(as_text=True)
    assert "beendet" in html and 'id="mitreden-form"' not in html
    token = csrf_token(client, "/signin")
    response = client.post(f"/mitreden/{c.id}", data={"csrf_token": token, "idempotency_key": "closed-key-01",
                                                      "idea": "zu spät"})
    assert response.status_code == 409 and "zu spät" not in db.session.scalars(sa.select(Idea.text)).all()


def test_a_future_consultation_is_not_public(client, make_consultation):
    c = make_consultation(starts=2, ends=5)
    assert client.get(f"/mitreden/{c.id}").status_code == 404
    assert c.title not in client.get("/mitreden").get_data(as_text=True)


def test_index_lists_published_ideas_by_topic_with_answers_and_support(client, make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "index-idea-01", idea="Öffentliches WLAN", topic="Bildung")
    _save(c, "index-idea-02", idea="Geheime Idee", device="f" * 32)
    shown, hidden = db.session.scalars(sa.select(Idea).order_by(Idea.id)).all()
    service.publish(shown)
    service.answer(shown, IdeaStatus.REVIEW, "Wir prüfen das mit den Stadtwerken.")
    html = client.get("/mitreden").get_data(as_text=True)
    assert "Öffentliches WLAN" in html and "Geheime Idee" not in html
    assert "Bildung" in html and "Wir prüfen das mit den Stadtwerken." in html and "Wird geprüft" in html
    token = csrf_token(client, "/mitreden")
    for expected in (1, 1):
        response = client.post(f"/mitreden/ideen/{shown.id}/unterstuetzen", data={"csrf_token": token})
        assert response.status_code == 303
        db.session.refresh(shown)
        assert shown.supports == expected
    assert "Sie unterstützen diese Idee." in client.get("/mitreden").get_data(as_text=True)
    assert client.post(f"/mitreden/ideen/{hidden.id}/unterstuetzen",
                       data={"csrf_token": token}).status_code == 404


def test_the_page_speaks_english_with_german_fallback(client, make_consultation):
    c = make_consultation()
    html = client.get(f"/mitreden/{c.id}?lang=en").get_data(as_text=True)
    assert "Digital Lübeck" in html and "Sagen Sie uns Ihre Meinung." in html and "About you" in html
    # The German that stands in for a missing translation says it is German and keeps to itself (an Arabic page).
    assert '<p class="intro" lang="de" dir="auto">Sagen Sie uns Ihre Meinung.</p>' in html
    arabic = client.get(f"/mitreden/{c.id}?lang=ar").get_data(as_text=True)
    assert '<bdi lang="de">Wie oft?</bdi>' in arabic and '<bdi lang="de">selten</bdi>' in arabic
    assert '<bdi lang="de">Wie oft?</bdi>' not in client.get(f"/mitreden/{c.id}").get_data(as_text=True)


# --- the coordinators' pages -------------------------------------------------------------------------------------


def test_coordinator_opens_a_consultation_with_questions(client, login, make_district):
    login("coordinator")
    north = make_district(name="Nord")
    token = csrf_token(client, "/admin/mitreden/neu")
    bad = client.post("/admin/mitreden/neu", data={
        "csrf_token": token, "title": "Digitales Lübeck", "idea_question": "Was?", "starts": "2026-12-01",
        "ends": "2026-12-20", "questions": "single: Nur eine Option | A"})
    assert bad.status_code == 422 and "Zeile 1" in bad.get_data(as_text=True)
    assert "Digitales Lübeck" in bad.get_data(as_text=True)
    response = client.post("/admin/mitreden/neu", data={
        "csrf_token": token, "title": "Digitales Lübeck", "idea_question": "Was soll einfacher werden?",
        "title_en": "Digital Lübeck", "starts": "2026-12-01", "ends": "2026-12-20", "districts": [str(north.id)],
        "topics": "Verwaltung\nBildung\n", "ask_person": "y",
        "questions": "single: Wie oft? | oft | selten\nmultiple: Was? | Handy | PC\nscale: Wie zufrieden?"})
    assert response.status_code == 303
    c = db.session.scalar(sa.select(Consultation))
    assert (c.title, c.text("title", "en"), c.topics, c.district_ids) == (
        "Digitales Lübeck", "Digital Lübeck", ["Verwaltung", "Bildung"], [north.id])
    assert [(q.kind, q.options) for q in c.questions] == [
        (QuestionKind.SINGLE, ["oft", "selten"]), (QuestionKind.MULTIPLE, ["Handy", "PC"]), (QuestionKind.SCALE, [])]
    # Lübeck's days: from the first day's midnight to the end of the last day.
    assert c.starts_at.isoformat() == "2026-11-30T23:00:00+00:00"
    assert c.ends_at.isoformat() == "2026-12-20T23:00:00+00:00"
    edit = client.get(f"/admin/mitreden/{c.id}/bearbeiten").get_data(as_text=True)
    assert "single: Wie oft? | oft | selten" in edit and 'value="2026-12-20"' in edit


def test_coordinator_moderates_and_answers(client, login, make_consultation, request_ctx):
    c = make_consultation()
    _save(c, "admin-idea-01", idea="Ruf an: 0451 1234567")
    idea = db.session.scalar(sa.select(Idea))
    login("coordinator")
    page = client.get(f"/admin/mitreden/{c.id}/ideen").get_data(as_text=True)
    assert "Enthält vielleicht persönliche Daten (phone)" in page
    token = csrf_token(client, f"/admin/mitreden/{c.id}/ideen")
    base = f"/admin/mitreden/ideen/{idea.id}"
    client.post(f"{base}/moderation", data={"csrf_token": token, f"m{idea.id}-action": "hide"})
    db.session.refresh(idea)
    assert idea.moderation == Moderation.NEW  # no reason, nothing changed
    client.post(f"{base}/moderation", data={"csrf_token": token, f"m{idea.id}-action": "hide",
                                            f"m{idea.id}-reason": "personal"})
    db.session.refresh(idea)
    assert (idea.moderation, idea.hidden_reason) == (Moderation.HIDDEN, "personal")
    client.post(f"{base}/moderation", data={"csrf_token": token, f"m{idea.id}-action": "publish"})
    client.post(f"{base}/antwort", data={"csrf_token": token, f"a{idea.id}-status": "not_possible",
                                         f"a{idea.id}-answer": ""})
    db.session.refresh(idea)
    assert (idea.moderation, idea.status) == (Moderation.PUBLISHED, IdeaStatus.RECEIVED)
    client.post(f"{base}/antwort", data={"csrf_token": token, f"a{idea.id}-status": "not_possible",
                                         f"a{idea.id}-answer": "Das Amt hat kein Telefon."})
    db.session.refresh(idea)
    assert (idea.status, idea.answer) == (IdeaStatus.NOT_POSSIBLE, "Das Amt hat kein Telefon.")


def test_staff_type_in_a_paper_card_once(client, login, make_consultation):
    c = make_consultation()
    login("coordinator")
    token = csrf_token(client, f"/admin/mitreden/{c.id}/papier")
    data = {"csrf_token": token, "idempotency_key": "paper-web-0001", "idea": "Mehr Kurse auf Papier",
            "age_group": "80_plus"}
    for _ in range(2):
        assert client.post(f"/admin/mitreden/{c.id}/papier", data=data).status_code == 303
    rows = db.session.scalars(sa.select(Contribution)).all()
    assert [(r.channel, r.age_group) for r in rows] == [(Channel.PAPER, "80_plus")]


def test_report_page_and_csv(client, login, make_consultation, make_district, request_ctx):
    c = make_consultation()
    single, multiple = c.questions[0], c.questions[1]
    _save(c, "csv-key-0001", choices={single.id: [0], multiple.id: [0, 1]}, age_group="65_79")
    _save(c, "csv-key-0002", channel=Channel.PAPER, device="", choices={single.id: [0], multiple.id: [0, 2]},
          idea="=HYPERLINK(1)")
    login("coordinator")
    html = client.get(f"/admin/mitreden/{c.id}/bericht").get_data(as_text=True)
    assert html.count("mehr als 100 %.") == 1  # only under the multiple choice question
    # Each figure is a bar chart drawn on the server beside its table: six about the people, one per question.
    assert "Wie oft?" in html and html.count('class="chart"') == 6 + len(c.questions)
    assert "<script" not in html.split('<main')[1] and "<meter" not in html
    question = html[html.index('id="figure-q%d"' % single.id):]
    question = question[:question.index("</section>")]
    bars = re.findall(r'class="chart__bar" x="[\d.]+" y="[\d.]+" width="([\d.]+)"', question)
    assert float(bars[0]) > 0 and float(bars[1]) == 0  # "oft" twice, "selten" never
    assert "100 %" in question and "0 %" in question and "Wer hat geantwortet, und wie" in html
    # Right to left (a coordinator reading in Arabic): labels right of the axis, bars growing leftwards, and the
    # SVG's own direction fixed, so that the page's direction does not turn the anchors round.
    from busapp.feedback.charts import LABEL_WIDTH, WIDTH

    arabic = client.get(f"/admin/mitreden/{c.id}/bericht?lang=ar").get_data(as_text=True)
    svg = re.search(r"<svg[^>]*class=\"chart\"[^>]*>", arabic).group(0)
    assert 'direction="ltr"' in svg
    label_x = float(re.search(r'class="chart__label" x="([\d.]+)"', arabic).group(1))
    assert label_x > WIDTH - LABEL_WIDTH
    csv = client.get(f"/admin/mitreden/{c.id}/bericht.csv")
    text = csv.get_data(as_text=True)
    assert csv.headers["Cache-Control"] == "no-store"
    assert "Gesamt;;2" in text and "Weg;Telefon;1" in text and "Weg;Papierkarte;1" in text
    assert "Wie oft?;oft;2" in text and "Altersgruppe;65 bis 79;1" in text


def test_staff_cannot_reach_the_coordinators_pages(client, login, make_consultation):
    c = make_consultation()
    login("staff")
    assert client.get(f"/admin/mitreden/{c.id}/bericht").status_code == 403


def test_the_demo_has_a_running_consultation_with_published_answered_ideas(app, client):
    from busapp.dev import demo

    demo.load(with_users=False)
    html = client.get("/mitreden").get_data(as_text=True)
    assert "Lübeck digital: Was soll einfacher werden?" in html
    assert "Das nehmen wir in die Strategie auf" in html and "0451" not in html
    c = db.session.scalar(sa.select(Consultation))
    assert service.report(c).total == 15
    assert client.get(f"/mitreden/{c.id}").status_code == 200


def test_every_page_leads_to_mitreden(client):
    html = client.get("/").get_data(as_text=True)
    nav = html[html.index('<nav class="site-nav"'):html.index("</nav>")]
    assert 'href="/mitreden"' in nav and "Mitreden" in nav


def test_open_data_has_published_ideas_and_nothing_about_their_authors(client, make_consultation, make_district,
                                                                        request_ctx):
    c = make_consultation()
    district = make_district(name="Moisling")
    _save(c, "open-data-001", idea="Öffentliches WLAN", topic="Bildung", age_group="65_79",
          district_id=district.id, internet="never")
    _save(c, "open-data-002", idea="Noch nicht geprüft", device="f" * 32)
    shown = db.session.scalar(sa.select(Idea).where(Idea.text == "Öffentliches WLAN"))
    service.publish(shown)
    service.answer(shown, IdeaStatus.TAKEN, "Kommt in die Strategie.")
    data = client.get("/mitreden/ideen.json").get_json()
    assert [i["text"] for i in data["ideas"]] == ["Öffentliches WLAN"]
    assert set(data["ideas"][0]) == {"id", "consultation_id", "consultation", "topic", "text", "correction", "status",
                                     "answer", "supports", "date"}
    assert data["ideas"][0]["status"] == "taken"
    csv = client.get("/mitreden/ideen.csv").get_data(as_text=True)
    assert "Öffentliches WLAN" in csv and "Noch nicht geprüft" not in csv
    for private in ("65_79", "Moisling", "never", "phone", shown.contribution.device_hash):
        assert private not in csv and private not in str(data)
