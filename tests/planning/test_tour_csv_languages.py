"""The tour CSV's language columns: a workshop's texts in every offered language (`title_tr`, `description_ar`,
...) are written by the export and read back by the import; a column for a language the site does not offer, a text
too long, a cell that contradicts the workshop's own text and texts without a workshop are errors, and nothing is
written."""
from __future__ import annotations

import csv
import io
from datetime import datetime, time

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import Stop, Workshop
from busapp.planning import tourcsv
from tests.planning.test_planning_transfer import (  # noqa: F401 (fixtures)
    BERLIN, _post_file, coordinator, first_monday, moisling, row,
)


@pytest.fixture
def english(app):
    """The messages in English (the coordinator's language in these tests)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def file_of(rows: list[dict], extra: tuple[str, ...] = ()) -> bytes:
    """A tour file with the app's columns and the given extra ones; each row is row()'s values plus its own."""
    columns = list(tourcsv.COLUMNS) + list(extra)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(columns)
    for values in rows:
        own = {k: v for k, v in values.items() if k not in extra}  # row()'s arguments and the app's columns
        base = dict(zip(tourcsv.COLUMNS, row(first_monday(), **own)))
        writer.writerow([base[c] if c in base else values.get(c, "") for c in columns])
    return out.getvalue().encode()


def cells(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_every_text_in_every_language_survives_export_and_import(client, coordinator, moisling, make_stop,
                                                                 make_workshop):
    day = first_monday()
    stop = make_stop(moisling, starts_at=datetime.combine(day, time(10), tzinfo=BERLIN), place="Bücherei")
    german = make_workshop(stop, title="Videoanrufe", starts_at=stop.starts_at, texts={
        "tr": {"title": "Görüntülü görüşmeler", "bring": "Telefonunuz", "accessibility_notes": "Rampa var"},
        "ar": {"description": "مكالمات الفيديو مع العائلة"}, "de-x-ls": {"title": "Video-Anrufe"}})
    german.description, german.accessibility_notes = "Mit der Familie sprechen.", "Stufenlos"
    turkish = make_workshop(stop, title="Akıllı telefon", starts_at=stop.starts_at, texts={
        "de": {"title": "Smartphone", "description": "Auf Türkisch erklärt."}})
    turkish.language, turkish.parallel, turkish.description = "tr", True, "Türkçe anlatım."
    db.session.commit()
    before = {w.title: (w.description, w.accessibility_notes, w.texts) for w in (german, turkish)}

    body = client.get("/admin/tour.csv").data
    header = body.decode("utf-8-sig").splitlines()[0].split(";")
    assert header[len(tourcsv.COLUMNS):] == [f"{f}_{tag}" for tag in app_languages(client)
                                             for f in ("title", "description", "bring", "accessibility_notes")]
    by_title = {r["workshop_title"]: r for r in cells(body)}
    assert by_title["Videoanrufe"]["workshop_description"] == "Mit der Familie sprechen."
    assert by_title["Videoanrufe"]["title_de"] == "" and by_title["Videoanrufe"]["title_tr"] == "Görüntülü görüşmeler"
    # A Turkish workshop's German texts are language cells like any other; its Turkish cells stay empty.
    assert by_title["Akıllı telefon"]["title_de"] == "Smartphone" and by_title["Akıllı telefon"]["title_tr"] == ""

    for model in (Workshop, Stop):
        db.session.execute(sa.delete(model))
    db.session.commit()
    reading = tourcsv.write(body, None)
    assert not reading.errors, reading.errors
    db.session.expire_all()
    after = {w.title: (w.description, w.accessibility_notes, w.texts) for w in db.session.scalars(sa.select(Workshop))}
    assert after == before
    again = client.get("/admin/tour.csv").data
    assert sorted(body.decode("utf-8-sig").splitlines()[1:]) == sorted(again.decode("utf-8-sig").splitlines()[1:])


def app_languages(client) -> list[str]:
    return list(client.application.config["LANGUAGES"])


def test_a_column_for_a_language_the_site_does_not_offer_names_the_known_ones(app, english, moisling):
    app.config["LANGUAGES"] = {"de": "Deutsch", "en": "English", "tr": "Türkçe", "ar": "العربية"}
    data = file_of([{"title_tr": "Görüntülü görüşmeler", "title_sv": "Videosamtal"}], ("title_tr", "title_sv"))
    reading = tourcsv.write(data, None)
    assert [(e.line, e.column) for e in reading.errors] == [(1, "title_sv")]
    message = reading.errors[0].message
    assert "“sv” is not a language of this site" in message
    assert "de (Deutsch), en (English), tr (Türkçe), ar (العربية)" in message and "title_en" in message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Stop)) == 0
    # A tag in another spelling is not guessed at either.
    assert [e.column for e in tourcsv.read(file_of([{}], ("description_tr_tr",))).errors] == ["description_tr_tr"]
    # Without the unknown column the same file is read, with its Turkish title.
    reading = tourcsv.write(file_of([{"title_tr": "Görüntülü görüşmeler"}], ("title_tr",)), None)
    assert not reading.errors and db.session.scalar(sa.select(Workshop.texts)) == {
        "tr": {"title": "Görüntülü görüşmeler"}}


def test_wrong_language_cells_are_answered_by_line_and_column_and_nothing_is_written(app, english, moisling):
    extra = ("title_de", "description_de", "title_tr", "bring_ar", "description_en")
    rows = [
        {"title_de": "Erste Schritte", "description_de": "Schritt für Schritt."},  # the same title; a description
        {"title": "Kurs 2", "wstart": "11:00", "title_de": "Anderer Titel"},  # contradicts workshop_title
        {"title": "Kurs 3", "wstart": "12:00", "title_tr": "x" * 161},  # too long
        {"title": "", "bring_ar": "هاتفك"},  # texts without a workshop
    ]
    reading = tourcsv.write(file_of(rows, extra), None)
    assert [(e.line, e.column) for e in reading.errors] == [(3, "title_de"), (4, "title_tr"), (5, "bring_ar")]
    assert "“workshop_title”" in reading.errors[0].message
    assert "160" in reading.errors[1].message and "no workshop" in reading.errors[2].message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Workshop)) == 0
    reading = tourcsv.write(file_of(rows[:1], extra), None)
    assert not reading.errors
    workshop = db.session.scalar(sa.select(Workshop))
    assert (workshop.title, workshop.description, workshop.texts) == ("Erste Schritte", "Schritt für Schritt.", {})


def test_the_preview_says_which_languages_the_file_brings(client, coordinator, moisling):
    data = file_of([{"title_tr": "İlk adımlar", "description_ar": "الخطوات الأولى"},
                    {"title": "Kurs 2", "wstart": "11:30", "title_tr": "Kurs iki"}],
                   ("title_tr", "description_ar"))
    page = _post_file(client, data).get_data(as_text=True)
    assert "2 stops would be added" not in page  # one stop, two workshops
    assert "1 stop would be added. Including 2 workshops." in page
    assert 'Workshop texts in other languages: <span lang="tr">Türkçe</span> (2 workshops), ' \
           '<span lang="ar">العربية</span> (1 workshop)' in page
    assert "title_tr or description_ar" in page and "de, en, tr" in page
