"""Texts coordinators write for residents, per language: a stop's live note, a cancellation's reason, the note on a
change told to the people booked (each reads it, on the ticket and in the mail, in the language they booked in) and
the course catalogue's texts that a new workshop starts from."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, Course, OutgoingMail, Stop, StopStatus, Workshop
from tests.planning.test_planning_changes import book, booked_stop, coordinator, post  # noqa: F401 (fixtures)
from tests.planning.test_planning import at, next_weekday


def mails() -> dict[str, str]:
    """The queued mails' bodies by address."""
    db.session.expire_all()
    return {m.to_address: m.body for m in db.session.scalars(sa.select(OutgoingMail))}


def test_a_cancellation_reason_is_given_per_language_and_each_person_reads_their_own(
        client, coordinator, booked_stop):
    stop, first, second, parties = booked_stop
    cem = book(second, "Cem", "cem@example.org", locale="tr")
    db.session.execute(sa.delete(OutgoingMail))
    db.session.commit()
    form = client.get(f"/admin/stops/{stop.id}/cancel").get_data(as_text=True)
    assert 'name="text-tr-cancel_reason"' in form and 'name="text-de-cancel_reason"' not in form
    german = "Der Bus ist in der Werkstatt."
    too_long = post(client, f"/admin/stops/{stop.id}/cancel", {"reason": german, "text-tr-cancel_reason": "x" * 301})
    page = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and 'id="text-tr-cancel_reason-error"' in page and german in page
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).status == StopStatus.PUBLISHED and mails() == {}  # nothing written

    done = post(client, f"/admin/stops/{stop.id}/cancel", {
        "reason": german, "text-tr-cancel_reason": "Otobüs tamirde.", "text-en-cancel_reason": "The bus is in the garage."})
    assert done.status_code == 303
    # Each ticket opens in the language it was booked in and shows the reason in it, marked with its language.
    assert '<p lang="tr" dir="ltr">Otobüs tamirde.</p>' in client.get(f"/t/{cem.manage_token}").get_data(as_text=True)
    assert "The bus is in the garage." in client.get(f"/t/{parties['ada'].manage_token}").get_data(as_text=True)
    bea = client.get(f"/t/{parties['bea'].manage_token}").get_data(as_text=True)
    assert german in bea and "Otobüs" not in bea
    # The public stop page: the visitor's language, else the German reason marked as German.
    assert "Otobüs tamirde." in client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)
    assert f'lang="de" dir="ltr">{german}' in client.get(f"/s/{stop.id}?lang=ar").get_data(as_text=True)
    # The mails: each in the booking's language, with the reason written for it.
    sent = mails()
    assert "Otobüs tamirde." in sent["cem@example.org"] and german not in sent["cem@example.org"]
    assert "The bus is in the garage." in sent["ada@example.org"]
    assert german in sent["bea@example.org"]


def test_a_workshop_cancelled_with_reasons_shows_the_reason_in_the_ticket_language(client, coordinator, booked_stop):
    stop, first, second, parties = booked_stop
    response = post(client, f"/admin/workshops/{first.id}/cancel", {
        "reason": "Die Trainerin ist krank.", "text-en-cancel_reason": "The trainer is ill."})
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Workshop, first.id).texts == {"en": {"cancel_reason": "The trainer is ill."}}
    ada = client.get(f"/t/{parties['ada'].manage_token}").get_data(as_text=True)  # booked in English
    assert '<p lang="en" dir="ltr">The trainer is ill.</p>' in ada and "krank" not in ada
    assert "Die Trainerin ist krank." in client.get(f"/t/{parties['ada'].manage_token}?lang=pl").get_data(as_text=True)
    assert "The trainer is ill." in mails()["ada@example.org"]


def test_the_note_on_a_moved_stop_reaches_each_person_in_their_language(client, coordinator, booked_stop):
    stop, first, second, parties = booked_stop
    cem = book(second, "Cem", "cem@example.org", locale="tr")
    db.session.execute(sa.delete(OutgoingMail))
    db.session.commit()
    day = stop.starts_at.date() + timedelta(days=1)
    form = {"place": str(stop.place_id), "day": day.isoformat(), "start": "11:00", "end": "15:00", "confirm": "yes",
            "holiday_ok": "y", "note": "Ein Tag später, wegen des Markts."}
    page = post(client, f"/admin/stops/{stop.id}/edit", {k: v for k, v in form.items() if k != "confirm"})
    assert 'name="text-tr-change_note"' in page.get_data(as_text=True)  # beside the note, in the dry run
    too_long = post(client, f"/admin/stops/{stop.id}/edit", form | {"text-uk-change_note": "я" * 301})
    assert too_long.status_code == 422 and 'id="text-uk-change_note-error"' in too_long.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).starts_at == stop.starts_at and mails() == {}
    done = post(client, f"/admin/stops/{stop.id}/edit", form | {"text-tr-change_note": "Pazar yüzünden bir gün sonra."})
    assert done.status_code == 303
    ticket = client.get(f"/t/{cem.manage_token}").get_data(as_text=True)
    assert '<span lang="tr" dir="ltr">Pazar yüzünden bir gün sonra.</span>' in ticket
    assert "Ein Tag später" in client.get(f"/t/{parties['ada'].manage_token}").get_data(as_text=True)
    sent = mails()
    assert "Pazar yüzünden bir gün sonra." in sent["cem@example.org"]
    assert "Ein Tag später, wegen des Markts." in sent["ada@example.org"]  # no English note: the German one

    # A later change without Turkish text does not leave the old Turkish note standing.
    later = form | {"day": (day + timedelta(days=1)).isoformat(), "note": "Noch ein Tag später."}
    assert post(client, f"/admin/stops/{stop.id}/edit", later).status_code == 303
    ticket = client.get(f"/t/{cem.manage_token}").get_data(as_text=True)
    assert "Noch ein Tag später." in ticket and "Pazar yüzünden" not in ticket


