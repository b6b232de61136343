"""The coordinators' languages page (/admin/translations) lists every text residents still read in German (the
upcoming workshops', the stops' notices, the course templates' and the places' notes for finding the bus) with a
link to where it is fixed; a stop's notices get their translations afterwards on /admin/stops/<id>/notices, once for
every place that keeps the same text, without mailing anybody again."""
from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import AuditEvent, Course, OutgoingMail, Stop, Workshop
from busapp.planning import notices
from tests.planning.test_planning_changes import book, booked_stop, coordinator, post  # noqa: F401 (fixtures)

OTHERS = ("en", "tr", "uk", "ar", "pl", "ru", "fa", "de-x-ls")  # every offered language but German


def every_language(text: str) -> dict[str, str]:
    return {tag: f"{text} ({tag})" for tag in OTHERS}


def version_of(page: str, key: str) -> str:
    form = page[page.index(f'id="notice-{key}"'):]
    return re.search(r'name="version" value="([0-9a-f]+)"', form).group(1)


def test_the_page_lists_course_templates_and_places_missing_a_language_with_links(client, coordinator, make_place):
    half = Course(title="Videoanrufe", topic="video_calls", description="Mit der Familie.", what_to_bring="Handy",
                  texts={"tr": {"title": "Görüntülü görüşme", "description": "Aileyle.", "what_to_bring": "Telefon"}})
    done = Course(title="Fertig", topic="photos", description="", what_to_bring="",
                  texts={tag: {"title": f"Fertig {tag}"} for tag in OTHERS})
    old = Course(title="Alt und ruhend", topic="photos", active=False)
    place = make_place(name="Bücherei Moisling")
    place.finding_note = "Hinter der Bücherei."
    place.texts = {"en": {"finding_note": "Behind the library."}}
    db.session.add_all([half, done, old])
    db.session.commit()
    page = client.get("/admin/translations").get_data(as_text=True)
    courses = page[page.index('id="courses"'):page.index('id="places"')]
    assert f'href="/admin/courses/{half.id}">Videoanrufe</a>' in courses
    assert "Fertig" not in courses and "Alt und ruhend" not in courses
    # Turkish has all three texts; English lacks all three, named by their labels.
    assert '<span lang="tr">Türkçe</span>' not in courses
    assert re.search(r'<span lang="en">English</span></dt>\s*<dd>Title, Description, What to bring</dd>', courses)
    places = page[page.index('id="places"'):page.index('id="workshops"')]
    assert f'href="/admin/places/{place.id}">Bücherei Moisling</a>' in places
    assert '<span lang="tr">Türkçe</span>' in places and '<span lang="en">English</span>' not in places
    assert "Course templates (1)" in page and "Places (1)" in page


def test_a_cancelled_stop_is_listed_and_translated_once_for_every_place_of_its_reason(
        client, coordinator, booked_stop):
    stop, first, second, parties = booked_stop
    cem = book(second, "Cem", "cem@example.org", locale="tr")
    german = "Der Bus ist in der Werkstatt."
    assert post(client, f"/admin/stops/{stop.id}/cancel", {
        "reason": german, "text-en-cancel_reason": "The bus is in the garage."}).status_code == 303
    db.session.execute(sa.delete(OutgoingMail))
    db.session.commit()

    page = client.get("/admin/translations").get_data(as_text=True)
    listed = page[page.index('id="notices"'):page.index('id="courses"')]
    key = f"stop-{stop.id}-cancel_reason"
    assert f'href="/admin/stops/{stop.id}/notices#notice-{key}"' in listed and german in listed
    assert '<span lang="tr">Türkçe</span>' in listed and '<span lang="en">English</span>' not in listed
    # The Turkish ticket still shows the German reason, marked as German.
    assert f'<p lang="de" dir="ltr">{german}</p>' in client.get(f"/t/{cem.manage_token}").get_data(as_text=True)

    form = client.get(f"/admin/stops/{stop.id}/notices").get_data(as_text=True)
    assert form.count('name="notice"') == 1  # stop, note to the people booked and workshops: one text, one form
    assert '">The bus is in the garage.</textarea>' in form and f'id="{key}-text-tr-cancel_reason"' in form
    saved = post(client, f"/admin/stops/{stop.id}/notices", {
        "notice": key, "version": version_of(form, key), "text-en-cancel_reason": "The bus is in the garage.",
        "text-tr-cancel_reason": "Otobüs tamirde."})
    assert saved.status_code == 303 and saved.headers["Location"].endswith(f"#notice-{key}")
    db.session.expire_all()
    stop = db.session.get(Stop, stop.id)
    want = {"en": "The bus is in the garage.", "tr": "Otobüs tamirde."}
    for row, name in ((stop, "cancel_reason"), (stop, "change_note"),
                      (db.session.get(Workshop, first.id), "cancel_reason"),
                      (db.session.get(Workshop, second.id), "cancel_reason")):
        assert {t: e[name] for t, e in row.texts.items() if name in e} == want, (row, name)
    assert '<p lang="tr" dir="ltr">Otobüs tamirde.</p>' in client.get(f"/t/{cem.manage_token}").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(OutgoingMail.id))) == 0  # nobody is mailed again
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "stop-texts"))
    assert event.detail["languages"] == ["en", "tr"]
    assert "wrote a notice of the stop" in client.get("/admin/audit").get_data(as_text=True)

    form = client.get(f"/admin/stops/{stop.id}/notices").get_data(as_text=True)
    rest = {f"text-{tag}-cancel_reason": text for tag, text in every_language(german).items()} | {
        "text-tr-cancel_reason": "Otobüs tamirde."}
    assert post(client, f"/admin/stops/{stop.id}/notices", {
        "notice": key, "version": version_of(form, key), **rest}).status_code == 303
    page = client.get("/admin/translations").get_data(as_text=True)
    assert f"/admin/stops/{stop.id}/notices" not in page and "Notices of stops (0)" in page


