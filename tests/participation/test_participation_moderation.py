"""Mitreden moderation: merging duplicates keeps every supporter (each device once), a correction needs a note that
residents see, topics are tagged, the city answers in the idea's language where it can, and the board report counts
answers per language."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import AuditEvent
from busapp.participation import service
from busapp.participation.models import Consultation, Contribution, Idea, IdeaStatus, Moderation, Support
from busapp.participation.service import Refused, Submission
from tests.conftest import csrf_token


@pytest.fixture
def consultation(app, now):
    c = Consultation(title="Digitales Lübeck", idea_question="Was soll einfacher werden?", topics=["Bildung", "Amt"],
                     starts_at=now - timedelta(days=1), ends_at=now + timedelta(days=10))
    db.session.add(c)
    db.session.commit()
    return c


@pytest.fixture
def make_idea(consultation):
    def make(text: str, published: bool = True, locale: str = "de", supports: int = 0, c=None) -> Idea:
        idea = Idea(consultation_id=(c or consultation).id, text=text, locale=locale, supports=supports,
                    moderation=Moderation.PUBLISHED if published else Moderation.NEW)
        db.session.add(idea)
        db.session.commit()
        return idea

    return make


@pytest.fixture
def ctx(app):
    with app.test_request_context("/", environ_base={"REMOTE_ADDR": "198.51.100.20"}):
        yield


def _support(idea, *devices):
    for device in devices:
        assert service.support(idea, device * 32)


def _rows(idea_id: int) -> int:
    return db.session.scalar(sa.select(sa.func.count(Support.id)).where(Support.idea_id == idea_id))


def test_merge_keeps_every_supporter_once(ctx, make_idea):
    keep, duplicate = make_idea("Mehr WLAN im Bus"), make_idea("WLAN im Bus bitte")
    _support(keep, "a", "b")
    _support(duplicate, "b", "c", "d")
    assert service.merge(duplicate, keep) == 2  # b supported both: counted once
    db.session.refresh(keep)
    db.session.refresh(duplicate)
    assert (keep.supports, _rows(keep.id)) == (4, 4)
    assert (duplicate.supports, _rows(duplicate.id)) == (0, 0)
    assert (duplicate.moderation, duplicate.hidden_reason, duplicate.merged_into_id) == (
        Moderation.HIDDEN, "duplicate", keep.id)
    assert service.supported("d" * 32, [keep.id, duplicate.id]) == {keep.id}
    assert service.published_ideas() == [keep]
    # Supports counted before devices were stored as rows (the demo's) move over too.
    old = make_idea("WLAN! (alt)", supports=5)
    assert service.merge(old, keep) == 5
    db.session.refresh(keep)
    assert keep.supports == 9
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mitreden-merge")).first()
    assert event.detail == {"into": keep.id, "supports": 2}


def test_a_merge_chain_points_to_the_idea_kept(ctx, make_idea):
    a, b, c = make_idea("A"), make_idea("B"), make_idea("C")
    service.merge(c, b)
    service.merge(b, a)
    db.session.refresh(c)
    assert c.merged_into_id == a.id and service.merged_counts([a.id]) == {a.id: 2}


def test_merges_that_make_no_sense_are_refused(ctx, make_idea, consultation, now):
    a, b = make_idea("A"), make_idea("B")
    other = Consultation(title="Andere", idea_question="?", starts_at=now, ends_at=now + timedelta(days=1))
    db.session.add(other)
    db.session.commit()
    elsewhere = make_idea("C", c=other)
    with pytest.raises(Refused):
        service.merge(a, a)
    with pytest.raises(Refused):
        service.merge(a, elsewhere)
    service.merge(b, a)
    with pytest.raises(Refused, match="selbst"):
        service.merge(a, b)  # b went into a: a cannot go into b
    with pytest.raises(Refused, match="zusammengeführt"):
        service.publish(b)
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Idea).where(Idea.id == a.id).values(merged_into_id=a.id))
        db.session.flush()
    db.session.rollback()


def test_a_support_racing_a_merge_counts_for_the_idea_kept(ctx, client, make_idea):
    keep, duplicate = make_idea("Behalten"), make_idea("Doppelt")
    # What a request that loaded the duplicate just before the merge still holds: a published idea.
    stale = Idea(id=duplicate.id, consultation_id=duplicate.consultation_id, moderation=Moderation.PUBLISHED)
    service.merge(duplicate, keep)
    assert service.support(stale, "z" * 32) is True
    assert service.support(stale, "z" * 32) is False
    assert _rows(duplicate.id) == 0 and _rows(keep.id) == 1
    assert db.session.scalar(sa.select(Idea.supports).where(Idea.id == duplicate.id)) == 0
    # A page shown before the merge: its button supports the idea kept, and leads there.
    token = csrf_token(client, "/mitreden")
    response = client.post(f"/mitreden/ideen/{duplicate.id}/unterstuetzen", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"#idee-{keep.id}")
    db.session.refresh(keep)
    assert keep.supports == 2
    # A hidden idea takes no support.
    service.hide(keep, "advert")
    assert client.post(f"/mitreden/ideen/{duplicate.id}/unterstuetzen", data={"csrf_token": token}).status_code == 404


def test_a_correction_needs_a_note_that_residents_see(ctx, client, make_idea):
    idea = make_idea("Mehr Kurze für Ältre, ruft an: 0451 1234567")
    with pytest.raises(Refused) as refused:
        service.correct(idea, "Mehr Kurse für Ältere", "  ")
    assert refused.value.field == "note"
    with pytest.raises(Refused):
        service.correct(idea, idea.text, "nichts")
    service.correct(idea, "Mehr Kurse für Ältere", "Rechtschreibung und Telefonnummer")
    assert (idea.text, idea.flag, idea.correction_note) == ("Mehr Kurse für Ältere", "", "Rechtschreibung und Telefonnummer")
    html = client.get("/mitreden").get_data(as_text=True)
    assert "Von der Stadt korrigiert: <span>Rechtschreibung und Telefonnummer</span>" in html and "0451" not in html
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "mitreden-correct")).one()
    assert "0451" not in str(event.detail) and event.detail["reason"] == "Rechtschreibung und Telefonnummer"


def test_the_city_answers_in_the_ideas_language_where_it_can(ctx, client, make_idea):
    idea = make_idea("Daha fazla Türkçe kurs", locale="tr")
    service.answer(idea, IdeaStatus.REVIEW, "Wir prüfen mehr Kurse auf Türkisch.", own="Daha fazla kursu inceliyoruz.",
                   topic="Bildung")
    assert idea.answer_in("tr") == ("Daha fazla kursu inceliyoruz.", "tr")
    assert idea.answer_in("en") == ("Wir prüfen mehr Kurse auf Türkisch.", "de")
    assert idea.topic == "Bildung"
    turkish = client.get("/mitreden?lang=tr").get_data(as_text=True)
    assert "Daha fazla kursu inceliyoruz." in turkish and "Wir prüfen" not in turkish
    assert '<bdi lang="tr">Daha fazla Türkçe kurs</bdi>' in turkish
    english = client.get("/mitreden?lang=en").get_data(as_text=True)
    assert '<span lang="de">Wir prüfen mehr Kurse auf Türkisch.</span>' in english
    with pytest.raises(Refused):
        service.answer(idea, IdeaStatus.REVIEW, "", own="Yalnızca Türkçe")
    service.answer(idea, IdeaStatus.TAKEN, "Aufgenommen.", topic="Erfunden")
    assert (idea.answer_texts, idea.topic) == ({}, "")
    german = make_idea("Deutsch")
    service.answer(german, IdeaStatus.REVIEW, "Ja.", own="Doppelt")
    assert german.answer_texts == {}  # the German answer is the idea's own language already


def test_the_report_counts_answers_per_language(ctx, consultation):
    for n, locale in enumerate(["de", "de", "tr", "ar", "de-x-ls", "xx"]):
        service.save(consultation, Submission(idea=f"Idee {n}"), key=f"language-key-{n}", channel=service.Channel.PAPER,
                     locale=locale)
    rows = dict(service.report(consultation).by_language)
    assert rows["Deutsch (de)"] == 2 and rows["Türkçe (tr)"] == 1 and rows["العربية (ar)"] == 1
    assert rows["Leichte Sprache (de-x-ls)"] == 1 and rows["English (en)"] == 0
    assert sum(rows.values()) == 6 and list(rows)[-1] not in ("Deutsch (de)",)


# --- the coordinators' page --------------------------------------------------------------------------------------

def test_coordinator_merges_and_corrects_on_the_ideas_page(client, login, ctx, make_idea, consultation):
    keep, duplicate = make_idea("Mehr WLAN"), make_idea("WLAN bitte", locale="tr")
    _support(duplicate, "q")
    login("coordinator")
    page = f"/admin/mitreden/{consultation.id}/ideen"
    html = client.get(page).get_data(as_text=True)
    assert f'name="j{duplicate.id}-into"' in html and "Türkçe" in html
    assert f'name="a{duplicate.id}-answer_own"' in html and f'name="a{keep.id}-answer_own"' not in html
    token = csrf_token(client, page)
    # A correction without a note: refused next to the note, with the typed text kept.
    bad = client.post(f"/admin/mitreden/ideen/{keep.id}/korrektur", data={
        "csrf_token": token, f"k{keep.id}-text": "Mehr WLAN am Bus", f"k{keep.id}-note": ""})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422 and "Mehr WLAN am Bus" in body
    assert re.search(rf'id="k{keep.id}-note-error"', body)
    db.session.refresh(keep)
    assert keep.text == "Mehr WLAN"
    ok = client.post(f"/admin/mitreden/ideen/{keep.id}/korrektur", data={
        "csrf_token": token, f"k{keep.id}-text": "Mehr WLAN am Bus", f"k{keep.id}-note": "Ergänzt: am Bus"})
    assert ok.status_code == 303
    # Merging into itself is refused next to the field; into the other idea works.
    self_merge = client.post(f"/admin/mitreden/ideen/{keep.id}/zusammenfuehren", data={
        "csrf_token": token, f"j{keep.id}-into": str(keep.id)})
    assert self_merge.status_code == 422
    merged = client.post(f"/admin/mitreden/ideen/{duplicate.id}/zusammenfuehren", data={
        "csrf_token": token, f"j{duplicate.id}-into": str(keep.id)})
    assert merged.status_code == 303 and merged.headers["Location"].endswith(f"#idee-{keep.id}")
    db.session.expire_all()
    assert (db.session.get(Idea, keep.id).supports, db.session.get(Idea, duplicate.id).merged_into_id) == (1, keep.id)
    html = client.get(page).get_data(as_text=True)
    assert "Zusammengeführt in:" in html and f'name="j{duplicate.id}-into"' not in html
    public = client.get("/mitreden").get_data(as_text=True)
    assert "1 weitere Person hat dasselbe gesagt" in public and "WLAN bitte" not in public


def test_a_refused_answer_keeps_what_was_typed(client, login, ctx, make_idea, consultation):
    idea = make_idea("Alles auf Papier")
    login("coordinator")
    token = csrf_token(client, f"/admin/mitreden/{consultation.id}/ideen")
    response = client.post(f"/admin/mitreden/ideen/{idea.id}/antwort", data={
        "csrf_token": token, f"a{idea.id}-status": "not_possible", f"a{idea.id}-answer": "",
        f"a{idea.id}-topic": "Amt"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and f'id="a{idea.id}-answer-error"' in html
    assert re.search(r'<option selected value="Amt">|<option value="Amt" selected>', html)
    db.session.refresh(idea)
    assert idea.status == IdeaStatus.RECEIVED
