"""What Mitreden keeps and for how long: the privacy page says it, an answer's device mark changes every day, and
`flask purge` deletes, some days after a consultation's end, the ideas never published and the devices' marks."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.participation import service
from busapp.participation.models import Consultation, Contribution, Idea, Moderation, Support
from busapp.participation.service import Submission


def _consultation(ended_days_ago: int, now) -> Consultation:
    c = Consultation(title=f"Ende vor {ended_days_ago} Tagen", idea_question="Was?",
                     starts_at=now - timedelta(days=ended_days_ago + 10), ends_at=now - timedelta(days=ended_days_ago))
    db.session.add(c)
    db.session.commit()
    return c


def test_the_privacy_page_says_what_is_kept_and_how_long(app, client):
    app.config["MITREDEN_KEEP_DAYS"] = 90
    html = client.get("/mitreden/datenschutz").get_data(as_text=True)
    assert "Datenschutz bei Mitreden" in html and "90 Tage nach dem Ende einer Frage" in html
    assert "höchstens 400 Tage lang" in html and "höchstens 3 Mal am Tag" in html
    assert 'href="/mitreden/datenschutz"' in client.get("/mitreden").get_data(as_text=True)
    assert "keine Buchung" in html or "keiner Buchung" in html
    assert client.get("/mitreden/datenschutz?lang=ar").status_code == 200


def test_an_answers_device_mark_changes_every_day(app, now):
    with app.test_request_context():
        today, tomorrow = service.day_hash("t" * 32, now), service.day_hash("t" * 32, now + timedelta(days=1))
        assert today != tomorrow and today == service.day_hash("t" * 32, now)
        assert service.day_hash("u" * 32, now) != today and service.device_hash("t" * 32) not in (today, tomorrow)


def test_purge_deletes_what_could_point_to_a_person_after_the_keeping_days(app, runner, now):
    app.config["MITREDEN_KEEP_DAYS"] = 30
    old, recent = _consultation(31, now), _consultation(29, now)
    for c in (old, recent):
        with app.test_request_context(environ_base={"REMOTE_ADDR": "198.51.100.30"}):
            service.save(c, Submission(idea="Veröffentlicht"), key=f"purge-pub-{c.id}", channel=service.Channel.PHONE,
                         device_token="p" * 32, at=c.ends_at - timedelta(days=1))
            service.save(c, Submission(idea="Ruft an: 0451 1234567"), key=f"purge-new-{c.id}",
                         channel=service.Channel.PHONE, device_token="q" * 32, at=c.ends_at - timedelta(days=1))
        published, new = db.session.scalars(sa.select(Idea).where(Idea.consultation_id == c.id).order_by(Idea.id))
        published.moderation = Moderation.PUBLISHED
        duplicate = Idea(consultation_id=c.id, text="Doppelt", moderation=Moderation.PUBLISHED)
        db.session.add(duplicate)
        db.session.commit()
        with app.test_request_context():
            service.support(published, "s" * 32)
            service.support(duplicate, "d" * 32)
            service.merge(duplicate, published)
    result = runner.invoke(args=["purge"])
    assert result.exit_code == 0 and "Mitreden: deleted 2 unpublished ideas" in result.output
    db.session.expire_all()
    texts = {c.id: sorted(db.session.scalars(sa.select(Idea.text).where(Idea.consultation_id == c.id)))
             for c in (old, recent)}
    assert texts[old.id] == ["Veröffentlicht"]
    assert texts[recent.id] == ["Doppelt", "Ruft an: 0451 1234567", "Veröffentlicht"]
    kept = db.session.scalar(sa.select(Idea).where(Idea.consultation_id == old.id))
    assert kept.supports == 2  # the counts stay
    ideas_of = {c.id: sa.select(Idea.id).where(Idea.consultation_id == c.id).scalar_subquery() for c in (old, recent)}
    assert db.session.scalar(sa.select(sa.func.count(Support.id)).where(Support.idea_id.in_(ideas_of[old.id]))) == 0
    assert db.session.scalar(sa.select(sa.func.count(Support.id)).where(Support.idea_id.in_(ideas_of[recent.id]))) == 2
    marks = dict(db.session.execute(sa.select(Contribution.consultation_id, sa.func.max(Contribution.device_hash))
                                    .group_by(Contribution.consultation_id)).all())
    assert marks[old.id] == "" and marks[recent.id] != ""
    assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 4  # the answers stay
    again = runner.invoke(args=["purge"])
    assert "Mitreden: deleted 0 unpublished ideas" in again.output


@pytest.mark.parametrize("value", ["-1"])
def test_a_negative_keeping_time_refuses_to_start(monkeypatch, value):
    from busapp import create_app
    from busapp.core.config import ConfigError

    monkeypatch.setenv("MITREDEN_KEEP_DAYS", value)
    with pytest.raises(ConfigError, match="MITREDEN_KEEP_DAYS"):
        create_app({"APP_ENV": "testing"})