def test_a_live_note_changed_in_the_meantime_is_not_given_the_old_notes_translation(
        client, coordinator, make_stop, now):
    stop = make_stop(starts_at=now - timedelta(minutes=30))  # going on now: its live note is on its page at any hour
    past = make_stop(starts_at=now - timedelta(days=2))
    for s in (stop, past):
        s.live_note = "Vor der Apotheke"
    db.session.commit()
    page = client.get("/admin/translations").get_data(as_text=True)
    assert f"/admin/stops/{stop.id}/notices" in page and f"/admin/stops/{past.id}/notices" not in page
    key = f"stop-{stop.id}-live_note"
    form = client.get(f"/admin/stops/{stop.id}/notices").get_data(as_text=True)
    version = version_of(form, key)

    too_long = post(client, f"/admin/stops/{stop.id}/notices", {
        "notice": key, "version": version, "text-ar-live_note": "ب" * 201, "text-tr-live_note": "Eczanenin önünde"})
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and f'id="{key}-text-ar-live_note-error"' in html
    assert 'value="Eczanenin önünde"' in html  # what was typed stays
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).texts in ({}, None)

    stop = db.session.get(Stop, stop.id)
    stop.live_note = "Am Marktplatz"  # a tablet typed a new note meanwhile
    db.session.commit()
    late = post(client, f"/admin/stops/{stop.id}/notices", {
        "notice": key, "version": version, "text-tr-live_note": "Eczanenin önünde"})
    html = late.get_data(as_text=True)
    assert late.status_code == 409 and "changed in the meantime" in html and "Am Marktplatz" in html
    assert 'value="Eczanenin önünde"' in html
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).texts in ({}, None)
    # Sent again with the new text's version, it is saved.
    assert post(client, f"/admin/stops/{stop.id}/notices", {
        "notice": key, "version": version_of(html, key), "text-tr-live_note": "Pazar yerinde"}).status_code == 303
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).texts == {"tr": {"live_note": "Pazar yerinde"}}
    assert "Pazar yerinde" in client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)


def test_notices_of_a_stop_group_by_text(app, make_stop, make_workshop, now):
    stop = make_stop(starts_at=now + timedelta(hours=3))
    a = make_workshop(stop, title="A", starts_at=stop.starts_at)
    b = make_workshop(stop, title="B", starts_at=stop.starts_at + timedelta(hours=1))
    for w, reason in ((a, "Krank."), (b, "Krank.")):
        w.status, w.cancel_reason = "cancelled", reason
    stop.live_note, stop.change_note, stop.changed_at = "Hinten links.", "Krank.", now
    db.session.commit()
    with app.test_request_context():
        found = notices.notices(stop)
        assert [(n.text, [k for k, _w in n.uses()]) for n in found] == [
            ("Hinten links.", ["live_note"]), ("Krank.", ["change_note", "cancel_reason", "cancel_reason"])]
        assert found[1].limit == 300 and found[0].limit == 200


def test_only_coordinators_reach_the_notices_page(client, login, make_stop):
    stop = make_stop()
    login("staff")
    assert client.get(f"/admin/stops/{stop.id}/notices").status_code in (302, 403)
    assert client.get("/admin/translations").status_code in (302, 403)


def test_two_coordinators_adding_different_languages_from_the_same_form_keep_both(client, coordinator, make_stop, now):
    stop = make_stop(starts_at=now + timedelta(hours=1))
    stop.live_note = "Vor der Apotheke"
    stop.texts = {"en": {"live_note": "In front of the pharmacy"}}
    db.session.commit()
    key = f"stop-{stop.id}-live_note"
    form = client.get(f"/admin/stops/{stop.id}/notices").get_data(as_text=True)
    shown = {"notice": key, "version": version_of(form, key), "was-en": "In front of the pharmacy",
             "text-en-live_note": "In front of the pharmacy"}
    # Both opened the page before either saved; one writes Turkish, the other Arabic and corrects the English.
    assert post(client, f"/admin/stops/{stop.id}/notices",
                shown | {"text-tr-live_note": "Eczanenin önünde"}).status_code == 303
    assert post(client, f"/admin/stops/{stop.id}/notices",
                shown | {"text-ar-live_note": "أمام الصيدلية", "text-en-live_note": "By the pharmacy"}).status_code == 303
    db.session.expire_all()
    assert content_of(db.session.get(Stop, stop.id)) == {
        "en": "By the pharmacy", "tr": "Eczanenin önünde", "ar": "أمام الصيدلية"}
    # Emptying a language removes it; the others stay.
    form = client.get(f"/admin/stops/{stop.id}/notices").get_data(as_text=True)
    assert post(client, f"/admin/stops/{stop.id}/notices", {
        "notice": key, "version": version_of(form, key), "was-tr": "Eczanenin önünde", "text-tr-live_note": ""}
    ).status_code == 303
    db.session.expire_all()
    assert content_of(db.session.get(Stop, stop.id)) == {"en": "By the pharmacy", "ar": "أمام الصيدلية"}


def content_of(stop: Stop) -> dict[str, str]:
    return {tag: entry["live_note"] for tag, entry in (stop.texts or {}).items()}
