"""The course catalogue as CSV with its texts in every offered language: downloaded, filled in (by a translator,
say) and read back; all of it or nothing, each problem by line and column."""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import AuditEvent, Course
from busapp.planning import coursecsv
from tests.conftest import csrf_token
from tests.planning.test_planning_changes import coordinator  # noqa: F401 (fixture)


def courses() -> tuple[Course, Course]:
    german = Course(title="Das Smartphone kennenlernen", topic="smartphone_basics", audience="seniors",
                    description="Schritt für Schritt.", what_to_bring="Ihr Handy",
                    texts={"tr": {"title": "Akıllı telefonu tanıyalım", "what_to_bring": "Telefonunuz"},
                           "uk": {"title": "Знайомство зі смартфоном"}})
    turkish = Course(title="Akıllı telefon: ilk adımlar", topic="smartphone_basics", language="tr",
                     description="Türkçe anlatım.", texts={"de": {"title": "Smartphone: erste Schritte"}})
    db.session.add_all([german, turkish])
    db.session.commit()
    return german, turkish


def rows_of(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def file_of(rows: list[dict[str, str]], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=";", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload(client, data: bytes):
    token = csrf_token(client, "/admin/courses")
    boundary = "----coursefile42"
    body = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="courses.csv"\r\n'
            "Content-Type: text/csv\r\n\r\n").encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return client.post("/admin/courses/import", data=body, content_type=f"multipart/form-data; boundary={boundary}")


def test_the_catalogue_goes_out_with_its_languages_and_comes_back_translated(client, coordinator):
    german, turkish = courses()
    body = client.get("/admin/courses.csv").data
    header = body.decode("utf-8-sig").splitlines()[0].split(";")
    assert header[:len(coursecsv.COLUMNS)] == list(coursecsv.COLUMNS)
    assert {"title_de", "title_tr", "description_ar", "what_to_bring_de-x-ls"} <= set(header)
    rows = {r["title"]: r for r in rows_of(body)}
    assert rows[german.title]["title_tr"] == "Akıllı telefonu tanıyalım" and rows[german.title]["title_de"] == ""
    assert rows[turkish.title]["title_de"] == "Smartphone: erste Schritte" and rows[turkish.title]["title_tr"] == ""

    # A translator adds Arabic, corrects the Turkish title and leaves the Ukrainian columns out of the file; a new
    # course is added at the end.
    rows[german.title].update(title_ar="تعرّف على هاتفك الذكي", description_ar="خطوة بخطوة.",
                              title_tr="Akıllı telefonla tanışın")
    new = dict(rows[german.title], title="Fotos teilen", topic="photos", title_ar="", description_ar="",
               title_tr="Fotoğraf paylaşmak", what_to_bring_tr="")
    columns = [c for c in header if not c.endswith("_uk")]
    response = upload(client, file_of(list(rows.values()) + [new], columns))
    assert response.status_code == 303, response.get_data(as_text=True)
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The course file is read. Added: 1. Changed: 1." in page
    db.session.expire_all()
    german = db.session.get(Course, german.id)
    assert german.texts == {"tr": {"title": "Akıllı telefonla tanışın", "what_to_bring": "Telefonunuz"},
                            "uk": {"title": "Знайомство зі смартфоном"},  # its columns were not in the file
                            "ar": {"title": "تعرّف على هاتفك الذكي", "description": "خطوة بخطوة."}}
    assert db.session.get(Course, turkish.id).texts == {"de": {"title": "Smartphone: erste Schritte"}}
    added = db.session.scalar(sa.select(Course).where(Course.title == "Fotos teilen"))
    assert added.topic == "photos" and added.texts == {"tr": {"title": "Fotoğraf paylaşmak"}}
    assert db.session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == "course-import")) == {
        "added": 1, "changed": 1, "rows": 3}
    assert "read a course file back: 3 courses" in client.get("/admin/audit").get_data(as_text=True)


def test_a_wrong_file_writes_nothing_and_names_each_problem(client, coordinator):
    german, _turkish = courses()
    rows = rows_of(client.get("/admin/courses.csv").data)
    header = list(coursecsv.COLUMNS) + ["title_tr", "title_sv"]
    answer = upload(client, file_of(rows, header))
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "<td>title_sv</td>" in html and "“sv” is not a language of this site" in html

    german_row, turkish_row = (next(r for r in rows if r["language"] == tag) for tag in ("de", "tr"))
    german_row.update(title_tr="Yeni başlık", topic="knitting", capacity="0")
    turkish_row.update(title_tr="Başka bir başlık", title=german_row["title"].upper())  # the same title twice
    answer = upload(client, file_of([german_row, turkish_row], list(coursecsv.COLUMNS) + ["title_tr"]))
    html = answer.get_data(as_text=True)
    # The Turkish course's own title is its title column; a Turkish cell that says otherwise is a problem too.
    assert answer.status_code == 422 and "4 problems: nothing was saved" in html
    assert "“title” already holds this text in its own language" in html
    assert "<td>topic</td>" in html and "<td>capacity</td>" in html and "already in line 2" in html
    db.session.expire_all()
    assert db.session.get(Course, german.id).texts["tr"]["title"] == "Akıllı telefonu tanıyalım"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "course-import")) == 0


def test_only_coordinators_download_or_read_back_the_catalogue(client, login):
    login("staff")
    assert client.get("/admin/courses.csv").status_code in (302, 403)
