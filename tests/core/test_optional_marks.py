"""'(freiwillig)' stands beside the fields that may be left empty, and only there: not beside a required field, a
list that always has a choice, a tick box, or the filters above a list."""
from __future__ import annotations

import re

import pytest
from flask_wtf import FlaskForm
from wtforms import BooleanField, RadioField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from busapp.core.forms import may_be_left_empty


class _Probe(FlaskForm):
    class Meta:
        csrf = False

    needed = StringField("Needed", validators=[InputRequired()])
    free = StringField("Free", validators=[Optional()])
    plain = StringField("Plain")
    always_chosen = SelectField("Always chosen", choices=[SelectChoice("a", "A"), SelectChoice("b", "B")])
    may_stay_unknown = SelectField("Unknown allowed", choices=[SelectChoice("", "Not known"), SelectChoice("y", "Yes")])
    round_buttons = RadioField("Round buttons", choices=[SelectChoice("1", "One"), SelectChoice("2", "Two")],
                               validators=[Optional()])
    tick = BooleanField("Tick")


@pytest.mark.parametrize("name, expected", [
    ("needed", False), ("free", True), ("plain", True), ("always_chosen", False), ("may_stay_unknown", True),
    ("round_buttons", True), ("tick", False),
])
def test_which_fields_may_be_left_empty(app, name, expected):
    with app.test_request_context():
        assert may_be_left_empty(_Probe()[name]) is expected


def _label(html: str, field_id: str) -> str:
    found = re.search(rf'<label for="{field_id}">(.*?)</label>', html, re.S)
    assert found, f"no label for {field_id}"
    return " ".join(re.sub(r"<[^>]+>", " ", found[1]).split())


def test_coordinator_forms_mark_only_what_may_be_left_empty(client, login, make_district):
    make_district(name="Moisling")
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    course = client.get("/admin/courses/new").get_data(as_text=True)
    assert _label(course, "title") == "Titel"
    assert _label(course, "topic") == "Thema"  # a list that always has a choice
    assert _label(course, "language") == "Sprache"
    assert _label(course, "description") == "Beschreibung (freiwillig)"
    place = client.get("/admin/places/new").get_data(as_text=True)
    assert "(freiwillig)" not in _label(place, "name") and "(freiwillig)" not in _label(place, "district_id")
    assert _label(place, "address").endswith("(freiwillig)")
    assert _label(place, "step_free").endswith("(freiwillig)")  # "not known" may stay
    stop = client.get("/admin/stops/new").get_data(as_text=True)
    for field_id in ("place", "day", "start", "end"):
        assert "(freiwillig)" not in _label(stop, field_id), field_id


@pytest.mark.parametrize("path", ["/admin/reports", "/admin/audit", "/admin/feedback"])
def test_filters_above_a_list_carry_no_mark(client, login, path):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    html = client.get(path).get_data(as_text=True)
    assert "(freiwillig)" not in html


def test_the_report_period_reads_from_and_until(client, login):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "de"
    html = client.get("/admin/reports").get_data(as_text=True)
    assert _label(html, "start") == "Halte von" and _label(html, "end") == "Halte bis"
