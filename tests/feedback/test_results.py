"""Feedback results for coordinators: figures per stop, workshop, district and topic, charts, texts and CSV."""
from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.feedback import charts
from busapp.core.csvexport import safe_cell
from busapp.models import Feedback


@pytest.fixture
def coordinator(login):
    return login("coordinator")


def answer(stop, workshop=None, rating=4, **kw) -> Feedback:
    record = Feedback(stop_id=stop.id, workshop_id=workshop.id if workshop else None, rating=rating,
                      idempotency_key=str(uuid.uuid4()), **kw)
    db.session.add(record)
    db.session.commit()
    return record


@pytest.fixture
def tour(make_district, make_stop, make_workshop):
    """Two districts, three stops, answers with known figures."""
    north = make_district(name="Travemünde", number="09")
    south = make_district(name="St. Jürgen", number="03")
    day = datetime(2026, 11, 10, 9, 0, tzinfo=timezone.utc)
    a = make_stop(district=north, place="Strandbahnhof", starts_at=day)
    b = make_stop(district=south, place="Hochschulstadtteil", starts_at=day + timedelta(days=1))
    c = make_stop(district=south, place="Kronsforde", starts_at=day + timedelta(days=20))
    video = make_workshop(stop=a, title="Videoanrufe", topic="video_calls")
    bank = make_workshop(stop=b, title="Online-Banking", topic="online_banking")
    bank_c = make_workshop(stop=c, title="Online-Banking", topic="online_banking")
    answer(a, video, 5, wish_topic="online_banking", age_group="65_79", learned="Videoanruf mit dem Enkel")
    answer(a, video, 4, wish_topic="online_banking")
    answer(a, None, 3, wish_topic="other", wish_other="Tablets")
    answer(b, bank, 2, missing="Mehr Zeit zum Üben", age_group="65_79")
    answer(c, bank_c, 1, wish_topic="fake_news")
    return {"north": north, "south": south, "a": a, "b": b, "c": c, "video": video, "bank": bank}


def table_rows(html: str, section_id: str) -> list[list[str]]:
    """The cells of the table in the section whose heading has this id, tags removed."""
    start = html.index(f'id="{section_id}-title"')
    table = html[start:html.index("</table>", start)]
    rows = re.findall(r"<tr>(.*?)</tr>", table, flags=re.S)[1:]
    return [[re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, flags=re.S)]
            for r in rows]


def test_results_are_for_coordinators_only(client, login):
    for path in ("/admin/feedback", "/admin/feedback.csv"):
        assert client.get(path).status_code == 302
    login("staff")
    for path in ("/admin/feedback", "/admin/feedback.csv"):
        assert client.get(path).status_code == 403


def test_counts_and_averages_per_district_topic_stop_and_workshop(client, coordinator, tour):
    response = client.get("/admin/feedback")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert re.search(r"<strong>5</strong>\s*Antworten", html)
    assert re.search(r"<strong>3,0</strong>", html)  # (5+4+3+2+1)/5, in German number format
    assert table_rows(html, "districts") == [["St. Jürgen", "2", "1,5"], ["Travemünde", "3", "4,0"]]
    assert table_rows(html, "topics") == [
        ["Sicheres Online-Banking", "2", "1,5"], ["Videoanrufe mit der Familie", "2", "4,5"],
    ]
    assert table_rows(html, "ratings") == [
        ["1 – sehr schlecht", "1"], ["2 – schlecht", "1"], ["3 – mittel", "1"], ["4 – gut", "1"], ["5 – sehr gut", "1"],
    ]
    wishes = table_rows(html, "wishes")
    assert wishes[0][1] == "2" and len(wishes) == 3
    assert ["Etwas anderes", "1"] in wishes
    ages = dict((label, n) for label, n in table_rows(html, "ages"))
    assert ages["65 bis 79"] == "2" and ages["Keine Angabe"] == "3"

    details = html.split("<main", 1)[1].split("<details")  # the page's own, not the header's language list
    by_stop, by_workshop = details[1], details[2]
    assert "Nach Halt (3)" in by_stop and "Nach Kurs (3)" in by_workshop
    assert by_stop.index("Kronsforde") < by_stop.index("Hochschulstadtteil") < by_stop.index("Strandbahnhof")
    assert re.search(r"Strandbahnhof</th>.*?<td>Travemünde</td>\s*<td class=\"num\">3</td>\s*<td class=\"num\">4,0</td>",
                     by_stop, flags=re.S)
    assert re.search(r"Videoanrufe</th>.*?<td class=\"num\">2</td>\s*<td class=\"num\">4,5</td>", by_workshop, flags=re.S)


def test_each_chart_is_server_side_svg_with_a_table_beside_it(client, coordinator, tour):
    html = client.get("/admin/feedback").get_data(as_text=True)
    for section in ("ratings", "districts", "topics", "wishes", "ages"):
        start = html.index(f'id="{section}-title"')
        block = html[start:html.index("</section>", start)]
        assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart"' in block and 'aria-hidden="true"' in block
        assert "<table>" in block and "<caption" in block
    assert "<script" not in html.split("</head>")[1]  # no chart library


def test_free_texts_are_shown_escaped(client, coordinator, tour):
    answer(tour["a"], None, 2, learned='<script>alert("x")</script>', missing="<b>fett</b>")
    html = client.get("/admin/feedback").get_data(as_text=True)
    assert "<script>alert" not in html and "<b>fett</b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html and "&lt;b&gt;fett&lt;/b&gt;" in html
    assert "Videoanruf mit dem Enkel" in html and "Mehr Zeit zum Üben" in html and "Tablets" in html


