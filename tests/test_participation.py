"""Mitreden's rules: periods, limits per device and address, exactly once, flagging, moderation, support, report."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from busapp.extensions import db
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
    with app.test_request_context("/mitreden/1", method="POST", environ_base={"REMOTE_ADDR": "198.51.100.7"}):
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
