"""Coordinators add, rename and merge districts under /admin/districts."""
from __future__ import annotations

import sqlalchemy as sa

from busapp.core.extensions import db
from busapp.models import District, Place, Stop
from tests.conftest import csrf_token


def _post(client, **data):
    return client.post("/admin/districts", data={"csrf_token": csrf_token(client, "/admin/districts"), **data})


def test_add_rename_and_merge_districts(app, client, login, make_district, make_stop):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    moisling = make_district(name="Moisling", slug="moisling", number="09")
    stop = make_stop(moisling, place="Bücherei")
    moisling_id, stop_id = moisling.id, stop.id
    assert _post(client, action="add", name="  Neue   Siedlung ").status_code == 303
    added = db.session.scalar(sa.select(District).where(District.name == "Neue Siedlung"))
    assert added.slug == "neue-siedlung" and added.number == "10"
    twice = _post(client, action="add", name="moisling")
    text = twice.get_data(as_text=True)
    assert twice.status_code == 422 and "already" in text and "Moisling, Neue Siedlung" in text
    assert 'value="moisling"' in text  # what was typed stays
    assert _post(client, action="rename", district=str(added.id), name="Hochschulstadtteil").status_code == 303
    db.session.expire_all()
    assert db.session.get(District, added.id).name == "Hochschulstadtteil"
    same = _post(client, action="merge", source=str(moisling.id), target=str(moisling.id))
    assert same.status_code == 422 and "two different districts" in same.get_data(as_text=True)
    assert _post(client, action="merge", source=str(moisling.id), target=str(added.id)).status_code == 303
    db.session.expire_all()
    assert db.session.get(District, moisling_id) is None
    assert db.session.get(Stop, stop_id).district_id == added.id
    assert {p.district_id for p in db.session.scalars(sa.select(Place))} == {added.id}
    # A rename keeps the address printed on posters.
    assert "Hochschulstadtteil" in client.get("/d/neue-siedlung").get_data(as_text=True)


def test_place_and_stop_forms_name_the_closest_districts_for_an_unknown_one(app, client, login, make_district,
                                                                             make_place):
    login("coordinator")
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    moisling = make_district(name="Moisling", slug="moisling")
    buntekuh = make_district(name="Buntekuh", slug="buntekuh")
    make_place(moisling, "Bücherei Moisling")
    make_place(buntekuh, "Buntekuh-Zentrum")
    token = csrf_token(client, "/admin/places/new")
    typo = client.post("/admin/places/new", data={"csrf_token": token, "district_id": "Mosling", "name": "Schule"})
    text = typo.get_data(as_text=True)
    assert typo.status_code == 422 and "There is no district “Mosling”. Did you mean Moisling?" in text
    assert 'value="Schule"' in text  # what was typed stays
    far = client.post("/admin/places/new", data={"csrf_token": token, "district_id": "Xyzzy", "name": "Schule"})
    assert "There is no district “Xyzzy”. Known districts: Buntekuh, Moisling" in far.get_data(as_text=True)
    gone = client.post("/admin/places/new", data={"csrf_token": token, "district_id": "999999", "name": "Schule"})
    assert "Please choose a district. Known districts: Buntekuh, Moisling" in gone.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count(Place.id))) == 2  # nothing written
    # A name, in any case, is as good as the choice from the list.
    named = client.post("/admin/places/new", data={"csrf_token": token, "district_id": "buntekuh", "name": "Schule"})
    assert named.status_code == 303
    assert db.session.scalar(sa.select(Place.district_id).where(Place.name == "Schule")) == buntekuh.id

    # "Add a place here" and "Plan a stop here" from the districts page take the district from the link.
    prefilled = client.get("/admin/places/new?district=moisling").get_data(as_text=True)
    assert f'<option selected value="{moisling.id}">Moisling</option>' in prefilled
    narrowed = client.get("/admin/stops/new?district=buntekuh").get_data(as_text=True)
    assert "Buntekuh-Zentrum" in narrowed and "Bücherei Moisling" not in narrowed.split('id="place"', 1)[1].split(
        "</select>", 1)[0]
    wrong = client.get("/admin/stops/new?district=Buntekuhh")
    html = wrong.get_data(as_text=True)
    assert wrong.status_code == 422 and "Did you mean Buntekuh?" in html
    assert "Bücherei Moisling" in html and "Buntekuh-Zentrum" in html  # every place while the district is unknown
    page = client.get("/admin/districts").get_data(as_text=True)
    assert "/admin/places/new?district=moisling" in page and "/admin/stops/new?district=buntekuh" in page