def test_the_note_on_a_moved_workshop_is_given_per_language(client, coordinator, booked_stop):
    stop, first, second, parties = booked_stop
    form = {"title": second.title, "topic": second.topic, "language": second.language, "audience": second.audience,
            "start": "12:30", "duration_minutes": str(second.duration_minutes), "capacity": str(second.capacity),
            "confirm": "yes", "note": "Eine halbe Stunde später.", "text-en-change_note": "Half an hour later."}
    assert post(client, f"/admin/workshops/{second.id}/edit", form).status_code == 303
    assert "Half an hour later." in client.get(f"/t/{parties['carl'].manage_token}").get_data(as_text=True)
    assert "Eine halbe Stunde später." in mails()["bea@example.org"]  # Bea booked in German


def test_a_live_note_is_given_per_language_and_a_new_note_drops_the_old_translations(
        client, coordinator, make_stop, now, app):
    app.config["PAGE_CACHE_SECONDS"] = 0
    stop = make_stop(starts_at=now + timedelta(minutes=30))
    page = client.get(f"/admin/stops/{stop.id}").get_data(as_text=True)
    assert 'name="text-ar-live_note"' in page
    too_long = post(client, f"/admin/stops/{stop.id}/live", {"status": "here", "note": "Vor der Apotheke",
                                                              "text-ar-live_note": "ب" * 201})
    html = too_long.get_data(as_text=True)
    assert too_long.status_code == 422 and 'id="text-ar-live_note-error"' in html and "Vor der Apotheke" in html
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).live_note == ""
    assert post(client, f"/admin/stops/{stop.id}/live", {"status": "here", "note": "Vor der Apotheke",
                                                         "text-ar-live_note": "أمام الصيدلية"}).status_code == 303
    assert '<p class="live__text" lang="ar" dir="rtl">أمام الصيدلية</p>' in \
        client.get(f"/s/{stop.id}?lang=ar").get_data(as_text=True)
    assert "Vor der Apotheke" in client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)
    # A new note typed without Arabic: the Arabic page shows the new German note, not the old Arabic one.
    assert post(client, f"/admin/stops/{stop.id}/live", {"status": "here", "note": "Am Marktplatz"}).status_code == 303
    arabic = client.get(f"/s/{stop.id}?lang=ar").get_data(as_text=True)
    assert "Am Marktplatz" in arabic and "الصيدلية" not in arabic
    # The same note with another status keeps its translations.
    post(client, f"/admin/stops/{stop.id}/live", {"status": "here", "note": "Am Marktplatz", "text-ar-live_note": "في السوق"})
    assert post(client, f"/admin/stops/{stop.id}/live", {"status": "late", "minutes": "10", "note": "Am Marktplatz",
                                                         "text-ar-live_note": "في السوق"}).status_code == 303
    assert "في السوق" in client.get(f"/s/{stop.id}?lang=ar").get_data(as_text=True)


def test_course_texts_are_given_per_language_and_a_new_workshop_starts_with_them(
        client, coordinator, make_district, make_stop):
    form = client.get("/admin/courses/new").get_data(as_text=True)
    assert 'name="text-tr-title"' in form and 'name="text-tr-what_to_bring"' in form
    values = {"title": "Das Smartphone kennenlernen", "topic": "smartphone_basics", "description": "Schritt für Schritt.",
              "audience": "seniors", "level": "first_steps", "language": "de", "duration_minutes": "90",
              "capacity": "8", "what_to_bring": "Ihr Smartphone"}
    too_long = post(client, "/admin/courses/new", values | {"text-tr-title": "x" * 161})
    assert too_long.status_code == 422 and 'id="text-tr-title-error"' in too_long.get_data(as_text=True)
    assert db.session.scalar(sa.select(Course)) is None
    done = post(client, "/admin/courses/new", values | {"text-tr-title": "Akıllı telefonu tanıyalım",
                                                        "text-tr-what_to_bring": "Akıllı telefonunuz",
                                                        "text-en-description": "Step by step."})
    assert done.status_code == 303, done.get_data(as_text=True)
    course = db.session.scalar(sa.select(Course))
    assert course.texts == {"tr": {"title": "Akıllı telefonu tanıyalım", "what_to_bring": "Akıllı telefonunuz"},
                            "en": {"description": "Step by step."}}
    # The workshop form filled from the course has them in its language blocks, under the workshop's names.
    stop = make_stop(make_district(), starts_at=at(next_weekday(3), 10), hours=4)
    page = client.get(f"/admin/stops/{stop.id}/workshops/new?course={course.id}").get_data(as_text=True)
    assert 'name="text-tr-title" lang="tr" dir="auto" value="Akıllı telefonu tanıyalım"' in page
    assert 'name="text-tr-bring" lang="tr" dir="auto" value="Akıllı telefonunuz"' in page
    edit = client.get(f"/admin/courses/{course.id}").get_data(as_text=True)
    assert 'value="Akıllı telefonu tanıyalım"' in edit