def test_filter_by_district_and_period(client, coordinator, tour):
    south = tour["south"].id
    html = client.get(f"/admin/feedback?district={south}").get_data(as_text=True)
    assert table_rows(html, "districts") == [["St. Jürgen", "2", "1,5"]]
    html = client.get("/admin/feedback?start=2026-11-10&end=2026-11-11").get_data(as_text=True)
    assert [row[0] for row in table_rows(html, "districts")] == ["St. Jürgen", "Travemünde"]
    assert re.search(r"<strong>4</strong>\s*Antworten", html)
    html = client.get("/admin/feedback?start=2026-11-12").get_data(as_text=True)
    assert re.search(r"<strong>1</strong>\s*Antworten", html)


@pytest.mark.parametrize("query", ["start=gestern", "end=2026-13-45", "district=abc", "district=99999",
                                   "start=2026-11-20&end=2026-11-01", "start=%00"])
def test_bad_filters_are_explained_not_fatal(client, coordinator, tour, query):
    response = client.get(f"/admin/feedback?{query}")
    assert response.status_code == 200
    assert 'class="error-message"' in response.get_data(as_text=True)


def test_results_in_english(client, coordinator, tour):
    html = client.get("/admin/feedback", headers={"Accept-Language": "en"}).get_data(as_text=True)
    for text in ["Feedback results", "By district", "Topics wished for", "What people wrote", "3.0"]:
        assert text in html


def test_results_cost_the_same_few_queries_however_many_answers(app, client, coordinator, tour, make_stop,
                                                                make_workshop):
    def queries() -> int:
        seen = []

        def count(*args):
            seen.append(args[2])

        sa.event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get("/admin/feedback").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    before = queries()
    for _ in range(6):
        stop = make_stop()
        workshop = make_workshop(stop=stop)
        answer(stop, workshop, 3, learned="Gut")
        answer(stop, None, 4)
    assert queries() == before
    assert before <= 16


def read_csv(response, delimiter: str) -> list[list[str]]:
    body = response.get_data()
    assert body.startswith("\ufeff".encode())  # UTF-8 byte order mark for spreadsheet programs
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))


def test_csv_export_has_every_answer(client, coordinator, tour):
    response = client.get("/admin/feedback.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="feedback-')
    rows = read_csv(response, ";")
    header, data = rows[0], rows[1:]
    assert header[:4] == ["Antwort", "Gesendet am", "Stadtteil-Nummer", "Stadtteil"]
    assert len(data) == 5
    first = dict(zip(header, data[0]))
    assert first["Stadtteil"] == "Travemünde" and first["Ort"] == "Strandbahnhof"
    assert first["Bewertung"] == "5" and first["Was haben Sie gelernt?"] == "Videoanruf mit dem Enkel"
    assert first["Kurs-Thema"] == "Videoanrufe mit der Familie"
    assert first["Gewünschtes Thema"] == "Sicheres Online-Banking"
    assert first["Altersgruppe"] == "65 bis 79"
    assert "fbdev" not in response.get_data(as_text=True) and "device" not in ";".join(header).lower()


def test_csv_in_english_uses_commas(client, coordinator, tour):
    rows = read_csv(client.get("/admin/feedback.csv", headers={"Accept-Language": "en"}), ",")
    assert rows[0][:2] == ["Answer", "Sent at"] and len(rows) == 6


def test_csv_follows_the_filters(client, coordinator, tour):
    rows = read_csv(client.get(f"/admin/feedback.csv?district={tour['south'].id}"), ";")
    assert len(rows) == 3 and {r[3] for r in rows[1:]} == {"St. Jürgen"}


def test_csv_guards_against_formula_injection(client, coordinator, tour):
    answer(tour["a"], None, 1, learned="=HYPERLINK(\"http://evil\")", missing="+1+2", wish_other="@SUM(A1)")
    answer(tour["a"], None, 2, learned="-5", missing="\tTab")
    rows = read_csv(client.get("/admin/feedback.csv"), ";")
    cells = [cell for row in rows for cell in row]
    assert "'=HYPERLINK(\"http://evil\")" in cells and "'+1+2" in cells and "'@SUM(A1)" in cells
    assert "'-5" in cells and "'\tTab" in cells
    assert not any(cell[:1] in "=+-@" for cell in cells if cell)


@pytest.mark.parametrize("value,expected", [
    ("=1+1", "'=1+1"), ("+49 451", "'+49 451"), ("-x", "'-x"), ("@a", "'@a"), ("\rx", "'\rx"),
    ("Gut", "Gut"), ("", ""), (5, 5), (-3, -3),
])
def test_safe_cell(value, expected):
    assert safe_cell(value) == expected


def test_bar_chart_draws_proportional_bars_and_escapes_labels():
    svg = str(charts.bar_chart([("<b>A</b>", 4), ("B", 2), ("C", 0)], fmt=str))
    widths = [float(w) for w in re.findall(r'<rect class="chart__bar"[^>]*width="([\d.]+)"', svg)]
    assert widths[0] == pytest.approx(2 * widths[1]) and widths[2] == 0
    assert "&lt;b&gt;A&lt;/b&gt;" in svg and "<b>" not in svg
    fixed = str(charts.bar_chart([("x", 2.5)], scale_max=5))
    full = str(charts.bar_chart([("x", 5)], scale_max=5))
    w_half = float(re.search(r'class="chart__bar"[^>]*width="([\d.]+)"', fixed).group(1))
    w_full = float(re.search(r'class="chart__bar"[^>]*width="([\d.]+)"', full).group(1))
    assert w_half == pytest.approx(w_full / 2)
    assert "…" in str(charts.bar_chart([("Ein sehr langer Name eines Workshop-Themas", 1)]))
