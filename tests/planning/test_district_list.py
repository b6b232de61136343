"""The town's official list of districts stored by number (busapp/planning/districts.py, `flask town districts`):
new ones added, known ones brought up to date keeping their address, none deleted."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from busapp.core import districtfile, townprofile
from busapp.core.extensions import db
from busapp.models import AuditEvent, District
from busapp.planning.districts import store


def _square(west, south, east, north):
    return [[west, south], [east, south], [east, north], [west, north], [west, south]]


def test_the_list_is_stored_by_number_keeping_addresses_and_deleting_nothing(app, make_district):
    kept = make_district(name="Innenstadt", slug="innenstadt-alt", number="01")
    extra = make_district(name="Hafen", slug="hafen", number="11")
    rows = districtfile.read_csv("Nr;Stadtteil\n1;Altstadt\n2;St. Jürgen\n".encode())
    rows[0].boundary = {"type": "Polygon", "coordinates": [_square(10.6, 53.8, 10.7, 53.9)]}

    planned = store(rows, dry_run=True)
    assert (planned.added, planned.changed, planned.not_listed) == (["02"], ["01"], ["11"])
    assert db.session.scalar(sa.select(sa.func.count(District.id))) == 2  # nothing written yet

    done = store(rows)
    assert (done.added, done.changed, done.same, done.not_listed) == (["02"], ["01"], [], ["11"])
    db.session.expire_all()
    old_town = db.session.get(District, kept.id)
    assert (old_town.name, old_town.slug, old_town.boundary["type"]) == ("Altstadt", "innenstadt-alt", "Polygon")
    new = db.session.scalar(sa.select(District).where(District.number == "02"))
    assert new.slug == "st-juergen" and db.session.get(District, extra.id) is not None
    assert db.session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == "district-import")) == {
        "added": ["02"], "changed": ["01"]}
    assert store(rows).same == ["01", "02"]


def test_a_name_another_district_has_is_refused(app, make_district):
    make_district(name="Hafen", number="11")
    with pytest.raises(ValueError, match="district 11 already has this name"):
        store(districtfile.read_csv("Nr;Name\n1;Hafen\n".encode()))
    assert db.session.scalar(sa.select(sa.func.count(District.id))) == 1


def test_flask_town_districts_loads_the_profiles_list_and_a_named_file(app, runner, tmp_path):
    app.config["TOWN_PROFILE"] = townprofile.load("musterstadt")
    result = runner.invoke(args=["town", "districts"])
    assert result.exit_code == 0, result.output
    assert "districts.geojson: 5 districts, 5 with a boundary." in result.output and "5 added" in result.output
    listed = tmp_path / "liste.csv"
    listed.write_text("Kennung;Gebiet\n06;Neubaugebiet\n", encoding="utf-8")
    result = runner.invoke(args=["town", "districts", str(listed), "--number-column", "Kennung", "--name-column",
                                 "Gebiet"])
    assert result.exit_code == 0, result.output
    assert "1 added" in result.output and "Not in the list, kept: 01, 02, 03, 04, 05" in result.output
    broken = runner.invoke(args=["town", "districts", str(listed)])
    assert broken.exit_code != 0 and "no column for the district's name among: Kennung, Gebiet" in broken.output
    assert db.session.scalar(sa.select(sa.func.count(District.id))) == 6
