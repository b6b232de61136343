"""A tablet's live note in more languages: the volunteer may add the note (or the reason of a cancellation) in other
languages beside the German, sees in which languages residents read the note shown now, and a new note without
them drops the old note's translations, while the same note with another status keeps them."""
from __future__ import annotations

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Booking, Stop, StopStatus
from tests.checkin.test_checkin_service import make_booking, today  # noqa: F401 - fixtures
from tests.checkin.test_checkin_views import HX, form


def notes_of(stop_id: int, field: str = "live_note") -> dict[str, str]:
    db.session.expire_all()
    stop = db.session.get(Stop, stop_id)
    return {tag: entry[field] for tag, entry in (stop.texts or {}).items() if field in entry}


def test_the_tablet_gives_the_note_in_more_languages_and_says_where_it_is_read(client, login, today, app):
    app.config["PAGE_CACHE_SECONDS"] = 0
    stop, _later, _running = today
    login("staff")
    page = client.get("/staff/").get_data(as_text=True)
    assert 'name="text-tr-live_note"' in page and 'name="text-ar-live_note"' in page
    assert 'name="text-de-live_note"' not in page  # the note field itself is the German one

    done = form(client, f"/staff/stops/{stop.id}/live", {
        "status": "here", "reason": "Vor der Apotheke", "text-tr-live_note": "Eczanenin önünde",
        "text-ar-live_note": "أمام الصيدلية"}, HX)
    html = done.get_data(as_text=True)
    assert done.status_code == 200 and notes_of(stop.id) == {"tr": "Eczanenin önünde", "ar": "أمام الصيدلية"}
    # The volunteer sees the languages of the note shown now (the staff pages speak German).
    assert ('Zu lesen auf: <span lang="de">Deutsch</span>, <span lang="tr">Türkçe</span>, '
            '<span lang="ar">العربية</span>.') in html
    assert "In allen anderen Sprachen steht er auf Deutsch." in html
    assert "Eczanenin önünde" in client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)

    # The same note with another status keeps its translations; a new note without them drops them.
    form(client, f"/staff/stops/{stop.id}/live", {"status": "left", "reason": "Vor der Apotheke"}, HX)
    assert notes_of(stop.id) == {"tr": "Eczanenin önünde", "ar": "أمام الصيدلية"}
    html = form(client, f"/staff/stops/{stop.id}/live", {"status": "here", "reason": "Am Markt"}, HX) \
        .get_data(as_text=True)
    assert notes_of(stop.id) == {}
    assert 'Zu lesen auf: <span lang="de">Deutsch</span>.' in html
    public = client.get(f"/s/{stop.id}?lang=tr").get_data(as_text=True)
    assert "Am Markt" in public and "Eczanenin" not in public


def test_a_translation_too_long_is_answered_next_to_its_field_and_nothing_changes(client, login, today):
    stop, _later, _running = today
    login("staff")
    response = form(client, f"/staff/stops/{stop.id}/live", {
        "status": "here", "reason": "Vor der Apotheke", "text-uk-live_note": "я" * 201,
        "text-tr-live_note": "Eczanenin önünde"}, HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="note-uk-error"' in html and 'aria-invalid="true"' in html
    assert 'value="Eczanenin önünde"' in html and 'value="Vor der Apotheke"' in html  # what was typed stays
    assert "<details class=\"note-languages\" open>" in html
    db.session.expire_all()
    stop = db.session.get(Stop, stop.id)
    assert stop.live_note == "" and notes_of(stop.id) == {}


def test_a_cancellation_from_the_tablet_carries_its_reason_in_other_languages(client, login, today, make_booking):
    stop, later, _running = today
    cem = make_booking(later, name="Cem", contact="cem@example.org", locale="tr")
    login("staff")
    typed = {"status": "cancelled", "reason": "Motorschaden", "text-tr-live_note": "Motor arızası"}
    asked = form(client, f"/staff/stops/{stop.id}/live", typed, HX).get_data(as_text=True)
    assert 'name="text-tr-live_note" value="Motor arızası"' in asked  # kept for the confirmation
    assert 'Zu lesen auf: <span lang="de">Deutsch</span>, <span lang="tr">Türkçe</span>.' in asked
    assert form(client, f"/staff/stops/{stop.id}/live", typed | {"confirm": "1"}, HX).status_code == 200
    db.session.expire_all()
    assert db.session.get(Stop, stop.id).status == StopStatus.CANCELLED
    assert notes_of(stop.id, "cancel_reason") == {"tr": "Motor arızası"}
    ticket = client.get(f"/t/{db.session.get(Booking, cem.id).manage_token}").get_data(as_text=True)
    assert "Motor arızası" in ticket and "Motorschaden" not in ticket
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 1
